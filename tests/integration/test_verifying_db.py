"""A full check of the record, on SQLite and PostgreSQL: its verdict recorded as the
chain's next event, and given all the same where the database refuses that write."""

from __future__ import annotations

from sqlalchemy import Engine, text

from models.domain.people import system
from models.services import verifying
from models.store.database import transaction

# A trigger that refuses to record a check, as a read-only copy under review would.
REFUSE_CHECKS = {
    "sqlite": [
        "CREATE TRIGGER refuse_checks BEFORE INSERT ON audit_events "
        "WHEN NEW.action = 'audit.verify' BEGIN SELECT RAISE(ABORT, 'read only'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION refuse_checks() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'read only'; END $$",
        "CREATE TRIGGER refuse_checks BEFORE INSERT ON audit_events FOR EACH ROW "
        "WHEN (NEW.action = 'audit.verify') EXECUTE FUNCTION refuse_checks()",
    ],
}


def test_a_check_is_recorded_and_read_back(org_engine: Engine) -> None:
    checked = verifying.check_all(org_engine, system("review"))
    assert checked.intact and checked.recorded and checked.chain.events > 0
    with transaction(org_engine) as session:
        last = verifying.last_check(session)
    assert last is not None and last.intact and last.events == checked.chain.events


def test_a_database_that_refuses_the_write_still_gets_its_verdict(org_engine: Engine) -> None:
    with org_engine.begin() as connection:
        for statement in REFUSE_CHECKS[org_engine.dialect.name]:
            connection.execute(text(statement))
    checked = verifying.check_all(org_engine, system("review"))
    assert checked.intact and not checked.recorded
    with transaction(org_engine) as session:
        assert verifying.last_check(session) is None
