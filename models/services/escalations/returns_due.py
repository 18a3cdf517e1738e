"""When a month's returns (月报) are due (docs/rules.md §3): by the policy's working day of
the next month (`deadlines.monthly_returns`, the 3rd), counted on the official calendar.
Until then a unit may still file, so the monthly run waits — unless every unit on the
boards has filed each indicator only a return gives.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy.orm import Session

from models.domain.policy import Policy
from models.domain.workdays import WorkCalendar
from models.services.boards import not_filed
from models.store.periods import next_month

# How many units' codes a refusal names before it only counts the rest.
NAMED = 20


@dataclass(frozen=True)
class ReturnsDue:
    period: str
    due: date
    waiting_for: list[str]  # the units, by code, yet to file while the deadline holds

    def ready(self) -> bool:
        """The deadline has passed or every unit has filed: the run may count the month."""
        return not self.waiting_for

    def sentence(self) -> str:
        named = ", ".join(self.waiting_for[:NAMED])
        more = f" and {len(self.waiting_for) - NAMED} more" if len(self.waiting_for) > NAMED else ""
        return (
            f"returns for {self.period} are due by {self.due.isoformat()}; "
            f"{len(self.waiting_for)} unit(s) have not filed: {named}{more}"
        )


def due_date(policy: Policy, period: str) -> date:
    """The day a month's returns are due: the policy's working day of the next month."""
    year, month = map(int, next_month(period).split("-"))
    month_end = date(year, month, 1) - timedelta(days=1)
    calendar = WorkCalendar(policy.calendar.extra_years)
    return calendar.add_working_days(month_end, policy.deadlines.monthly_returns).due


def returns_due(session: Session, policy: Policy, period: str, today: date) -> ReturnsDue:
    """Where ``period``'s returns stand on ``today``: once the deadline has passed no one
    is waited for, and nothing is read; before, the units on a board yet to file."""
    due = due_date(policy, period)
    if today > due:
        return ReturnsDue(period, due, [])
    missing = not_filed(session, policy, period)
    return ReturnsDue(period, due, sorted({code for codes in missing.values() for code in codes}))
