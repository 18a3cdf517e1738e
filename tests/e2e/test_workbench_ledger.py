"""The ledger's page and its exports in process, signed in as a browser is: the filter
form labelled and in Chinese, the table with a link to each lead, pages that continue by
key, a unit's officer held to their units' leads, exports that hold the view and are
recorded; a role that may not export refused and recorded; a bad filter answered 422 in
Chinese with the field named and nothing sent back."""

from __future__ import annotations

import csv
import io
import json
import re
from urllib.parse import parse_qs, urlsplit

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from leadflow.web import create_app
from models.audit import AuditEvent
from models.store.database import make_engine, transaction
from tests.e2e.api_world import World
from tests.e2e.workbench_client import sign_in
from tests.integration.test_ledger_db import SHARED, SPECS, build_ledger, expected_order


@pytest.fixture
def ledger_world(world: World) -> World:
    engine = make_engine(world.url)
    with transaction(engine) as session:
        build_ledger(session)
    engine.dispose()
    return world


def _client(username: str) -> TestClient:
    client = TestClient(create_app())
    sign_in(client, username)
    return client


def _ids(html: str) -> list[int]:
    table = html[html.index('<table id="ledger">') : html.index("</table>")]
    return [int(i) for i in re.findall(r'<a href="/leads/(\d+)">', table)]


def _next(html: str) -> str | None:
    found = re.search(r'<a href="([^"]+)" rel="next">', html)
    return found.group(1).replace("&amp;", "&") if found else None


def _events(world: World, action: str) -> list[AuditEvent]:
    with transaction(make_engine(world.url)) as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_the_master_ledger_pages_by_key_with_its_form_in_chinese(ledger_world: World) -> None:
    client = _client("case_manager")
    first = client.get("/leads")
    assert first.status_code == 200 and "app;dur=" in first.headers["server-timing"]
    html = first.text
    assert "<h2>总台账</h2>" in html and "<caption>总台账</caption>" in html
    for name, label in (("state", "状态"), ("unit", "承办单位"), ("group", "单元组"),
                        ("source", "来源"), ("domain", "领域"), ("mode", "办理方式"),
                        ("overdue", "逾期"), ("received_from", "受理日期起"),
                        ("received_to", "受理日期止"), ("sort", "排序")):  # fmt: skip
        assert f'<label for="f-{name}">{label}</label>' in html
        assert f'id="f-{name}" name="{name}"' in html
    assert '<option value="in_handling">办理中</option>' in html
    assert '<option value="G2">第二监督单元组</option>' in html
    assert '<option value="C03">官渡区纪委监委（C03）</option>' in html
    assert "<script" not in html and 'style="' not in html
    assert "台账测试线索" not in html and "台账某" not in html  # no free text, no subject
    ids = _ids(html)
    assert ids == expected_order(SPECS, "-received_at")[:50]
    following = _next(html)
    assert following is not None and "after=r" in following
    rest = client.get(following)
    assert rest.status_code == 200 and "（续页）" in rest.text and _next(rest.text) is None
    assert sorted(ids + _ids(rest.text)) == list(range(1, 61))  # none lost, none twice
    assert '<a href="/leads">回到第一页</a>' in rest.text


def test_a_filtered_view_keeps_its_filters_in_its_links(ledger_world: World) -> None:
    client = _client("case_manager")
    asked = "/leads?group=G2&state=&sort=deadline&received_from=2026-03-01"
    html = client.get(asked).text
    assert "<h2>分台账：第二监督单元组（已按条件筛选）</h2>" in html
    assert "<h2>分台账：第二监督单元组</h2>" in client.get("/leads?group=G2").text
    wanted = {s.id for s in SPECS if s.unit in ("C03", "R05")}
    ids = _ids(html)
    assert set(ids) == wanted and len(ids) == len(wanted)
    assert '<option value="G2" selected>' in html and '<option value="deadline" selected>' in html
    assert 'value="2026-03-01"' in html
    xlsx = re.search(r'href="(/leads/export\.xlsx[^"]*)"', html)
    assert xlsx is not None
    link = urlsplit(xlsx.group(1).replace("&amp;", "&"))
    assert parse_qs(link.query) == {
        "group": ["G2"], "received_from": ["2026-03-01"], "sort": ["deadline"]
    }  # fmt: skip
    overdue = client.get("/leads?overdue=1&sort=-id").text
    assert 'class="overdue"' in overdue and "<strong>逾期</strong>" in overdue


