"""What the monthly bulletin (通报) shows: the colour boards of the month with the
year-to-date board beside them, each unit's composite score month by month, the data
checks and the escalations. Built from scored boards only: units and figures, no lead
and no reporter can reach it (docs/rules.md §5).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from models.domain.board import Board
from models.domain.terms import numeral


def period_label(period: str) -> str:
    """`2026-09` → 2026年9月, `2026-Q3` → 2026年第三季度, `2026-01..2026-09` → 2026年1—9月."""
    if "-Q" in period:
        year, quarter = period.split("-Q")
        return f"{year}年第{numeral(int(quarter))}季度"
    start, _, end = period.partition("..")
    year, month = start.split("-")
    if not end:
        return f"{year}年{int(month)}月"
    end_year, end_month = end.split("-")
    if end_year == year:
        return f"{year}年{int(month)}—{int(end_month)}月"
    return f"{year}年{int(month)}月—{end_year}年{int(end_month)}月"


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Cell(_Frozen):
    value: int
    color: str


class BoardLine(_Frozen):
    unit: str
    name: str
    yellow: bool
    month: list[Cell]
    month_score: int
    month_rank: int
    last: bool
    ytd: list[Cell]
    ytd_score: int
    ytd_rank: int


class BoardSheet(_Frozen):
    """One board of the month with the year-to-date board beside it, unit by unit."""

    title: str
    month_label: str
    ytd_label: str
    indicators: list[str]
    lines: list[BoardLine]


class Trend(_Frozen):
    name: str
    scores: list[int]
    points: str  # the SVG polyline, computed here so the template draws, not calculates


class TrendSheet(_Frozen):
    title: str
    months: list[str]
    top: int
    trends: list[Trend]


class Legend(_Frozen):
    """How the boards score, in the policy's ranks and points (the annexes' key)."""

    red_max_rank: str  # in Chinese numerals, as the text reads: 前三名
    points: dict[str, int]


class BulletinContent(_Frozen):
    addressee: str
    paragraphs: list[str]
    legend: Legend
    sheets: list[BoardSheet]
    trend_sheets: list[TrendSheet]
    data_checks: list[list[str]]


def sheet(month: Board, ytd: Board) -> BoardSheet:
    ytd_rows = {row.unit: row for row in ytd.rows}
    lines = []
    for row in month.rows:
        other = ytd_rows[row.unit]
        lines.append(
            BoardLine(
                unit=row.unit,
                name=month.names[row.unit],
                yellow=row.yellow,
                month=[Cell(value=c.value, color=c.color) for c in row.cells.values()],
                month_score=row.score,
                month_rank=row.rank,
                last=row.last,
                ytd=[Cell(value=c.value, color=c.color) for c in other.cells.values()],
                ytd_score=other.score,
                ytd_rank=other.rank,
            )
        )
    return BoardSheet(
        title=month.title,
        month_label=period_label(month.period),
        ytd_label=period_label(ytd.period),
        indicators=list(month.indicators.values()),
        lines=lines,
    )


def trend_sheet(monthly: list[Board]) -> TrendSheet:
    """Each unit's composite score, month by month, as a small line chart of its own."""
    months = [board.period for board in monthly]
    scores: dict[str, list[int]] = {}
    for board in monthly:
        for row in board.rows:
            scores.setdefault(row.unit, []).append(row.score)
    top = max((s for series in scores.values() for s in series), default=1) or 1
    width, height = 120, 24
    step = width / max(len(months) - 1, 1)

    def points(series: list[int]) -> str:
        return " ".join(
            f"{i * step:.1f},{height - s / top * height:.1f}" for i, s in enumerate(series)
        )

    last = monthly[-1]
    return TrendSheet(
        title=last.title,
        months=[m.split("-")[1].lstrip("0") + "月" for m in months],
        top=top,
        trends=[
            Trend(name=last.names[unit], scores=scores[unit], points=points(scores[unit]))
            for unit in sorted(scores)
        ],
    )
