"""Triage (分析研判, docs/rules.md §2.2): jurisdiction, the proposed mode and its reasons.

A batch of leads is triaged at once: their facts are read in one query (or taken as
registering them wrote them), each gets its proposal, and the proposals go in as one
insert. A lead for its own unit to handle (自办) is assigned in the same transaction; any
other mode waits for a commission leader's decision (:func:`decide`).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import audit
from models.domain.errors import BadInput, Problem, RuleRefused
from models.domain.lifecycle import State
from models.domain.orgview import OrgView
from models.domain.people import Kind, Person, clean_text
from models.domain.recusal import RecusalShortfall
from models.domain.triage import Mode, propose
from models.services.access import refuse
from models.services.assignment import (
    FACT_COLUMNS,
    Order,
    Triaged,
    assign_many,
    assign_under_recusal,
)
from models.services.desk import Desk, locked_lead
from models.services.door import Step, admit
from models.store.base import utcnow
from models.store.database import insert_rows
from models.store.lead import (
    Lead,
    LeadFacts,
    TriageProposal,
)
from models.store.organisation import Entity
from models.store.orgview import held

_PROPOSED = (
    "lead_id",
    "level",
    "jurisdiction_unit_id",
    "proposed_mode",
    "reasons",
    "proposed_at",
    "decision_due",
)


def triage(
    session: Session, desk: Desk, lead_id: int, *, org: OrgView | None = None
) -> TriageProposal:
    """分析研判 of one lead (:func:`triage_many` of one), its proposal returned."""
    triage_many(session, desk, [lead_id], org=org)
    return session.get_one(TriageProposal, lead_id)


def triage_many(
    session: Session,
    desk: Desk,
    lead_ids: Sequence[int],
    *,
    org: OrgView | None = None,
    registered: Mapping[int, LeadFacts] | None = None,
) -> None:
    """分析研判: for each lead, jurisdiction, the proposed mode and its reasons. Own handling
    is assigned at once; anything else waits for a commission leader's decision. A lead
    already triaged is left as it was (a retry changes nothing).

    ``registered``: leads this transaction has just registered (and not triaged since),
    as registering them wrote them; they are not read back.
    """
    audit.lock_chain(session)
    found, done = _untriaged(session, lead_ids, registered or {})
    org = org or held(session)
    proposed = _propose_each(desk, org, lead_ids, found, done)
    if not proposed.steps:
        return
    insert_rows(session, TriageProposal.__table__, _PROPOSED, proposed.rows)
    own, triaged = proposed.own, proposed.triaged
    assign_many(session, desk, own, org=org, triaged=triaged, moved=proposed.steps)


def _untriaged(
    session: Session, lead_ids: Sequence[int], registered: Mapping[int, LeadFacts]
) -> tuple[dict[int, Any], set[int]]:
    """The facts of the leads to triage (those just registered as they were written, the
    others read in one query), and the ids of those already triaged."""
    found: dict[int, Any] = dict(registered)
    unread = set(lead_ids) - found.keys()
    done = set(
        session.scalars(select(TriageProposal.lead_id).where(TriageProposal.lead_id.in_(unread)))
        if unread
        else ()
    )
    if unread - done:
        found |= {
            row.id: row
            for row in session.execute(
                select(*FACT_COLUMNS)
                .join(Entity, Entity.id == Lead.entity_id)
                .where(Lead.id.in_(unread - done))
            )
        }
    return found, done


@dataclass
class _Proposed:
    """What triaging a batch writes: the proposals' rows, the lifecycle steps, and the
    leads handled by their own unit (自办), to assign at once."""

    rows: list[tuple[Any, ...]] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    own: list[Order] = field(default_factory=list)
    triaged: dict[int, Triaged] = field(default_factory=dict)


def _propose_each(
    desk: Desk, org: OrgView, lead_ids: Sequence[int], found: Mapping[int, Any], done: set[int]
) -> _Proposed:
    """The proposal for each lead not yet triaged, in order (a lead named twice, once)."""
    decision_due = desk.calendar.add_working_days(desk.today, desk.policy.deadlines.leader_decision)
    now = utcnow()
    out = _Proposed()
    rows, steps, own, triaged = out.rows, out.steps, out.own, out.triaged
    for lead_id in dict.fromkeys(lead_ids):
        if lead_id in done:
            continue
        if lead_id not in found:
            raise RuleRefused("lead", f"no lead with id {lead_id}")
        lead = found[lead_id]
        proposal = propose(
            org,
            entity=lead.entity,
            rank=lead.subject_rank,
            flags=lead.flags,
            rules=desk.policy.jurisdiction,
        )
        unit = org.units[proposal.jurisdiction_unit]
        mode = str(proposal.mode)  # the value, as a plain str (intake._NewLeads says why)
        due = decision_due if proposal.needs_decision else None
        rows.append(
            (
                lead_id,
                proposal.level,
                unit.id,
                mode,
                list(proposal.reasons),
                now,
                due.due if due else None,
            )
        )
        steps.append(
            Step(
                lead_id,
                "triage",
                reason="集体排查: " + ("；".join(proposal.reasons) or "依干部管理权限自办"),
                changes={"jurisdiction_unit_id": unit.id},
                data={
                    "level": proposal.level,
                    "jurisdiction_unit": unit.code,
                    "proposed_mode": mode,
                    "reasons": list(proposal.reasons),
                    "needs_decision": proposal.needs_decision,
                    "decision_due": due.as_dict() if due else None,
                },
            )
        )
        if not proposal.needs_decision:
            own.append(Order(lead_id, Mode.own, "依干部管理权限"))
            triaged[lead_id] = Triaged._make((*lead, proposal.level, unit.code))
    return out


def decide(
    session: Session, desk: Desk, lead_id: int, *, mode: Mode, by: str | None, reason: str
) -> RecusalShortfall | None:
    """委领导分析研判: the leader's decision on the proposal, then the assignment.

    Returns the shortfall when recusal left too few to assign in that mode: the decision
    and the shortfall are both on the record, and escalated handling is proposed anew.
    """
    lead = locked_lead(session, desk, lead_id, "lead.decide")
    by = decider(desk.person, by, lead)
    proposal = session.get(TriageProposal, lead_id, populate_existing=True)
    if proposal is not None and proposal.decided_mode == mode.value:
        return None  # the same decision given twice (a retry): nothing new
    admit(session, lead, "decide")
    proposal = session.get_one(TriageProposal, lead_id)  # held: the guard found it
    proposal.decided_mode, proposal.decided_by, proposal.decided_at = mode.value, by, utcnow()
    # The key the waiting intake run is resumed with: nothing of the decision but this.
    proposal.decision_key = secrets.token_hex(16)
    audit.record(
        session,
        audit.EventDraft(
            actor=by,
            action="lead.decide",
            reason=reason,
            lead_id=lead_id,
            data={
                "proposed_mode": proposal.proposed_mode,
                "decided_mode": mode.value,
                "recorded_by": desk.actor,
            },
        ),
    )
    if lead.state == State.in_handling and mode.value == lead.handling_mode:
        return None  # a 协作申请 refused: the lead goes on as it was handled
    return assign_under_recusal(session, desk, lead_id, mode=mode, authorised_by=by)


def decider(person: Person, by: str | None, lead: Lead) -> str:
    """Who decided, as the record and the notices name them (授权人). A user decides as
    themselves (``by``, if given, must name them); the single operator and the system
    name the leader. Never the lead's own subject."""
    if person.kind is Kind.user:
        if by is not None and not person.names(by):
            raise refuse(
                person, "lead.decide", f"--by names someone other than {person.username}", lead.id
            )
        by = person.name
    elif by is None:
        raise BadInput([Problem("--by", "the leader who decided (委领导) is needed", field="by")])
    by = clean_text(by, field="by", source="--by")
    if by.split("（")[0].split("(")[0].strip() == lead.subject_name.strip():
        raise refuse(
            person, "lead.decide", "the lead's subject may not decide on it (回避)", lead.id
        )
    return by
