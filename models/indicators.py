"""Indicator values per unit and month (DOMAIN.md §3), by SQL aggregation.

Values come from the leads' own lifecycle where they can — received (受理), closed
(办结), disposed (处置), and the people an outcome educated, held accountable or
sanctioned — and from the units' monthly returns (月报) where they cannot. A return
wins over a derived value of the same unit, month and indicator; where both exist and
differ, the difference is a data check for the bulletin. A unit with no data counts
as zero (the scoring does that).

A lead counts for the unit responsible for it: its lead unit once assigned, else the
unit with jurisdiction once triaged, else the unit supervising its entity. Months are
calendar months in the commission's time zone, Asia/Shanghai.

Everything is aggregated by the database — one row per unit comes back, never one per
lead — so a national organisation's year is scored in seconds (the benchmark harness
measures it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    case,
    func,
    literal,
    literal_column,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from models.lead import Disposal, Lead, Outcome
from models.organisation import Entity, Unit
from models.records import MonthlyReturn

SHANGHAI = ZoneInfo("Asia/Shanghai")

# Outcome columns that are indicators of the same name.
OUTCOME_COUNTS = (
    "persons_educated",
    "persons_accountable",
    "party_sanctions",
    "government_sanctions",
)
DERIVED = ("leads_received", "leads_closed", "leads_disposed", *OUTCOME_COUNTS)


def month_start(month: str) -> datetime:
    """The instant a month `2026-09` begins in Asia/Shanghai, in UTC."""
    year, number = map(int, month.split("-"))
    return datetime(year, number, 1, tzinfo=SHANGHAI).astimezone(UTC)


def next_month(month: str) -> str:
    year, number = map(int, month.split("-"))
    return f"{year + 1}-01" if number == 12 else f"{year}-{number + 1:02d}"


def previous_month(month: str) -> str:
    year, number = map(int, month.split("-"))
    return f"{year - 1}-12" if number == 1 else f"{year}-{number - 1:02d}"


def _credited_unit() -> ColumnElement[int]:
    supervisor = select(Entity.supervised_by_id).where(Entity.id == Lead.entity_id)
    return func.coalesce(Lead.lead_unit_id, Lead.jurisdiction_unit_id, supervisor.scalar_subquery())


def _in_months(column: ColumnElement[datetime], months: Sequence[str]) -> tuple:
    """A filter to the months' span and the month each row falls in (CASE on the bounds).

    The months must be consecutive (`months_of` gives them so).
    """
    ends = [month_start(next_month(m)) for m in months]
    where = (column >= month_start(months[0]), column < ends[-1])
    if len(months) == 1:
        return where, literal(months[0])
    return where, case(*[(column < end, month) for month, end in zip(months, ends, strict=True)])


def _facts(months: Sequence[str], *, by_month: bool, units: Select | None = None) -> list[Select]:
    """The lifecycle's facts as (unit_id, [month,] indicator, value) selects: received,
    closed and disposed counts, and the outcomes' head counts (one scan for all four).

    ``by_month`` splits them by month; ``units`` restricts them to some units.
    """
    keys = ["unit_id", "month"] if by_month else ["unit_id"]

    def grouped(column: ColumnElement[datetime], values: list, *joins: type) -> Select:
        where, month = _in_months(column, months)
        unit = _credited_unit()
        query = select(
            unit.label("unit_id"), *([month.label("month")] if by_month else []), *values
        ).select_from(Lead)
        for target in joins:
            query = query.join(target, target.lead_id == Lead.id)  # type: ignore[attr-defined]
        query = query.where(*where)
        if units is not None:
            query = query.where(unit.in_(units))
        # By output name: the bounds are bound parameters, and PostgreSQL would not match
        # a CASE in GROUP BY with the same CASE in the select list under other parameters.
        return query.group_by(*map(literal_column, keys))

    def count(indicator: str) -> list:
        return [literal(indicator).label("indicator"), func.count().label("value")]

    sums = grouped(
        Outcome.decided_at,
        [func.sum(getattr(Outcome, name)).label(name) for name in OUTCOME_COUNTS],
        Outcome,
    ).cte("outcome_sums_by_month" if by_month else "outcome_sums")
    return [
        grouped(Lead.received_at, count("leads_received")),
        grouped(Lead.closed_at, count("leads_closed")),
        grouped(Disposal.decided_at, count("leads_disposed"), Disposal),
        *(
            select(
                *(sums.c[k] for k in keys),
                literal(name).label("indicator"),
                sums.c[name].label("value"),
            )
            for name in OUTCOME_COUNTS
        ),
    ]


def merged(months: Sequence[str]):
    """(unit_id, month, indicator, value, derived, returned): the return wins."""
    facts = union_all(*_facts(months, by_month=True)).subquery()
    rows = union_all(
        select(
            facts.c.unit_id,
            facts.c.month,
            facts.c.indicator,
            facts.c.value,
            literal(0).label("is_return"),
        ),
        select(
            MonthlyReturn.unit_id,
            MonthlyReturn.period,
            MonthlyReturn.indicator,
            MonthlyReturn.value,
            literal(1),
        ).where(MonthlyReturn.period.in_(list(months))),
    ).subquery()
    returned = func.max(case((rows.c.is_return == 1, rows.c.value)))
    from_lifecycle = func.sum(case((rows.c.is_return == 0, rows.c.value)))
    return (
        select(
            rows.c.unit_id,
            rows.c.month,
            rows.c.indicator,
            func.coalesce(returned, from_lifecycle).label("value"),
            from_lifecycle.label("derived"),
            returned.label("returned"),
        )
        .group_by(rows.c.unit_id, rows.c.month, rows.c.indicator)
        .subquery()
    )


def board_values(
    session: Session,
    months: Sequence[str],
    *,
    unit_kinds: Sequence[str],
    indicators: Sequence[str],
) -> dict[str, dict[str, int]]:
    """{unit code: {indicator: value summed over the months}} for units of these kinds.

    Over many months the lifecycle is summed per unit without splitting it by month;
    where a return replaces a derived value, that month's derived value is taken out
    again (split by month only for the few units whose returns overlap the lifecycle).
    The database pivots: one row per unit with data, one column per indicator.
    """
    returned = MonthlyReturn.period.in_(list(months))
    overlapping = (
        select(MonthlyReturn.unit_id)
        .where(returned, MonthlyReturn.indicator.in_(DERIVED))
        .distinct()
    )
    parts = [
        *_facts(months, by_month=False),
        select(MonthlyReturn.unit_id, MonthlyReturn.indicator, MonthlyReturn.value).where(returned),
    ]
    if session.scalar(select(overlapping.exists())):
        by_month = union_all(*_facts(months, by_month=True, units=overlapping)).subquery()
        parts.append(
            select(by_month.c.unit_id, by_month.c.indicator, -by_month.c.value).join(
                MonthlyReturn,
                (MonthlyReturn.unit_id == by_month.c.unit_id)
                & (MonthlyReturn.period == by_month.c.month)
                & (MonthlyReturn.indicator == by_month.c.indicator),
            )
        )
    rows = union_all(*parts).subquery()
    columns = [
        func.sum(case((rows.c.indicator == code, rows.c.value), else_=0)).cast(Integer).label(code)
        for code in indicators
    ]
    query = (
        select(Unit.code, *columns)
        .join(rows, rows.c.unit_id == Unit.id)
        .where(Unit.kind.in_(list(unit_kinds)))
        .group_by(Unit.code)
    )
    return {
        code: dict(zip(indicators, values, strict=True)) for code, *values in session.execute(query)
    }


@dataclass(frozen=True)
class DataCheck:
    """A unit's return that differs from what its leads' lifecycle shows."""

    unit: str
    month: str
    indicator: str
    derived: int
    returned: int

    def as_dict(self) -> dict[str, object]:
        return self.__dict__.copy()


def data_checks(session: Session, months: Sequence[str]) -> list[DataCheck]:
    facts = merged(months)
    query = (
        select(Unit.code, facts.c.month, facts.c.indicator, facts.c.derived, facts.c.returned)
        .join(facts, facts.c.unit_id == Unit.id)
        .where(facts.c.derived.is_not(None), facts.c.returned.is_not(None))
        .where(facts.c.derived != facts.c.returned)
        .order_by(facts.c.month, Unit.code, facts.c.indicator)
    )
    return [DataCheck(*row) for row in session.execute(query)]
