"""What the monthly bulletin (通报) shows: the colour boards of the month with the
year-to-date board beside them (a value not filed shows as 未报送), each unit's composite
score month by month, the data checks and the escalations. Built from scored boards only:
units and figures, no lead and no reporter can reach it (docs/rules.md §5).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator

from models.domain import scoring
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
    value: int | None  # None: not filed
    color: str
    # A bulletin numbered before a value could be missing has no such key: all filed.
    missing: bool = False


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
    # Some value not filed (未报送): the key then says what that means.
    missing: bool = False
    # The indicators' codes, in the labels' order: what a data check names is labelled by.
    codes: list[str] = []


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
    data_checks: list[list[str]]  # unit, indicator, ledger, return

    @field_validator("data_checks")
    @classmethod
    def _labelled(cls, rows: list[list[str]], info: ValidationInfo) -> list[list[str]]:
        """Each data check's indicator by its label on the unit's own board, not its code."""
        labels: dict[tuple[str, str], str] = {}
        for sheet in info.data.get("sheets", []):
            codes = dict(zip(sheet.codes, sheet.indicators, strict=False))
            labels |= {(line.name, c): label for line in sheet.lines for c, label in codes.items()}
            labels |= {("", c): label for c, label in codes.items()}
        return [
            [unit, labels.get((unit, code), labels.get(("", code), code)), *rest]
            for unit, code, *rest in rows
        ]


def _cell(cell: scoring.Cell) -> Cell:
    return Cell(value=cell.value, color=cell.color, missing=cell.missing)


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
                month=[_cell(c) for c in row.cells.values()],
                month_score=row.score,
                month_rank=row.rank,
                last=row.last,
                ytd=[_cell(c) for c in other.cells.values()],
                ytd_score=other.score,
                ytd_rank=other.rank,
            )
        )
    return BoardSheet(
        title=month.title,
        month_label=period_label(month.period),
        ytd_label=period_label(ytd.period),
        indicators=list(month.indicators.values()),
        codes=list(month.indicators),
        lines=lines,
        missing=any(c.missing for line in lines for c in (*line.month, *line.ytd)),
    )


# The annexes' landscape type area (A4's 297 mm less 12 mm a side), in points, and what a
# cell adds to its text (padding, half of each rule); the sizes a board's type may take.
ANNEX_WIDTH = (297 - 2 * 12) / 25.4 * 72
CELL_EXTRA = 2 * 1.5 + 0.5
SIZES = (8.0, 7.5, 7.0, 6.5, 6.0, 5.5)


def ems(text: str) -> float:
    """A text's width in em: a Chinese character one, a figure or Latin letter half."""
    return sum(1.0 if unicodedata.east_asian_width(c) in "WF" else 0.5 for c in text)


def two_lines(label: str) -> float:
    """The narrowest width, in em, that sets ``label`` on two lines, broken where Chinese
    may break (never after an opening bracket, nor before a closing one)."""
    splits = [
        i for i in range(1, len(label)) if label[i] not in ")）" and label[i - 1] not in "(（"
    ]
    return min((max(ems(label[:i]), ems(label[i:])) for i in splits), default=ems(label))


def _shown(cell: Mapping[str, Any]) -> str:
    return "未报送" if cell.get("missing") else str(cell["value"])


def board_columns(sheet: Mapping[str, Any]) -> dict[str, Any]:
    """How a board (a bulletin's stored sheet) is laid out across its landscape page: the
    largest type whose columns fit, each unit's name on one line, each header on two lines
    at most, 未报送 whole; the widths in points, the unit's column first."""
    lines = sheet["lines"]
    names = max((ems(line["name"]) for line in lines), default=4.0)
    values = max(
        (ems(_shown(c)) for line in lines for c in (*line["month"], *line["ytd"])), default=1.0
    )
    # Each column's header on two lines and its widest value: 综合得分 and 排名 hold figures.
    needs = [(two_lines(label), values) for label in sheet["indicators"]] + [(2.0, 1.5)] * 2
    for size in SIZES:
        cell = size + 0.5
        unit = names * cell + CELL_EXTRA
        columns = [max((head + 0.15) * size, value * cell) + CELL_EXTRA for head, value in needs]
        if unit + 2 * sum(columns) <= ANNEX_WIDTH:
            break
    # A board too wide even in the smallest type keeps to the page, its headers on more lines.
    scale = min(1.0, ANNEX_WIDTH / (unit + 2 * sum(columns)))
    return {
        "head": size,
        "cell": size + 0.5,
        "unit": _tenths(unit * scale),
        "columns": [_tenths(width * scale) for width in columns],
    }


def _tenths(points: float) -> float:
    """A width to a tenth of a point, rounded down, so the columns never outgrow the page."""
    return int(points * 10) / 10


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
