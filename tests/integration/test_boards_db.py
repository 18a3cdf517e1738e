"""Indicators, boards and escalations on a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from models import documents
from models.domain.board import Board
from models.domain.errors import BadInput, RuleRefused
from models.domain.people import system
from models.domain.scoring import months_of
from models.domain.units import UnitKind
from models.inputs.readers import read_returns
from models.services import escalations, returns
from models.services.boards import load
from models.services.desk import Desk
from models.services.policy import in_force
from models.store.database import transaction
from models.store.indicators import board_values, board_values_many, data_checks
from models.store.lead import Lead
from models.store.organisation import Entity, Unit
from models.store.periods import SHANGHAI, previous_month
from models.store.records import Document
from tests.integration.helpers import example_leads, receive, walk
from tests.integration.history import INTERVIEWS, LAGGARDS, WORK_WARNINGS, write_returns

TODAY = date(2026, 11, 22)
YTD = "2026-01..2026-09"


def desk(engine: Engine, tmp_path: Path) -> Desk:
    with transaction(engine) as session:
        return Desk(system("督查员"), TODAY, in_force(session), tmp_path / "out")


def load_returns(engine: Engine, path: Path) -> None:
    with transaction(engine) as session:
        returns.import_returns(session, read_returns(path), source=str(path), by=system("test"))


def board(engine: Engine, period: str, name: str) -> Board:
    with transaction(engine) as session:
        return load(session, in_force(session), period=period, name=name)


def credited(engine: Engine, lead_id: int) -> str:
    """The unit a lead counts for: lead unit, else jurisdiction, else the supervising unit."""
    with transaction(engine) as session:
        lead = session.get(Lead, lead_id)
        unit_id = (
            lead.lead_unit_id
            or lead.jurisdiction_unit_id
            or session.get(Entity, lead.entity_id).supervised_by_id
        )
        return session.get(Unit, unit_id).code


def values(engine: Engine, months: list[str], indicator: str) -> dict[str, int]:
    with transaction(engine) as session:
        found = board_values(
            session, months, unit_kinds=[k.value for k in UnitKind], indicators=[indicator]
        )
    return {unit: v[0] for unit, v in found.items() if v[0]}


def at(lead, external_id: str, when: datetime):  # type: ignore[no-untyped-def]
    return lead.model_copy(update={"external_id": external_id, "received_at": when})


def test_lifecycle_counts_by_shanghai_month_and_a_return_wins(
    org_engine: Engine, tmp_path: Path
) -> None:
    lead = example_leads()[0]
    # 2026-08-31 23:30 in Shanghai is 15:30 UTC: August; half an hour later: September.
    aug = receive(org_engine, at(lead, "T-AUG", datetime(2026, 8, 31, 15, 30, tzinfo=UTC)))
    sep = receive(org_engine, at(lead, "T-SEP", datetime(2026, 8, 31, 16, 0, tzinfo=UTC)))
    unit = credited(org_engine, aug)
    assert credited(org_engine, sep) == unit
    assert values(org_engine, ["2026-08"], "leads_received") == {unit: 1}
    assert values(org_engine, ["2026-09"], "leads_received") == {unit: 1}
    assert values(org_engine, months_of("2026-Q3"), "leads_received") == {unit: 2}
    assert values(org_engine, ["2026-10"], "leads_received") == {}

    # A lead counts as closed in the month of the move into `closed`.
    walk(org_engine, sep, ["triage", "close_at_triage"])
    with transaction(org_engine) as session:
        closed_at = session.scalar(select(Lead.closed_at).where(Lead.id == sep))
    month = closed_at.astimezone(SHANGHAI).strftime("%Y-%m")
    assert values(org_engine, [month], "leads_closed") == {unit: 1}
    assert values(org_engine, [previous_month(month)], "leads_closed") == {}

    # A return for the same unit, month and indicator wins; the difference is listed.
    csv = tmp_path / "returns.csv"
    csv.write_text(f"period,unit,indicator,value\n2026-09,{unit},leads_received,7\n")
    load_returns(org_engine, csv)
    assert values(org_engine, ["2026-09"], "leads_received") == {unit: 7}
    assert values(org_engine, months_of("2026-Q3"), "leads_received") == {unit: 8}
    with transaction(org_engine) as session:
        checks = data_checks(session, ["2026-09"])
    assert [(c.unit, c.indicator, c.derived, c.returned) for c in checks] == [
        (unit, "leads_received", 1, 7)
    ]

    # Several periods from one aggregation (bounds shared, a gap between June and
    # August, a return replacing a derived value) read as each period read alone.
    periods = [["2026-09"], ["2026-08"], months_of("2026-Q3"), ["2026-06"], months_of(YTD)]
    every = [k.value for k in UnitKind]
    indicators = ["leads_received", "leads_closed", "persons_educated"]
    with transaction(org_engine) as session:
        together = board_values_many(session, periods, unit_kinds=every, indicators=indicators)
        alone = [board_values(session, p, unit_kinds=every, indicators=indicators) for p in periods]
    assert together == alone
    assert together[2][unit][0] == 8 and together[0][unit][0] == 7 and unit not in together[3]


def test_a_unit_with_no_data_counts_as_zero(org_engine: Engine) -> None:
    b = board(org_engine, "2026-01..2026-09", "county")
    assert len(b.rows) == 14
    assert all(c.value == 0 for row in b.rows for c in row.cells.values())
    # All values equal: every cell red, every unit the same score, all in last place.
    assert {c.color for row in b.rows for c in row.cells.values()} == {"red"}
    assert all(row.last and row.zero_report for row in b.rows)


def issued(engine: Engine, ids: list[int]) -> set[tuple[str, str]]:
    with transaction(engine) as session:
        docs = session.execute(
            select(Document.kind, Unit.code)
            .join(Unit, Unit.id == Document.unit_id)
            .where(Document.id.in_(ids))
        ).all()
    return {(kind, code) for kind, code in docs}


def test_six_months_of_history_issue_exactly_the_expected_notices_once(
    org_engine: Engine, tmp_path: Path
) -> None:
    load_returns(org_engine, write_returns(tmp_path / "returns.csv"))
    d = desk(org_engine, tmp_path)
    first: dict[str, list[int]] = {}
    for month, expected in WORK_WARNINGS.items():
        with transaction(org_engine) as session:
            report = escalations.monthly(session, d, month)
        assert issued(org_engine, report.issued) == {("work_warning", u) for u in expected}, month
        with transaction(org_engine) as session:
            kinds = session.scalars(select(Document.kind).where(Document.id.in_(report.issued)))
            assert sorted(kinds) == ["bulletin"] + ["work_warning"] * len(expected)
        assert {(z["board"], z["unit"]) for z in report.zero_reports} == {
            (name, LAGGARDS[name][month]) for name in LAGGARDS
        }
        first[month] = report.issued
    for quarter, expected in INTERVIEWS.items():
        with transaction(org_engine) as session:
            report = escalations.quarterly(session, d, quarter)
        assert issued(org_engine, report.issued) == {("interview_notice", u) for u in expected}
        with transaction(org_engine) as session:
            kinds = sorted(
                session.scalars(select(Document.kind).where(Document.id.in_(report.issued)))
            )
        assert (
            kinds == ["consolidated_report"] + ["interview_notice"] * 2 + ["quarterly_report"] * 7
        )
        first[quarter] = report.issued

    with transaction(org_engine) as session:
        before = session.scalar(select(func.count()).select_from(Document))
    for period, ids in first.items():
        step = escalations.quarterly if "Q" in period else escalations.monthly
        with transaction(org_engine) as session:
            again = step(session, d, period)
        assert again.issued == [] and sorted(again.already_issued) == sorted(ids), period
        assert again.data_changed == []
    with transaction(org_engine) as session:
        assert session.scalar(select(func.count()).select_from(Document)) == before
        numbers = session.execute(
            select(Document.kind, Document.serial).order_by(Document.kind, Document.serial)
        ).all()
    for kind in {k for k, _ in numbers}:
        serials = [s for k, s in numbers if k == kind]
        assert serials == list(range(1, len(serials) + 1)), kind  # no gaps, no reuse

    # The data of a closed period changes: the rerun says what changed, issues nothing.
    (tmp_path / "late.csv").write_text(
        "period,unit,indicator,value\n2026-09,R20,leads_received,9\n"
    )
    load_returns(org_engine, tmp_path / "late.csv")
    with transaction(org_engine) as session:
        again = escalations.monthly(session, d, "2026-09")
    assert again.issued == []
    assert again.data_changed == [
        {
            "board": "resident",
            "period": "2026-09",
            "unit": "R20",
            "indicator": "leads_received",
            "was": 0,
            "now": 9,
        }
    ]


def test_documents_of_a_run_render_and_a_run_refuses_an_open_period(
    org_engine: Engine, tmp_path: Path
) -> None:
    load_returns(org_engine, write_returns(tmp_path / "r.csv", ["2026-04", "2026-05"]))
    d = desk(org_engine, tmp_path)
    with transaction(org_engine) as session:
        report = escalations.monthly(session, d, "2026-05")
    rendered = documents.render_each(org_engine, report.issued, output_dir=d.output_dir, actor="t")
    assert [doc.status for doc in rendered] == ["issued", "issued"]
    assert all(Path(doc.path).read_bytes().startswith(b"%PDF") for doc in rendered)
    with pytest.raises(RuleRefused, match="has not ended"), transaction(org_engine) as session:
        escalations.monthly(session, d, "2026-11")
    with pytest.raises(BadInput, match="not a quarter"), transaction(org_engine) as session:
        escalations.quarterly(session, d, "2026-09")
