"""Working days on the official calendar, and the provisional fallback beyond it."""

from __future__ import annotations

from datetime import date

from models.domain.policy import CalendarYear
from models.domain.workdays import WorkCalendar

PLAIN = WorkCalendar({})


def test_national_day_and_adjusted_workdays_2026() -> None:
    # 2026: 10-01..10-07 off (国庆+中秋); Sunday 09-20 and Saturday 10-10 are workdays (调休).
    assert PLAIN.is_workday(date(2026, 10, 1)) == (False, False)
    assert PLAIN.is_workday(date(2026, 9, 20)) == (True, False)
    deadline = PLAIN.add_working_days(date(2026, 9, 30), 3)
    assert deadline.due == date(2026, 10, 10) and not deadline.provisional  # 10-08, 10-09, 10-10


def test_crossing_into_an_uncovered_year_is_provisional_not_an_error() -> None:
    """Acceptance: 15 working days from 2026-12-20 land in January 2027, marked provisional."""
    deadline = PLAIN.add_working_days(date(2026, 12, 20), 15)
    # Dec 21-25, 28-31 (9 days); Jan 1 2027 a fixed holiday; Jan 4-8 (14), Jan 11 (15).
    assert deadline.due == date(2027, 1, 11)
    assert deadline.provisional and deadline.uncovered_years == (2027,)


def test_a_policy_year_makes_the_answer_official() -> None:
    announced = WorkCalendar(
        {2027: CalendarYear(holidays=[date(2027, 1, 1), date(2027, 1, 4)], workdays=[])}
    )
    deadline = announced.add_working_days(date(2026, 12, 20), 15)
    assert deadline.due == date(2027, 1, 12) and not deadline.provisional


def test_working_days_between() -> None:
    assert PLAIN.working_days_between(date(2026, 9, 30), date(2026, 10, 12)) == 4
    assert PLAIN.working_days_between(date(2026, 10, 12), date(2026, 9, 30)) == -4
