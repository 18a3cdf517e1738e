"""Importing the units' monthly returns: the months a return may be for (counted on the
real calendar), a later file replacing an earlier one, and a refused file changing
nothing."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import Engine, select

from models.domain.errors import BadInput
from models.domain.people import system
from models.inputs.readers import read_returns
from models.services import returns
from models.services.clock import real_today
from models.store.database import transaction
from models.store.periods import next_month
from models.store.records import MonthlyReturn
from tests.conftest import snapshot

HEADER = "period,unit,indicator,value\n"


def load(engine: Engine, path: Path, today: date | None = None) -> returns.ReturnsReport:
    rows = read_returns(path)
    with transaction(engine) as session:
        return returns.import_returns(
            session, rows, source=str(path), by=system("test"), today=today
        )


def stored(engine: Engine) -> dict[tuple[str, str], int]:
    with transaction(engine) as session:
        found = session.execute(
            select(MonthlyReturn.period, MonthlyReturn.indicator, MonthlyReturn.value)
        )
        return {(period, indicator): value for period, indicator, value in found}


def test_the_window_of_months(tmp_path: Path) -> None:
    assert returns.period_window(date(2026, 12, 7)) == ("2016-01", "2026-12")
    assert returns.period_window(date(2027, 1, 1)) == ("2017-01", "2027-01")


def test_a_month_outside_the_window_is_refused_and_nothing_is_written(
    org_engine: Engine, tmp_path: Path
) -> None:
    path = tmp_path / "returns.csv"
    path.write_text(
        HEADER
        + "2016-01,R03,leads_received,1\n"  # the first month of the window
        + "2015-12,R03,leads_received,2\n"  # before it
        + "2026-03,R03,leads_received,3\n"  # the current month, its last
        + "2026-04,R03,leads_received,4\n"  # a month not yet begun
    )
    before = snapshot(org_engine)
    with pytest.raises(BadInput) as refused:
        load(org_engine, path, today=date(2026, 3, 31))
    assert [(p.line, p.field) for p in refused.value.problems] == [(3, "period"), (5, "period")]
    reason = refused.value.problems[0].reason
    assert reason == "must be a month from 2016-01 to 2026-03 (the current month)"
    assert snapshot(org_engine) == before


def test_the_real_date_ends_the_window(org_engine: Engine, tmp_path: Path) -> None:
    """Without a day named, the window ends with the real current month."""
    current = real_today().strftime("%Y-%m")
    path = tmp_path / "returns.csv"
    path.write_text(HEADER + f"{next_month(current)},R03,leads_received,1\n")
    with pytest.raises(BadInput) as refused:
        load(org_engine, path)
    assert [(p.line, p.field) for p in refused.value.problems] == [(2, "period")]
    path.write_text(HEADER + f"{current},R03,leads_received,1\n")
    assert load(org_engine, path).created == 1


def test_a_later_file_replaces_an_earlier_ones_return(org_engine: Engine, tmp_path: Path) -> None:
    first, second = tmp_path / "first.csv", tmp_path / "second.xlsx"
    first.write_text(HEADER + "2026-09,R03,leads_received,4\n2026-09,R03,leads_closed,1\n")
    assert load(org_engine, first, today=date(2026, 10, 1)) == returns.ReturnsReport(2, 0, 0)
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["period", "unit", "indicator", "value"])
    sheet.append(["2026-09", "R03", "leads_received", 6.0])  # Excel's number: 6
    book.save(second)
    second_report = load(org_engine, second, today=date(2026, 10, 1))
    assert second_report == returns.ReturnsReport(0, 1, 0)
    assert stored(org_engine) == {("2026-09", "leads_received"): 6, ("2026-09", "leads_closed"): 1}
