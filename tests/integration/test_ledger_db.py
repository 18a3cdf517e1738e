"""The ledger (台账) through its service, on SQLite and PostgreSQL: each filter keeps
exactly its leads, each order pages by key with no lead lost or read twice (ties in the
sort key included), a unit's officer reads their units' leads whatever filter they forge,
and the exports hold the view — Chinese headers, codes in Chinese, no formula — and are
recorded with their filters and row count, never what the rows say."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import openpyxl
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from models.audit import AuditEvent
from models.domain import terms
from models.domain.errors import BadInput, NotPermitted
from models.domain.lifecycle import State
from models.domain.people import Grant, Person, Role
from models.services import ledger, ledger_export
from models.store.base import utcnow
from models.store.database import transaction
from models.store.lead import Assignment, Lead, Rectification, TriageProposal
from models.store.organisation import Entity, Unit
from models.store.periods import SHANGHAI

TODAY = date(2026, 4, 10)
MANAGER = Person("cm", "钱莉", frozenset({Grant(Role.case_manager)}))
OFFICER = Person("officer", "赵磊", frozenset({Grant(Role.officer, "C03")}))
CUSTODIAN = Person("custodian", "孙慧", frozenset({Grant(Role.custodian)}))
UNITS = ("C03", "R01", "R05", "C01")  # C03, R05 in group G2; R01, C01 in G1
STATES = list(State)
SOURCES = ("public_report", "big_data", "inspection_tour")
DOMAINS = ("land", "four_winds", "education_health", "ecology")
MODES = ("own", "joint", None)
FORMULA = "=1+2"  # an external id a spreadsheet would read as a formula


@dataclass(frozen=True)
class Spec:
    """What a test lead is made of, to compute what each view must hold."""

    id: int
    external_id: str
    unit: str
    state: str
    source: str
    domain: str
    mode: str | None
    received_at: datetime
    deadline: date | None  # of its open rectification


def _received(n: int) -> datetime:
    """Three leads a day (ties in the time as in the key), some just after midnight — the
    day before in UTC: a day is the commission's."""
    day = datetime(2026, 3, 1, 9, tzinfo=SHANGHAI) + timedelta(days=n // 3)
    return (day - timedelta(hours=8, minutes=30) if n % 10 == 7 else day).astimezone(UTC)


def _deadline(n: int) -> date | None:
    """Every third lead's open rectification: seven deadlines, some past by TODAY, one on it."""
    return date(2026, 4, 1) + timedelta(days=n % 7 * 3) if n % 3 == 1 else None


def _specs() -> list[Spec]:
    return [
        Spec(
            id=n,
            external_id=FORMULA if n == 13 else f"LEDGER-{n:03d}",
            unit=UNITS[n % 4],
            state=STATES[n % len(STATES)].value,
            source=SOURCES[n % 3],
            domain=DOMAINS[n % 4 if n % 5 else 0],
            mode=MODES[n % 3],
            received_at=_received(n),
            deadline=_deadline(n),
        )
        for n in range(1, 61)
    ]


SPECS = _specs()
SHARED = (2, 6)  # R05 leads the officer's unit C03 reads: assigned, and proposed to it


def build_ledger(session: Session) -> None:
    """The 60 leads of SPECS, their rectifications, and two R05 leads shared with C03."""
    units = dict(session.execute(select(Unit.code, Unit.id)).tuples().all())
    supervised = {
        code: session.scalars(
            select(Entity.id).where(Entity.supervised_by_id == units[code]).order_by(Entity.id)
        ).first()
        for code in UNITS
    }
    for spec in SPECS:
        session.add(_lead(spec, units[spec.unit], supervised[spec.unit]))
    session.flush()
    for spec in SPECS:
        if spec.deadline is not None:
            session.add(_rectification(spec.id, supervised[spec.unit], spec.deadline))
        if spec.id % 4 == 3:  # an earlier rectification, struck off: no deadline now
            done = _rectification(spec.id, supervised[spec.unit], date(2026, 3, 2))
            done.struck_off_at = done.verified_at = utcnow()
            session.add(done)
    session.add(
        Assignment(lead_id=SHARED[0], unit_id=units["C03"], role="co", assigned_at=utcnow())
    )
    proposal = TriageProposal(
        lead_id=SHARED[1], level="city", jurisdiction_unit_id=units["C03"],
        proposed_mode="own", reasons=[], proposed_at=utcnow(),
    )  # fmt: skip
    session.add(proposal)


def _lead(spec: Spec, unit_id: int, entity_id: int | None) -> Lead:
    assert entity_id is not None
    return Lead(
        id=spec.id, external_id=spec.external_id, received_at=spec.received_at,
        registered_at=spec.received_at, source=spec.source, channel="letter",
        domain=spec.domain, summary=f"台账测试线索{spec.id}：不应出现在台账与导出中",
        subject_name=f"台账某{spec.id}", subject_post="科员", subject_rank="general",
        entity_id=entity_id, state=State(spec.state), handling_mode=spec.mode,
        jurisdiction_unit_id=unit_id, lead_unit_id=unit_id,
    )  # fmt: skip


def _rectification(lead_id: int, entity_id: int | None, deadline: date) -> Rectification:
    assert entity_id is not None
    return Rectification(lead_id=lead_id, entity_id=entity_id, deadline=deadline)


@pytest.fixture
def built(org_engine: Engine) -> Engine:
    with transaction(org_engine) as session:
        build_ledger(session)
    return org_engine


def _all(engine: Engine, person: Person, filters: ledger.Filters, sort: str, size: int = 7):
    """Every row of the view, page by page of ``size``, and how many pages it took."""
    rows: list[ledger.LedgerRow] = []
    after, pages = None, 0
    with transaction(engine) as session:
        while True:
            page = ledger.browse(
                session, person, filters, sort=sort, after=after, limit=size, today=TODAY
            )
            rows += page.rows
            pages += 1
            assert len(page.rows) == size or page.next is None
            if page.next is None:
                return rows, pages
            # The cursor goes through a link and back: as text, read again.
            after = ledger.cursor(str(page.next), sort)


def expected_order(specs: list[Spec], sort: str) -> list[int]:
    newest = sorted(specs, key=lambda s: (s.received_at, s.id), reverse=True)
    if sort == "-received_at":
        return [s.id for s in newest]
    if sort == "received_at":
        return [s.id for s in reversed(newest)]
    if sort == "-id":
        return sorted((s.id for s in specs), reverse=True)
    due = sorted((s for s in specs if s.deadline), key=lambda s: (s.deadline, s.id))
    return [s.id for s in due] + [s.id for s in newest if s.deadline is None]


def _day(spec: Spec) -> date:
    return spec.received_at.astimezone(SHANGHAI).date()


FILTERS: list[tuple[ledger.Filters, object]] = [
    (ledger.Filters(state="in_handling"), lambda s: s.state == "in_handling"),
    (ledger.Filters(unit="R05"), lambda s: s.unit == "R05"),
    (ledger.Filters(source="big_data"), lambda s: s.source == "big_data"),
    (ledger.Filters(domain="land"), lambda s: s.domain == "land"),
    (ledger.Filters(mode="joint"), lambda s: s.mode == "joint"),
    (ledger.Filters(overdue=True), lambda s: s.deadline is not None and s.deadline < TODAY),
    (ledger.Filters(overdue=False), lambda s: not (s.deadline and s.deadline < TODAY)),
    (ledger.Filters(group="G1"), lambda s: s.unit in ("R01", "C01")),
    (ledger.Filters(group="G2"), lambda s: s.unit in ("C03", "R05")),
    (
        ledger.Filters(received_from=date(2026, 3, 4), received_to=date(2026, 3, 9)),
        lambda s: date(2026, 3, 4) <= _day(s) <= date(2026, 3, 9),
    ),
    (ledger.Filters(received_to=date(2026, 3, 3)), lambda s: _day(s) <= date(2026, 3, 3)),
    (
        ledger.Filters(state="closed", group="G1", source="public_report"),
        lambda s: s.state == "closed" and s.unit in ("R01", "C01") and s.source == "public_report",
    ),
]


def test_each_filter_keeps_exactly_its_leads(built: Engine) -> None:
    assert any(s.received_at.astimezone(UTC).date() != _day(s) for s in SPECS)  # a late one
    for filters, keeps in FILTERS:
        wanted = [s for s in SPECS if keeps(s)]  # type: ignore[operator]
        assert wanted, filters  # each filter keeps some leads, and leaves some out
        assert len(wanted) < len(SPECS), filters
        rows, _ = _all(built, MANAGER, filters, "-received_at")
        assert [r.id for r in rows] == expected_order(wanted, "-received_at"), filters


def test_each_order_pages_by_key_with_no_lead_lost_or_repeated(built: Engine) -> None:
    for sort in ledger.SORTS:
        for size in (1, 7, 60, 200):
            rows, pages = _all(built, MANAGER, ledger.Filters(), sort, size)
            assert [r.id for r in rows] == expected_order(SPECS, sort), (sort, size)
            assert pages == -(-len(SPECS) // size), (sort, size)  # no empty page at the end
    rows, _ = _all(built, MANAGER, ledger.Filters(state="in_handling"), "deadline", 2)
    wanted = [s for s in SPECS if s.state == "in_handling"]
    assert [r.id for r in rows] == expected_order(wanted, "deadline")


def test_a_row_has_the_ledgers_columns_and_no_free_text(built: Engine) -> None:
    rows, _ = _all(built, MANAGER, ledger.Filters(unit="R05"), "-id", 50)
    spec = next(s for s in SPECS if s.unit == "R05" and s.deadline and s.deadline < TODAY)
    one = next(r for r in rows if r.id == spec.id)
    assert (one.external_id, one.unit_code, one.unit_name) == (spec.external_id, "R05", R05)
    assert (one.state, one.source, one.domain, one.handling_mode) == (
        spec.state, spec.source, spec.domain, spec.mode,
    )  # fmt: skip
    assert one.deadline == spec.deadline and one.overdue  # open, past its deadline
    later = next(r for r in rows if r.deadline and r.deadline >= TODAY)
    assert not later.overdue
    struck = [s.id for s in SPECS if s.id % 4 == 3 and s.deadline is None]
    assert struck and all(r.deadline is None and not r.overdue for r in rows if r.id in struck)
    assert "summary" not in ledger.LedgerRow.__dataclass_fields__


R05 = "驻市自然资源和规划局纪检监察组"


def test_a_unit_officer_reads_their_units_leads_whatever_they_ask(built: Engine) -> None:
    theirs = [s for s in SPECS if s.unit == "C03" or s.id in SHARED]
    rows, _ = _all(built, OFFICER, ledger.Filters(), "-received_at")
    assert [r.id for r in rows] == expected_order(theirs, "-received_at")
    # A filter naming other units narrows the officer's leads; it never widens them.
    for forged in (
        ledger.Filters(unit="R05"),
        ledger.Filters(unit="R01"),
        ledger.Filters(group="G1"),
        ledger.Filters(group="G2"),
    ):
        rows, _ = _all(built, OFFICER, forged, "deadline")
        assert {r.id for r in rows} <= {s.id for s in theirs}, forged
    rows, _ = _all(built, OFFICER, ledger.Filters(unit="R05"), "-id")
    assert [r.id for r in rows] == sorted(SHARED, reverse=True)
    assert _all(built, OFFICER, ledger.Filters(group="G1"), "-id")[0] == []
    with transaction(built) as session, pytest.raises(NotPermitted):
        ledger.browse(session, CUSTODIAN, ledger.Filters(), today=TODAY)


def test_a_query_is_read_with_each_bad_field_named_and_never_echoed(built: Engine) -> None:
    asked = ledger.query(
        {"state": "closed", "unit": "R05", "overdue": "1", "received_from": "2026-03-01",
         "received_to": "", "sort": "deadline", "after": "d740000.12", "page": "ignored"}
    )  # fmt: skip
    assert asked.filters == ledger.Filters(
        state="closed", unit="R05", overdue=True, received_from=date(2026, 3, 1)
    )
    assert (asked.sort, str(asked.after)) == ("deadline", "d740000.12")
    bad = {
        "state": "<script>", "source": "nowhere", "domain": "x", "mode": "solo",
        "overdue": "yes", "unit": "R 05'", "group": "G1;--", "received_from": "2026-02-30",
        "received_to": "03/01/2026", "sort": "summary",
    }  # fmt: skip
    with pytest.raises(BadInput) as refused:
        ledger.query(bad)
    named = {p.field for p in refused.value.problems}
    assert named == {f"{ledger.FIELD_TERMS[k]}（{k}）" for k in bad}
    assert not any(v in str(refused.value) for v in bad.values())
    for after in ("r1.0", "x1.1", "d99999999999.1", "i0.1", "1.1", "r1.1.1"):
        with pytest.raises(BadInput):
            ledger.query({"after": after})  # the default order continues by time only
    for far in ("0001-01-01", "9999-12-31", "２０２６-03-01"):
        with pytest.raises(BadInput, match="received_from"):
            ledger.query({"received_from": far})
    with pytest.raises(BadInput, match="received_to"):
        ledger.query({"received_from": "2026-03-09", "received_to": "2026-03-01"})
    with transaction(built) as session, pytest.raises(BadInput) as unknown:
        ledger.browse(session, MANAGER, ledger.Filters(unit="X99", group="G9"), today=TODAY)
    assert {p.field for p in unknown.value.problems} == {"承办单位（unit）", "单元组（group）"}


def _exported(engine: Engine, person: Person, filters: ledger.Filters, kind: str, **more):
    with transaction(engine) as session:
        return ledger_export.export(session, person, filters, kind=kind, today=TODAY, **more)


def _events(engine: Engine) -> list[AuditEvent]:
    with transaction(engine) as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == "ledger.export")))


