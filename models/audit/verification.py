"""Verifying the audit trail (docs/rules.md §5): every event's hash recomputed from its
canonical text, every link to the event before it checked, and the chain's end matched
against the head row, so an edited, removed, reordered or truncated event is found and
the verdict names the first one. The canonical text is built by the database itself,
the rows are streamed, and a long chain on an SQLite file is walked in two halves at
once; whichever way it is walked, the verdict is the one a single walk would give.
"""

from __future__ import annotations

import hashlib
import itertools
import multiprocessing
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Connection,
    select,
)

from models.audit.chain import GENESIS, AuditHead
from models.store import collector
from models.store.database import shared_snapshot_file


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
    assert raw is not None  # checked out by the statement above
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
        until = None if second is None else second.after
        walked = _walk(_rows(connection, until=until), 1, GENESIS)
    if second is not None:
        # The halves are equal: ten times this one's time is far more than the other needs.
        found = second.result(patience=10 * (time.monotonic() - started) + 5)
        if walked.problem is not None:
            return walked.problem
        if (
            found is not None
            and walked.expected_seq == second.after + 1
            and found[0] in (None, walked.prev)
        ):
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
