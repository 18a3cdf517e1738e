"""The colour boards (多色榜) as the workbench shows them: one board of one month with the
year to date beside it and each unit's ranks of the months before, the units that have
not filed (未报送), what the month's escalation issued and flagged, and the month's
bulletin (通报) file — served only while it matches the checksum the audit trail recorded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import documents
from models.documents.audit_record import DOCUMENT_STATUSES
from models.domain.board import Board
from models.domain.errors import BadInput, Problem
from models.domain.people import Person
from models.domain.policy import Scoring
from models.domain.scoring import Row
from models.services.access import permit
from models.services.boards import load_many
from models.services.clock import real_today
from models.services.policy import in_force
from models.store.organisation import Unit
from models.store.periods import previous_month
from models.store.records import Document, EscalationRun, MonthlyReturn

MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
TREND_MONTHS = 3  # the months whose ranks a unit's trend shows, this one last
MONTHLY_KINDS = ("bulletin", "work_warning")
QUARTERLY_KINDS = ("interview_notice", "quarterly_report", "consolidated_report")


@dataclass(frozen=True)
class Issued:
    """A document an escalation issued: its title, the unit it went to, its number."""

    title: str
    unit: str  # the unit's name, or "" for the bulletin and the consolidated report
    number: str
    status: str


@dataclass(frozen=True)
class BoardPage:
    period: str
    name: str
    board: Board
    ytd: Board  # the year to date, January to the month
    ranks: dict[str, list[int]]  # unit → composite ranks of the trend's months, oldest first
    trend_months: list[str]
    boards: dict[str, str]  # every board's name → title, for the choice
    periods: list[str]  # the months with returns, newest first
    issued: list[Issued]
    zero_reports: list[str]  # the units' names the month's run flagged (零报告)
    bulletin: str | None  # the month's bulletin's number, once issued
    scoring: Scoring

    def ytd_row(self, unit: str) -> Row | None:
        return next((row for row in self.ytd.rows if row.unit == unit), None)

    def change(self, unit: str) -> int | None:
        """Places gained since last month (negative: lost); None without last month."""
        ranks = self.ranks.get(unit, [])
        return ranks[-2] - ranks[-1] if len(ranks) >= 2 else None


def checked_month(period: str) -> str:
    """A month as the boards and the bulletin name it (2026-09); else the field refused."""
    if not MONTH.fullmatch(period):
        raise BadInput([Problem("period", "月份应为 YYYY-MM，如 2026-09", field="月份（period）")])
    return period


def trend_window(period: str) -> list[str]:
    """The months a unit's trend shows, oldest first, ending with ``period``."""
    window = [period]
    while len(window) < TREND_MONTHS:
        window.insert(0, previous_month(window[0]))
    return window


def board_page(
    session: Session, person: Person, *, period: str | None, name: str | None
) -> BoardPage:
    """Board ``name`` (default: the policy's first) for ``period`` (default: the latest
    month with returns)."""
    permit(session, person, "board.read")
    policy = in_force(session)
    name = name or next(iter(policy.boards))
    if name not in policy.boards:
        known = "、".join(policy.boards)
        raise BadInput([Problem("board", f"没有该榜单（可选：{known}）", field="榜单（board）")])
    periods = list(
        session.scalars(
            select(MonthlyReturn.period).distinct().order_by(MonthlyReturn.period.desc())
        )
    )
    month = checked_month(period or (periods[0] if periods else _this_month(session)))
    window, ytd = trend_window(month), f"{month[:4]}-01..{month}"
    scored = load_many(session, policy, periods=[*window, ytd])
    ranks: dict[str, list[int]] = {}
    for m in window:
        for row in scored[m][name].rows:
            ranks.setdefault(row.unit, []).append(row.rank)
    issued, bulletin = _issued(session, month)
    return BoardPage(
        period=month,
        name=name,
        board=scored[month][name],
        ytd=scored[ytd][name],
        ranks=ranks,
        trend_months=window,
        boards={n: spec.title for n, spec in policy.boards.items()},
        periods=periods,
        issued=issued,
        zero_reports=_zero_reports(session, month, name),
        bulletin=bulletin,
        scoring=policy.scoring,
    )


def _this_month(session: Session) -> str:
    """The month that ended last, on the real calendar: a board with no returns yet."""
    today = real_today()
    return previous_month(f"{today.year}-{today.month:02d}")


def quarter_of(month: str) -> str | None:
    """The quarter ``month`` ends (2026-09 → 2026-Q3), else None."""
    number = int(month[5:])
    return f"{month[:4]}-Q{number // 3}" if number % 3 == 0 else None


def _issued(session: Session, month: str) -> tuple[list[Issued], str | None]:
    """The month's bulletin and work warnings, and — for a quarter's last month — the
    quarter's interview notices and reports; with the bulletin's number if issued."""
    wanted: list[tuple[str, tuple[str, ...]]] = [(month, MONTHLY_KINDS)]
    if quarter := quarter_of(month):
        wanted.append((quarter, QUARTERLY_KINDS))
    found: list[Issued] = []
    bulletin = None
    for period, kinds in wanted:
        rows = session.execute(
            select(Document.kind, Document.number, Document.status, Unit.name)
            .outerjoin(Unit, Unit.id == Document.unit_id)
            .where(Document.period == period, Document.kind.in_(kinds))
            .order_by(Document.kind, Document.serial)
        ).all()
        for kind, number, status, unit in rows:
            title = documents.TITLES.get(kind, kind)
            found.append(Issued(title, unit or "", number, DOCUMENT_STATUSES.get(status, status)))
            if kind == "bulletin" and status == "issued":
                bulletin = number
    return found, bulletin


def _zero_reports(session: Session, month: str, name: str) -> list[str]:
    """The units of board ``name`` the month's run flagged for a zero report (零报告)."""
    run = session.scalar(
        select(EscalationRun).where(EscalationRun.kind == "monthly", EscalationRun.period == month)
    )
    if run is None:
        return []
    codes = [
        str(d["unit"])
        for d in run.decisions
        if d.get("document") == "zero_report" and d.get("board") == name
    ]
    rows = session.execute(select(Unit.code, Unit.name).where(Unit.code.in_(codes)))
    names: dict[str, str] = dict(rows.tuples().all())
    return [names.get(code, code) for code in codes]


@dataclass(frozen=True)
class BulletinFile:
    pdf: bytes | None  # exactly the bytes checked against the trail
    problem: str | None  # why it is not served, in Chinese


def bulletin_file(session: Session, person: Person, period: str) -> BulletinFile:
    """The month's issued bulletin, once its file's SHA-256 matches the checksum its
    ``document.issue`` event recorded on the hash-chained trail."""
    permit(session, person, "board.read")
    month = checked_month(period)
    document = session.scalar(
        select(Document).where(
            Document.kind == "bulletin", Document.period == month, Document.status == "issued"
        )
    )
    if document is None or not document.path:
        return BulletinFile(None, "该月的通报尚未印发。")
    checked = documents.read_checked(session, document)
    if checked.problem == "missing":
        return BulletinFile(None, "通报文件已不在存放位置，请联系案管核查。")
    if checked.problem is not None:
        return BulletinFile(None, "通报文件与审计记录中的校验值不符，已拒绝提供并需核查。")
    return BulletinFile(checked.pdf, None)
