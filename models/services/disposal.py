"""Disposal (处置), outcome and closure of a lead (docs/rules.md §2.4, §2.5, §2.8).

Each operation runs in the caller's transaction and changes state only through the one
door; the conditions it must meet (not disposed twice, an outcome only after disposal,
closure only with its outcome) are the lifecycle's guards, checked by the door.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import audit
from models.domain.errors import RuleRefused
from models.domain.lifecycle import State
from models.domain.terms import CLEARING_OUTCOMES, DISPOSAL_METHODS, OUTCOMES
from models.domain.workdays import Deadline
from models.services import findings
from models.services.desk import Desk, locked_lead
from models.services.door import admit, perform
from models.store.base import utcnow
from models.store.lead import (
    Disposal,
    Lead,
    Outcome,
)

# --- disposal and outcome --------------------------------------------------------------


def dispose(session: Session, desk: Desk, lead_id: int, *, method: str, reason: str) -> Disposal:
    """处置: one of the four methods, with its clock."""
    if method not in DISPOSAL_METHODS:
        raise RuleRefused("disposal", f"unknown method '{method}' ({', '.join(DISPOSAL_METHODS)})")
    lead = locked_lead(session, desk, lead_id, "lead.dispose")
    admit(session, lead, "decide_disposal")
    existing = session.get(Disposal, lead_id)  # a held lead's disposal is decided again
    deadlines = desk.policy.deadlines
    late = (
        desk.today
        > (lead.received_at + timedelta(days=deadlines.disposal_proposal_calendar_days)).date()
    )
    due: Deadline | None = None
    if method == "talk_letter":
        due = desk.calendar.add_working_days(desk.today, deadlines.letter_inquiry_reply)
    if existing is None:
        existing = Disposal(
            lead_id=lead_id,
            method=method,
            decided_at=utcnow(),
            decided_by=desk.actor,
            due_on=due.due if due else None,
        )
        session.add(existing)
    else:
        existing.method, existing.decided_at = method, utcnow()
        existing.due_on = due.due if due else None
    move = {"hold": "hold"}.get(
        method, "dispose_held" if lead.state == State.on_hold else "dispose"
    )
    perform(
        session,
        lead_id=lead_id,
        move=move,
        actor=desk.actor,
        reason=f"{DISPOSAL_METHODS[method]}：{reason}",
        data={
            "method": method,
            "reply_due": due.as_dict() if due else None,
            "later_than_a_month_after_receipt": late,
        },
    )
    if method == "close":
        perform(
            session,
            lead_id=lead_id,
            move="close_disposed",
            actor=desk.actor,
            reason=f"予以了结：{reason}",
        )
    return existing


def record_outcome(
    session: Session,
    desk: Desk,
    lead_id: int,
    *,
    kind: str,
    reason: str,
    finding: str,
    form: int | None = None,
    counts: HandledCounts | None = None,
    clear_name: bool = False,
) -> Outcome:
    """The outcome of docs/rules.md §2.5 with its finding (核查结论, what notices to the
    entity state) and the people handled, counted on the boards. A false accusation —
    and an untrue report, when asked — clears the subject's name with a notice."""
    if kind not in OUTCOMES:
        raise RuleRefused("outcome", f"unknown outcome '{kind}' ({', '.join(OUTCOMES)})")
    if form is not None and not 1 <= form <= 4:
        raise RuleRefused("outcome", "the forms of handling (四种形态) are 1 to 4")
    finding, counts = findings.checked_finding(finding), counts or HandledCounts()
    lead = locked_lead(session, desk, lead_id, "lead.outcome")
    admit(session, lead, "record_outcome")
    outcome = Outcome(
        lead_id=lead_id,
        kind=kind,
        form=form or (1 if kind == "first_form" else None),
        finding=finding,
        decided_at=utcnow(),
        **counts.columns(),
    )
    session.add(outcome)
    data: dict[str, Any] = {
        "kind": kind,
        "form": outcome.form,
        "finding_sha256": findings.digest(finding),
        **counts.columns(),
    }
    if kind in CLEARING_OUTCOMES:
        data["reporter_criticised"] = findings.reporter_criticised(session, lead_id, kind)
    audit.record(
        session,
        audit.EventDraft(
            actor=desk.actor,
            action="lead.outcome",
            reason=f"{OUTCOMES[kind]}：{reason}",
            lead_id=lead_id,
            data=data,
        ),
    )
    if kind == "false_accusation" or (clear_name and kind in CLEARING_OUTCOMES):
        findings.clear_name(session, desk, lead, kind, finding)
    return outcome


@dataclass(frozen=True)
class HandledCounts:
    """The people an outcome handled, as the boards count them."""

    educated: int = 0
    accountable: int = 0
    party_sanctions: int = 0
    government_sanctions: int = 0

    def columns(self) -> dict[str, int]:
        return {
            "persons_educated": self.educated,
            "persons_accountable": self.accountable,
            "party_sanctions": self.party_sanctions,
            "government_sanctions": self.government_sanctions,
        }


def close(session: Session, desk: Desk, lead_id: int, *, reason: str) -> None:
    """办结 of a lead that needs no rectification (from triage: 予以了结); a disposed lead
    is closed once its outcome is recorded (the guard of ``close_disposed``)."""
    # 予以了结 of a lead still awaiting the leader's decision is the leader's own call.
    awaiting = session.scalar(select(Lead.state).where(Lead.id == lead_id)) == State.triaged
    lead = locked_lead(session, desk, lead_id, "lead.close_at_triage" if awaiting else "lead.close")
    move = "close_at_triage" if lead.state == State.triaged else "close_disposed"
    perform(session, lead_id=lead_id, move=move, actor=desk.actor, reason=reason)
