"""The monthly run (docs/rules.md §3), for a month just ended: both colour boards, a work
warning (工作预警通知书) to each unit last the policy's number of months running, zero
reports flagged for a self-directed inspection, the units that have not filed (未报送)
listed, and the bulletin (通报) with the year to date beside the month. It counts a month
whose returns are in: once they are due (`returns_due`), or before if every unit has filed.
Its notices say what the policy and the organisation say: the commission's name, the
coordinating office, the working days a warned unit has to reply.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.documents import Table
from models.documents.bulletin import period_label
from models.domain.board import Board
from models.domain.errors import RuleRefused
from models.domain.escalation import monthly_decisions
from models.domain.policy import Policy
from models.domain.scoring import months_of
from models.services.access import permit
from models.services.boards import board_data_checks, load_many
from models.services.desk import Desk, issue_notice
from models.services.escalations.bulletin import bulletin_content
from models.services.escalations.returns_due import returns_due
from models.services.escalations.run import (
    RunReport,
    last_place_notice,
    office_addressee,
    opened,
    record,
    rerun,
    units_by_code,
)
from models.store.organisation import Unit
from models.store.periods import previous_month
from models.store.records import EscalationRun

MONTHLY_KINDS = ("bulletin", "work_warning")


def running_window(period: str, running: int) -> list[str]:
    """The ``running`` months ending with ``period``, oldest first."""
    window = [period]
    while len(window) < running:
        window.insert(0, previous_month(window[0]))
    return window


def monthly(session: Session, desk: Desk, period: str) -> RunReport:
    """The monthly run of ``period``; a second run issues nothing and lists the first's.
    A first run is refused while the month's returns are not all in and not yet due."""
    previous = opened(session, desk, "monthly", period)
    if previous is None:
        due = returns_due(session, desk.policy, period, desk.today)
        if not due.ready():
            raise RuleRefused("returns_due", due.sentence())
    policy = desk.policy
    running = policy.escalation.work_warning_after_last_months
    window = running_window(period, running)
    names: list[str] = list(policy.boards)
    scored = load_many(session, policy, periods=window)
    values = {name: {m: scored[m][name].values for m in window} for name in names}
    report = RunReport(period, "monthly", boards=[scored[period][n] for n in names])
    report.missing = [
        {"board": board.name, "unit": unit, "indicators": indicators}
        for board in report.boards
        for unit, indicators in board.missing.items()
    ]
    if previous is not None:
        return rerun(session, desk, report, previous, values, MONTHLY_KINDS)
    by_month, ytd, year_months = _the_year(session, policy, period, scored)
    decisions = monthly_decisions(
        {name: [by_month[name][m] for m in window] for name in names},
        period=period,
        running=running,
    )
    report.zero_reports = [
        {"board": d.board, "unit": d.unit} for d in decisions if d.document == "zero_report"
    ]
    report.data_checks = [c.as_dict() for c in board_data_checks(session, policy, [period])]
    units = units_by_code(session)
    warned = [units[d.unit] for d in decisions if d.document == "work_warning"]
    issued = issue_notice(
        session,
        desk,
        kind="bulletin",
        key=f"bulletin:{desk.numbering.issuer}:{period}",
        content=bulletin_content(policy, by_month, ytd, year_months, report, warned, units),
        period=period,
        reason=f"{period_label(period)}多色榜通报",
        title=f"关于{period_label(period)}问题线索处置工作情况的通报",
    )
    report.issued.append(issued.document.id)
    office = office_addressee(session, desk)
    for decision in (d for d in decisions if d.document == "work_warning"):
        board = by_month[decision.board]
        _work_warning(session, desk, report, units[decision.unit], board, window, office)
    record(session, desk, report, values, decisions)
    return report


def not_yet(session: Session, desk: Desk, period: str) -> str | None:
    """Why the scheduled daily check leaves ``period`` alone today, or None to run it: it
    has run (a second run would only re-read the boards every day), or its returns are
    not all in and not yet due. It reads no board and issues nothing."""
    permit(session, desk.person, "escalation.run")
    ran = select(EscalationRun.id).where(
        EscalationRun.kind == "monthly", EscalationRun.period == period
    )
    if session.scalar(ran) is not None:
        return f"the monthly run of {period} is done"
    due = returns_due(session, desk.policy, period, desk.today)
    return None if due.ready() else due.sentence()


def _the_year(
    session: Session, policy: Policy, period: str, scored: dict[str, dict[str, Board]]
) -> tuple[dict[str, dict[str, Board]], dict[str, Board], list[str]]:
    """What the bulletin's month-by-month chart needs besides the running months: the rest
    of the year month by month (each board's months in order), and the year to date."""
    year_months = months_of(f"{period[:4]}-01..{period}")
    ytd_period = f"{year_months[0]}..{period}"
    scored = scored | load_many(
        session, policy, periods=[*(m for m in year_months if m not in scored), ytd_period]
    )
    ytd = scored.pop(ytd_period)
    by_month: dict[str, dict[str, Board]] = {
        name: {m: scored[m][name] for m in sorted(scored)} for name in policy.boards
    }
    return by_month, ytd, year_months


def _work_warning(
    session: Session,
    desk: Desk,
    report: RunReport,
    unit: Unit,
    board: dict[str, Board],
    window: list[str],
    office: str,
) -> None:
    """工作预警通知书: last ``len(window)`` months running; measures due to ``office``."""
    period, running, policy = report.period, len(window), desk.policy
    scores = [next(r for r in board[m].rows if r.unit == unit.code) for m in window]
    last_place_notice(
        session,
        desk,
        report,
        unit,
        kind="work_warning",
        paragraphs=[
            f"经统计，你单位在{board[period].title}问题线索处置工作“多色榜”中，"
            f"{'、'.join(period_label(m) for m in window)}连续{running}个月综合排名末位。",
            f"根据{policy.notices.commission}“多色榜”通报制度，现对你单位予以工作预警。"
            "请你单位认真分析原因，压实工作责任，于收到本通知书之日起"
            f"{policy.deadlines.work_warning_reply}个工作日内将整改措施书面报送{office}。",
        ],
        table=Table(
            headers=["月份", "综合得分", "综合排名", "参评单位数"],
            rows=[
                [period_label(m), str(r.score), str(r.rank), str(len(board[m].rows))]
                for m, r in zip(window, scores, strict=True)
            ],
        ),
        reason=f"连续{running}个月综合排名末位",
    )
