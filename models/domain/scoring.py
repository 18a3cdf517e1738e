"""The colour boards (多色榜, docs/rules.md §3), as plain rules: no database, no Prefect.

For each indicator a unit's rank is 1 + the number of units with a strictly greater
value (ties share a rank). Red (5 points) if rank ≤ 3; otherwise white (1) if its value
is the board's lowest for that indicator; otherwise blue (3). Yellow marks designated
units and changes no points. The composite score is the sum of points; the composite
rank follows the same tie rule; last place is every unit with the lowest score. A
quarter or year-to-date board scores the summed values of the months it covers.
"""

from __future__ import annotations

import operator
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from models.domain.errors import BadInput, Problem
from models.domain.policy import Scoring


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
    """1 + the number of values strictly greater, for each value."""
    return list(map(_rank_of(values).__getitem__, values))


def _rank_of(values: Iterable[int]) -> dict[int, int]:
    """Each distinct value's rank: one pass over the distinct values, not one per unit."""
    rank_of, greater = {}, 0
    for value, count in sorted(Counter(values).items(), reverse=True):
        rank_of[value] = 1 + greater
        greater += count
    return rank_of


def color(rank: int, value: int, lowest: int, scoring: Scoring) -> str:
    if rank <= scoring.red_max_rank:
        return "red"
    return "white" if value == lowest else "blue"


@dataclass(frozen=True)
class Column:
    """One indicator scored for every unit of the board, in the board's unit order."""

    values: list[int]
    ranks: list[int]
    colors: list[str]
    points: list[int]


def score_column(values: list[int], scoring: Scoring) -> Column:
    # Rank, colour and points depend on the value alone (and the board's lowest value),
    # so they are worked out once per distinct value and looked up per unit.
    rank_of = _rank_of(values)
    lowest = min(rank_of, default=0)  # the keys are the distinct values
    color_of = {v: color(rank, v, lowest, scoring) for v, rank in rank_of.items()}
    points_of = {v: scoring.points[tint] for v, tint in color_of.items()}  # type: ignore[index]
    # map() over a dict's lookup runs in C: a national column is 10^5 values.
    return Column(
        values=values,
        ranks=list(map(rank_of.__getitem__, values)),
        colors=list(map(color_of.__getitem__, values)),
        points=list(map(points_of.__getitem__, values)),
    )


@dataclass(frozen=True)
class ScoredBoard:
    """A board scored column by column: a national board has ~10^5 units, and the
    escalations need only the composite columns, so rows are built when asked for."""

    units: list[str]  # sorted unit codes
    indicators: list[str]
    columns: dict[str, Column]
    yellow: list[bool]
    scores: list[int]
    composite_ranks: list[int]
    last_place: list[bool]
    zero_report: list[bool]

    @property
    def last(self) -> list[str]:
        return [u for u, last in zip(self.units, self.last_place, strict=True) if last]

    @property
    def zero_reports(self) -> list[str]:
        return [u for u, zero in zip(self.units, self.zero_report, strict=True) if zero]

    def values_of(self, i: int) -> dict[str, int]:
        """The values of the ``i``-th unit (in ``units`` order), by indicator."""
        return {k: self.columns[k].values[i] for k in self.indicators}

    def rows(self) -> list[Row]:
        """Rows by composite rank, then unit code (docs/commands.md)."""
        order = sorted(
            range(len(self.units)), key=lambda i: (self.composite_ranks[i], self.units[i])
        )
        return [self.row(i) for i in order]

    def row(self, i: int) -> Row:
        cells = {}
        for k in self.indicators:
            c = self.columns[k]
            cells[k] = Cell(c.values[i], c.ranks[i], c.colors[i], c.points[i])
        return Row(
            unit=self.units[i],
            yellow=self.yellow[i],
            zero_report=self.zero_report[i],
            cells=cells,
            score=self.scores[i],
            rank=self.composite_ranks[i],
            last=self.last_place[i],
        )


def score_columns(
    columns: Mapping[str, list[int]],
    *,
    units: Sequence[str],
    indicators: Sequence[str],
    yellow: set[str],
    scoring: Scoring,
) -> ScoredBoard:
    """Score a board given as columns: ``columns[indicator][i]`` is the value of
    ``units[i]``, and ``units`` is sorted. A missing column counts as zero."""
    zeros = [0] * len(units)
    scored = {k: score_column(list(columns.get(k, zeros)), scoring) for k in indicators}
    points = [scored[k].points for k in indicators]
    scores = list(map(sum, zip(*points, strict=True))) if points else zeros
    lowest = min(scores, default=0)
    values = [scored[k].values for k in indicators]
    return ScoredBoard(
        units=list(units),
        indicators=list(indicators),
        columns=scored,
        yellow=list(map(yellow.__contains__, units)),
        scores=scores,
        composite_ranks=ranks(scores),
        last_place=list(map(lowest.__eq__, scores)),
        zero_report=list(map(operator.not_, map(any, zip(*values, strict=True))))
        if values
        else [True] * len(units),
    )


def score_board(
    values: Mapping[str, Mapping[str, int]],
    *,
    units: Sequence[str],
    indicators: Sequence[str],
    yellow: set[str],
    scoring: Scoring,
) -> list[Row]:
    """Score every unit of the board; a unit or indicator with no data counts as zero.

    Rows come back by composite rank, then unit code (docs/commands.md).
    """
    codes = sorted(set(units))
    columns = {k: [int(values.get(u, {}).get(k, 0)) for u in codes] for k in indicators}
    return score_columns(
        columns, units=codes, indicators=indicators, yellow=yellow, scoring=scoring
    ).rows()


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
