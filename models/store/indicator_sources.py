"""Where indicator values come from (docs/rules.md §3), as SQL the database aggregates.

The leads' lifecycle supplies the counts of leads received (受理), closed (办结) and
disposed (处置) and the people an outcome educated, held accountable or sanctioned; the
units' monthly returns (月报) supply the rest, and replace a derived value of the same
unit, month and indicator. A lead counts for the unit responsible for it: its lead unit
once assigned, else the unit with jurisdiction once triaged, else the unit supervising
its entity; a board scoped to some lead domains counts only the leads of those domains.
An indicator only the returns supply is *filed* or not per unit and month: the sources
count the months each unit filed, so a unit that filed nothing is missing (未报送), not
zero. Every query here groups by unit in the database: one row per unit comes back, never
one per lead.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import (
    ColumnElement,
    Select,
    SQLColumnExpression,
    Subquery,
    case,
    func,
    literal,
    literal_column,
    or_,
    select,
    union_all,
)

from models.store.lead import Disposal, Lead, Outcome
from models.store.organisation import Entity
from models.store.periods import Bounds, month_start, next_month
from models.store.records import MonthlyReturn

# Outcome columns that are indicators of the same name.
OUTCOME_COUNTS = (
    "persons_educated",
    "persons_accountable",
    "party_sanctions",
    "government_sanctions",
)
DERIVED = ("leads_received", "leads_closed", "leads_disposed", *OUTCOME_COUNTS)
# The lead domains a board counts; None: every domain.
Domains = Sequence[str] | None
# A return-only indicator's rows are summed as value·PACK + 1, so one CASE per bound gives
# both the value and the months filed (fewer than PACK in any period; a value is at most
# 1,000,000, so value·PACK + 1 stays within PostgreSQL's INTEGER).
PACK = 1024


def return_only(indicator: str) -> bool:
    """An indicator the leads' lifecycle cannot supply: only a unit's return gives it."""
    return indicator not in DERIVED


def filed(indicator: str) -> str:
    """The key of the months a unit filed a return-only ``indicator`` for."""
    return f"{indicator}__filed"


def _of_domains(domains: Domains) -> tuple[ColumnElement[bool], ...]:
    """The filter to a board's lead domains (nothing to filter for every domain)."""
    return () if domains is None else (Lead.domain.in_(list(domains)),)


def _credited_unit() -> ColumnElement[int]:
    """The unit a lead counts for: its lead unit, else the unit with jurisdiction, else
    the unit supervising its entity."""
    supervisor = select(Entity.supervised_by_id).where(Entity.id == Lead.entity_id)
    return func.coalesce(Lead.lead_unit_id, Lead.jurisdiction_unit_id, supervisor.scalar_subquery())


def _in_months(column: SQLColumnExpression[datetime | None], months: Sequence[str]) -> tuple:
    """A filter to the months' span and the month each row falls in (CASE on the bounds).

    The months must be consecutive (`months_of` gives them so).
    """
    ends = [month_start(next_month(m)) for m in months]
    where = (column >= month_start(months[0]), column < ends[-1])
    if len(months) == 1:
        return where, literal(months[0])
    return where, case(*[(column < end, month) for month, end in zip(months, ends, strict=True)])


def lifecycle_facts(
    months: Sequence[str],
    *,
    by_month: bool,
    units: Select | None = None,
    domains: Domains = None,
) -> list[Select]:
    """The lifecycle's facts as (unit_id, [month,] indicator, value) selects: received,
    closed and disposed counts, and the outcomes' head counts (one scan for all four).

    ``by_month`` splits them by month; ``units`` restricts them to some units, ``domains``
    to the leads of some domains.
    """
    keys = ["unit_id", "month"] if by_month else ["unit_id"]

    def grouped(column: SQLColumnExpression[datetime | None], values: list, *joins: type) -> Select:
        where, month = _in_months(column, months)
        unit = _credited_unit()
        query = select(
            unit.label("unit_id"), *([month.label("month")] if by_month else []), *values
        ).select_from(Lead)
        for target in joins:
            query = query.join(target, target.lead_id == Lead.id)  # type: ignore[attr-defined]
        query = query.where(*where, *_of_domains(domains))
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


def merged(months: Sequence[str], domains: Domains = None) -> Subquery:
    """(unit_id, month, indicator, value, derived, returned): the return wins."""
    facts = union_all(*lifecycle_facts(months, by_month=True, domains=domains)).subquery()
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


def _named(code: str, sums: list[ColumnElement[int]]) -> list[ColumnElement[int]]:
    return [column.label(f"{code}_{b}") for b, column in enumerate(sums)]


def sources_by_unit(
    bounds: Bounds, indicators: Sequence[str], domains: Domains = None
) -> list[tuple[Select, list[str]]]:
    """Per source of facts, a query of (unit_id, then per indicator it supplies, the
    cumulative sums of `Bounds.before`) grouped by unit, and the indicators it supplies;
    a return-only indicator's sums are packed with the months filed (`PACK`).

    Leads with a lead unit are read in unit order from a covering index, so the database
    groups a national year without sorting it; the few not yet assigned are grouped by
    the unit credited for them. A source none of ``indicators`` needs is not read.
    ``domains`` scopes the leads' sources; a return is the unit's whatever the domain.
    """
    scope = _of_domains(domains)
    sources: list[tuple[Select, list[str]]] = []
    by_time = {"leads_received": Lead.received_at, "leads_closed": Lead.closed_at}
    mine = [code for code in by_time if code in indicators]
    if mine:
        columns = [c for code in mine for c in _named(code, bounds.before(by_time[code]))]
        within = or_(*(bounds.within(by_time[code]) for code in mine))
        assigned = (
            select(Lead.lead_unit_id.label("unit_id"), *columns)
            .where(Lead.lead_unit_id.is_not(None), within, *scope)
            .group_by(Lead.lead_unit_id)
        )
        unassigned = (
            select(_credited_unit().label("unit_id"), *columns)
            .where(Lead.lead_unit_id.is_(None), within, *scope)
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
            .where(bounds.within(table.decided_at), *scope)
            .group_by(literal_column("unit_id"))
        )
        sources.append((query, mine))
    return sources + [_returned(bounds, code) for code in indicators]


def _returned(bounds: Bounds, code: str) -> tuple[Select, list[str]]:
    """The returns of one indicator by unit; for a return-only one packed with the months
    filed (a month's return is one row: the key is unique), in the same scan and CASE."""
    value = MonthlyReturn.value * PACK + 1 if return_only(code) else MonthlyReturn.value
    query = (
        select(MonthlyReturn.unit_id, *_named(code, bounds.before(MonthlyReturn.period, value)))
        .where(MonthlyReturn.indicator == code, bounds.within(MonthlyReturn.period))
        .group_by(MonthlyReturn.unit_id)
    )
    return query, [code]
