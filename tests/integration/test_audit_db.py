"""The audit trail on a real database: guards refuse changes; edits made behind them are found."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import closing, contextmanager
from typing import Any

import pytest
import sqlalchemy.exc
from sqlalchemy import Connection, Engine

from models.audit import verify
from models.store.database import make_engine
from tests.integration.helpers import example_leads, receive, walk


def _filled(engine: Engine) -> Engine:
    for lead in example_leads()[:5]:
        walk(engine, receive(engine, lead), ["triage", "assign"])
    return engine


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_events SET reason = 'rewritten' WHERE seq = 3",
        "DELETE FROM audit_events WHERE seq = 3",
        "DELETE FROM audit_events",
    ],
)
def test_the_database_refuses_update_and_delete(org_engine: Engine, statement: str) -> None:
    engine = _filled(org_engine)
    with pytest.raises(sqlalchemy.exc.DatabaseError, match="append-only"), engine.begin() as c:
        c.exec_driver_sql(statement)
    with engine.connect() as connection:
        assert verify(connection).intact


def test_postgres_refuses_truncate(org_engine: Engine) -> None:
    if org_engine.dialect.name != "postgresql":
        pytest.skip("TRUNCATE is a PostgreSQL statement; SQLite's DELETE is covered above")
    with pytest.raises(sqlalchemy.exc.DatabaseError, match="append-only"), org_engine.begin() as c:
        c.exec_driver_sql("TRUNCATE audit_events CASCADE")


@contextmanager
def behind_the_guards(engine: Engine):
    """What someone with the database file or superuser rights could do: bypass the triggers."""
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            connection.exec_driver_sql("DROP TRIGGER audit_events_no_update")
            connection.exec_driver_sql("DROP TRIGGER audit_events_no_delete")
        else:
            connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
        yield connection


Tamper = Callable[[Connection], None]
TAMPERING: dict[str, tuple[Tamper, int, str]] = {
    "edit a reason": (
        lambda c: c.exec_driver_sql("UPDATE audit_events SET reason = '无' WHERE seq = 7"),
        7,
        "does not match its hash",
    ),
    "edit an actor and recompute its hash": (
        lambda c: c.exec_driver_sql(
            "UPDATE audit_events SET actor = 'x', hash = 'ab' || substr(hash, 3) WHERE seq = 7"
        ),
        7,
        "does not match its hash",
    ),
    "delete a middle event": (
        lambda c: c.exec_driver_sql("DELETE FROM audit_events WHERE seq = 7"),
        7,
        "removed",
    ),
    "delete the last events": (
        lambda c: c.exec_driver_sql(
            "DELETE FROM audit_events WHERE seq > (SELECT max(seq) - 2 FROM audit_events)"
        ),
        None,
        "at the end were removed",
    ),
    "swap two events": (
        lambda c: (
            c.exec_driver_sql("UPDATE audit_events SET seq = -1 WHERE seq = 7"),
            c.exec_driver_sql("UPDATE audit_events SET seq = 7 WHERE seq = 8"),
            c.exec_driver_sql("UPDATE audit_events SET seq = 8 WHERE seq = -1"),
        ),
        7,
        "does not link",
    ),
}


@pytest.mark.parametrize("how", list(TAMPERING))
def test_tampering_behind_the_guards_is_found_and_named(org_engine: Engine, how: str) -> None:
    engine = _filled(org_engine)
    with engine.connect() as connection:
        total = verify(connection).events
    tamper, seq, words = TAMPERING[how]
    with behind_the_guards(engine) as connection:
        tamper(connection)
    with engine.connect() as connection:
        verdict = verify(connection)
    assert not verdict.intact
    assert words in verdict.problem
    assert verdict.seq == (seq if seq is not None else total - 1)


def test_a_rolled_back_savepoint_leaves_no_gap_in_the_chain(org_engine: Engine) -> None:
    from sqlalchemy import select

    from models.audit import AuditEvent, EventDraft, record
    from models.store.database import transaction

    with transaction(org_engine) as session:
        record(session, EventDraft(actor="t", action="test.kept", reason="before"))
        savepoint = session.begin_nested()
        record(session, EventDraft(actor="t", action="test.undone", reason="inside"))
        savepoint.rollback()
        record(session, EventDraft(actor="t", action="test.kept", reason="after"))
    with org_engine.connect() as connection:
        verdict = verify(connection)
        actions = list(
            connection.scalars(
                select(AuditEvent.action).where(AuditEvent.action.like("test.%")).order_by("seq")
            )
        )
    assert verdict.intact, verdict.problem
    assert actions == ["test.kept", "test.kept"]


def _rehashed(connection: Connection, seq: int, reason: str) -> None:
    """Rewrite an event's reason and give it the hash its new content has: only the
    link from the next event shows it."""
    from models.audit import canonical_event, event_hash

    columns = "seq, at, actor, action, reason, lead_id, unit, state_before, state_after, data"
    row = connection.exec_driver_sql(
        f"SELECT {columns}, prev_hash FROM audit_events WHERE seq = {seq}"
    ).one()
    parts = list(row[:11])
    parts[4] = reason
    connection.exec_driver_sql(
        "UPDATE audit_events SET reason = ?, hash = ? WHERE seq = ?",
        (reason, event_hash(canonical_event(*parts)), seq),
    )


def _watch_halves(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Each second half verification started (None: the chain was walked once)."""
    from models.audit import verification as audit

    halves: list[object] = []
    second_half = audit._second_half

    def watched(*args: object) -> object:
        halves.append(found := second_half(*args))
        return found

    monkeypatch.setattr(audit, "_second_half", watched)
    return halves