def test_an_officer_reads_their_units_leads_only(ledger_world: World) -> None:
    client = _client("officer")
    html = client.get("/leads").text
    assert "<h2>本单位台账</h2>" in html
    theirs = {s.id for s in SPECS if s.unit == "C03"} | set(SHARED)
    assert set(_ids(html)) == theirs
    assert set(_ids(client.get("/leads?unit=R05").text)) == set(SHARED)
    assert _ids(client.get("/leads?group=G1").text) == []
    exported = client.get("/leads/export.csv?group=G1")
    assert exported.status_code == 200 and exported.headers["x-export-rows"] == "0"


def test_the_exports_hold_the_view_and_are_recorded(ledger_world: World) -> None:
    client = _client("case_manager")
    book = client.get("/leads/export.xlsx?unit=R05&sort=-id")
    assert book.status_code == 200
    assert book.headers["content-type"].startswith("application/vnd.openxmlformats")
    disposition = book.headers["content-disposition"]
    assert re.fullmatch(r'attachment; filename="ledger-\d{8}\.xlsx"', disposition)
    sheet = openpyxl.load_workbook(io.BytesIO(book.content)).active
    assert sheet is not None and sheet.title == "台账"
    lines = list(sheet.iter_rows(values_only=True))
    assert lines[0][:3] == ("编号", "外部编号", "受理日期")
    r05 = sorted((s.id for s in SPECS if s.unit == "R05"), reverse=True)
    assert [line[0] for line in lines[1:]] == r05
    assert {line[5] for line in lines[1:]} == {"驻市自然资源和规划局纪检监察组"}
    text = client.get("/leads/export.csv?unit=R05&sort=-id")
    assert text.status_code == 200 and text.content.startswith(b"\xef\xbb\xbf")
    assert text.headers["content-type"].startswith("text/csv")
    assert text.headers["content-disposition"].endswith('.csv"')
    rows = list(csv.reader(io.StringIO(text.content.decode("utf-8-sig"))))
    assert [int(r[0]) for r in rows[1:]] == r05
    recorded = _events(ledger_world, "ledger.export")
    assert [e.actor.split("（")[0] for e in recorded] == ["case_manager", "case_manager"]
    assert json.loads(recorded[1].data) == {
        "format": "csv", "filters": {"unit": "R05"}, "sort": "-id", "rows": len(r05),
        "cut": False,
    }  # fmt: skip


def test_a_custodian_may_not_export_and_is_recorded(ledger_world: World) -> None:
    client = _client("custodian")
    for path in ("/leads/export.xlsx", "/leads/export.csv?state=closed", "/leads"):
        refused = client.get(path)
        assert refused.status_code == 403, path
        assert "您的角色无权进行此项操作，此次尝试已记录。" in refused.text
        assert "attachment" not in refused.headers.get("content-disposition", "")
    acts = [
        (e.actor.split("（")[0], json.loads(e.data)["act"])
        for e in _events(ledger_world, "access.refused")
    ]
    assert acts == [
        ("custodian", "ledger.export"), ("custodian", "ledger.export"),
        ("custodian", "lead.read"),
    ]  # fmt: skip
    assert _events(ledger_world, "ledger.export") == []


def test_a_bad_filter_is_named_in_chinese_and_never_echoed(ledger_world: World) -> None:
    client = _client("case_manager")
    sent = "/leads?state=zzqq&received_from=2026-13-01&sort=summary&after=r5.5"
    for path in (sent, sent.replace("/leads", "/leads/export.xlsx", 1)):
        bad = client.get(path)
        assert bad.status_code == 422, path
        assert "输入有误，未作任何更改。" in bad.text
        for named in ("状态（state）", "受理日期起（received_from）", "排序（sort）"):
            assert named in bad.text
        assert "zzqq" not in bad.text and "2026-13-01" not in bad.text
        assert "summary" not in bad.text and "Traceback" not in bad.text
    unknown = client.get("/leads?unit=ZZ9&group=QQ7")
    assert unknown.status_code == 422
    assert "承办单位（unit）" in unknown.text and "单元组（group）" in unknown.text
    assert "ZZ9" not in unknown.text and "QQ7" not in unknown.text
    assert client.get("/leads?after=i0.5").status_code == 422  # another order's cursor
    assert _events(ledger_world, "ledger.export") == []
