"""The audit trail (DOMAIN.md §5): append-only, hash-chained, reviewable per lead.

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
import itertools
import json
import multiprocessing
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime
from json.encoder import (  # the C-accelerated parts json.dumps uses
    c_make_encoder,  # type: ignore[attr-defined]
    encode_basestring,
)
from typing import Any

from sqlalchemy import (
    Connection,
    ForeignKey,
    Integer,
    String,
    Text,
    event,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from models import collector
from models.base import Base, utcnow
from models.database import insert_rows, shared_snapshot_file, update_rows

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


# Not frozen: a frozen dataclass is made three times slower (each field set through
# object.__setattr__), and a bulk import makes nearly three drafts a lead.
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
# JSONEncoder.encode makes its C encoder anew every call too (a third of its cost), so
# json's C encoder is made once here; where there is none, the Python one does the same.
if c_make_encoder is not None:
    _C_CANONICAL = c_make_encoder(None, str, encode_basestring, None, ":", ",", True, False, True)

    def canonical_data(data: dict[str, Any]) -> str:
        return "".join(_C_CANONICAL(data, 0))

else:  # pragma: no cover - CPython always has the C encoder
    canonical_data = json.JSONEncoder(
        sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    ).encode


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
            canonical_data(draft.data),
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
        # Not the ORM's update(): 0.32 ms a call against 0.03, three or four calls a batch.
        update_rows(session, AuditHead.__table__, ("seq", "hash"), ("id",), [(seq, prev, 1)])
        session.info[_HEAD] = (seq, prev)
    return seq


def record(session: Session, draft: EventDraft) -> int:
    return append(session, [draft])


@dataclass(frozen=True)
class Verdict:
    intact: bool
    events: int
    problem: str | None = None
    seq: int | None = None


# From this many events a chain on an SQLite file is verified in two halves, one in a
# second process: one process cannot fetch the rows as fast as two cores hash them
# (BENCHMARKS.md, audit verification). Below it, starting the process costs more.
HALVES_FROM = 20_000


def _canonical_sql(dialect: str) -> str:
    """The canonical text built by the database, as bytes: SQLite's ``json_quote`` and
    PostgreSQL's ``to_json`` escape exactly as ``encode_basestring`` does
    (tests/integration/test_audit_db.py holds every code point to it), and one value a
    row fetches faster than eleven (BENCHMARKS.md, audit verification)."""
    sqlite = dialect == "sqlite"
    quote = "json_quote({})" if sqlite else "to_json({})::text"
    number = "{}" if sqlite else "{}::text"

    def text(column: str) -> str:
        return f"coalesce({quote.format(column)}, 'null')"

    parts = [
        ("action", text("action")),
        ("actor", text("actor")),
        ("at", text("at")),
        ("data", "coalesce(data, 'null')"),
        ("lead", f"coalesce({number.format('lead_id')}, 'null')"),
        ("prev", text("prev_hash")),
        ("reason", text("reason")),
        ("seq", number.format("seq")),
        ("state_after", text("state_after")),
        ("state_before", text("state_before")),
        ("unit", text("unit")),
    ]
    body = " || ".join(
        f"'{',' if n else '{'}\"{key}\":' || {value}" for n, (key, value) in enumerate(parts)
    )
    whole = f"{body} || '}}'"
    return f"CAST({whole} AS BLOB)" if sqlite else f"convert_to({whole}, 'UTF8')"


def _select(after: int, until: int | None, dialect: str) -> str:
    bound = "" if until is None else f" AND seq <= {int(until)}"
    return (
        f"SELECT seq, prev_hash, hash, {_canonical_sql(dialect)} FROM audit_events"
        f" WHERE seq > {int(after)}{bound} ORDER BY seq"
    )


def _rows(
    connection: Connection, after: int = 0, until: int | None = None
) -> Iterator[tuple[int, str, str, bytes]]:
    """The events after ``after`` up to ``until``, oldest first, as ``(seq, prev_hash,
    hash, canonical text)``, from the driver's plain tuples — SQLAlchemy's rows would
    cost as much as the hashing — streamed: a server-side cursor on PostgreSQL."""
    connection.exec_driver_sql("SELECT 1")  # the transaction the cursor below reads in
    raw = connection.connection.dbapi_connection
    dialect = connection.dialect.name
    cursor = (
        raw.cursor(name="leadflow_audit_verify", binary=True)
        if dialect == "postgresql"
        else raw.cursor()
    )
    try:
        cursor.execute(_select(after, until, dialect))
        yield from _fetched(cursor)
    finally:
        cursor.close()


def _fetched(cursor: Any) -> Iterator[tuple[Any, ...]]:
    while rows := cursor.fetchmany(20_000):
        yield from rows


@dataclass(frozen=True)
class _Walked:
    """Where a walk along the chain stopped: the events verified, the next expected
    event and the last hash, or the first problem met."""

    count: int
    expected_seq: int
    prev: str | None
    problem: Verdict | None = None

    def then(self, rest: _Walked) -> _Walked:
        """This walk followed by ``rest``, which went on from where this one stopped."""
        count = self.count + rest.count
        problem = rest.problem and Verdict(False, count, rest.problem.problem, rest.problem.seq)
        return _Walked(count, rest.expected_seq, rest.prev if rest.count else self.prev, problem)


def _walk(
    rows: Iterable[tuple[int, str, str, bytes]], expected_seq: int, prev: str | None
) -> _Walked:
    """Verify ``rows`` as the chain from ``expected_seq`` on, linked to ``prev`` (None:
    to whatever the first row names — the caller checks that link itself)."""
    count = 0
    sha256 = hashlib.sha256
    for seq, prev_hash, digest, canonical in rows:
        if seq != expected_seq:
            problem = (
                f"event {seq}: expected event {expected_seq} before it — "
                f"{seq - expected_seq} event(s) removed"
            )
            return _Walked(count, expected_seq, prev, Verdict(False, count, problem, expected_seq))
        if prev_hash != prev and prev is not None:
            problem = (
                f"event {seq}: does not link to event {seq - 1} "
                "(an earlier event was changed, removed or reordered)"
            )
            return _Walked(count, expected_seq, prev, Verdict(False, count, problem, seq))
        if sha256(canonical).hexdigest() != digest:
            problem = f"event {seq}: its content does not match its hash (edited)"
            return _Walked(count, expected_seq, prev, Verdict(False, count, problem, seq))
        prev, expected_seq, count = digest, seq + 1, count + 1
    return _Walked(count, expected_seq, prev)


def _walk_apart(path: str, after: int, send: Any) -> None:
    """The second half, in a forked process on its own connection to the file; sends
    the link its first event names and where its walk stopped."""
    try:
        with closing(sqlite3.connect(path)) as connection:
            rows = _fetched(connection.execute(_select(after, None, "sqlite")))
            first = next(rows, None)
            head = [] if first is None else [first]
            walked = _walk(itertools.chain(head, rows), after + 1, None)
            send.send((None if first is None else first[1], walked))
    except Exception as exc:  # the parent walks this half itself
        send.send(exc)


@dataclass(frozen=True)
class _SecondHalf:
    """The chain after event ``after``, walked by a forked process."""

    after: int
    process: Any
    receive: Any

    def result(self, patience: float) -> tuple[str | None, _Walked] | None:
        """The link its first event names and its walk; None if the process failed or
        took longer than ``patience`` seconds (a child forked from a process with
        threads can, rarely, deadlock: its half is then walked here)."""
        try:
            found = self.receive.recv() if self.receive.poll(patience) else None
        except EOFError:  # the process died
            found = None
        finally:
            self.receive.close()
            self.process.kill()
            self.process.join()
        return found if isinstance(found, tuple) else None


def _second_half(connection: Connection, events: int, halves_from: int) -> _SecondHalf | None:
    if events < halves_from or "fork" not in multiprocessing.get_all_start_methods():
        return None
    path = shared_snapshot_file(connection)
    if path is None:
        return None
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    after = events // 2
    process = context.Process(target=_walk_apart, args=(path, after, send), daemon=True)
    process.start()
    send.close()
    return _SecondHalf(after, process, receive)


def verify(connection: Connection, *, halves_from: int = HALVES_FROM) -> Verdict:
    """Walk the whole chain; the verdict names the first event that does not verify.

    A long chain on an SQLite file is walked in two halves at once, the second by a
    forked process; its first link is checked against the first half's last hash. If
    the halves do not join, or the process fails or hangs, the second half is walked
    here from where the first stopped, so the verdict is always the one-walk verdict.
    """
    connection.exec_driver_sql("SELECT 1")  # one transaction: the head and the rows agree
    head_seq, head_hash = connection.execute(
        select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1)
    ).one()
    with collector.paused():  # the fork inherits it
        started = time.monotonic()
        second = _second_half(connection, head_seq, halves_from)
        walked = _walk(_rows(connection, until=second and second.after), 1, GENESIS)
    if second is not None:
        # The halves are equal: ten times this one's time is far more than the other needs.
        found = second.result(patience=10 * (time.monotonic() - started) + 5)
        if walked.problem is not None:
            return walked.problem
        joins = (
            found is not None
            and walked.expected_seq == second.after + 1
            and found[0] in (None, walked.prev)
        )
        if joins:
            walked = walked.then(found[1])
        else:  # walked again here from where the first half stopped, as one walk would
            rest = _rows(connection, after=second.after)
            walked = walked.then(_walk(rest, walked.expected_seq, walked.prev))
    if walked.problem is not None:
        return walked.problem
    count, prev = walked.count, walked.prev
    if (head_seq, head_hash) != (count, prev):
        return Verdict(
            False,
            count,
            f"the chain ends at event {count} but its head records event {head_seq}: "
            "events at the end were removed or the head was altered",
            count + 1,
        )
    return Verdict(True, count)


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
