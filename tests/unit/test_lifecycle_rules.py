"""The lifecycle table of DOMAIN.md §2, as plain rules: no database, no Prefect."""

from __future__ import annotations

import itertools

import pytest

from models.errors import RuleRefused
from models.lifecycle import INITIAL, MOVES, MOVES_BY_NAME, State, check_move

# The diagram of DOMAIN.md §2 written out by hand, so the table is checked against it.
DIAGRAM = {
    ("received", "triaged"),
    ("triaged", "in_handling"),
    ("triaged", "closed"),
    ("in_handling", "on_hold"),
    ("in_handling", "disposed"),
    ("on_hold", "disposed"),
    ("disposed", "rectifying"),
    ("disposed", "closed"),  # ours: a lead that needs no rectification (see lifecycle.py)
    ("rectifying", "closed"),
    ("rectifying", "escalated"),
    ("escalated", "rectifying"),
    ("escalated", "closed"),
}


def test_table_is_the_diagram() -> None:
    assert {(m.source.value, m.target.value) for m in MOVES} == DIAGRAM
    assert len(MOVES_BY_NAME) == len(MOVES), "move names are unique"


@pytest.mark.parametrize("move", MOVES, ids=lambda m: m.name)
def test_every_move_is_allowed_from_its_source(move) -> None:
    assert check_move(move.source, move.name) is move


@pytest.mark.parametrize(
    ("state", "move"),
    [(s, m) for s, m in itertools.product(State, MOVES) if m.source != s],
    ids=lambda x: getattr(x, "name", str(x)),
)
def test_every_move_from_elsewhere_is_refused(state: State, move) -> None:
    with pytest.raises(RuleRefused) as refused:
        check_move(state, move.name)
    assert refused.value.rule == "lifecycle"
    assert move.name in str(refused.value) and state.value in str(refused.value)


def test_unknown_move_is_refused() -> None:
    with pytest.raises(RuleRefused, match="there is no move 'reopen'"):
        check_move(State.closed, "reopen")


def test_closed_is_final_and_every_state_is_reachable() -> None:
    assert not [m for m in MOVES if m.source == State.closed]
    reached, frontier = {INITIAL}, [INITIAL]
    while frontier:
        state = frontier.pop()
        for m in MOVES:
            if m.source == state and m.target not in reached:
                reached.add(m.target)
                frontier.append(m.target)
    assert reached == set(State)
