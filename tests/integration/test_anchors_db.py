"""The audit chain anchored outside the database, on SQLite and PostgreSQL: a chain
rewritten behind the guards — an event deleted, every later event and the head rehashed,
the guards restored — verifies on its own, and the anchors find it and name where; an
anchors' file altered, a line removed or a signature forged is found too."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, delete, insert, select, update

from models import audit
from models.audit import anchors
from models.audit.chain import GENESIS, AuditEvent, AuditHead, canonical_event, event_hash
from models.domain.errors import RuleRefused
from models.services import anchoring
from tests.integration.helpers import example_leads, receive, walk


@pytest.fixture
def home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("LEADFLOW_HOME", str(tmp_path / "home"))
    assert anchoring.make_key() is not None
    return tmp_path / "home"


def _more(engine: Engine, n: int) -> None:
    for lead in example_leads()[n : n + 2]:
        walk(engine, receive(engine, lead), ["triage", "assign"])


@contextmanager
def guards_dropped_then_restored(engine: Engine) -> Iterator[Connection]:
    """What a writer with the database file or superuser rights could do, leaving the
    guards as they were found."""
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            kept = connection.exec_driver_sql(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                "AND tbl_name = 'audit_events'"
            ).all()
            for name, _ in kept:
                connection.exec_driver_sql(f"DROP TRIGGER {name}")
            yield connection
            for _, sql in kept:
                connection.exec_driver_sql(sql)
        else:  # ends with the transaction
            connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
            yield connection


def rewrite_without(connection: Connection, gone: int) -> None:
    """Delete event ``gone``, renumber and rehash every later one, and move the head."""
    later = connection.execute(
        select(AuditEvent.__table__).where(AuditEvent.seq > gone).order_by(AuditEvent.seq)
    ).all()
    connection.execute(delete(AuditEvent).where(AuditEvent.seq >= gone))
    prev = connection.scalar(select(AuditEvent.hash).where(AuditEvent.seq == gone - 1)) or GENESIS
    for row in later:
        seq = row.seq - 1
        text = canonical_event(
            seq, row.at, row.actor, row.action, row.reason, row.lead_id, row.unit,
            row.state_before, row.state_after, row.data, prev,
        )  # fmt: skip
        digest = event_hash(text)
        values = {**row._asdict(), "seq": seq, "prev_hash": prev, "hash": digest}
        connection.execute(insert(AuditEvent).values(**values))
        prev = digest
    connection.execute(update(AuditHead).values(seq=later[-1].seq - 1, hash=prev))


def test_a_rewritten_chain_and_head_are_found_by_the_anchors(
    org_engine: Engine, home: Path
) -> None:
    _more(org_engine, 0)
    first = anchoring.anchor(org_engine)
    _more(org_engine, 2)
    second = anchoring.anchor(org_engine)
    assert (first.n, second.n) == (1, 2) and first.seq < second.seq
    with org_engine.connect() as c:
        assert anchoring.check(c).intact and anchoring.check(c).anchors == 2

    with guards_dropped_then_restored(org_engine) as connection:
        rewrite_without(connection, first.seq + 3)
    with org_engine.connect() as c:
        assert audit.verify(c).intact  # the chain alone cannot tell
        found = anchoring.check(c)
    assert (found.intact, found.anchor, found.first_bad_event) == (False, 2, first.seq + 1)
    assert f"anchor 2 (event {second.seq}" in (found.problem or "")
    with pytest.raises(RuleRefused, match="not anchored"):
        anchoring.anchor(org_engine)  # a rewritten chain is never blessed by a new anchor
    with org_engine.connect() as c:  # the guards are back
        kind = "sqlite" if org_engine.dialect.name == "sqlite" else "pg"
        with pytest.raises(Exception), c.begin():  # noqa: B017
            c.execute(delete(AuditEvent).where(AuditEvent.seq == 1))
        assert kind


def _file(home: Path) -> Path:
    return home / "audit-anchors" / "anchors.jsonl"


@pytest.mark.parametrize("how", ["hash altered", "signature forged", "a line removed"])
def test_an_altered_anchors_file_is_found(org_engine: Engine, home: Path, how: str) -> None:
    _more(org_engine, 0)
    for _ in range(3):
        anchoring.anchor(org_engine)
    lines = _file(home).read_text(encoding="utf-8").splitlines()
    second = json.loads(lines[1])
    if how == "hash altered":
        second["hash"] = "0" * 64
        lines[1] = json.dumps(second)
    elif how == "signature forged":  # signed anew with a key of the forger's own
        other = home / "forger.pem"
        anchors.ensure_key(other)
        forged = anchors.Anchor(**{**second, "key": anchors.public_key(other), "sig": ""})
        key = anchors._private_key(other)
        lines[1] = anchors.Anchor(
            **{**forged.__dict__, "sig": key.sign(forged.signed_text()).hex()}
        ).line()
    else:
        del lines[1]
    _file(home).write_text("\n".join(lines) + "\n", encoding="utf-8")
    with org_engine.connect() as c:
        found = anchoring.check(c)
    assert not found.intact and found.anchor == 2, found
    assert ("does not follow" if how == "a line removed" else "signature fails") in (
        found.problem or ""
    )


def test_the_key_is_the_owners_alone(home: Path) -> None:
    key = home / "audit-key" / "anchor-signing.pem"
    assert key.stat().st_mode & 0o777 == 0o600
    assert anchoring.make_key() is None  # made once, never replaced
