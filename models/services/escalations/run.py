"""What the monthly and the quarterly run share (docs/rules.md §3): the period a run may
count (closed, and of its kind), the run's report, a rerun that issues nothing and says
what changed, the record of what a run read and decided, and the notice to a unit in last
place. The coordinating office is named as the organisation names it, inside the
commission as the policy words it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import audit
from models.documents import NoticeContent, Table
from models.documents.bulletin import period_label
from models.domain.board import Board
from models.domain.errors import BadInput, Problem, RuleRefused
from models.domain.escalation import Decision, Values, value_changes
from models.domain.scoring import months_of
from models.services.access import permit
from models.services.desk import Desk, coordinating_office, issue_notice
from models.store.base import utcnow
from models.store.organisation import Unit
from models.store.periods import month_start, next_month
from models.store.records import Document, EscalationRun


@dataclass
class RunReport:
    """What a run did: docs/commands.md's escalation JSON, plus the flags and checks it raised."""

    period: str
    kind: str
    issued: list[int] = field(default_factory=list)  # document ids
    already_issued: list[int] = field(default_factory=list)
    zero_reports: list[dict[str, str]] = field(default_factory=list)
    # The units that have not filed (未报送): board, unit, the indicators not filed.
    missing: list[dict[str, Any]] = field(default_factory=list)
    data_checks: list[dict[str, Any]] = field(default_factory=list)
    data_changed: list[dict[str, Any]] = field(default_factory=list)
    boards: list[Board] = field(default_factory=list)

    def as_dict(self, session: Session) -> dict[str, Any]:
        return {
            "period": self.period,
            "kind": self.kind,
            "issued": describe(session, self.issued),
            "already_issued": describe(session, self.already_issued),
            "zero_reports": self.zero_reports,
            "missing": self.missing,
            "data_checks": self.data_checks,
            "data_changed": self.data_changed,
        }


def describe(session: Session, document_ids: list[int]) -> list[dict[str, Any]]:
    rows = session.execute(
        select(Document, Unit.code)
        .outerjoin(Unit, Unit.id == Document.unit_id)
        .where(Document.id.in_(document_ids))
        .order_by(Document.kind, Document.serial)
    ).all()
    return [
        {
            "document": doc.kind,
            "unit": code or (doc.key.split(":")[1] if doc.kind == "quarterly_report" else None),
            "number": doc.number,
            "pdf": doc.path,
            "status": doc.status,
        }
        for doc, code in rows
    ]


def _ended(period: str, months: list[str], today: date) -> None:
    if month_start(next_month(months[-1])).date() > today:
        raise RuleRefused(
            "period_closed", f"{period} has not ended on {today}: a run counts a closed period"
        )


def _period(period: str, *, quarter: bool) -> list[str]:
    months = months_of(period)
    is_quarter, is_month = "-Q" in period, ".." not in period and len(months) == 1
    if (quarter and is_quarter) or (not quarter and is_month):
        return months
    wanted = "a quarter such as 2026-Q3" if quarter else "a month such as 2026-09"
    raise BadInput([Problem("--period", f"'{period}' is not {wanted}")])


def opened(session: Session, desk: Desk, kind: str, period: str) -> EscalationRun | None:
    """Start the ``kind`` run of ``period`` (a closed month, or a closed quarter): one run
    at a time — a second waits, then sees the first, which is returned (None: first run).
    Only a case manager (or the system) runs an escalation."""
    permit(session, desk.person, "escalation.run")
    _ended(period, _period(period, quarter=kind == "quarterly"), desk.today)
    audit.lock_chain(session)
    return session.scalar(
        select(EscalationRun).where(EscalationRun.kind == kind, EscalationRun.period == period)
    )


def units_by_code(session: Session) -> dict[str, Unit]:
    return {unit.code: unit for unit in session.scalars(select(Unit))}


def office_addressee(session: Session, desk: Desk) -> str:
    """The coordinating office as units are told to write to it: within the commission."""
    office = coordinating_office(session)
    return f"{desk.policy.notices.commission}{office}" if office else desk.numbering.issuer_name


def rerun(
    session: Session,
    desk: Desk,
    report: RunReport,
    previous: EscalationRun,
    values: Mapping[str, Values],
    kinds: tuple[str, ...],
) -> RunReport:
    """A period run before: nothing issued again; what the first run issued and flagged,
    and each value that changed since (recorded, and left to a person to act on)."""
    report.already_issued = list(
        session.scalars(
            select(Document.id)
            .where(Document.period == report.period, Document.kind.in_(kinds))
            .order_by(Document.id)
        )
    )
    # The run's record holds what :func:`record` wrote: its values, its decisions' dicts.
    before = cast(Mapping[str, Values], previous.values)
    decisions = cast(list[dict[str, str]], previous.decisions)
    report.data_changed = value_changes(before, values)
    report.zero_reports = [
        {"board": d["board"], "unit": d["unit"]}
        for d in decisions
        if d["document"] == "zero_report"
    ]
    if report.data_changed:
        audit.record(
            session,
            audit.EventDraft(
                actor=desk.actor,
                action=f"escalation.{report.kind}.data_changed",
                reason=f"{report.period}: data changed since its run; nothing issued again",
                data={"period": report.period, "changes": report.data_changed[:200]},
            ),
        )
    return report


def last_place_notice(
    session: Session,
    desk: Desk,
    report: RunReport,
    unit: Unit,
    *,
    kind: str,
    paragraphs: list[str],
    reason: str,
    table: Table | None = None,
) -> None:
    """The notice to a unit in last place (a work warning, an interview), once per period."""
    issued = issue_notice(
        session,
        desk,
        kind=kind,
        key=f"{kind}:{unit.code}:{report.period}",
        content=NoticeContent(addressee=unit.name, paragraphs=paragraphs, table=table),
        period=report.period,
        unit=unit,
        reason=reason,
    )
    report.issued.append(issued.document.id)


def record(
    session: Session,
    desk: Desk,
    report: RunReport,
    values: Mapping[str, Values],
    decisions: list[Decision],
) -> None:
    """The run on the record: the values it read, what it decided, what it issued."""
    session.add(
        EscalationRun(
            kind=report.kind,
            period=report.period,
            values=values,
            decisions=[d.as_dict() for d in decisions],
            run_at=utcnow(),
        )
    )
    for decision in decisions:
        if decision.document == "zero_report":
            audit.record(
                session,
                audit.EventDraft(
                    actor=desk.actor,
                    action="escalation.zero_report",
                    reason="零报告：建议开展自主研判、自主监督检查",
                    unit=decision.unit,
                    data=decision.as_dict(),
                ),
            )
    audit.record(
        session,
        audit.EventDraft(
            actor=desk.actor,
            action=f"escalation.{report.kind}",
            reason=f"{period_label(report.period)} {report.kind} run",
            data={
                "period": report.period,
                "decisions": [d.as_dict() for d in decisions],
                "documents": report.issued,
            },
        ),
    )
