"""Receipt (受理, DOMAIN.md §2.1): validate, register, de-duplicate, acknowledge.

One lead arriving and a million imported run this same code; the bulk path only
hands it bigger batches (ARCHITECTURE.md principle 6).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from models import audit
from models.base import utcnow
from models.errors import BadInput, Problem
from models.lead import Lead, Reporter
from models.lifecycle import INITIAL
from models.organisation import Entity
from models.schemas import LeadIn


@dataclass(frozen=True)
class Arrival:
    """A validated lead and where it came from (for messages)."""

    lead: LeadIn
    source: str
    line: int | None = None


@dataclass(frozen=True)
class Receipt:
    external_id: str
    lead_id: int
    duplicate: bool


@dataclass
class IntakeResult:
    receipts: list[Receipt]
    problems: list[Problem]


def _unknown_entity(arrival: Arrival) -> Problem:
    return Problem(
        arrival.source,
        f"unknown entity '{arrival.lead.subject.entity}' (load it with `leadflow org load`)",
        line=arrival.line,
        field="subject.entity",
    )


def check_references(session: Session, arrivals: Sequence[Arrival]) -> None:
    """Refuse, before anything runs, leads that name an entity nobody has loaded."""
    codes = {a.lead.subject.entity for a in arrivals}
    known = set(session.scalars(select(Entity.code).where(Entity.code.in_(codes))))
    problems = [_unknown_entity(a) for a in arrivals if a.lead.subject.entity not in known]
    if problems:
        raise BadInput(problems)


def register(session: Session, arrivals: Sequence[Arrival], *, actor: str) -> IntakeResult:
    """Register the leads not seen before, in the session's transaction.

    A lead whose ``external_id`` is already known is acknowledged with its existing
    id and changes nothing. A lead naming an unknown entity is not registered; its
    problem is returned so the caller decides (a single submission refuses, a bulk
    import reports the line and goes on).
    """
    audit.lock_chain(session)  # first, so concurrent arrivals of one lead queue here
    ids = {a.lead.external_id for a in arrivals}
    known = dict(
        session.execute(select(Lead.external_id, Lead.id).where(Lead.external_id.in_(ids))).all()
    )
    codes = {a.lead.subject.entity for a in arrivals}
    entities = dict(
        session.execute(select(Entity.code, Entity.id).where(Entity.code.in_(codes))).all()
    )

    # (external_id, duplicate) in arrival order; ids are known once the new rows exist.
    order: list[tuple[str, bool]] = []
    problems: list[Problem] = []
    fresh: list[Arrival] = []
    seen: set[str] = set()
    for arrival in arrivals:
        lead = arrival.lead
        if lead.external_id in known:
            order.append((lead.external_id, True))
            continue
        if lead.subject.entity not in entities:
            problems.append(_unknown_entity(arrival))
            continue
        duplicate = lead.external_id in seen
        order.append((lead.external_id, duplicate))
        if duplicate:
            continue
        seen.add(lead.external_id)
        fresh.append(arrival)
    if fresh:
        known.update(_insert(session, fresh, entities, actor))
    return IntakeResult([Receipt(e, known[e], dup) for e, dup in order], problems)


def _insert(
    session: Session, fresh: list[Arrival], entities: dict[str, int], actor: str
) -> dict[str, int]:
    """Insert the new leads, their reporters and their receipt events; their ids by external id."""
    now = utcnow()
    rows = [
        {
            "external_id": a.lead.external_id,
            "received_at": a.lead.received_at,
            "registered_at": now,
            "source": a.lead.source.value,
            "channel": a.lead.channel.value,
            "domain": a.lead.domain,
            "summary": a.lead.summary,
            "amount_yuan": a.lead.amount_yuan,
            "flags": [f.value for f in a.lead.flags],
            "subject_name": a.lead.subject.name,
            "subject_post": a.lead.subject.post,
            "subject_rank": a.lead.subject.rank.value,
            "entity_id": entities[a.lead.subject.entity],
            "state": INITIAL.value,
            "version": 1,
        }
        for a in fresh
    ]
    new_ids = session.scalars(
        insert(Lead).returning(Lead.id, sort_by_parameter_order=True), rows
    ).all()
    reporters = [
        {
            "lead_id": lead_id,
            "name": a.lead.reporter.name,
            "phone": a.lead.reporter.phone,
            "anonymous": a.lead.reporter.anonymous,
        }
        for lead_id, a in zip(new_ids, fresh, strict=True)
        if a.lead.reporter is not None
    ]
    if reporters:
        session.execute(insert(Reporter), reporters)
    audit.append(
        session,
        [
            audit.EventDraft(
                actor=actor,
                action="lead.receive",
                reason=f"受理: {a.lead.source.value} via {a.lead.channel.value}",
                lead_id=lead_id,
                state_after=INITIAL.value,
                # What arrived, minus the reporter's identity: the trail is exported.
                data={
                    "external_id": a.lead.external_id,
                    "received_at": a.lead.received_at.isoformat(),
                    "source": a.lead.source.value,
                    "channel": a.lead.channel.value,
                    "entity": a.lead.subject.entity,
                    "rank": a.lead.subject.rank.value,
                    "domain": a.lead.domain,
                    "flags": [f.value for f in a.lead.flags],
                    "anonymous": a.lead.reporter is None or a.lead.reporter.anonymous,
                },
            )
            for lead_id, a in zip(new_ids, fresh, strict=True)
        ],
        at=now,
    )
    return {a.lead.external_id: lead_id for lead_id, a in zip(new_ids, fresh, strict=True)}
