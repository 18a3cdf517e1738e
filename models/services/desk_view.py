"""The leader's desk (领导研判) as a leader reads it: the leads whose proposal — triage's,
a handling unit's application (协作申请), or escalation after a recusal shortfall — waits
for a commission leader's decision, each with the proposal, its reasons and the lead's
facts as the ledger shows them (never its reporter)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models.documents.audit_record import org_names
from models.domain.lifecycle import State
from models.domain.people import Person
from models.domain.triage import Mode
from models.services.access import find_lead, permit
from models.services.ledger import record_of
from models.store.lead import Lead, TriageProposal
from models.store.organisation import Unit

MOST = 100  # leads shown at once: the longest a leader reads in one sitting

# A proposal waits for a leader while undecided, unless it is own handling (自办), which
# is assigned at triage; the lead is then being triaged, or in handling (an application).
_WAITING = (
    TriageProposal.decided_mode.is_(None),
    TriageProposal.proposed_mode != Mode.own.value,
    Lead.state.in_([State.triaged.value, State.in_handling.value]),
)


@dataclass(frozen=True)
class Awaiting:
    """One lead on the desk: its record as the ledger gives it, and the proposal."""

    record: dict[str, Any]
    level: str
    jurisdiction_unit: str
    proposed_mode: str
    reasons: list[str]
    proposed_at: datetime
    decision_due: date | None
    application: bool  # a handling unit's application (协作申请), not triage's proposal

    @property
    def closable(self) -> bool:
        """予以了结 is a triage step: a lead already in handling is not closed from here."""
        return not self.application

    def overdue(self, today: date) -> bool:
        return self.decision_due is not None and self.decision_due < today


@dataclass(frozen=True)
class DeskPage:
    leads: list[Awaiting]
    more: int  # how many more wait beyond those shown
    names: dict[str, str]  # unit and entity codes → names


def awaiting(session: Session, person: Person, *, today: date) -> DeskPage:
    """The leads awaiting ``person``'s decision, the longest-due first."""
    permit(session, person, "lead.decide")
    rows = session.execute(
        select(TriageProposal, Unit.code)
        .join(Lead, Lead.id == TriageProposal.lead_id)
        .join(Unit, Unit.id == TriageProposal.jurisdiction_unit_id)
        .where(*_WAITING)
        .order_by(
            TriageProposal.decision_due.is_(None),
            TriageProposal.decision_due,
            TriageProposal.lead_id,
        )
        .limit(MOST)
    ).all()
    total = session.scalar(
        select(func.count())
        .select_from(TriageProposal)
        .join(Lead, Lead.id == TriageProposal.lead_id)
        .where(*_WAITING)
    )
    leads = [_awaiting(session, person, proposal, unit, today) for proposal, unit in rows]
    codes = {a.jurisdiction_unit for a in leads}
    codes |= {c for a in leads for c in (a.record["entity"], a.record["lead_unit"]) if c}
    return DeskPage(leads, max(0, (total or 0) - len(leads)), org_names(session, codes))


def _awaiting(
    session: Session, person: Person, proposal: TriageProposal, unit: str, today: date
) -> Awaiting:
    record = record_of(session, person, str(proposal.lead_id), today=today, withhold_from_all=True)
    return Awaiting(
        record=record,
        level=proposal.level,
        jurisdiction_unit=unit,
        proposed_mode=proposal.proposed_mode,
        reasons=list(proposal.reasons),
        proposed_at=proposal.proposed_at,
        decision_due=proposal.decision_due,
        application=record["state"] == State.in_handling.value,
    )


@dataclass(frozen=True)
class Decided:
    """What the desk says of a lead after a leader's step on it."""

    lead_id: int
    external_id: str
    state: str
    decided_mode: str | None
    awaiting: bool  # still on the desk: recusal left too few, escalation proposed anew


def decided(session: Session, person: Person, lead_id: int) -> Decided:
    """The lead ``lead_id`` as the leader left it."""
    lead = find_lead(session, person, str(lead_id), "lead.decide")
    proposal = session.get(TriageProposal, lead.id)
    waiting = session.scalar(
        select(func.count())
        .select_from(TriageProposal)
        .join(Lead, Lead.id == TriageProposal.lead_id)
        .where(TriageProposal.lead_id == lead.id, *_WAITING)
    )
    return Decided(
        lead.id,
        lead.external_id,
        lead.state.value,
        proposal.decided_mode if proposal else None,
        bool(waiting),
    )
