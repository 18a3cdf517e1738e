"""The lifecycle's one door on a real database: every move, its guards, refusals,
concurrent writers, and the state read back as the lifecycle's own type."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

import pytest
from sqlalchemy import Engine, delete, event, func, select

from models.audit import AuditEvent, verify
from models.domain.errors import Conflict, RuleRefused
from models.domain.lifecycle import MOVES, MOVES_BY_NAME, State
from models.services.door import Step, perform, perform_many
from models.store.base import utcnow
from models.store.database import transaction
from models.store.lead import Disposal, Lead, Outcome, Rectification
from tests.conftest import snapshot
from tests.integration.helpers import example_leads, path_to, receive, walk


def handled(engine: Engine, lead_id: int) -> None:
    """The records every guarded move reads, as the services leave them: a disposal, an
    outcome and a rectification verified by its follow-up check."""
    with transaction(engine) as session:
        lead = session.get_one(Lead, lead_id)
        now = utcnow()
        session.add_all(
            [
                Disposal(
                    lead_id=lead_id,
                    method="preliminary_verification",
                    decided_at=now,
                    decided_by="t",
                ),
                Outcome(lead_id=lead_id, kind="first_form", form=1, decided_at=now),
                Rectification(
                    lead_id=lead_id,
                    entity_id=lead.entity_id,
                    deadline=date(2026, 7, 1),
                    reported_at=now,
                    verified_at=now,
                    struck_off_at=now,
                ),
            ]
        )


@contextmanager
def statements(engine: Engine) -> Iterator[list[str]]:
    """The SQL the engine runs inside the block."""
    seen: list[str] = []

    def note(*args: object) -> None:
        seen.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


@pytest.mark.parametrize("move", MOVES, ids=lambda m: m.name)
def test_each_move_changes_state_and_appends_its_event(org_engine: Engine, move) -> None:
    lead_id = receive(org_engine, example_leads()[0])
    handled(org_engine, lead_id)
    walk(org_engine, lead_id, path_to(move.source))
    with transaction(org_engine) as session:
        before = session.get(Lead, lead_id)
        assert before is not None and before.state == move.source
        version = before.version
        moved = perform(
            session,
            lead_id=lead_id,
            move=move.name,
            actor="李晓云",
            reason="依规处置",
            expected_version=version,
            data={"note": "测试"},
        )
    with transaction(org_engine) as session:
        lead = session.get(Lead, lead_id)
        event = session.get(AuditEvent, moved.audit_seq)
    assert (lead.state, lead.version) == (move.target, version + 1)
    assert (event.lead_id, event.actor, event.action, event.reason) == (
        lead_id,
        "李晓云",
        f"lead.{move.name}",
        "依规处置",
    )
    assert (event.state_before, event.state_after) == (move.source, move.target)
    assert json.loads(event.data)["note"] == "测试"
    with org_engine.connect() as connection:
        assert verify(connection).intact


@pytest.mark.parametrize("state", list(State), ids=str)
def test_moves_not_in_the_table_are_refused_and_change_nothing(
    org_engine: Engine, state: State
) -> None:
    lead_id = receive(org_engine, example_leads()[0])
    handled(org_engine, lead_id)
    walk(org_engine, lead_id, path_to(state))
    before = snapshot(org_engine)
    refused = [m for m in MOVES if m.source != state]
    for move in refused:
        with pytest.raises(RuleRefused, match="lifecycle"), transaction(org_engine) as session:
            perform(session, lead_id=lead_id, move=move.name, actor="t", reason="t")
    assert snapshot(org_engine) == before


# What each guarded move needs, and what it says without it.
GUARDED = {
    "order_rectification": (Outcome, "rectification", "record the outcome before ordering"),
    "close_disposed": (Outcome, "closure", "closed with its outcome recorded first"),
    "strike_off": (Rectification, "rectification", "only after a follow-up check verifies"),
    "close_escalated": (Rectification, "rectification", "only after a follow-up check verifies"),
}


def test_the_guarded_moves_are_those_of_the_lifecycle() -> None:
    assert GUARDED.keys() == {m.name for m in MOVES if m.guards}


@pytest.mark.parametrize("name", list(GUARDED))
def test_a_guarded_move_without_its_record_is_refused_and_changes_nothing(
    org_engine: Engine, name: str
) -> None:
    record, rule, message = GUARDED[name]
    lead_id = receive(org_engine, example_leads()[0])
    handled(org_engine, lead_id)
    walk(org_engine, lead_id, path_to(MOVES_BY_NAME[name].source))
    with transaction(org_engine) as session:
        session.execute(delete(record).where(record.lead_id == lead_id))
    before = snapshot(org_engine)
    with pytest.raises(RuleRefused, match=message) as refused, transaction(org_engine) as s:
        perform(s, lead_id=lead_id, move=name, actor="t", reason="t")
    assert refused.value.rule == rule
    assert snapshot(org_engine) == before


def test_an_unguarded_batch_reads_no_record_and_a_guarded_one_reads_each_once(
    org_engine: Engine,
) -> None:
    """Triage and assignment run for every lead of an import: they read nothing but the
    leads; a batch of guarded moves reads each record once, however many leads it moves."""
    ids = [receive(org_engine, lead) for lead in example_leads()[:3]]

    def reads(seen: list[str]) -> dict[str, int]:
        tables = ("disposals", "outcomes", "rectifications")
        return {t: sum(f"FROM {t}" in sql for sql in seen) for t in tables}

    with statements(org_engine) as seen, transaction(org_engine) as session:
        steps = [Step(i, m, "t") for i in ids for m in ("triage", "assign", "dispose")]
        perform_many(session, steps, actor="t")
    assert reads(seen) == {"disposals": 0, "outcomes": 0, "rectifications": 0}
    for lead_id in ids:
        handled(org_engine, lead_id)
    with statements(org_engine) as seen, transaction(org_engine) as session:
        perform_many(session, [Step(i, "close_disposed", "t") for i in ids], actor="t")
    assert reads(seen) == {"disposals": 1, "outcomes": 1, "rectifications": 0}
    with transaction(org_engine) as session:
        closed = session.scalars(select(Lead.state).where(Lead.id.in_(ids))).all()
    assert closed == [State.closed] * 3


def test_the_state_is_read_back_as_the_lifecycles_state(org_engine: Engine) -> None:
    """Written as a plain value by the bulk statements, read back as a :class:`State`."""
    lead_id = receive(org_engine, example_leads()[0])
    walk(org_engine, lead_id, ["triage"])
    with transaction(org_engine) as session:
        lead = session.get_one(Lead, lead_id)
        by_state = session.scalar(select(Lead.id).where(Lead.state == State.triaged))
    assert type(lead.state) is State and lead.state is State.triaged and by_state == lead_id
    with org_engine.connect() as connection:
        stored = connection.exec_driver_sql(f"SELECT state FROM leads WHERE id = {lead_id}")
        assert stored.scalar() == "triaged"


def test_a_stale_version_is_a_conflict(org_engine: Engine) -> None:
    lead_id = receive(org_engine, example_leads()[0])
    walk(org_engine, lead_id, ["triage"])
    before = snapshot(org_engine)
    with pytest.raises(Conflict, match="version 1"), transaction(org_engine) as session:
        perform(session, lead_id=lead_id, move="assign", actor="t", reason="t", expected_version=1)
    assert snapshot(org_engine) == before


def test_two_writers_one_lead_exactly_one_wins(org_engine: Engine) -> None:
    """Two sessions read the same version, then both move at once: one wins, one conflicts."""
    lead_id = receive(org_engine, example_leads()[0])
    walk(org_engine, lead_id, ["triage"])
    with transaction(org_engine) as session:
        seen = session.scalar(select(Lead.version).where(Lead.id == lead_id))
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def writer(move: str) -> None:
        barrier.wait()
        try:
            with transaction(org_engine) as session:
                perform(
                    session,
                    lead_id=lead_id,
                    move=move,
                    actor=move,
                    reason="concurrent",
                    expected_version=seen,
                )
            outcomes.append("won")
        except Conflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=writer, args=(m,)) for m in ("assign", "close_at_triage")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(outcomes) == ["conflict", "won"]
    with transaction(org_engine) as session:
        lead = session.get(Lead, lead_id)
        moves = session.scalar(
            select(func.count()).where(
                AuditEvent.lead_id == lead_id, AuditEvent.action != "lead.receive"
            )
        )
    assert lead.version == seen + 1 and moves == 2  # triage + the winner's move
    with org_engine.connect() as connection:
        assert verify(connection).intact


def test_many_writers_no_lost_update_and_no_fork(org_engine: Engine) -> None:
    """Eight threads race moves on four leads: every win is in the trail; the chain is whole."""
    ids = [receive(org_engine, lead) for lead in example_leads()[:4]]
    barrier = threading.Barrier(8)
    wins: list[int] = []
    lock = threading.Lock()

    def writer(n: int) -> None:
        barrier.wait()
        for _ in range(3):
            lead_id = ids[n % 4]
            try:
                with transaction(org_engine) as session:
                    state = session.scalar(select(Lead.state).where(Lead.id == lead_id))
                    move = next(m.name for m in MOVES if m.source == state)
                    perform(session, lead_id=lead_id, move=move, actor=f"w{n}", reason="race")
                with lock:
                    wins.append(lead_id)
            except (Conflict, RuleRefused):
                pass

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert wins, "the race must move some leads, or it proves nothing"
    with transaction(org_engine) as session:
        for lead_id in ids:
            lead = session.get(Lead, lead_id)
            events = session.scalar(
                select(func.count()).where(
                    AuditEvent.lead_id == lead_id, AuditEvent.action != "lead.receive"
                )
            )
            assert lead.version - 1 == events == wins.count(lead_id)
    with org_engine.connect() as connection:
        verdict = verify(connection)
    assert verdict.intact, verdict.problem
