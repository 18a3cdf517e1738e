"""The escalation rules of docs/rules.md §3 on hand-made boards."""

from __future__ import annotations

import pytest

from models.config.policy import default_policy
from models.domain.escalation import (
    Decision,
    last_running,
    monthly_decisions,
    quarterly_decisions,
    value_changes,
)
from models.domain.scoring import score_columns
from models.domain.terms import numeral

SCORING = default_policy().scoring
IND = ["leads_received", "leads_closed"]


def scored(values: dict[str, tuple[int | None, int | None]], units: list[str] | None = None):  # type: ignore[no-untyped-def]
    codes = sorted(units or values)
    return score_columns(
        {k: [values.get(u, (0, 0))[i] for u in codes] for i, k in enumerate(IND)},
        units=codes,
        indicators=IND,
        yellow=set(),
        scoring=SCORING,
    )


FIVE = ["A", "B", "C", "D", "E"]


def month(last: str, *, also: str | None = None):  # type: ignore[no-untyped-def]
    """Five units; ``last`` (and ``also``) file nothing, the others 5–9."""
    values = {u: (5 + i, 9 - i) for i, u in enumerate(FIVE) if u not in {last, also}}
    return scored(values, FIVE)


def test_last_two_months_running_is_warned_once_per_month_it_holds() -> None:
    assert last_running([month("E"), month("E")]) == ["E"]
    assert last_running([month("D"), month("E")]) == []
    # Several tied for last, both months: each is warned.
    assert last_running([month("D", also="E"), month("E", also="D")]) == ["D", "E"]
    assert last_running([]) == []
    decisions = monthly_decisions(
        {"resident": [month("E"), month("E")], "county": [month("A"), month("B")]},
        period="2026-09",
        running=2,
    )
    assert decisions == [
        Decision("zero_report", "county", "B", "2026-09"),
        Decision("work_warning", "resident", "E", "2026-09"),
        Decision("zero_report", "resident", "E", "2026-09"),
    ]


def test_a_window_shorter_than_the_policy_is_an_error() -> None:
    with pytest.raises(ValueError, match="2 needed"):
        monthly_decisions({"resident": [month("E")]}, period="2026-09", running=2)


def test_quarter_last_place_gets_interview_notices() -> None:
    assert quarterly_decisions({"county": month("C")}, period="2026-Q3") == [
        Decision("interview_notice", "county", "C", "2026-Q3")
    ]
    # All values equal: last place needs someone above it, so no one is interviewed.
    tied = scored({u: (3, 3) for u in FIVE})
    assert quarterly_decisions({"resident": tied}, period="2026-Q3") == []


def test_a_board_where_every_unit_ties_warns_no_one() -> None:
    """Equal scores from unequal values (each unit red on one indicator, white on the
    other) and equal values alike: no one is last, so no one is warned or interviewed."""
    crossed = scored({"A": (9, 1), "B": (1, 9), "C": (5, 5)}, ["A", "B", "C"])
    assert len(set(crossed.scores)) == 1 and crossed.last == []
    tied = scored({u: (3, 3) for u in FIVE})
    for boards in ([crossed, crossed], [tied, tied], [month("E"), tied]):
        decisions = monthly_decisions({"resident": boards}, period="2026-09", running=2)
        assert [d for d in decisions if d.document == "work_warning"] == []
    assert quarterly_decisions({"resident": tied, "county": crossed}, period="2026-Q3") == []


def test_a_unit_that_has_not_filed_is_not_a_zero_report() -> None:
    """Zero on every indicator is a zero report; not filing is 未报送, not zero."""
    board = scored(
        {"A": (5, 9), "B": (0, 0), "C": (None, 0), "D": (None, None)}, ["A", "B", "C", "D"]
    )
    assert board.zero_reports == ["B"]
    assert board.missing == {"C": ["leads_received"], "D": ["leads_received", "leads_closed"]}
    decisions = monthly_decisions({"county": [board, board]}, period="2026-09", running=2)
    assert [d.unit for d in decisions if d.document == "zero_report"] == ["B"]
    assert [d.unit for d in decisions if d.document == "work_warning"] == ["D"]


def test_value_changes_name_each_changed_value() -> None:
    before = {"resident": {"2026-09": {"R1": {"leads_received": 3}, "R2": {"leads_closed": 1}}}}
    after = {"resident": {"2026-09": {"R1": {"leads_received": 4}, "R2": {}}}}
    assert value_changes(before, after) == [
        {
            "board": "resident",
            "period": "2026-09",
            "unit": "R1",
            "indicator": "leads_received",
            "was": 3,
            "now": 4,
        },
        {
            "board": "resident",
            "period": "2026-09",
            "unit": "R2",
            "indicator": "leads_closed",
            "was": 1,
            "now": 0,
        },
    ]
    assert value_changes(before, before) == []


def test_the_bulletin_counts_in_chinese_numerals() -> None:
    """The policy's red ranks, written out as the bulletin says them (前三名)."""
    written = {0: "零", 1: "一", 3: "三", 10: "十", 11: "十一", 20: "二十", 35: "三十五"}
    written[99] = "九十九"
    assert {n: numeral(n) for n in written} == written
    assert numeral(100) == "100" and numeral(-1) == "-1"
