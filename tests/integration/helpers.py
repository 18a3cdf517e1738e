"""Small builders shared by the integration tests."""

from __future__ import annotations

from collections import deque
from datetime import date

from sqlalchemy import Engine

from models import audit
from models.domain.lifecycle import INITIAL, MOVES, State
from models.inputs.readers import read_jsonl
from models.inputs.schemas import LeadIn
from models.services import intake
from models.services.door import perform
from models.store.database import transaction
from models.store.periods import SHANGHAI
from tests.conftest import EXAMPLES


def example_leads() -> list[LeadIn]:
    return [x.item for x in read_jsonl(EXAMPLES / "leads.jsonl", LeadIn)]


def receive(engine: Engine, lead: LeadIn, *, on: date | None = None) -> int:
    """The lead registered on the day it was received, or ``on`` (a replayed day, as a
    test's desks act on theirs)."""
    token = audit.REPLAYED_ON.set(on or lead.received_at.astimezone(SHANGHAI).date())
    try:
        with transaction(engine) as session:
            result = intake.register(session, [intake.Arrival(lead, "test")], actor="test")
    finally:
        audit.REPLAYED_ON.reset(token)
    assert not result.problems
    return result.receipts[0].lead_id


def path_to(target: State) -> list[str]:
    """The shortest list of moves from the first state to ``target``."""
    queue: deque[tuple[State, list[str]]] = deque([(INITIAL, [])])
    seen = {INITIAL}
    while queue:
        state, path = queue.popleft()
        if state == target:
            return path
        for move in MOVES:
            if move.source == state and move.target not in seen:
                seen.add(move.target)
                queue.append((move.target, [*path, move.name]))
    raise AssertionError(f"{target} is unreachable")


def walk(engine: Engine, lead_id: int, moves: list[str]) -> None:
    for move in moves:
        with transaction(engine) as session:
            perform(session, lead_id=lead_id, move=move, actor="test", reason=f"test {move}")
