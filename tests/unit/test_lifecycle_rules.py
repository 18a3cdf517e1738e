"""The lifecycle table of docs/rules.md §2 and its guards, as plain rules: no database,
no Prefect."""

from __future__ import annotations

import itertools
from dataclasses import replace

import pytest

from models.domain.errors import RuleRefused
from models.domain.lifecycle import (
    ACTS,
    ACTS_BY_NAME,
    DISPOSAL,
    INITIAL,
    MOVES,
    MOVES_BY_NAME,
    OUTCOME,
    PROPOSAL,
    RECTIFICATION,
    Facts,
    Guard,
    Move,
    State,
    check_act,
    check_guards,
    check_move,
    reads_of,
)

# The diagram of docs/rules.md §2 written out by hand, so the table is checked against it.
DIAGRAM = {
    ("received", "triaged"),
    ("triaged", "in_handling"),
    ("in_handling", "in_handling"),  # ours: handled anew once a 协作申请 is granted
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
def test_every_move_is_allowed_from_its_source(move: Move) -> None:
    assert check_move(move.source, move.name) is move


@pytest.mark.parametrize(
    ("state", "move"),
    [(s, m) for s, m in itertools.product(State, MOVES) if m.source != s],
    ids=lambda x: getattr(x, "name", str(x)),
)
def test_every_move_from_elsewhere_is_refused(state: State, move: Move) -> None:
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


# --- guards: each move's and each act's condition over the lead's records ---------------

# A disposed lead with its outcome, a verified rectification and a second one still open
# and reported: the facts the refusals below change one field of.
ALL_HOLD = Facts(
    7,
    State.disposed,
    disposal="preliminary_verification",
    outcome=True,
    open_rectification=3,
    reported=True,
    verified=True,
)
EVERY_GUARD = {g for m in MOVES for g in m.guards} | {g for a in ACTS for g in a.guards}
# Every lead's facts, in every combination that matters to a guard.
EVERY_FACTS = [
    Facts(7, *values)
    for values in itertools.product(
        State,
        (None, "close", "talk_letter"),
        (False, True),
        (None, 3),
        (False, True),
        (False, True),
        (False, True),
        (None, "joint"),
    )
]
GUARD_FIELDS = {  # the Facts fields each record the door reads fills in
    DISPOSAL: {"disposal"},
    OUTCOME: {"outcome"},
    RECTIFICATION: {"open_rectification", "reported", "verified"},
    PROPOSAL: {"proposed", "decided", "decided_by"},
}


def test_the_bulk_moves_read_nothing_but_the_state() -> None:
    """Triage and assignment run for every lead of an import: a guard there would cost a
    query a batch and work a lead."""
    for name in ("triage", "assign", "close_at_triage", "hold", "dispose", "dispose_held"):
        assert MOVES_BY_NAME[name].guards == (), name


@pytest.mark.parametrize(
    ("name", "guard"),
    [
        ("order_rectification", "outcome_recorded"),
        ("close_disposed", "outcome_or_closed_at_disposal"),
        ("strike_off", "follow_up_passed"),
        ("close_escalated", "follow_up_passed"),
    ],
)
def test_the_guarded_moves(name: str, guard: str) -> None:
    assert [g.name for g in MOVES_BY_NAME[name].guards] == [guard]


@pytest.mark.parametrize("guard", sorted(EVERY_GUARD, key=lambda g: g.name), ids=lambda g: g.name)
def test_a_guard_reads_only_the_records_it_declares(guard: Guard) -> None:
    """What the door does not read for a guard must not change its verdict."""
    unread = set().union(*(f for r, f in GUARD_FIELDS.items() if r not in guard.reads))
    blank = Facts(7, State.disposed)
    for facts in EVERY_FACTS:
        emptied = replace(facts, **{f: getattr(blank, f) for f in unread})
        assert guard.holds(emptied) == guard.holds(facts), facts


@pytest.mark.parametrize("guard", sorted(EVERY_GUARD, key=lambda g: g.name), ids=lambda g: g.name)
def test_a_guard_can_hold_and_can_refuse(guard: Guard) -> None:
    verdicts = {guard.holds(facts) for facts in EVERY_FACTS}
    assert verdicts == {True, False}


@pytest.mark.parametrize(
    ("name", "facts", "rule", "message"),
    [
        (
            "order_rectification",
            replace(ALL_HOLD, outcome=False),
            "rectification",
            "record the outcome before ordering rectification",
        ),
        (
            "close_disposed",
            replace(ALL_HOLD, outcome=False),
            "closure",
            "a disposed lead is closed with its outcome recorded first",
        ),
        (
            "strike_off",
            replace(ALL_HOLD, state=State.rectifying, verified=False),
            "rectification",
            "lead 7 is closed only after a follow-up check verifies its rectification",
        ),
        (
            "close_escalated",
            replace(ALL_HOLD, state=State.escalated, verified=False),
            "rectification",
            "lead 7 is closed only after a follow-up check verifies its rectification",
        ),
    ],
)
def test_a_guarded_move_is_refused_when_its_guard_fails(
    name: str, facts: Facts, rule: str, message: str
) -> None:
    move = check_move(facts.state, name)
    with pytest.raises(RuleRefused) as refused:
        check_guards(move.guards, facts)
    assert refused.value.rule == rule
    assert str(refused.value) == f"refused by rule '{rule}': {message}"
    check_guards(move.guards, replace(facts, outcome=True, verified=True))


def test_a_lead_closed_at_disposal_needs_no_outcome() -> None:
    """予以了结: the disposal closes the lead at once, with no outcome to record."""
    closing = Facts(7, State.disposed, disposal="close")
    check_guards(MOVES_BY_NAME["close_disposed"].guards, closing)
    for other in ("talk_letter", "preliminary_verification", None):
        with pytest.raises(RuleRefused, match="outcome recorded first"):
            check_guards(MOVES_BY_NAME["close_disposed"].guards, replace(closing, disposal=other))


@pytest.mark.parametrize("state", [s for s in State if s != State.disposed], ids=str)
def test_an_outcome_is_recorded_only_from_disposed(state: State) -> None:
    with pytest.raises(RuleRefused) as refused:
        check_act("record_outcome", Facts(7, state))
    assert str(refused.value) == (
        f"refused by rule 'outcome': an outcome follows disposal; lead 7 is '{state.value}'"
    )
    assert check_act("record_outcome", Facts(7, State.disposed)).name == "record_outcome"


def test_an_outcome_is_recorded_once() -> None:
    with pytest.raises(RuleRefused) as refused:
        check_act("record_outcome", Facts(7, State.disposed, outcome=True))
    assert str(refused.value) == "refused by rule 'outcome': lead 7 already has its outcome"


@pytest.mark.parametrize("state", list(State), ids=str)
def test_a_lead_is_disposed_once_unless_held(state: State) -> None:
    check_act("decide_disposal", Facts(7, state))  # nothing decided yet: the door decides
    decided = Facts(7, state, disposal="talk_letter")
    if state == State.on_hold:
        check_act("decide_disposal", decided)
        return
    with pytest.raises(RuleRefused) as refused:
        check_act("decide_disposal", decided)
    assert str(refused.value) == (
        "refused by rule 'disposal': lead 7 was already disposed (talk_letter)"
    )


@pytest.mark.parametrize("act", ["report_rectification", "follow_up"])
def test_a_rectification_is_reported_and_followed_up_only_while_open(act: str) -> None:
    with pytest.raises(RuleRefused) as refused:
        check_act(act, replace(ALL_HOLD, state=State.rectifying, open_rectification=None))
    assert str(refused.value) == (
        "refused by rule 'rectification': lead 7 has no open rectification"
    )


def test_a_follow_up_waits_for_the_entitys_report() -> None:
    open_unreported = Facts(7, State.escalated, open_rectification=3)
    check_act("report_rectification", open_unreported)
    with pytest.raises(RuleRefused) as refused:
        check_act("follow_up", open_unreported)
    assert str(refused.value) == (
        "refused by rule 'rectification': the entity has not reported its rectification yet"
    )
    check_act("follow_up", replace(open_unreported, reported=True))


def test_a_leader_decides_a_proposal_once() -> None:
    """委领导分析研判: only what triage proposed, and only once (a retry of the same
    decision is the service's to recognise before it asks)."""
    with pytest.raises(RuleRefused) as refused:
        check_act("decide", Facts(7, State.triaged))
    assert str(refused.value) == (
        "refused by rule 'decision': lead 7 has not been triaged: nothing to decide"
    )
    proposed = Facts(7, State.triaged, proposed=True)
    check_act("decide", proposed)
    with pytest.raises(RuleRefused) as refused:
        check_act("decide", replace(proposed, decided="joint", decided_by="杨正晓"))
    assert str(refused.value) == (
        "refused by rule 'decision': lead 7 was already decided (joint) by 杨正晓"
    )


def test_acts_and_moves_have_distinct_names() -> None:
    assert len(ACTS_BY_NAME) == len(ACTS)
    assert not ACTS_BY_NAME.keys() & MOVES_BY_NAME.keys()
    assert reads_of(ACTS_BY_NAME["follow_up"].guards) == {RECTIFICATION}
