"""协作申请 (docs/rules.md §2.2, §2.7): a unit handling a lead applies for joint, cross or
escalated handling; the application is a proposal like triage's, with its reasons, and
waits for a commission leader's decision (`lead decide`), which hands the lead to the
units decided — it stays in handling — and is sent up once if left unanswered.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from models import audit
from models.domain.errors import RuleRefused
from models.domain.lifecycle import State
from models.domain.people import clean_text
from models.domain.terms import MODE_TERMS
from models.domain.triage import Mode
from models.services.desk import Desk, locked_lead
from models.store.base import utcnow
from models.store.lead import TriageProposal

APPLIED = "lead.apply"


def apply(session: Session, desk: Desk, lead_id: int, *, mode: Mode, reason: str) -> None:
    """The handling unit's application: proposed to the leaders with its reason."""
    reason = clean_text(reason, field="reason", source="--reason")
    lead = locked_lead(session, desk, lead_id, APPLIED)
    if lead.state != State.in_handling:
        raise RuleRefused(
            "application", f"a lead is applied for while in handling; this one is {lead.state}"
        )
    if mode == Mode.own or mode.value == lead.handling_mode:
        raise RuleRefused("application", f"the lead is already handled {MODE_TERMS[mode]}")
    proposal = session.get_one(TriageProposal, lead_id, populate_existing=True)
    if proposal.decided_mode is None and proposal.decision_due is not None:
        raise RuleRefused("application", "an application for this lead awaits the decision")
    due = desk.calendar.add_working_days(desk.today, desk.policy.deadlines.leader_decision)
    proposal.proposed_mode, proposal.reasons = mode.value, [f"协作申请：{reason}"]
    proposal.proposed_at, proposal.decision_due = utcnow(), due.due
    proposal.decided_mode = proposal.decided_by = proposal.decided_at = None
    proposal.decision_key = proposal.waiting_flow_run = proposal.overdue_escalated_at = None
    audit.record(
        session,
        audit.EventDraft(
            actor=desk.actor,
            action=APPLIED,
            reason=reason,
            lead_id=lead_id,
            data={"proposed_mode": mode.value, "decision_due": due.due.isoformat()},
        ),
    )
