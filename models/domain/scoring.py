"""The colour boards (多色榜, docs/rules.md §3), as plain rules: no database, no Prefect.

For each indicator a unit's rank is 1 + the number of units with a strictly greater
value (ties share a rank). Red (5 points) if rank ≤ 3; otherwise white (1) if it holds
the board's lowest place on that indicator; otherwise blue (3). An indicator on which
every unit has the same value singles out no one: every unit is blue on it. A value a
unit has not filed (未报送, ``None``) ranks below every filed value and is white; while
any unit's value is missing, the lowest filed value is not the lowest place. Yellow marks
designated units and changes no points. The composite score is the sum of points; the
composite rank follows the same tie rule; last place is every unit with the lowest score,
unless every unit has the same score (last place needs someone above it). A zero report
(零报告) is a unit at zero on every indicator, none missing. A quarter or year-to-date
board scores the summed values of the months it covers.
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
    value: int | None  # None: not filed (未报送)
    rank: int
    color: str
    points: int
    missing: bool = False

    def as_dict(self) -> dict[str, Any]:
        """docs/commands.md's cell: every cell says whether it is missing, so a reader
        need not tell an absent key from a filed value."""
        return {
            "value": self.value,
            "rank": self.rank,
            "color": self.color,
            "points": self.points,
            "missing": self.missing,
        }


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
            "indicators": {k: c.as_dict() for k, c in self.cells.items()},
            "score": self.score,
            "rank": self.rank,
            "last": self.last,
        }


def ranks(values: Sequence[int]) -> list[int]:
    """1 + the number of values strictly greater, for each value."""
    return list(map(_rank_of(values).__getitem__, values))


def _rank_of(values: Iterable[int]) -> dict[int, int]:
    """Each distinct value's rank: one pass over the distinct values, not one per unit."""
    return _rank_of_counts(Counter(values))


def _rank_of_counts(counts: Counter[int]) -> dict[int, int]:
    rank_of, greater = {}, 0
    for value, count in sorted(counts.items(), reverse=True):
        rank_of[value] = 1 + greater
        greater += count
    return rank_of


def color(rank: int, value: int | None, lowest: int | None, scoring: Scoring) -> str:
    """A cell's colour; ``lowest`` is the lowest place's value (None: the missing ones)."""
    if value is None:
        return "white"
    if rank <= scoring.red_max_rank:
        return "red"
    return "white" if value == lowest else "blue"


@dataclass(frozen=True)
class Column:
    """One indicator scored for every unit of the board, in the board's unit order."""

    values: list[int | None]
    ranks: list[int]
    colors: list[str]
    points: list[int]


def score_column(values: list[int | None], scoring: Scoring) -> Column:
    # Rank, colour and points depend on the value alone (and the board's lowest place),
    # so they are worked out once per distinct value and looked up per unit.
    counted = Counter(values)
    missing = counted.pop(None, 0)
    filed = Counter({v: n for v, n in counted.items() if v is not None})
    rank_of: dict[int | None, int] = {v: r for v, r in _rank_of_counts(filed).items()}
    if missing:
        rank_of[None] = 1 + len(values) - missing  # below every filed value
    if len(rank_of) == 1 and not missing:
        # Every unit has the same value: it distinguishes nobody.
        color_of = dict.fromkeys(rank_of, "blue")
    else:
        lowest = None if missing else min(filed, default=0)
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

    @property
    def missing(self) -> dict[str, list[str]]:
        """Each unit that has not filed (未报送) some indicator: those indicators, in order."""
        found: dict[str, list[str]] = {}
        for k in self.indicators:
            for i in _nones(self.columns[k].values):
                found.setdefault(self.units[i], []).append(k)
        return {u: found[u] for u in sorted(found)}

    def values_of(self, i: int) -> dict[str, int | None]:
        """The values of the ``i``-th unit (in ``units`` order), by indicator; None: not filed."""
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
            value = c.values[i]
            cells[k] = Cell(value, c.ranks[i], c.colors[i], c.points[i], value is None)
        return Row(
            unit=self.units[i],
            yellow=self.yellow[i],
            zero_report=self.zero_report[i],
            cells=cells,
            score=self.scores[i],
            rank=self.composite_ranks[i],
            last=self.last_place[i],
        )


def _nones(values: list[int | None]) -> list[int]:
    """The places of the values not filed; none at all, the common case, costs one C scan."""
    if None not in values:
        return []
    return [i for i, value in enumerate(values) if value is None]


def _zero_reports(values: list[list[int | None]], count: int) -> list[bool]:
    """Zero on every indicator, each of them filed: a unit that has not filed is not a
    zero report (it is 未报送)."""
    if not values:
        return [True] * count
    zero = list(map(operator.not_, map(any, zip(*values, strict=True))))
    for column in values:
        for i in _nones(column):
            zero[i] = False
    return zero


def score_columns(
    columns: Mapping[str, list[int | None]],
    *,
    units: Sequence[str],
    indicators: Sequence[str],
    yellow: set[str],
    scoring: Scoring,
) -> ScoredBoard:
    """Score a board given as columns: ``columns[indicator][i]`` is the value of
    ``units[i]`` (None: not filed), and ``units`` is sorted. A missing column counts as
    zero."""
    zeros: list[int | None] = [0] * len(units)
    scored = {k: score_column(list(columns.get(k, zeros)), scoring) for k in indicators}
    points = [scored[k].points for k in indicators]
    scores = list(map(sum, zip(*points, strict=True))) if points else [0] * len(units)
    lowest = min(scores, default=0)
    # Last place needs someone above it: a board of equal scores has none.
    someone_above = any(score != lowest for score in scores)
    return ScoredBoard(
        units=list(units),
        indicators=list(indicators),
        columns=scored,
        yellow=list(map(yellow.__contains__, units)),
        scores=scores,
        composite_ranks=ranks(scores),
        last_place=list(map(lowest.__eq__, scores)) if someone_above else [False] * len(units),
        zero_report=_zero_reports([scored[k].values for k in indicators], len(units)),
    )


def score_board(
    values: Mapping[str, Mapping[str, int | None]],
    *,
    units: Sequence[str],
    indicators: Sequence[str],
    yellow: set[str],
    scoring: Scoring,
) -> list[Row]:
    """Score every unit of the board; a unit or indicator with no data counts as zero, a
    value given as None is not filed (未报送).

    Rows come back by composite rank, then unit code (docs/commands.md).
    """
    codes = sorted(set(units))
    columns = {k: [_whole(values.get(u, {}).get(k, 0)) for u in codes] for k in indicators}
    return score_columns(
        columns, units=codes, indicators=indicators, yellow=yellow, scoring=scoring
    ).rows()


def _whole(value: int | None) -> int | None:
    """A value as scored: a whole number, or None kept as not filed rather than made zero."""
    return None if value is None else int(value)


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
