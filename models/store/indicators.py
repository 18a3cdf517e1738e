"""Indicator values per unit and period (docs/rules.md §3), summed by the database.

Values come from the leads' own lifecycle where they can and from the units' monthly
returns (月报) where they cannot (:mod:`models.store.indicator_sources`); a return wins
over a derived value of the same unit, month and indicator, and where both exist and
differ, the difference is a data check for the bulletin. A unit with no lifecycle facts
counts as zero; a unit that has not filed a return-only indicator for every month of the
period is missing on it (未报送, None), never zero. A board scoped to some lead domains
counts only their leads. Periods are runs of calendar months in Asia/Shanghai
(:mod:`models.store.periods`).

Everything is aggregated by the database — one row per unit comes back, never one per
lead — so a national organisation's year is scored in seconds (the benchmark harness
measures it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import compress, repeat

from sqlalchemy import ColumnElement, Select, Subquery, select, union_all
from sqlalchemy.orm import Session

from models.domain.scoring import months_of
from models.store.database import read_all
from models.store.indicator_sources import (
    DERIVED,
    PACK,
    Domains,
    filed,
    lifecycle_facts,
    merged,
    return_only,
    sources_by_unit,
)
from models.store.organisation import Unit
from models.store.periods import Bounds
from models.store.records import MonthlyReturn


@dataclass(frozen=True)
class PeriodSums:
    """One period's sums: per key of `sources_by_unit` (an indicator, or `filed` of a
    return-only one), {unit id: the sum over the period's months}."""

    months: int
    sums: dict[str, dict[int, int]]

    def column(self, indicator: str, unit_ids: Sequence[int]) -> list[int | None]:
        """The indicator's values for these units, in their order: zero where there are
        no facts; None where a return-only indicator was not filed for every month."""
        values: list[int | None] = list(map(self.sums[indicator].get, unit_ids, repeat(0)))
        if not return_only(indicator):
            return values
        months = map(self.sums[filed(indicator)].get, unit_ids, repeat(0))
        return [v if n == self.months else None for v, n in zip(values, months, strict=True)]


def indicator_sums(
    session: Session,
    periods: Sequence[Sequence[str]],
    indicators: Sequence[str],
    domains: Domains = None,
) -> list[PeriodSums]:
    """For each period (a list of consecutive months), for each of ``indicators``:
    {unit id: its value summed over the period's months}, for the units with any facts
    (the others count as zero, or as not filed; `PeriodSums.column` reads them so), and for
    a return-only indicator the months each unit filed it for. ``domains`` scopes the
    leads counted.

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
    for query, codes in sources_by_unit(bounds, indicators, domains):
        columns, place = _differences(query.subquery(), codes, bounds)
        reads.append(columns)
        places.append(place)
    keys = [*indicators, *(filed(code) for code in indicators if return_only(code))]
    found: list[dict[str, dict[int, int]]] = [{key: {} for key in keys} for _ in periods]
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
    for unit_id, month, indicator, derived in _replaced(session, periods, indicators, domains):
        for p, period in enumerate(periods):
            if month in period:
                mine = found[p][indicator]
                mine[unit_id] = mine.get(unit_id, 0) - derived
    return [PeriodSums(len(period), sums) for period, sums in zip(periods, found, strict=True)]


def _differences(
    sums: Subquery, codes: Sequence[str], bounds: Bounds
) -> tuple[Select, list[tuple[int, str]]]:
    """Each period's sums (before its end less before its start), and where each goes:
    (period, key); a packed return-only sum is split by the database into its value and
    the months filed (`PACK`)."""
    columns: list[ColumnElement[int]] = []
    place: list[tuple[int, str]] = []
    for p, (start, end) in enumerate(bounds.spans):
        for code in codes:
            difference = sums.c[f"{code}_{end}"] - sums.c[f"{code}_{start}"]
            if return_only(code):
                columns += [difference // PACK, difference % PACK]
                place += [(p, code), (p, filed(code))]
            else:
                columns.append(difference)
                place.append((p, code))
    return select(sums.c.unit_id, *columns), place


def column(sums: dict[int, int], unit_ids: Sequence[int]) -> list[int]:
    """An indicator's values for these units, in their order; zero where none."""
    return list(map(sums.get, unit_ids, repeat(0)))


def board_values_many(
    session: Session,
    periods: Sequence[Sequence[str]],
    *,
    unit_kinds: Sequence[str],
    indicators: Sequence[str],
    domains: Domains = None,
) -> list[dict[str, tuple[int, ...]]]:
    """`indicator_sums` as rows: for each period, {unit code: the values of
    ``indicators``, in that order, what was filed summed}, for the units of these kinds
    with any value that is not zero."""
    units = list(
        session.connection().execute(
            select(Unit.id, Unit.code).where(Unit.kind.in_(list(unit_kinds)))
        )
    )
    unit_ids = [unit_id for unit_id, _ in units]
    found = []
    for period in indicator_sums(session, periods, indicators, domains):
        rows = list(zip(*(column(period.sums[code], unit_ids) for code in indicators), strict=True))
        codes = (code for _, code in units)
        found.append(dict(compress(zip(codes, rows, strict=True), map(any, rows))))
    return found


def _replaced(
    session: Session,
    periods: Sequence[Sequence[str]],
    indicators: Sequence[str],
    domains: Domains = None,
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
    facts = lifecycle_facts(months, by_month=True, units=overlapping, domains=domains)
    by_month = union_all(*facts).subquery()
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
    domains: Domains = None,
) -> dict[str, tuple[int, ...]]:
    """`board_values_many` for one period."""
    return board_values_many(
        session, [months], unit_kinds=unit_kinds, indicators=indicators, domains=domains
    )[0]


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


def data_checks(
    session: Session, months: Sequence[str], *, domains: Domains = None
) -> list[DataCheck]:
    """Returns that differ from the lifecycle's count (of ``domains``' leads) for the
    same unit, month and indicator."""
    facts = merged(months, domains)
    query = (
        select(Unit.code, facts.c.month, facts.c.indicator, facts.c.derived, facts.c.returned)
        .join(facts, facts.c.unit_id == Unit.id)
        .where(facts.c.derived.is_not(None), facts.c.returned.is_not(None))
        .where(facts.c.derived != facts.c.returned)
        .order_by(facts.c.month, Unit.code, facts.c.indicator)
    )
    return [DataCheck(*row) for row in session.execute(query)]
