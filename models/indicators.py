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
from itertools import compress, repeat
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    func,
    literal,
    literal_column,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from models.base import UTCDateTime
from models.database import read_all
from models.lead import Disposal, Lead, Outcome
from models.organisation import Entity, Unit
from models.records import MonthlyReturn
from models.scoring import months_of

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

    def before(self, column: ColumnElement[Any], value: Any = 1) -> list[ColumnElement[int]]:
        """Per bound, the sum of ``value`` over rows whose ``column`` (a time, or a month
        `2026-09`) falls before it."""
        starts = self.starts if _is_time(column) else self.months
        return [func.sum(case((column < start, value), else_=0)) for start in starts]

    def within(self, column: ColumnElement[Any]) -> ColumnElement[bool]:
        """Rows that fall between the first bound and the last (the others cancel out)."""
        starts = self.starts if _is_time(column) else self.months
        return and_(column >= starts[0], column < starts[-1])

    @property
    def starts(self) -> list[datetime]:
        return [month_start(m) for m in self.months]


def _is_time(column: ColumnElement[Any]) -> bool:
    return isinstance(column.type, UTCDateTime)


def _named(code: str, sums: list[ColumnElement[int]]) -> list[ColumnElement[int]]:
    return [column.label(f"{code}_{b}") for b, column in enumerate(sums)]


def _sources(bounds: Bounds, indicators: Sequence[str]) -> list[tuple[Select, list[str]]]:
    """Per source of facts, a query of (unit_id, then per indicator it supplies, the
    cumulative sums of `Bounds.before`) grouped by unit, and the indicators it supplies.

    Leads with a lead unit are read in unit order from a covering index, so the database
    groups a national year without sorting it; the few not yet assigned are grouped by
    the unit credited for them. A source none of ``indicators`` needs is not read.
    """
    sources: list[tuple[Select, list[str]]] = []
    by_time = {"leads_received": Lead.received_at, "leads_closed": Lead.closed_at}
    mine = [code for code in by_time if code in indicators]
    if mine:
        columns = [c for code in mine for c in _named(code, bounds.before(by_time[code]))]
        within = or_(*(bounds.within(by_time[code]) for code in mine))
        assigned = (
            select(Lead.lead_unit_id.label("unit_id"), *columns)
            .where(Lead.lead_unit_id.is_not(None), within)
            .group_by(Lead.lead_unit_id)
        )
        unassigned = (
            select(_credited_unit().label("unit_id"), *columns)
            .where(Lead.lead_unit_id.is_(None), within)
            .group_by(literal_column("unit_id"))
        )
        sources += [(assigned, mine), (unassigned, mine)]
    for table, codes in ((Disposal, ["leads_disposed"]), (Outcome, list(OUTCOME_COUNTS))):
        mine = [code for code in codes if code in indicators]
        if not mine:
            continue
        values = {code: 1 if table is Disposal else getattr(Outcome, code) for code in mine}
        query = (
            select(
                _credited_unit().label("unit_id"),
                *(
                    c
                    for code, value in values.items()
                    for c in _named(code, bounds.before(table.decided_at, value))
                ),
            )
            .select_from(table)
            .join(Lead, Lead.id == table.lead_id)
            .where(bounds.within(table.decided_at))
            .group_by(literal_column("unit_id"))
        )
        sources.append((query, mine))
    for code in indicators:
        returned = (
            select(
                MonthlyReturn.unit_id,
                *_named(code, bounds.before(MonthlyReturn.period, MonthlyReturn.value)),
            )
            .where(MonthlyReturn.indicator == code, bounds.within(MonthlyReturn.period))
            .group_by(MonthlyReturn.unit_id)
        )
        sources.append((returned, [code]))
    return sources


