"""The boards' aggregation against a plain reading of docs/rules.md §3, lead by lead.

A small synthetic year (the benchmark's generator, on SQLite) with the cases the
aggregation treats apart: leads not yet assigned (credited to the unit with
jurisdiction) or not yet triaged (credited to the unit supervising the entity), facts
of other years, returns that replace a derived value and returns of their own, every
indicator of every source at once, and periods with gaps between them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text

from leadflow.bench import national
from models.domain.scoring import months_of
from models.domain.units import UnitKind
from models.store import migrate
from models.store.database import _second_reader, make_engine, read_all, transaction
from models.store.indicator_sources import DERIVED, OUTCOME_COUNTS
from models.store.indicators import board_values, board_values_many
from models.store.lead import Disposal, Lead, Outcome
from models.store.organisation import Entity, Unit
from models.store.periods import SHANGHAI
from models.store.records import MonthlyReturn

UNITS = 40
INDICATORS = [*DERIVED, "direct_investigations", "public_exposures"]
EVERY_KIND = [k.value for k in UnitKind]


@pytest.fixture(scope="module")
def year(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    path: Path = tmp_path_factory.mktemp("indicators") / "year.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    national.generate(engine, units=UNITS, leads=4_000)
    with engine.begin() as connection:
        for statement in (
            # Triaged, not yet assigned: the unit with jurisdiction, another one.
            f"UPDATE leads SET lead_unit_id = NULL, jurisdiction_unit_id = id % {UNITS} + 1"
            " WHERE id % 11 = 0",
            # Not yet triaged: the unit supervising the entity.
            "UPDATE leads SET lead_unit_id = NULL, jurisdiction_unit_id = NULL WHERE id % 13 = 0",
            # Facts of the year before and after: outside every period asked for.
            "UPDATE leads SET received_at = '2025-06-01 00:00:00.000000' WHERE id % 17 = 0",
            "UPDATE leads SET closed_at = '2027-02-01 00:00:00.000000' WHERE id % 19 = 0",
            # Returns that replace what the lifecycle shows, and a return of a month
            # without any lifecycle facts for the unit.
            "INSERT INTO monthly_returns (period, unit_id, indicator, value, imported_at)"
            " SELECT '2026-05', id, 'leads_received', 100 + id, '2026-06-01 00:00:00'"
            " FROM units WHERE id % 4 = 0",
            "INSERT INTO monthly_returns (period, unit_id, indicator, value, imported_at)"
            " SELECT '2026-11', id, 'persons_educated', 7, '2026-12-01 00:00:00'"
            " FROM units WHERE id % 5 = 0",
        ):
            connection.execute(text(statement))
    yield engine
    engine.dispose()


def by_hand(engine: Engine) -> dict[tuple[str, str, str], int]:
    """(unit code, month, indicator) → value, read lead by lead in Python."""
    with transaction(engine) as session:
        code = dict(session.execute(select(Unit.id, Unit.code)).all())
        supervisor = dict(session.execute(select(Entity.id, Entity.supervised_by_id)).all())
        leads = {lead.id: lead for lead in session.scalars(select(Lead))}
        disposals = list(session.scalars(select(Disposal)))
        outcomes = list(session.scalars(select(Outcome)))
        returned = list(session.scalars(select(MonthlyReturn)))

    def unit(lead: Lead) -> str:
        return code[lead.lead_unit_id or lead.jurisdiction_unit_id or supervisor[lead.entity_id]]

    def month(at: datetime) -> str:
        return at.astimezone(SHANGHAI).strftime("%Y-%m")

    derived: Counter[tuple[str, str, str]] = Counter()
    for lead in leads.values():
        derived[unit(lead), month(lead.received_at), "leads_received"] += 1
        if lead.closed_at is not None:
            derived[unit(lead), month(lead.closed_at), "leads_closed"] += 1
    for disposal in disposals:
        derived[unit(leads[disposal.lead_id]), month(disposal.decided_at), "leads_disposed"] += 1
    for outcome in outcomes:
        for name in OUTCOME_COUNTS:
            key = (unit(leads[outcome.lead_id]), month(outcome.decided_at), name)
            derived[key] += getattr(outcome, name)
    values = dict(derived)
    for r in returned:  # a return wins
        values[code[r.unit_id], r.period, r.indicator] = r.value
    return values


def expected(values: dict[tuple[str, str, str], int], period: list[str]) -> dict[str, tuple]:
    sums: dict[str, list[int]] = {}
    for (unit, month, indicator), value in values.items():
        if month in period and indicator in INDICATORS:
            sums.setdefault(unit, [0] * len(INDICATORS))[INDICATORS.index(indicator)] += value
    return {unit: tuple(v) for unit, v in sums.items() if any(v)}


def test_every_indicator_of_every_period_is_what_the_leads_show(year: Engine) -> None:
    periods = [
        ["2026-12"],
        ["2026-11"],
        months_of("2026-Q4"),
        months_of("2026-01..2026-12"),
        ["2026-05"],
        months_of("2026-02..2026-03"),  # a gap before May, another after
        months_of("2025-11..2026-01"),  # across the year's start
    ]
    values = by_hand(year)
    with transaction(year) as session:
        found = board_values_many(session, periods, unit_kinds=EVERY_KIND, indicators=INDICATORS)
        alone = [
            board_values(session, p, unit_kinds=EVERY_KIND, indicators=INDICATORS) for p in periods
        ]
    for period, mine in zip(periods, found, strict=True):
        assert mine == expected(values, period), period
    assert found == alone
    # The cases are there: every source counted, returns replacing derived values.
    year_values = found[3]
    assert all(sum(v[INDICATORS.index(k)] for v in year_values.values()) for k in INDICATORS)
    assert found[4]["U000004"][0] == 104


def test_a_second_reader_only_where_it_reads_what_the_session_reads(year: Engine) -> None:
    statements = [select(Lead.id).order_by(Lead.id), select(Unit.code).order_by(Unit.code)]
    with transaction(year) as session:
        assert _second_reader(session.connection()) is not None
        apart = read_all(session, statements)
        assert apart == [session.execute(s).all() for s in statements]
        # Once this transaction has written, only its own connection sees what it wrote.
        session.execute(text("UPDATE leads SET summary = summary WHERE id = 1"))
        assert _second_reader(session.connection()) is None
        session.rollback()
