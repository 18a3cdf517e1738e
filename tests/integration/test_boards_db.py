"""Indicators, boards and escalations on a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, update

from models import documents
from models.config.policy import default_policy
from models.domain.board import Board
from models.domain.errors import BadInput, RuleRefused
from models.domain.people import system
from models.domain.policy import Policy
from models.domain.scoring import months_of
from models.domain.units import UnitKind
from models.inputs.readers import read_returns
from models.services import escalations, returns
from models.services.boards import board_data_checks, load
from models.services.desk import Desk
from models.services.policy import in_force, install
from models.store.database import transaction
from models.store.indicator_sources import return_only
from models.store.indicators import board_values, board_values_many, data_checks
from models.store.lead import Lead
from models.store.organisation import Entity, Unit
from models.store.periods import SHANGHAI, previous_month
from models.store.records import Document, EscalationRun
from tests.conftest import KUNMING, on_day, snapshot
from tests.integration.helpers import example_leads, receive, walk
from tests.integration.history import (
    INDICATORS,
    INTERVIEWS,
    LAGGARDS,
    WORK_WARNINGS,
    board_units,
    write_returns,
)

TODAY = date(2026, 11, 22)
YTD = "2026-01..2026-09"
RETURN_ONLY = [code for code in INDICATORS["county"] if return_only(code)]


def desk(engine: Engine, tmp_path: Path) -> Desk:
    with transaction(engine) as session:
        return on_day(Desk(system("督查员"), TODAY, in_force(session), tmp_path / "out", KUNMING))


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
    # What the lifecycle supplies is zero; what only a return gives was not filed.
    for row in b.rows:
        for code, c in row.cells.items():
            assert (c.value, c.missing) == ((None, True) if return_only(code) else (0, False))
    # Equal values single out no one (blue), not filed is white; everyone scores the
    # same, so no one is last, and no one who filed nothing is a zero report.
    assert {c.color for row in b.rows for c in row.cells.values() if not c.missing} == {"blue"}
    assert {c.color for row in b.rows for c in row.cells.values() if c.missing} == {"white"}
    assert not any(row.last or row.zero_report for row in b.rows)
    assert set(b.missing) == {row.unit for row in b.rows}


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
        # The resident board's laggard shows zero everywhere (its lifecycle supplies every
        # indicator); the county board's has not filed the indicators only a return gives.
        assert {(z["board"], z["unit"]) for z in report.zero_reports} == {
            ("resident", LAGGARDS["resident"][month])
        }
        assert [(m["board"], m["unit"], sorted(m["indicators"])) for m in report.missing] == [
            ("county", LAGGARDS["county"][month], sorted(RETURN_ONLY))
        ]
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


# The nine counties of the example organisation with a poverty-alleviation task.
POVERTY_COUNTIES = [f"C{n:02d}" for n in range(6, 15)]
SEPTEMBER = datetime(2026, 9, 10, 2, 0, tzinfo=UTC)


def scoped(**county: object) -> Policy:
    body = default_policy().model_dump(mode="json")
    body["boards"]["county"] |= county
    return Policy.model_validate(body)


def install_policy(engine: Engine, policy: Policy) -> None:
    with transaction(engine) as session:
        install(session, policy, by=system("test"))


def lead_for(engine: Engine, external_id: str, domain: str, unit: str) -> int:
    """A lead of ``domain`` received in September 2026, its lead unit ``unit``."""
    lead = example_leads()[0].model_copy(
        update={"external_id": external_id, "received_at": SEPTEMBER, "domain": domain}
    )
    lead_id = receive(engine, lead)
    with transaction(engine) as session:
        unit_id = session.scalar(select(Unit.id).where(Unit.code == unit))
        session.execute(update(Lead).where(Lead.id == lead_id).values(lead_unit_id=unit_id))
    return lead_id


def returns_for(path: Path, month: str, units: dict[str, list[str]], value: int = 4) -> Path:
    """Every indicator of each board, for these units of it, at ``value``."""
    lines = ["period,unit,indicator,value"]
    for name, codes in units.items():
        lines += [f"{month},{u},{k},{value}" for u in codes for k in INDICATORS[name]]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_board_scoped_to_a_domain_counts_its_leads_and_holds_its_units(
    org_engine: Engine, tmp_path: Path
) -> None:
    install_policy(org_engine, scoped(domains=["poverty_alleviation"], units=POVERTY_COUNTIES))
    for n, (domain, unit) in enumerate(
        [
            ("poverty_alleviation", "C06"),
            ("poverty_alleviation", "C06"),
            ("land", "C06"),
            ("poverty_alleviation", "C01"),
            ("land", "R01"),
        ]
    ):
        lead_for(org_engine, f"S-{n}", domain, unit)
    county = board(org_engine, "2026-09", "county")
    assert sorted(county.names) == POVERTY_COUNTIES  # the five without the task are not on it
    assert county.values["C06"]["leads_received"] == 2  # its land lead is not counted
    assert board(org_engine, "2026-09", "resident").values["R01"]["leads_received"] == 1
    # A data check compares a return with the leads of the board's domains.
    csv = tmp_path / "r.csv"
    csv.write_text("period,unit,indicator,value\n2026-09,C06,leads_received,2\n")
    load_returns(org_engine, csv)
    with transaction(org_engine) as session:
        assert board_data_checks(session, in_force(session), ["2026-09"]) == []
        assert [(c.unit, c.derived) for c in data_checks(session, ["2026-09"])] == [("C06", 3)]

    # Unscoped, the same leads: every domain, every county.
    install_policy(org_engine, default_policy())
    county = board(org_engine, "2026-09", "county")
    assert len(county.rows) == 14 and county.values["C01"]["leads_received"] == 1
    # A board may not list a unit that is not one of its kinds.
    install_policy(org_engine, scoped(units=["C06", "R01"]))
    with pytest.raises(RuleRefused, match="board lists R01"):
        board(org_engine, "2026-09", "county")


def test_a_unit_that_has_not_filed_is_missing_not_zero(org_engine: Engine, tmp_path: Path) -> None:
    load_returns(org_engine, write_returns(tmp_path / "r.csv", ["2026-09"]))  # C12 files nothing
    zeros = returns_for(tmp_path / "zeros.csv", "2026-09", {"county": ["C01"]}, value=0)
    load_returns(org_engine, zeros)
    county = board(org_engine, "2026-09", "county")
    rows = {row.unit: row for row in county.rows}
    for code, cell in rows["C12"].cells.items():
        if return_only(code):
            assert cell.as_dict() == {
                "value": None,
                "rank": 14,
                "color": "white",
                "points": 1,
                "missing": True,
            }
        else:  # the lifecycle supplies it: zero, filed or not
            assert (cell.value, cell.missing) == (0, False)
    assert {u: sorted(codes) for u, codes in county.missing.items()} == {"C12": sorted(RETURN_ONLY)}
    assert rows["C12"].last and not rows["C12"].zero_report
    # C01 filed zero on every indicator: a zero report, ranked above the unit that did not
    # file (blue, not white), so nobody is scored as if it had filed zero.
    assert rows["C01"].zero_report and not rows["C01"].last
    assert {rows["C01"].cells[code].color for code in RETURN_ONLY} == {"blue"}
    json_cells = next(u for u in county.as_dict()["units"] if u["unit"] == "C01")["indicators"]
    assert {c["missing"] for c in json_cells.values()} == {False}

    with transaction(org_engine) as session:
        report = escalations.monthly(session, desk(org_engine, tmp_path), "2026-09")
    assert {(z["board"], z["unit"]) for z in report.zero_reports} == {
        ("resident", "R20"),
        ("county", "C01"),
    }
    assert {m["unit"] for m in report.missing} == {"C12"}
    [bulletin] = contents(org_engine, "bulletin")
    missing = [p for p in bulletin["paragraphs"] if "未报送" in p and "晋宁区纪委监委" in p]
    assert len(missing) == 1 and "五华区纪委监委" not in missing[0]
    zero = next(p for p in bulletin["paragraphs"] if "零报告" in p)
    assert "五华区纪委监委" in zero and "晋宁区纪委监委" not in zero
    county_sheet = next(s for s in bulletin["sheets"] if s["title"] == "县（市、区）")
    c12 = next(line for line in county_sheet["lines"] if line["unit"] == "C12")
    assert [c["missing"] for c in c12["month"]] == [return_only(k) for k in county.indicators]
    assert county_sheet["missing"]


def contents(engine: Engine, kind: str) -> list[dict]:  # type: ignore[type-arg]
    with transaction(engine) as session:
        return list(
            session.scalars(
                select(Document.content).where(Document.kind == kind).order_by(Document.id)
            )
        )


def test_a_board_where_every_unit_ties_warns_and_interviews_no_one(
    org_engine: Engine, tmp_path: Path
) -> None:
    for month in ("2026-07", "2026-08", "2026-09"):
        load_returns(org_engine, returns_for(tmp_path / f"{month}.csv", month, board_units()))
    d = desk(org_engine, tmp_path)
    for month in ("2026-08", "2026-09"):
        with transaction(org_engine) as session:
            report = escalations.monthly(session, d, month)
        assert issued_kinds(org_engine, report.issued) == ["bulletin"], month
        assert report.zero_reports == [] and report.missing == []
        assert all(not b.last and len({r.score for r in b.rows}) == 1 for b in report.boards)
    with transaction(org_engine) as session:
        report = escalations.quarterly(session, d, "2026-Q3")
    assert "interview_notice" not in issued_kinds(org_engine, report.issued)
    [consolidated] = contents(org_engine, "consolidated_report")
    assert consolidated["paragraphs"][1].endswith("约谈主要负责人的单位：无。")


def issued_kinds(engine: Engine, ids: list[int]) -> list[str]:
    with transaction(engine) as session:
        return sorted(session.scalars(select(Document.kind).where(Document.id.in_(ids))))


def on(engine: Engine, tmp_path: Path, day: date) -> Desk:
    with transaction(engine) as session:
        return on_day(Desk(system("督查员"), day, in_force(session), tmp_path / "out", KUNMING))


def test_the_monthly_run_waits_for_the_returns_unless_every_unit_has_filed(
    org_engine: Engine, tmp_path: Path
) -> None:
    counties = board_units()["county"]
    load_returns(org_engine, returns_for(tmp_path / "a.csv", "2026-10", {"county": counties[:9]}))
    partly = tmp_path / "partly.csv"  # one of the four return-only indicators is not enough
    partly.write_text(f"period,unit,indicator,value\n2026-10,C10,{RETURN_ONLY[0]},3\n")
    load_returns(org_engine, partly)
    # 2026-10's returns are due by the 3rd working day of November: Wednesday the 4th.
    waiting = re.escape(
        "returns for 2026-10 are due by 2026-11-04; 5 unit(s) have not filed: C10, C11"
    )
    for day in (date(2026, 11, 2), date(2026, 11, 4)):
        with pytest.raises(RuleRefused, match=waiting), transaction(org_engine) as session:
            escalations.monthly(session, on(org_engine, tmp_path, day), "2026-10")
    with transaction(org_engine) as session:
        assert session.scalar(select(func.count()).select_from(Document)) == 0
        assert session.scalar(select(func.count()).select_from(EscalationRun)) == 0
    # Once every unit has filed, the month runs before its deadline.
    rest = returns_for(tmp_path / "b.csv", "2026-10", {"county": counties[9:]})
    load_returns(org_engine, rest)
    with transaction(org_engine) as session:
        report = escalations.monthly(
            session, on(org_engine, tmp_path, date(2026, 11, 2)), "2026-10"
        )
    assert issued_kinds(org_engine, report.issued) == ["bulletin"] and report.missing == []

    # Past the deadline it runs whoever has not filed: 2026-09's were due on Saturday
    # 10 October (a working day on the official calendar), and C12 never filed.
    load_returns(org_engine, write_returns(tmp_path / "r.csv", ["2026-09"]))
    september = "returns for 2026-09 are due by 2026-10-10; 1 unit"
    with pytest.raises(RuleRefused, match=september), transaction(org_engine) as session:
        escalations.monthly(session, on(org_engine, tmp_path, date(2026, 10, 10)), "2026-09")
    with transaction(org_engine) as session:
        report = escalations.monthly(
            session, on(org_engine, tmp_path, date(2026, 10, 12)), "2026-09"
        )
    assert report.missing and issued_kinds(org_engine, report.issued) == ["bulletin"]


def test_the_scheduled_daily_check_runs_the_month_once_its_returns_are_in(
    org_engine: Engine, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.escalation import monthly_escalation
    from models.services import runtime

    for name, value in (("DATABASE_URL", db_url), ("OUTPUT_DIR", tmp_path / "out")):
        monkeypatch.setenv(f"LEADFLOW_{name}", str(value))
    monkeypatch.setenv("LEADFLOW_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("LEADFLOW_TODAY", raising=False)
    runtime.identify_with(None)  # a scheduled run acts as the system
    counties = board_units()["county"]
    load_returns(org_engine, returns_for(tmp_path / "a.csv", "2026-10", {"county": counties[:13]}))
    before = snapshot(org_engine)
    # Before the deadline, with a unit yet to file: nothing is read or written.
    assert monthly_escalation.fn(scheduled=True, on=date(2026, 11, 2)) == {
        "period": "2026-10",
        "kind": "monthly",
        "ran": False,
        "reason": "returns for 2026-10 are due by 2026-11-04; 1 unit(s) have not filed: C14",
    }
    assert snapshot(org_engine) == before
    # Asked for (the command), the same month is refused, naming the deadline.
    with pytest.raises(RuleRefused, match="due by 2026-11-04"):
        monthly_escalation.fn(on=date(2026, 11, 2))
    load_returns(org_engine, returns_for(tmp_path / "b.csv", "2026-10", {"county": counties[13:]}))
    ran = monthly_escalation.fn(scheduled=True, on=date(2026, 11, 3))
    assert ran["period"] == "2026-10" and [d["document"] for d in ran["issued"]] == ["bulletin"]
    after = snapshot(org_engine)
    # The days after: the month has run; the check reads no board and issues nothing.
    for day in (date(2026, 11, 4), date(2026, 11, 20)):
        done = monthly_escalation.fn(scheduled=True, on=day)
        assert done == {
            "period": "2026-10",
            "kind": "monthly",
            "ran": False,
            "reason": "the monthly run of 2026-10 is done",
        }
    assert snapshot(org_engine) == after
