"""The colour boards of docs/rules.md §3 on hand-worked boards, and their properties."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.config.policy import default_policy
from models.domain.errors import BadInput
from models.domain.scoring import months_of, ranks, score_board
from models.store.periods import Bounds

SCORING = default_policy().scoring
IND = ["leads_received", "leads_closed"]


def board(values, units=None, yellow=()):  # type: ignore[no-untyped-def]
    return {
        r.unit: r
        for r in score_board(
            values,
            units=units or sorted(values),
            indicators=IND,
            yellow=set(yellow),
            scoring=SCORING,
        )
    }


def test_ranks_share_ties() -> None:
    assert ranks([5, 9, 5, 1, 9]) == [3, 1, 3, 5, 1]
    assert ranks([]) == []


def test_a_hand_worked_board() -> None:
    values = {
        "A": {"leads_received": 9, "leads_closed": 1},
        "B": {"leads_received": 7, "leads_closed": 4},
        "C": {"leads_received": 7, "leads_closed": 4},
        "D": {"leads_received": 5, "leads_closed": 3},
        "E": {"leads_received": 2, "leads_closed": 0},
        "F": {"leads_received": 2, "leads_closed": 2},
    }
    rows = board(values, yellow={"D"})
    received = {
        u: (r.cells["leads_received"].rank, r.cells["leads_received"].color)
        for u, r in rows.items()
    }
    assert received == {
        "A": (1, "red"),
        "B": (2, "red"),
        "C": (2, "red"),
        "D": (4, "blue"),
        "E": (5, "white"),
        "F": (5, "white"),
    }
    closed = {
        u: (r.cells["leads_closed"].rank, r.cells["leads_closed"].color) for u, r in rows.items()
    }
    assert closed == {
        "A": (5, "blue"),
        "B": (1, "red"),
        "C": (1, "red"),
        "D": (3, "red"),
        "E": (6, "white"),
        "F": (4, "blue"),
    }
    assert {u: r.score for u, r in rows.items()} == {
        "A": 8,
        "B": 10,
        "C": 10,
        "D": 8,
        "E": 2,
        "F": 4,
    }
    assert [
        (r.unit, r.rank)
        for r in score_board(
            values, units=sorted(values), indicators=IND, yellow=set(), scoring=SCORING
        )
    ] == [("B", 1), ("C", 1), ("A", 3), ("D", 3), ("F", 5), ("E", 6)]
    assert [u for u, r in rows.items() if r.last] == ["E"]
    assert rows["D"].yellow and rows["D"].score == 8  # yellow changes no points


def test_all_values_equal_are_all_blue_and_no_one_is_last() -> None:
    rows = board({u: {"leads_received": 3, "leads_closed": 3} for u in "ABCDEFG"})
    # An indicator on which every unit has the same value distinguishes nobody.
    assert {c.color for r in rows.values() for c in r.cells.values()} == {"blue"}
    assert {(c.rank, c.points) for r in rows.values() for c in r.cells.values()} == {(1, 3)}
    # Last place needs someone above it.
    assert all(r.rank == 1 and r.score == 6 and not r.last for r in rows.values())


def test_an_all_zero_indicator_is_blue_for_every_unit_beside_one_that_ranks() -> None:
    values = {
        u: {"leads_received": v, "leads_closed": 0}
        for u, v in zip("ABCDE", [9, 8, 7, 6, 1], strict=True)
    }
    rows = board(values)
    assert {r.cells["leads_closed"].color for r in rows.values()} == {"blue"}
    assert [rows[u].cells["leads_received"].color for u in "ABCDE"] == [
        "red",
        "red",
        "red",
        "blue",
        "white",
    ]
    assert [u for u, r in rows.items() if r.last] == ["E"]  # 1 + 3 against 3 + 3 and more
    assert all(r.zero_report is False for r in rows.values())


def test_a_value_not_filed_ranks_below_every_filed_value_and_is_white() -> None:
    values = {
        u: {"leads_received": v, "leads_closed": 2}
        for u, v in zip("ABCDEF", [9, 8, 7, 5, 0, None], strict=True)
    }
    rows = board(values)
    missing = rows["F"].cells["leads_received"]
    assert (missing.value, missing.missing, missing.rank, missing.color) == (None, True, 6, "white")
    # The lowest filed value is not the lowest place while a value is missing: blue.
    assert (rows["E"].cells["leads_received"].rank, rows["E"].cells["leads_received"].color) == (
        5,
        "blue",
    )
    assert not rows["E"].cells["leads_received"].missing
    assert rows["F"].cells["leads_received"].as_dict() == {
        "value": None,
        "rank": 6,
        "color": "white",
        "points": 1,
        "missing": True,
    }
    # F is scored below E, who filed zero: not as if it had filed zero (E and F would tie).
    assert rows["F"].score < rows["E"].score and [u for u, r in rows.items() if r.last] == ["F"]
    as_zero = board({**values, "F": {"leads_received": 0, "leads_closed": 2}})
    assert sorted(u for u, r in as_zero.items() if r.last) == ["E", "F"]  # what F did not do
    # A unit that has not filed is not a zero report; one at zero on every indicator is.
    zeros = board({**values, "E": {"leads_received": 0, "leads_closed": 0}})
    assert zeros["E"].zero_report and not zeros["F"].zero_report
    nothing = board({"A": {"leads_received": None, "leads_closed": 0}, "B": {}})
    assert not nothing["A"].zero_report and nothing["B"].zero_report


def test_an_indicator_no_unit_filed_is_white_for_all_and_singles_out_no_one() -> None:
    rows = board({u: {"leads_received": 4, "leads_closed": None} for u in "ABCDE"})
    assert {r.cells["leads_closed"].color for r in rows.values()} == {"white"}
    assert {r.cells["leads_received"].color for r in rows.values()} == {"blue"}
    assert not any(r.last or r.zero_report for r in rows.values())
    # Filed values all equal beside a missing one: the filers share rank 1, above it.
    rows = board(
        {"A": {"leads_received": 4}, "B": {"leads_received": 4}, "C": {"leads_received": None}}
    )
    assert [rows[u].cells["leads_received"].color for u in "ABC"] == ["red", "red", "white"]


def test_fewer_than_four_units_are_all_red() -> None:
    rows = board({"A": {"leads_received": 5}, "B": {"leads_received": 0}, "C": {}})
    assert {r.cells["leads_received"].color for r in rows.values()} == {"red"}


def test_several_units_tied_for_last_and_a_unit_with_no_return() -> None:
    values = {
        u: {"leads_received": v, "leads_closed": v}
        for u, v in zip("ABCDE", [9, 8, 7, 1, 1], strict=True)
    }
    rows = board(values, units=[*values, "Z"])  # Z sent no return: zeros
    assert rows["Z"].zero_report and rows["Z"].cells["leads_received"].color == "white"
    assert [u for u, r in rows.items() if r.last] == ["Z"]
    rows = board(values)
    assert sorted(u for u, r in rows.items() if r.last) == ["D", "E"]


@pytest.mark.parametrize(
    ("period", "months"),
    [
        ("2026-09", ["2026-09"]),
        ("2026-Q3", ["2026-07", "2026-08", "2026-09"]),
        ("2026-01..2026-03", ["2026-01", "2026-02", "2026-03"]),
        ("2026-11..2027-02", ["2026-11", "2026-12", "2027-01", "2027-02"]),
    ],
)
def test_periods(period: str, months: list[str]) -> None:
    assert months_of(period) == months


@pytest.mark.parametrize("period", ["2026-13", "2026-Q5", "2026-09..2026-01", "Q3", ""])
def test_bad_periods(period: str) -> None:
    with pytest.raises(BadInput):
        months_of(period)


values_st = st.dictionaries(
    st.text("ABCDEFGHIJ", min_size=1, max_size=2),
    st.fixed_dictionaries({i: st.integers(0, 20) | st.none() for i in IND}),
    min_size=1,
    max_size=12,
)


@given(values=values_st, data=st.data())
def test_the_board_does_not_depend_on_order(values, data) -> None:  # type: ignore[no-untyped-def]
    units = list(values)
    shuffled = data.draw(st.permutations(units))
    a = score_board(values, units=units, indicators=IND, yellow=set(), scoring=SCORING)
    b = score_board(
        dict(reversed(list(values.items()))),
        units=shuffled,
        indicators=list(IND),
        yellow=set(),
        scoring=SCORING,
    )
    assert a == b


def expected_colour(value: int | None, column: list[int | None]) -> tuple[int, str]:
    """docs/rules.md §3 read plainly: a missing value (None) ranks below every filed one."""
    filed = [v for v in column if v is not None]
    if value is None:
        return 1 + len(filed), "white"
    rank = 1 + sum(v > value for v in filed)
    if len(set(column)) == 1:
        return rank, "blue"  # every unit has the same value
    if rank <= 3:
        return rank, "red"
    lowest = None if None in column else min(filed)
    return rank, "white" if value == lowest else "blue"


@given(values=values_st)
def test_colours_points_and_scores_follow_the_rules(values) -> None:  # type: ignore[no-untyped-def]
    rows = score_board(values, units=list(values), indicators=IND, yellow=set(), scoring=SCORING)
    for indicator in IND:
        column = [r.cells[indicator].value for r in rows]
        for r in rows:
            cell = r.cells[indicator]
            rank, colour = expected_colour(cell.value, column)
            assert (cell.rank, cell.color, cell.missing) == (rank, colour, cell.value is None)
            assert cell.points == {"red": 5, "blue": 3, "white": 1}[colour]
    scores = {r.score for r in rows}
    for r in rows:
        assert r.score == sum(c.points for c in r.cells.values())
        assert r.rank == 1 + sum(o.score > r.score for o in rows)
        assert r.last == (r.score == min(scores) and len(scores) > 1)
        assert r.zero_report == all(c.value == 0 for c in r.cells.values())
    assert [(r.rank, r.unit) for r in rows] == sorted((r.rank, r.unit) for r in rows)


def test_bounds_are_where_the_periods_begin_and_end() -> None:
    periods = [["2026-12"], ["2026-11"], months_of("2026-Q4"), months_of("2026-01..2026-12")]
    bounds = Bounds.of(periods)
    assert bounds.months == ["2026-01", "2026-10", "2026-11", "2026-12", "2027-01"]
    assert bounds.spans == [(3, 4), (2, 3), (1, 4), (0, 4)]
    # A gap between periods is a span of its own, which no period uses.
    assert Bounds.of([["2026-03"], ["2026-06"]]).spans == [(0, 1), (2, 3)]


@given(
    st.lists(st.tuples(st.integers(0, 23), st.integers(0, 23)).map(sorted), min_size=1, max_size=6)
)
def test_each_period_runs_from_its_start_bound_to_its_end_bound(spans) -> None:  # type: ignore[no-untyped-def]
    def month(i: int) -> str:
        return f"{2025 + i // 12}-{i % 12 + 1:02d}"

    periods = [[month(i) for i in range(a, b + 1)] for a, b in spans]
    bounds = Bounds.of(periods)
    assert bounds.months == sorted(set(bounds.months))
    for period, (start, end) in zip(periods, bounds.spans, strict=True):
        assert start < end
        assert months_of(f"{bounds.months[start]}..{bounds.months[end]}")[:-1] == period
