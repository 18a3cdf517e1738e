"""Rectification (整改, docs/rules.md §2.6): the notice with its deadline, the entity's
report, the follow-up check (回头看) and striking off (销号).

Each operation runs in the caller's transaction; what it must wait for (the outcome
before the notice, an open rectification, a report before its check, a passed check
before closing) is a guard of the lifecycle, checked by the one door.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from models import audit, documents
from models.documents import NoticeContent
from models.domain.lifecycle import State
from models.services import findings
from models.services.desk import Desk, issue_notice, locked_lead
from models.services.door import admit, perform
from models.store.base import utcnow
from models.store.lead import Outcome, Rectification
from models.store.organisation import Entity

# --- rectification ---------------------------------------------------------------------


def order_rectification(
    session: Session, desk: Desk, lead_id: int, *, reason: str, days: int | None = None
) -> Rectification:
    """限期整改: a notice to the entity with a deadline in working days. The move's guard
    (an outcome recorded) is checked by the door before anything it writes is kept."""
    lead = locked_lead(session, desk, lead_id, "lead.rectify")
    outcome = session.get(Outcome, lead_id)
    found = (
        findings.rectification_paragraph(outcome.kind, findings.finding_of(session, lead_id))
        if outcome is not None
        else None  # the door refuses it: an outcome comes first
    )
    deadline = desk.calendar.add_working_days(
        desk.today, days or desk.policy.deadlines.rectification
    )
    rectification = Rectification(
        lead_id=lead_id,
        entity_id=lead.entity_id,
        deadline=deadline.due,
        deadline_provisional=deadline.provisional,
    )
    session.add(rectification)
    session.flush()
    perform(
        session,
        lead_id=lead_id,
        move="order_rectification",
        actor=desk.actor,
        reason=reason,
        data={"deadline": deadline.as_dict(), "rectification": rectification.id},
    )
    entity = session.get_one(Entity, lead.entity_id)
    issued = issue_notice(
        session,
        desk,
        kind="rectification_notice",
        key=f"rectification_notice:lead:{lead_id}",
        lead=lead,
        content=NoticeContent(
            addressee=entity.name,
            paragraphs=[
                found or "",
                f"请于{documents.chinese_date(deadline.due)}前（{deadline.working_days}个工作日）"
                "完成整改，并书面报告整改情况。逾期未整改的，将依规督办、问责。",
            ],
            facts=findings.entity_facts(session, lead),
            provisional=deadline.provisional,
        ),
        reason="限期整改",
    )
    rectification.notice_document_id = issued.document.id
    return rectification


def report_rectification(session: Session, desk: Desk, lead_id: int, *, reason: str) -> None:
    """The entity reports its rectification; a follow-up check must verify it."""
    facts = admit(
        session, locked_lead(session, desk, lead_id, "lead.report"), "report_rectification"
    )
    rectification = session.get_one(Rectification, facts.open_rectification)
    rectification.reported_at = utcnow()
    audit.record(
        session,
        audit.EventDraft(
            actor=desk.actor,
            action="rectification.report",
            reason=reason,
            lead_id=lead_id,
            data={"rectification": rectification.id},
        ),
    )


def follow_up(session: Session, desk: Desk, lead_id: int, *, passed: bool, reason: str) -> None:
    """回头看: verification; only a verified rectification is struck off (销号) and closed."""
    lead = locked_lead(session, desk, lead_id, "lead.follow_up")
    facts = admit(session, lead, "follow_up")
    rectification = session.get_one(Rectification, facts.open_rectification)
    audit.record(
        session,
        audit.EventDraft(
            actor=desk.actor,
            action="rectification.follow_up",
            reason=reason,
            lead_id=lead_id,
            data={"rectification": rectification.id, "passed": passed},
        ),
    )
    if not passed:
        rectification.follow_up_failures += 1
        rectification.reported_at = None
        return
    now = utcnow()
    rectification.verified_at = rectification.struck_off_at = now
    move = "strike_off" if lead.state == State.rectifying else "close_escalated"
    perform(session, lead_id=lead_id, move=move, actor=desk.actor, reason=f"销号：{reason}")