def test_a_second_process_walks_half_only_where_it_sees_what_this_one_sees(
    org_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An SQLite file read by a transaction that has written nothing: yes. A transaction
    that has written (its own events not yet committed) or PostgreSQL: one walk."""
    from models.audit import EventDraft, record
    from models.store.database import transaction

    halves = _watch_halves(monkeypatch)
    engine = _filled(org_engine)
    with engine.connect() as connection:
        assert verify(connection, halves_from=1).intact
    with transaction(engine) as session:
        record(session, EventDraft(actor="t", action="test.pending", reason="not committed"))
        verdict = verify(session.connection(), halves_from=1)
        assert verdict.intact
    with engine.connect() as connection:
        assert verify(connection, halves_from=1).events == verdict.events
    walked_apart = [found is not None for found in halves]
    if engine.dialect.name == "sqlite":
        assert walked_apart == [True, False, True]
    else:
        assert walked_apart == [False, False, False]


SPOILING: dict[str, Callable[[Connection, int], object]] = {
    "edit a reason": lambda c, s: c.exec_driver_sql(
        f"UPDATE audit_events SET reason = '无' WHERE seq = {s}"
    ),
    "edit an actor and recompute its hash": lambda c, s: c.exec_driver_sql(
        f"UPDATE audit_events SET actor = 'x', hash = 'ab' || substr(hash, 3) WHERE seq = {s}"
    ),
    "edit a reason and recompute its hash": lambda c, s: _rehashed(c, s, reason="无"),
    "delete an event": lambda c, s: c.exec_driver_sql(f"DELETE FROM audit_events WHERE seq = {s}"),
    "delete three events": lambda c, s: c.exec_driver_sql(
        f"DELETE FROM audit_events WHERE seq BETWEEN {s - 1} AND {s + 1}"
    ),
    "delete every event from here on": lambda c, s: c.exec_driver_sql(
        f"DELETE FROM audit_events WHERE seq >= {s}"
    ),
    "swap with the next event": lambda c, s: (
        c.exec_driver_sql(f"UPDATE audit_events SET seq = -1 WHERE seq = {s}"),
        c.exec_driver_sql(f"UPDATE audit_events SET seq = {s} WHERE seq = {s + 1}"),
        c.exec_driver_sql(f"UPDATE audit_events SET seq = {s + 1} WHERE seq = -1"),
    ),
}


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("how", list(SPOILING))
def test_a_chain_walked_in_two_halves_gets_the_verdict_of_one_walk(
    org_engine: Engine, how: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Wherever the chain is spoiled — in either half, at the seam between them, or not
    at all — verifying it in two processes names the same event, for the same reason,
    as walking it once."""
    halves = _watch_halves(monkeypatch)
    engine = _filled(org_engine)
    with engine.connect() as connection:
        total = verify(connection).events
    middle = total // 2
    for at in sorted({3, middle - 1, middle, middle + 1, middle + 2, total - 2}):
        spoilt = make_engine(str(engine.url).replace(".db", f"-{at}.db"))
        with closing(sqlite3.connect(engine.url.database, isolation_level=None)) as source:
            source.execute("VACUUM INTO ?", (spoilt.url.database,))
        with behind_the_guards(spoilt) as connection:
            SPOILING[how](connection, at)
        with spoilt.connect() as connection:
            once = verify(connection, halves_from=10**9)
        with spoilt.connect() as connection:
            halves.clear()
            twice = verify(connection, halves_from=1)
        assert halves and halves[0] is not None, "the second half was not walked apart"
        assert not once.intact, (how, at)
        assert twice == once, (how, at)
        spoilt.dispose()
    with engine.connect() as connection:
        assert verify(connection, halves_from=1) == verify(connection, halves_from=10**9)


def test_every_character_verifies_as_the_canonical_form_hashed_it(org_engine: Engine) -> None:
    """SQLite builds each event's canonical text itself when verifying (json_quote):
    every code point in every text column, as JSON escapes or as itself, must come out
    as Python's canonical form had it when the event was appended."""
    from models.audit import EventDraft, append
    from models.store.database import transaction

    every = [chr(c) for c in range(1, 0x3000) if not 0xD800 <= c < 0xE000]
    every += ["\u2028\u2029\ufeff\uffff", "😀𝄞\U0010ffff", "中文“引号”\\\"'"]
    if org_engine.dialect.name == "sqlite":
        every.append("\x00")  # PostgreSQL's text cannot hold it at all
    texts = ["".join(every[i : i + 512]) for i in range(0, len(every), 512)]
    with transaction(org_engine) as session:
        append(
            session,
            [
                EventDraft(
                    actor=text[:64],
                    action=f"test.{n}",
                    reason=text,
                    unit=text[-32:],
                    state_before=text[:8],
                    state_after=text[8:16],
                    data={"text": text, text[:3]: [text[3:9], None, 1.5, True]},
                )
                for n, text in enumerate(texts)
            ],
        )
    with org_engine.connect() as connection:
        verdict = verify(connection)
    assert verdict.intact, verdict.problem


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("fate", ["dies", "hangs", "fails"])
def test_a_second_process_that_fails_leaves_its_half_to_this_one(
    org_engine: Engine, fate: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever befalls the forked process — killed, deadlocked, an error — the chain is
    still verified, by this process walking the second half itself."""
    import os
    import time

    from models.audit import verification as audit

    def befall(path: str, after: int, send: Any) -> None:
        if fate == "dies":
            os._exit(1)
        if fate == "hangs":
            time.sleep(600)
        send.send(OSError("disk I/O error"))  # what _walk_apart sends of an error

    engine = _filled(org_engine)
    with engine.connect() as connection:
        once = verify(connection, halves_from=10**9)
    monkeypatch.setattr(audit, "_walk_apart", befall)
    started = time.monotonic()
    with engine.connect() as connection:
        assert verify(connection, halves_from=1) == once
    assert once.intact and time.monotonic() - started < 30
