"""Months and periods of the boards (docs/rules.md §3, §7) as the database compares them.

A month is `2026-09`, a calendar month in the commission's time zone, Asia/Shanghai;
times are stored in UTC, so a month's facts are those from the instant it begins there
to the instant the next one does. :class:`Bounds` turns a set of periods into the few
instants one scan has to count facts before.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, case, func
from sqlalchemy.orm import QueryableAttribute

from models.store.base import UTCDateTime

SHANGHAI = ZoneInfo("Asia/Shanghai")

# What a bound is compared with: a Core column expression, or a mapped attribute.
Column = ColumnElement[Any] | QueryableAttribute[Any]


def month_start(month: str) -> datetime:
    """The instant a month `2026-09` begins in Asia/Shanghai, in UTC."""
    year, number = map(int, month.split("-"))
    return datetime(year, number, 1, tzinfo=SHANGHAI).astimezone(UTC)


def next_month(month: str) -> str:
    """The month after ``month``: `2026-12` is followed by `2027-01`."""
    year, number = map(int, month.split("-"))
    return f"{year + 1}-01" if number == 12 else f"{year}-{number + 1:02d}"


def previous_month(month: str) -> str:
    """The month before ``month``: `2027-01` follows `2026-12`."""
    year, number = map(int, month.split("-"))
    return f"{year - 1}-12" if number == 1 else f"{year}-{number - 1:02d}"


@dataclass(frozen=True)
class Bounds:
    """The months at which the periods begin and end, in order: a period's value is what
    happened before its end less what happened before its start, so one scan that counts
    rows before each bound serves every period (the month, the quarter, the year to date).
    """

    months: list[str]  # the first month of each bound; its start is the bound
    spans: list[tuple[int, int]]  # per period: the indexes of its start and its end

    @classmethod
    def of(cls, periods: Sequence[Sequence[str]]) -> Bounds:
        months = sorted({p[0] for p in periods} | {next_month(p[-1]) for p in periods})
        at = {month: i for i, month in enumerate(months)}
        return cls(months, [(at[p[0]], at[next_month(p[-1])]) for p in periods])

    def before(self, column: Column, value: Any = 1) -> list[ColumnElement[int]]:
        """Per bound, the sum of ``value`` over rows whose ``column`` (a time, or a month
        `2026-09`) falls before it."""
        starts = self.starts if _is_time(column) else self.months
        return [func.sum(case((column < start, value), else_=0)) for start in starts]

    def within(self, column: Column) -> ColumnElement[bool]:
        """Rows that fall between the first bound and the last (the others cancel out)."""
        starts = self.starts if _is_time(column) else self.months
        return and_(column >= starts[0], column < starts[-1])

    @property
    def starts(self) -> list[datetime]:
        return [month_start(m) for m in self.months]


def _is_time(column: Column) -> bool:
    """A stored instant (compared with instants), not a month `2026-09` (with months)."""
    return isinstance(column.type, UTCDateTime)
