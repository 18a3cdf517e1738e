"""The lifecycle's one door on a real database: every move, refusals, concurrent writers."""

from __future__ import annotations

import json
import threading

import pytest
from sqlalchemy import Engine, func, select

from models.audit import AuditEvent, verify
from models.database import transaction
from models.errors import Conflict, RuleRefused
from models.lead import Lead
from models.lifecycle import MOVES, State, perform
from tests.conftest import snapshot
from tests.integration.helpers import example_leads, path_to, receive, walk


@pytest.mark.parametrize("move", MOVES, ids=lambda m: m.name)
def test_each_move_changes_state_and_appends_its_event(org_engine: Engine, move) -> None:
    lead_id = receive(org_engine, example_leads()[0])
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
    walk(org_engine, lead_id, path_to(state))
    before = snapshot(org_engine)
    refused = [m for m in MOVES if m.source != state]
    for move in refused:
        with pytest.raises(RuleRefused, match="lifecycle"), transaction(org_engine) as session:
            perform(session, lead_id=lead_id, move=move.name, actor="t", reason="t")
    assert snapshot(org_engine) == before


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