def test_the_exports_hold_the_view_and_are_recorded(built: Engine) -> None:
    filters = ledger.Filters(group="G2", overdue=False)
    kept = [
        s for s in SPECS
        if s.unit in ("C03", "R05") and not (s.deadline and s.deadline < TODAY)
    ]  # fmt: skip
    wanted = expected_order(kept, "deadline")
    book = _exported(built, MANAGER, filters, "xlsx", sort="deadline")
    assert (book.rows, book.cut, book.filename) == (len(wanted), False, "ledger-20260410.xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(book.content)).active
    assert sheet is not None and sheet.title == "台账"
    lines = list(sheet.iter_rows(values_only=True))
    assert lines[0] == ledger_export.HEADERS
    assert [line[0] for line in lines[1:]] == wanted
    by_id = {s.id: s for s in SPECS}
    for line in lines[1:]:
        spec = by_id[line[0]]
        assert line[1] == spec.external_id and line[2].date() == _day(spec)
        assert line[3] == terms.SOURCES[spec.source] and line[4] == terms.DOMAINS[spec.domain]
        assert line[5] == {"C03": "官渡区纪委监委", "R05": R05}[spec.unit]
        assert line[6] == (terms.MODE_TERMS[spec.mode] if spec.mode else None)
        assert line[7] == terms.STATES[spec.state] and line[9] == "否"
        assert (line[8].date() if line[8] else None) == spec.deadline
    assert "信访举报" in {line[3] for line in lines} and "自办" in {line[6] for line in lines}
    text = _exported(built, MANAGER, filters, "csv", sort="deadline")
    assert text.content.startswith(b"\xef\xbb\xbf") and text.filename.endswith(".csv")
    rows = list(csv.reader(io.StringIO(text.content.decode("utf-8-sig"))))
    assert tuple(rows[0]) == ledger_export.HEADERS
    assert [int(r[0]) for r in rows[1:]] == wanted
    assert [r[2] for r in rows[1:]] == [_day(by_id[i]).isoformat() for i in wanted]
    assert [r[5] for r in rows[1:]] == [line[5] for line in lines[1:]]
    recorded = _events(built)
    assert [json.loads(e.data)["format"] for e in recorded] == ["xlsx", "csv"]
    assert json.loads(recorded[0].data) == {
        "format": "xlsx", "filters": {"group": "G2", "overdue": "0"}, "sort": "deadline",
        "rows": len(wanted), "cut": False,
    }  # fmt: skip
    assert recorded[0].actor.startswith("cm（钱莉）") and recorded[0].lead_id is None
    trail = " ".join(f"{e.reason} {e.data}" for e in recorded)
    assert "LEDGER-" not in trail and "台账测试线索" not in trail and "台账某" not in trail


def test_an_export_keeps_a_formula_as_text_and_is_cut_at_its_cap(built: Engine) -> None:
    book = _exported(built, MANAGER, ledger.Filters(unit="R01"), "xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(book.content)).active
    assert sheet is not None
    cell = next(row[1] for row in sheet.iter_rows(min_row=2) if row[0].value == 13)
    assert (cell.value, cell.data_type) == (FORMULA, "s")
    text = _exported(built, MANAGER, ledger.Filters(unit="R01"), "csv").content.decode("utf-8")
    assert f",'{FORMULA}," in text
    cut = _exported(built, MANAGER, ledger.Filters(), "csv", cap=5, sort="-id")
    assert (cut.rows, cut.cut, cut.filename) == (5, True, "ledger-20260410-first-5-rows.csv")
    lines = cut.content.decode("utf-8-sig").splitlines()
    assert [int(line.split(",")[0]) for line in lines[1:]] == [60, 59, 58, 57, 56]
    assert json.loads(_events(built)[-1].data)["cut"] is True
    officer = _exported(built, OFFICER, ledger.Filters(group="G1"), "csv")
    assert officer.rows == 0
    with pytest.raises(NotPermitted):
        _exported(built, CUSTODIAN, ledger.Filters(), "xlsx")
    assert len(_events(built)) == 4  # the refused export recorded nothing of its own
