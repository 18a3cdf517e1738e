"""Checking the record (核验): the whole chain and its anchors, each full check itself an
event — so a lead's page can say when the record was last checked and what was found —
and one lead's own events checked on the fly: each event's hash recomputed from what it
says, and its link to the event before it in the chain."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from models import audit
from models.audit import AuditEvent
from models.audit.anchors import AnchorVerdict
from models.domain.people import Person
from models.services import anchoring
from models.services.access import permit
from models.store.database import transaction

CHECKED = "audit.verify"


@dataclass(frozen=True)
class Checked:
    chain: audit.Verdict
    anchors: AnchorVerdict
    seconds: float
    recorded: bool  # the check is on the trail (not where the database refuses writes)

    @property
    def intact(self) -> bool:
        return self.chain.intact and self.anchors.intact

    @property
    def first_bad_event(self) -> int | None:
        return self.chain.seq if self.chain.seq is not None else self.anchors.first_bad_event


@dataclass(frozen=True)
class LastCheck:
    at: datetime
    intact: bool
    events: int


@dataclass(frozen=True)
class LeadCheck:
    events: int
    intact: bool
    first_bad_event: int | None


def check_all(engine: Engine, by: Person) -> Checked:
    """The whole chain and every anchor checked, and the verdict recorded as an event."""
    with transaction(engine) as session:
        permit(session, by, "audit.verify")
    started = time.perf_counter()
    with engine.connect() as connection:
        verdict = audit.verify(connection)
        anchored = anchoring.check(connection)
    seconds = round(time.perf_counter() - started, 3)
    return Checked(verdict, anchored, seconds, recorded=_record(engine, by, verdict, anchored))


def _record(engine: Engine, by: Person, chain: audit.Verdict, anchors: AnchorVerdict) -> bool:
    """The check on the trail; False where the database refuses the write (a read-only
    copy under review): the verdict stands without it."""
    intact = chain.intact and anchors.intact
    first_bad = chain.seq if chain.seq is not None else anchors.first_bad_event
    try:
        with transaction(engine) as session:
            audit.record(
                session,
                audit.EventDraft(
                    actor=by.actor,
                    action=CHECKED,
                    reason="核验审计链：完整" if intact else "核验审计链：发现问题",
                    data={
                        "intact": intact,
                        "events": chain.events,
                        "first_bad_event": first_bad,
                        "anchors": anchors.anchors,
                    },
                ),
            )
    except SQLAlchemyError:
        return False
    return True


def last_check(session: Session) -> LastCheck | None:
    """The latest full check's time and verdict; None if the chain was never checked."""
    event = session.scalars(
        select(AuditEvent).where(AuditEvent.action == CHECKED).order_by(AuditEvent.seq.desc())
    ).first()
    if event is None:
        return None
    data = json.loads(event.data)
    return LastCheck(
        datetime.fromisoformat(event.at), bool(data.get("intact")), int(data.get("events", 0))
    )


def check_lead(session: Session, lead_id: int) -> LeadCheck:
    """The lead's own events: each hash against its content, each link to the one before."""
    events = audit.events_for_lead(session, lead_id)
    before = {e.seq - 1 for e in events if e.seq > 1}
    rows = session.execute(
        select(AuditEvent.seq, AuditEvent.hash).where(AuditEvent.seq.in_(before))
    )
    linked: dict[int, str] = {seq: digest for seq, digest in rows}
    for event in events:
        expected_prev = linked.get(event.seq - 1, audit.GENESIS)
        if event.hash != _hash_of(event) or event.prev_hash != expected_prev:
            return LeadCheck(len(events), False, event.seq)
    return LeadCheck(len(events), True, None)


def _hash_of(event: AuditEvent) -> str:
    return audit.event_hash(
        audit.canonical_event(
            event.seq,
            event.at,
            event.actor,
            event.action,
            event.reason,
            event.lead_id,
            event.unit,
            event.state_before,
            event.state_after,
            event.data,
            event.prev_hash,
        )
    )
