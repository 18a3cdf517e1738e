"""The colour boards (多色榜, DOMAIN.md §3), as plain rules: no database, no Prefect.

For each indicator a unit's rank is 1 + the number of units with a strictly greater
value (ties share a rank). Red (5 points) if rank ≤ 3; otherwise white (1) if its value
is the board's lowest for that indicator; otherwise blue (3). Yellow marks designated
units and changes no points. The composite score is the sum of points; the composite
rank follows the same tie rule; last place is every unit with the lowest score. A
quarter or year-to-date board scores the summed values of the months it covers.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from models.errors import BadInput, Problem
from models.policy import Scoring


@dataclass(frozen=True)
class Cell:
    value: int
    rank: int
    color: str
    points: int


@dataclass(frozen=True)
class Row:
    unit: str
    yellow: bool
    zero_report: bool
    cells: dict[str, Cell]
    score: int
    rank: int
    last: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "unit": self.unit,
            "yellow": self.yellow,
            "zero_report": self.zero_report,
            "indicators": {k: c.__dict__ for k, c in self.cells.items()},
            "score": self.score,
            "rank": self.rank,
            "last": self.last,
        }


def ranks(values: Sequence[int]) -> list[int]:
    """1 + the number of values strictly greater, for each value (O(n log n))."""
    ascending = sorted(values)
    n = len(ascending)
    return [1 + n - bisect_right(ascending, v) for v in values]


def color(rank: int, value: int, lowest: int, scoring: Scoring) -> str:
    if rank <= scoring.red_max_rank:
        return "red"
    return "white" if value == lowest else "blue"


def score_board(
    values: Mapping[str, Mapping[str, int]],
    *,
    units: Sequence[str],
    indicators: Sequence[str],
    yellow: set[str],
    scoring: Scoring,
) -> list[Row]:
    """Score every unit of the board; a unit or indicator with no data counts as zero.

    Rows come back by composite rank, then unit code (CONTRACT.md).
    """
    codes = sorted(set(units))
    cells: dict[str, dict[str, Cell]] = {u: {} for u in codes}
    for indicator in indicators:
        column = [int(values.get(u, {}).get(indicator, 0)) for u in codes]
        lowest = min(column) if column else 0
        for unit, value, rank in zip(codes, column, ranks(column), strict=True):
            tint = color(rank, value, lowest, scoring)
            cells[unit][indicator] = Cell(value, rank, tint, scoring.points[tint])
    scores = [sum(c.points for c in cells[u].values()) for u in codes]
    lowest_score = min(scores) if scores else 0
    rows = [
        Row(
            unit=u,
            yellow=u in yellow,
            zero_report=all(c.value == 0 for c in cells[u].values()),
            cells=cells[u],
            score=score,
            rank=rank,
            last=score == lowest_score,
        )
        for u, score, rank in zip(codes, scores, ranks(scores), strict=True)
    ]
    return sorted(rows, key=lambda r: (r.rank, r.unit))


_MONTH = re.compile(r"(\d{4})-(0[1-9]|1[0-2])")
_QUARTER = re.compile(r"(\d{4})-Q([1-4])")


def months_of(period: str) -> list[str]:
    """The months a board covers: a month `2026-09`, a quarter `2026-Q3`, a range
    `2026-01..2026-09` (within one year or across years, in order)."""
    if m := _MONTH.fullmatch(period):
        return [period]
    if m := _QUARTER.fullmatch(period):
        year, quarter = int(m[1]), int(m[2])
        return [f"{year}-{month:02d}" for month in range(3 * quarter - 2, 3 * quarter + 1)]
    start, sep, end = period.partition("..")
    if sep and _MONTH.fullmatch(start) and _MONTH.fullmatch(end) and start <= end:
        out, (year, month) = [], map(int, start.split("-"))
        while f"{year}-{month:02d}" <= end:
            out.append(f"{year}-{month:02d}")
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return out
    raise BadInput(
        [
            Problem(
                "--period",
                f"'{period}' is not a month (2026-09), a quarter (2026-Q3) "
                "or a range of months (2026-01..2026-09)",
            )
        ]
    )
