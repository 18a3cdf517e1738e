"""The audit trail (docs/rules.md §5): append-only, hash-chained, reviewable per lead.

Each event's hash is the SHA-256 of its canonical JSON — the object with the keys
``action, actor, at, data, lead, prev, reason, seq, state_after, state_before,
unit`` in that (sorted) order, no spaces, UTF-8, non-ASCII kept — where ``prev`` is
the previous event's hash. Editing, removing or reordering any event breaks the
chain from that point; :func:`verify` names the first event that does not verify.

The database refuses UPDATE and DELETE on ``audit_events`` (triggers created by the
migrations); appends are serialised by a row lock on ``audit_head``, which also
records the chain's last event so that removing events from the end is found too.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, datetime
from json.encoder import encode_basestring
from typing import Any

from sqlalchemy import (
    ForeignKey,
    Integer,
    String,
    Text,
    event,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.store.base import Base, utcnow
from models.store.database import insert_rows, update_rows

GENESIS = "0" * 64


class AuditEvent(Base):
    __tablename__ = "audit_events"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[str] = mapped_column(String(40))  # ISO 8601, UTC: hashed exactly as stored
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(64), index=True)
    reason: Mapped[str] = mapped_column(Text)
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id"), index=True)
    unit: Mapped[str | None] = mapped_column(String(64), index=True)
    state_before: Mapped[str | None] = mapped_column(String(16))
    state_after: Mapped[str | None] = mapped_column(String(16))
    data: Mapped[str] = mapped_column(Text)  # canonical JSON of the event's details
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The chain's last event: one row, locked by every append."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))


# The day a replayed act claims (docs/rules.md §7), set where the replay is allowed and
# written into each event's data beside the real time the chain stamps.
REPLAYED_ON: ContextVar[date | None] = ContextVar("replayed_on", default=None)
REPLAYED_KEY = "replayed_on"


# Not frozen: a frozen dataclass sets each field through object.__setattr__, and a bulk
# import makes several drafts a lead.
@dataclass(slots=True)
class EventDraft:
    """What happened, by whom and why; the chain adds when, the sequence and the hashes."""

    actor: str
    action: str
    reason: str
    lead_id: int | None = None
    unit: str | None = None
    state_before: str | None = None
    state_after: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


# One encoder, made once: json.dumps with these options builds a new one every call, and
# JSONEncoder.encode makes its C encoder anew every call too, so
# json's C encoder is made once here; where there is none, the Python one does the same.
# (The C encoder's maker is not in json's type stubs, hence getattr.)
c_make_encoder: Callable[..., Callable[[Any, int], Iterable[str]]] | None = getattr(
    json.encoder, "c_make_encoder", None
)
if c_make_encoder is not None:
    _C_CANONICAL = c_make_encoder(None, str, encode_basestring, None, ":", ",", True, False, True)

    def canonical_data(data: dict[str, Any]) -> str:
        return "".join(_C_CANONICAL(data, 0))

else:  # pragma: no cover - CPython always has the C encoder
    _PY_CANONICAL = json.JSONEncoder(
        sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )

    def canonical_data(data: dict[str, Any]) -> str:
        return _PY_CANONICAL.encode(data)


def _text(value: str | None) -> str:
    return "null" if value is None else encode_basestring(value)


def canonical_event(
    seq: int,
    at: str,
    actor: str,
    action: str,
    reason: str,
    lead_id: int | None,
    unit: str | None,
    state_before: str | None,
    state_after: str | None,
    data: str,
    prev_hash: str,
    *,
    quoted: bool = False,
) -> str:
    """The event's canonical JSON, built from parts because ``data`` is already canonical.

    Equal to ``json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)``
    of the whole object (a unit test holds it to that), at a fraction of the cost.
    ``quoted``: ``at``, ``actor`` and ``action`` come quoted already (an append quotes
    each value once, not once an event). ``prev_hash`` is a hex digest: nothing to escape.
    """
    if not quoted:
        at, actor, action = (
            encode_basestring(at),
            encode_basestring(actor),
            encode_basestring(action),
        )
    return (
        f'{{"action":{action},"actor":{actor},"at":{at},"data":{data},'
        f'"lead":{"null" if lead_id is None else lead_id},"prev":"{prev_hash}",'
        f'"reason":{encode_basestring(reason)},"seq":{seq},"state_after":{_text(state_after)},'
        f'"state_before":{_text(state_before)},"unit":{_text(unit)}}}'
    )


def event_hash(canonical: str) -> str:
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


_HEAD = "leadflow.audit_head"
_APPENDED = (
    "seq",
    "at",
    "actor",
    "action",
    "reason",
    "lead_id",
    "unit",
    "state_before",
    "state_after",
    "data",
    "prev_hash",
    "hash",
)


def lock_chain(session: Session) -> tuple[int, str]:
    """Take the chain's lock for the rest of the transaction; the last event's seq and hash.

    Every writing transaction takes it first, so all writers queue in one order.
    On SQLite the transaction already holds the write lock (``BEGIN IMMEDIATE``).
    Once taken, the head is remembered until the transaction (or a savepoint in it)
    ends, so the many steps of one transaction do not re-read it.
    """
    cached = session.info.get(_HEAD)
    if cached is not None:
        return cached
    seq, digest = session.execute(
        select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1).with_for_update()
    ).one()
    session.info[_HEAD] = (seq, digest)
    return seq, digest


@event.listens_for(Session, "after_transaction_end")
def _forget_head(session: Session, _transaction: Any) -> None:
    # Any end — commit, rollback, or a savepoint's — may leave the remembered head stale.
    session.info.pop(_HEAD, None)


def append(session: Session, drafts: Iterable[EventDraft], *, at: datetime | None = None) -> int:
    """Append events at the end of the chain, in this session's transaction.

    Returns the sequence number of the last event appended. The head row lock is
    held until the transaction ends, so no two writers can fork the chain.
    """
    seq, prev = lock_chain(session)
    stamp = (at or utcnow()).isoformat()
    replayed = REPLAYED_ON.get()
    # The batch's one time, and its few actors and actions, each quoted once.
    quote = encode_basestring
    quoted = {stamp: quote(stamp)}
    rows = []
    for draft in drafts:
        seq += 1
        actor, action = draft.actor, draft.action
        # The row's columns in canonical_event's order, passed to it as they are but quoted.
        row = (
            seq,
            stamp,
            actor,
            action,
            draft.reason,
            draft.lead_id,
            draft.unit,
            draft.state_before,
            draft.state_after,
            canonical_data(
                {**draft.data, REPLAYED_KEY: replayed.isoformat()} if replayed else draft.data
            ),
            prev,
        )
        text = canonical_event(
            seq,
            quoted[stamp],
            quoted.get(actor) or quoted.setdefault(actor, quote(actor)),
            quoted.get(action) or quoted.setdefault(action, quote(action)),
            *row[4:],
            quoted=True,
        )
        prev = event_hash(text)
        rows.append((*row, prev))
    if rows:
        insert_rows(session, AuditEvent.__table__, _APPENDED, rows)
        # Not the ORM's update(): it costs a batch more than the statement itself does.
        update_rows(session, AuditHead.__table__, ("seq", "hash"), ("id",), [(seq, prev, 1)])
        session.info[_HEAD] = (seq, prev)
    return seq


def record(session: Session, draft: EventDraft) -> int:
    return append(session, [draft])


def events_for_lead(session: Session, lead_id: int) -> list[AuditEvent]:
    return list(
        session.scalars(select(AuditEvent).where(AuditEvent.lead_id == lead_id).order_by("seq"))
    )


def as_dict(event: AuditEvent) -> dict[str, Any]:
    return {
        "seq": event.seq,
        "at": event.at,
        "actor": event.actor,
        "action": event.action,
        "reason": event.reason,
        "lead": event.lead_id,
        "unit": event.unit,
        "state_before": event.state_before,
        "state_after": event.state_after,
        "data": json.loads(event.data),
        "prev_hash": event.prev_hash,
        "hash": event.hash,
    }
