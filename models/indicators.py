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
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
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


@dataclass(frozen=True)
class Runs:
    """The months of several periods cut into runs of consecutive months, so that every
    period is a union of runs: the facts are aggregated once per run, and a run's sums
    serve every period that covers it (the month, the quarter, the year to date)."""

    runs: list[list[str]]

    @classmethod
    def of(cls, periods: Sequence[Sequence[str]]) -> Runs:
        months = sorted({m for period in periods for m in period})
        cuts = {p[0] for p in periods} | {next_month(p[-1]) for p in periods}
        runs: list[list[str]] = []
        for month in months:
            if runs and month not in cuts and next_month(runs[-1][-1]) == month:
                runs[-1].append(month)
            else:
                runs.append([month])
        return cls(runs)

    def covering(self, period: Sequence[str]) -> list[int]:
        wanted = set(period)
        return [i for i, run in enumerate(self.runs) if run[0] in wanted]

    def of_time(self, column: ColumnElement[datetime]) -> tuple[tuple, ColumnElement[int]]:
        """A filter to the runs' span, and the run each row falls in (NULL in a gap)."""
        where = (column >= month_start(self.runs[0][0]), column < self._end(-1))
        if len(self.runs) == 1:
            return where, literal(0)
        whens: list[tuple] = []
        for i, run in enumerate(self.runs):
            if i and run[0] != next_month(self.runs[i - 1][-1]):
                whens.append((column < month_start(run[0]), None))
            whens.append((column < self._end(i), i))
        return where, case(*whens)

    def of_month(self, column: ColumnElement[str]) -> ColumnElement[int]:
        return case(*[(column.in_(run), i) for i, run in enumerate(self.runs)])

    def _end(self, i: int) -> datetime:
        return month_start(next_month(self.runs[i][-1]))


def _wide_facts(runs: Runs, indicators: Sequence[str]) -> list[Select]:
    """The lifecycle's facts as (unit_id, run, one column per indicator) selects, one scan
    per source, each grouped by unit and run; a source none of ``indicators`` needs is
    not scanned. An indicator a source does not supply is 0 in its rows."""
    where_to = {
        "leads_received": (Lead.received_at, ()),
        "leads_closed": (Lead.closed_at, ()),
        "leads_disposed": (Disposal.decided_at, (Disposal,)),
        **{name: (Outcome.decided_at, (Outcome,)) for name in OUTCOME_COUNTS},
    }
    sources: dict[tuple, list[str]] = {}
    for code in indicators:
        if code in where_to:
            sources.setdefault(where_to[code], []).append(code)
    selects = []
    for (column, joins), supplied in sources.items():
        where, run = runs.of_time(column)
        sums = {
            code: func.sum(getattr(Outcome, code)) if code in OUTCOME_COUNTS else func.count()
            for code in supplied
        }
        query = select(
            _credited_unit().label("unit_id"),
            run.label("run"),
            *(sums.get(code, literal(0)).label(code) for code in indicators),
        ).select_from(Lead)
        for target in joins:
            query = query.join(target, target.lead_id == Lead.id)
        # By output name: PostgreSQL would not match a CASE of bound parameters in
        # GROUP BY with the same CASE in the select list.
        selects.append(
            query.where(*where).group_by(literal_column("unit_id"), literal_column("run"))
        )
    return selects


def _pivot(rows: Any, indicators: Sequence[str]) -> Select:
    """Long (unit_id, run, indicator, value) rows as wide rows, summed per unit and run."""
    return select(
        rows.c.unit_id,
        rows.c.run,
        *(
            func.sum(case((rows.c.indicator == code, rows.c.value), else_=0)).label(code)
            for code in indicators
        ),
    ).group_by(rows.c.unit_id, rows.c.run)


def board_values_many(
    session: Session,
    periods: Sequence[Sequence[str]],
    *,
    unit_kinds: Sequence[str],
    indicators: Sequence[str],
) -> list[dict[str, tuple[int, ...]]]:
    """For each period (a list of consecutive months): {unit code: the values of
    ``indicators``, in that order, summed over its months}, for the units of these kinds
    that have any data (the others count as zero).

    One aggregation serves every period: the lifecycle is summed per unit and run of
    months (`Runs`), and each period adds up the runs it covers. Where a return replaces
    a derived value, that month's derived value is taken out again (split by month only
    for the few units whose returns overlap the lifecycle). The database pivots: one row
    per unit and run, one column per indicator.
    """
    runs = Runs.of(periods)
    months = [m for run in runs.runs for m in run]
    returned = MonthlyReturn.period.in_(months)
    long = [
        select(
            MonthlyReturn.unit_id,
            runs.of_month(MonthlyReturn.period).label("run"),
            MonthlyReturn.indicator,
            MonthlyReturn.value,
        ).where(returned, MonthlyReturn.indicator.in_(list(indicators)))
    ]
    overlapping = (
        select(MonthlyReturn.unit_id)
        .where(returned, MonthlyReturn.indicator.in_(set(DERIVED) & set(indicators)))
        .distinct()
    )
    if session.scalar(select(overlapping.exists())):
        by_month = union_all(*_facts(months, by_month=True, units=overlapping)).subquery()
        long.append(
            select(
                by_month.c.unit_id,
                runs.of_month(by_month.c.month),
                by_month.c.indicator,
                -by_month.c.value,
            ).join(
                MonthlyReturn,
                (MonthlyReturn.unit_id == by_month.c.unit_id)
                & (MonthlyReturn.period == by_month.c.month)
                & (MonthlyReturn.indicator == by_month.c.indicator),
            )
        )
    wide = [*_wide_facts(runs, indicators), _pivot(union_all(*long).subquery(), indicators)]
    rows = union_all(*wide).subquery()
    # Grouped by the unit's id; its code and kind are looked up once per unit, not joined
    # per row.
    query = (
        select(rows.c.unit_id, rows.c.run, *(func.sum(rows.c[code]) for code in indicators))
        .where(rows.c.run.is_not(None))
        .group_by(rows.c.unit_id, rows.c.run)
    )
    codes = {
        unit_id: code
        for unit_id, code in session.connection().execute(
            select(Unit.id, Unit.code).where(Unit.kind.in_(list(unit_kinds)))
        )
    }
    covered_by = [
        [p for p, period in enumerate(periods) if i in runs.covering(period)]
        for i in range(len(runs.runs))
    ]
    found: list[dict[str, tuple[int, ...]]] = [{} for _ in periods]
    # Core rows, not ORM ones: a national board is 10^5 units.
    for unit_id, run, *values in session.connection().execute(query):
        code = codes.get(unit_id)
        if code is None:
            continue
        values = [int(v) for v in values]
        for p in covered_by[run]:
            seen = found[p].get(code)
            found[p][code] = (
                tuple(values) if seen is None else tuple(map(sum, zip(seen, values, strict=True)))
            )
    return found


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
