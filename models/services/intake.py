"""Receipt (受理, docs/rules.md §2.1): validate, register, de-duplicate, acknowledge.

One lead arriving and a million imported run this same code; the bulk path only
hands it bigger batches (docs/architecture.md principle 6).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import audit
from models.domain.errors import BadInput, Problem
from models.domain.lifecycle import INITIAL
from models.domain.terms import receipt_reason
from models.inputs.schemas import LeadIn
from models.services.door import remember
from models.store.base import utcnow
from models.store.database import insert_rows, select_in
from models.store.lead import Lead, LeadFacts, Reporter
from models.store.organisation import Entity

_LEAD_COLUMNS = (
    "external_id",
    "received_at",
    "registered_at",
    "source",
    "channel",
    "domain",
    "summary",
    "amount_yuan",
    "flags",
    "subject_name",
    "subject_post",
    "subject_rank",
    "entity_id",
    "state",
    "version",
)


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
    # The leads registered now, by id in arrival order, as triage would read them back.
    registered: dict[int, LeadFacts]


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


def _lead_ids(session: Session, external_ids: Sequence[str]) -> dict[str, int]:
    """The ids of the leads with these external ids, where they exist."""
    found = select_in(session, Lead.__table__, ("external_id", "id"), "external_id", external_ids)
    return {external_id: lead_id for external_id, lead_id in found}


def register(session: Session, arrivals: Sequence[Arrival], *, actor: str) -> IntakeResult:
    """Register the leads not seen before, in the session's transaction.

    A lead whose ``external_id`` is already known is acknowledged with its existing
    id and changes nothing. A lead naming an unknown entity is not registered; its
    problem is returned so the caller decides (a single submission refuses, a bulk
    import reports the line and goes on).
    """
    audit.lock_chain(session)  # first, so concurrent arrivals of one lead queue here
    ids = {a.lead.external_id for a in arrivals}
    known = _lead_ids(session, list(ids))
    codes = {a.lead.subject.entity for a in arrivals}
    entities = {
        code: (entity_id, name)
        for code, entity_id, name in select_in(
            session, Entity.__table__, ("code", "id", "name"), "code", list(codes)
        )
    }

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
    registered = _insert(session, fresh, entities, actor) if fresh else {}
    known |= {facts.external_id: lead_id for lead_id, facts in registered.items()}
    return IntakeResult([Receipt(e, known[e], dup) for e, dup in order], problems, registered)


def _insert(
    session: Session, fresh: list[Arrival], entities: dict[str, tuple[int, str]], actor: str
) -> dict[int, LeadFacts]:
    """Insert the new leads, their reporters and their receipt events; what was written."""
    now = utcnow()
    new = _new_leads(fresh, entities, now)
    insert_rows(session, Lead.__table__, _LEAD_COLUMNS, new.rows)
    ids = _lead_ids(session, [a.lead.external_id for a in fresh])
    new_ids = [ids[a.lead.external_id] for a in fresh]
    _insert_reporters(session, fresh, new_ids)
    _record_receipts(session, new_ids, new.arrived, actor=actor, at=now)
    remember(session, dict.fromkeys(new_ids, (INITIAL.value, 1)))
    return {lead_id: LeadFacts(lead_id, *f) for lead_id, f in zip(new_ids, new.facts, strict=True)}


@dataclass
class _NewLeads:
    """What registering a batch writes, lead by lead in arrival order: each lead's row,
    its :class:`LeadFacts` but its id (not yet known), and what its receipt event records.

    Enums are taken as ``str()``, their value: cheaper than ``.value`` (a property in
    Python), and a plain str binds faster than an enum member (no adapter lookup).
    """

    rows: list[tuple[object, ...]] = field(default_factory=list)
    facts: list[tuple[Any, ...]] = field(default_factory=list)
    arrived: list[dict[str, Any]] = field(default_factory=list)


def _new_leads(
    fresh: list[Arrival], entities: dict[str, tuple[int, str]], now: datetime
) -> _NewLeads:
    """The :class:`_NewLeads` of a batch, in one pass over it."""
    new = _NewLeads()
    rows, facts, arrived, initial = new.rows, new.facts, new.arrived, INITIAL.value
    for a in fresh:
        lead, subject = a.lead, a.lead.subject
        # str(): the value, as a plain str (see _NewLeads).
        source, channel, rank = str(lead.source), str(lead.channel), str(subject.rank)
        flags = list(map(str, lead.flags))
        entity_id, entity_name = entities[subject.entity]
        rows.append(
            (
                lead.external_id,
                lead.received_at,
                now,
                source,
                channel,
                lead.domain,
                lead.summary,
                lead.amount_yuan,
                flags,
                subject.name,
                subject.post,
                rank,
                entity_id,
                initial,
                1,
            )
        )
        facts.append(
            (
                lead.external_id,
                subject.name,
                subject.post,
                rank,
                lead.summary,
                flags,
                lead.domain,
                subject.entity,
                entity_name,
            )
        )
        # What arrived, minus the reporter's identity: the trail is exported.
        arrived.append(
            {
                "external_id": lead.external_id,
                "received_at": lead.received_at.isoformat(),
                "source": source,
                "channel": channel,
                "entity": subject.entity,
                "rank": rank,
                "domain": lead.domain,
                "flags": flags,
                "anonymous": lead.reporter is None or lead.reporter.anonymous,
            }
        )
    return new


def _insert_reporters(session: Session, fresh: list[Arrival], new_ids: list[int]) -> None:
    """The reporters (举报人) of the new leads that name one, in their own table, apart from
    the leads (docs/rules.md §5)."""
    reporters = [
        (lead_id, a.lead.reporter.name, a.lead.reporter.phone, a.lead.reporter.anonymous)
        for lead_id, a in zip(new_ids, fresh, strict=True)
        if a.lead.reporter is not None
    ]
    insert_rows(session, Reporter.__table__, ("lead_id", "name", "phone", "anonymous"), reporters)


def _record_receipts(
    session: Session,
    new_ids: list[int],
    arrived: list[dict[str, Any]],
    *,
    actor: str,
    at: datetime,
) -> None:
    """One ``lead.receive`` audit event a new lead, appended to the chain as one batch."""
    initial = INITIAL.value
    audit.append(
        session,
        [
            audit.EventDraft(
                actor=actor,
                action="lead.receive",
                reason=receipt_reason(data["source"], data["channel"]),
                lead_id=lead_id,
                state_after=initial,
                data=data,
            )
            for lead_id, data in zip(new_ids, arrived, strict=True)
        ],
        at=at,
    )
