"""Working days on mainland China's official calendar (docs/rules.md §2.6: 限期整改).

``chinesecalendar`` knows the State Council's holidays and adjusted workdays (调休)
for the years it covers and raises beyond them. A deadline must not fail and must not
be silently wrong when it crosses into a year it does not cover yet, so, in order:

1. the library, for the years it covers;
2. the policy file, which can carry a new year's announced holidays and workdays;
3. otherwise weekends and the fixed-date public holidays (New Year's Day, Labour Day,
   National Day) — and the result is marked *provisional*, because the lunar holidays
   and the adjusted workdays of that year are not known.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

import chinese_calendar

from models.domain.policy import CalendarYear

# Fixed-date statutory holidays (全体公民放假的节日) as (month, day); the lunar ones move.
FIXED_HOLIDAYS = frozenset({(1, 1), (5, 1), (5, 2), (10, 1), (10, 2), (10, 3)})


@dataclass(frozen=True)
class Deadline:
    due: date
    working_days: int
    # True when some day counted lies in a year no official calendar covers yet.
    provisional: bool
    uncovered_years: tuple[int, ...] = ()

    def as_dict(self) -> dict[str, object]:
        return {
            "due": self.due.isoformat(),
            "working_days": self.working_days,
            "provisional": self.provisional,
            "uncovered_years": list(self.uncovered_years),
        }


@dataclass(frozen=True)
class WorkCalendar:
    extra_years: Mapping[int, CalendarYear]

    def is_workday(self, day: date) -> tuple[bool, bool]:
        """(is it a working day, is that answer provisional)."""
        try:
            return chinese_calendar.is_workday(day), False
        except NotImplementedError:
            pass
        announced = self.extra_years.get(day.year)
        if announced is not None:
            if day in announced.workdays:
                return True, False
            if day in announced.holidays:
                return False, False
            return day.weekday() < 5, False
        return day.weekday() < 5 and (day.month, day.day) not in FIXED_HOLIDAYS, True

    def add_working_days(self, start: date, days: int) -> Deadline:
        """The day ``days`` working days after ``start`` (``start`` itself not counted)."""
        if days < 0:
            raise ValueError("a deadline counts forward")
        day, counted, uncovered = start, 0, set()
        while counted < days:
            day += timedelta(days=1)
            workday, provisional = self.is_workday(day)
            if provisional:
                uncovered.add(day.year)
            counted += workday
        return Deadline(day, days, bool(uncovered), tuple(sorted(uncovered)))

    def working_days_between(self, start: date, end: date) -> int:
        """Working days after ``start`` up to and including ``end`` (negative if before)."""
        sign, (low, high) = (1, (start, end)) if end >= start else (-1, (end, start))
        count, day = 0, low
        while day < high:
            day += timedelta(days=1)
            count += self.is_workday(day)[0]
        return sign * count