def indicator_sums(
    session: Session, periods: Sequence[Sequence[str]], indicators: Sequence[str]
) -> list[dict[str, dict[int, int]]]:
    """For each period (a list of consecutive months), for each of ``indicators``:
    {unit id: its value summed over the period's months}, for the units with any facts
    (the others count as zero; `column` reads them so).

    One scan of each source of facts serves every period: it counts per unit what
    happened before each of the periods' `Bounds`, and the database subtracts, so one
    row per unit and source comes back, one column per period and indicator. The
    sources are read two at a time where SQLite can (`database.read_all`). They are
    kept column by column, so that Python's loops over 10^5 units run in C. Where a
    return replaces a derived value, that month's derived value is taken out again (read
    by month only for the few units whose returns overlap the lifecycle).
    """
    bounds = Bounds.of(periods)
    reads, places = [], []
    for query, codes in _sources(bounds, indicators):
        sums = query.subquery()
        reads.append(
            select(
                sums.c.unit_id,
                *(
                    sums.c[f"{code}_{end}"] - sums.c[f"{code}_{start}"]
                    for start, end in bounds.spans
                    for code in codes
                ),
            )
        )
        places.append([(p, code) for p in range(len(periods)) for code in codes])
    found: list[dict[str, dict[int, int]]] = [{code: {} for code in indicators} for _ in periods]
    for rows, place in zip(read_all(session, reads), places, strict=True):
        if not rows:
            continue
        unit_ids, *values = zip(*rows, strict=True)
        for (p, code), column in zip(place, values, strict=True):
            before = found[p][code]
            found[p][code] = mine = dict(zip(unit_ids, column, strict=True))
            # Two sources of one indicator: leads not yet assigned, a return.
            for unit_id, value in before.items():
                mine[unit_id] = mine.get(unit_id, 0) + value
    for unit_id, month, indicator, derived in _replaced(session, periods, indicators):
        for p, period in enumerate(periods):
            if month in period:
                mine = found[p][indicator]
                mine[unit_id] = mine.get(unit_id, 0) - derived
    return found


def column(sums: dict[int, int], unit_ids: Sequence[int]) -> list[int]:
    """An indicator's values for these units, in their order; zero where none."""
    return list(map(sums.get, unit_ids, repeat(0)))


def board_values_many(
    session: Session,
    periods: Sequence[Sequence[str]],
    *,
    unit_kinds: Sequence[str],
    indicators: Sequence[str],
) -> list[dict[str, tuple[int, ...]]]:
    """`indicator_sums` as rows: for each period, {unit code: the values of
    ``indicators``, in that order}, for the units of these kinds with any value that is
    not zero."""
    units = list(
        session.connection().execute(
            select(Unit.id, Unit.code).where(Unit.kind.in_(list(unit_kinds)))
        )
    )
    unit_ids = [unit_id for unit_id, _ in units]
    found = []
    for sums in indicator_sums(session, periods, indicators):
        rows = list(zip(*(column(sums[code], unit_ids) for code in indicators), strict=True))
        codes = (code for _, code in units)
        found.append(dict(compress(zip(codes, rows, strict=True), map(any, rows))))
    return found


def _replaced(
    session: Session, periods: Sequence[Sequence[str]], indicators: Sequence[str]
) -> list[tuple[int, str, str, int]]:
    """(unit id, month, indicator, derived value) where a return replaces a derived value."""
    derived = set(DERIVED) & set(indicators)
    first = min(p[0] for p in periods)
    last = max(p[-1] for p in periods)
    # `period || ''` keeps SQLite from reading every month's returns through the index on
    # period: it seeks the few indicators instead (SQLite's documented planner control).
    period = MonthlyReturn.period + ""
    returned = (period >= first, period <= last, MonthlyReturn.indicator.in_(derived))
    overlapping = select(MonthlyReturn.unit_id).where(*returned).distinct()
    if not derived or not session.scalar(select(overlapping.exists())):
        return []
    # Every month of the span, gaps between the periods included, so each fact falls in
    # its own month.
    months = months_of(f"{first}..{last}")
    by_month = union_all(*_facts(months, by_month=True, units=overlapping)).subquery()
    return [
        (unit_id, month, indicator, int(value))
        for unit_id, month, indicator, value in session.execute(
            select(
                by_month.c.unit_id, by_month.c.month, by_month.c.indicator, by_month.c.value
            ).join(
                MonthlyReturn,
                (MonthlyReturn.unit_id == by_month.c.unit_id)
                & (MonthlyReturn.period == by_month.c.month)
                & (MonthlyReturn.indicator == by_month.c.indicator),
            )
        )
    ]


def board_values(
    session: Session,
    months: Sequence[str],
    *,
    unit_kinds: Sequence[str],
    indicators: Sequence[str],
) -> dict[str, tuple[int, ...]]:
    """`board_values_many` for one period."""
    return board_values_many(session, [months], unit_kinds=unit_kinds, indicators=indicators)[0]


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
