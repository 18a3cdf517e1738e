"""The daily sweep (docs/rules.md §2.7): an open rectification walked up the policy's
overdue ladder — reminder, urging, supervision by the coordinating office (the lead moves
to ``escalated``), accountability proposal — each rung once, ever; and a proposal left
unanswered past its working days sent up to the leaders. What each rung's notice says is
the policy's; the office it names is the organisation's coordinating office.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import audit, documents
from models.documents import NoticeContent
from models.domain.lifecycle import State
from models.domain.policy import LadderStep as Rung
from models.domain.terms import MODE_TERMS
from models.services import findings
from models.services.desk import Desk, coordinating_office, issue_notice, locked_lead, notice_facts
from models.services.door import perform
from models.store.base import utcnow
from models.store.lead import LadderStep, Lead, Rectification, TriageProposal
from models.store.organisation import Entity

# The document each rung of the overdue ladder issues.
LADDER_KINDS = {
    "reminder": "reminder_notice",
    "urging": "urging_notice",
    "supervision": "supervision_notice",
    "accountability": "accountability_proposal",
}


@dataclass(frozen=True)
class SweepStep:
    lead_id: int
    step: str
    number: str | None


def sweep_rectification(session: Session, desk: Desk, rectification_id: int) -> list[SweepStep]:
    """Take the ladder's furthest rung now due for one rectification, each at most once,
    ever — and none whose premise is false (docs/rules.md §2.7)."""
    audit.lock_chain(session)
    rectification = session.get_one(Rectification, rectification_id, populate_existing=True)
    if rectification.struck_off_at is not None or rectification.reported_at is not None:
        return []
    offset = desk.calendar.working_days_between(rectification.deadline, desk.today)
    taken = set(
        session.scalars(
            select(LadderStep.step).where(LadderStep.rectification_id == rectification_id)
        )
    )
    rung = next_rung(desk.policy.overdue_ladder, taken, offset, rectification, desk.today)
    if rung is None:
        return []
    lead = locked_lead(session, desk, rectification.lead_id, "sweep.run")
    office = coordinating_office(session) or desk.numbering.issuer_name
    return [_take(session, desk, rectification, lead, rung, offset, office)]


def next_rung(
    ladder: Sequence[Rung], taken: set[str], offset: int, rectification: Any, today: date
) -> Rung | None:
    """The furthest rung whose time has come, past every rung taken, whose premise holds: a
    reminder only before the deadline, accountability only once the new deadline a 督办 set
    has passed. A missed sweep skips the rungs overtaken (no reminder after the deadline,
    no urging beside a 督办)."""
    passed = max((i for i, r in enumerate(ladder) if r.step in taken), default=-1)
    due = [
        rung
        for i, rung in enumerate(ladder)
        if i > passed
        and rung.offset <= offset
        and _premise_holds(rung, offset, rectification, today)
    ]
    return due[-1] if due else None


def _premise_holds(rung: Rung, offset: int, rectification: Any, today: date) -> bool:
    if rung.step == "reminder":
        return offset < 0  # 期限将至: the deadline is still ahead
    if rung.step == "accountability":  # 督办后仍未整改到位
        renewed = rectification.renewed_deadline
        return renewed is not None and today > renewed
    return True


def _take(
    session: Session,
    desk: Desk,
    rectification: Rectification,
    lead: Lead,
    rung: Rung,
    offset: int,
    office: str,
) -> SweepStep:
    """One rung: its notice (the accountability proposal to ``office``, the others to the
    lead's entity), the step on the record; at supervision the lead is escalated."""
    kind = LADDER_KINDS[rung.step]
    paragraphs = _rung_paragraphs(desk, rectification, rung, office)
    if rung.step == "supervision" and lead.state == State.rectifying:
        perform(
            session,
            lead_id=lead.id,
            move="escalate",
            actor=desk.actor,
            reason=f"整改逾期，{office}督办",
            data={"deadline": rectification.deadline.isoformat(), "overdue_working_days": offset},
        )
    addressee = office
    if rung.step != "accountability":  # 问责 is proposed to the coordinating office
        addressee = session.get_one(Entity, lead.entity_id).name
    issued = issue_notice(
        session,
        desk,
        kind=kind,
        key=f"{kind}:rectification:{rectification.id}",
        lead=lead,
        content=NoticeContent(
            addressee=addressee,
            paragraphs=paragraphs,
            facts=findings.entity_facts(session, lead),
            provisional=rectification.deadline_provisional,
        ),
        reason=f"逾期阶梯：{rung.step}",
    )
    session.add(
        LadderStep(
            rectification_id=rectification.id,
            step=rung.step,
            taken_on=desk.today,
            document_id=issued.document.id,
        )
    )
    return SweepStep(lead.id, rung.step, issued.document.number)


def _rung_paragraphs(
    desk: Desk, rectification: Rectification, rung: Rung, office: str
) -> list[str]:
    """What a rung's notice says: the policy's words and the deadline; a 督办 sets a new one."""
    lapsed = documents.chinese_date(rectification.deadline)
    if rung.step != "supervision":
        return [rung.worded(office), f"整改期限：{lapsed}。"]
    renewed = desk.calendar.add_working_days(
        desk.today, desk.policy.deadlines.supervision_rectification
    )
    rectification.renewed_deadline = renewed.due
    return [
        rung.worded(office),
        f"原整改期限：{lapsed}。请于{documents.chinese_date(renewed.due)}前"
        f"（{renewed.working_days}个工作日）整改到位，并书面报告。"
        "逾期仍未整改到位的，将依规提出问责建议。",
    ]


def sweep_decision(session: Session, desk: Desk, lead_id: int) -> SweepStep | None:
    """A proposal left unanswered past its working days goes up to the commission's leaders."""
    audit.lock_chain(session)
    proposal = session.get_one(TriageProposal, lead_id, populate_existing=True)
    if (
        proposal.decided_mode is not None
        or proposal.overdue_escalated_at is not None
        or proposal.decision_due is None
        or proposal.decision_due >= desk.today
    ):
        return None
    proposal.overdue_escalated_at = utcnow()
    lead = locked_lead(session, desk, lead_id, "sweep.run")
    issued = issue_notice(
        session,
        desk,
        kind="decision_overdue_notice",
        key=f"decision_overdue_notice:lead:{lead_id}",
        lead=lead,
        content=NoticeContent(
            addressee=desk.policy.notices.leaders,
            paragraphs=[
                f"下列问题线索已提请研判（建议{MODE_TERMS[proposal.proposed_mode]}），"
                f"至{documents.chinese_date(proposal.decision_due)}尚未批示，请尽快研判决定。",
                "提请理由：" + "；".join(proposal.reasons),
            ],
            facts=notice_facts(session, lead),
        ),
        reason="研判逾期",
    )
    return SweepStep(lead_id, "decision_overdue", issued.document.number)


def due_for_sweep(session: Session) -> tuple[list[int], list[int]]:
    """Open rectifications and undecided proposals: what the daily sweep looks at."""
    rectifications = list(
        session.scalars(
            select(Rectification.id).where(
                Rectification.struck_off_at.is_(None), Rectification.reported_at.is_(None)
            )
        )
    )
    proposals = list(
        session.scalars(
            select(TriageProposal.lead_id).where(
                TriageProposal.decided_mode.is_(None),
                TriageProposal.overdue_escalated_at.is_(None),
                TriageProposal.decision_due.is_not(None),
            )
        )
    )
    return rectifications, proposals
