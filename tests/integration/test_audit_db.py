"""The audit trail on a real database: guards refuse changes; edits made behind them are found."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager

import pytest
import sqlalchemy.exc
from sqlalchemy import Connection, Engine

from models.audit import verify
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
    from models.database import transaction

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
