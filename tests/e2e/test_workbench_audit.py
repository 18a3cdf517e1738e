"""Audit review (审计核查) in process: the full check run from its form — the chain, its
anchors and the issued documents — recorded and shown, a tampered event named; the trail
searched by who, what, unit and day, in Chinese and without the events' data; a lead's
record exported as its PDF and recorded; every part closed to an officer."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from leadflow.web import create_app
from models.audit import AuditEvent
from models.store.database import make_engine, transaction
from tests.conftest import EXAMPLES
from tests.e2e.api_world import REPORTER, World
from tests.e2e.workbench_client import sign_in
from tests.integration.test_audit_db import behind_the_guards


@pytest.fixture
def client(world: World) -> Iterator[TestClient]:
    client = TestClient(create_app())
    lead = json.loads((EXAMPLES / "lead.json").read_text(encoding="utf-8"))
    headers = {"Authorization": f"Bearer {world.tokens['case_manager']}"}
    assert client.post("/api/v1/leads", json=lead, headers=headers).is_success
    yield client


def _events(world: World, action: str) -> list[AuditEvent]:
    with transaction(make_engine(world.url)) as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_a_full_check_from_the_page_names_a_tampered_event(
    world: World, client: TestClient
) -> None:
    csrf = sign_in(client, "auditor")
    review = client.get("/audit")
    assert review.status_code == 200 and 'id="form-verify"' in review.text
    assert "审计链尚未进行过全面核验" in review.text and "尚未在数据库外锚定" in review.text
    assert client.post("/audit/verify", data={}).status_code == 403  # no form token
    assert _events(world, "audit.verify") == []

    intact = client.post("/audit/verify", data={"csrf": csrf})
    assert intact.status_code == 200 and "审计链完整：已核验" in intact.text
    assert "文书核验：已核验 0 份已印发文书" in intact.text
    [checked] = _events(world, "audit.verify")
    assert checked.actor.startswith("auditor（周审）") and json.loads(checked.data)["intact"]
    assert "完整</span>，共" in client.get("/audit").text  # the last check, as recorded

    with behind_the_guards(make_engine(world.url)) as connection:  # the database's own refused
        connection.exec_driver_sql("UPDATE audit_events SET reason = '无' WHERE seq = 2")
    broken = client.post("/audit/verify", data={"csrf": csrf})
    assert "链条被篡改" in broken.text and "首个不符事件：第 2 号" in broken.text
    assert "发现问题</span>" in client.get("/audit").text
    assert REPORTER[0] not in broken.text


def test_the_trail_is_searched_in_chinese(world: World, client: TestClient) -> None:
    sign_in(client, "case_manager")
    every = client.get("/audit/events")
    assert every.status_code == 200 and "受理：信访举报（来信）" in every.text
    assert '<option value="lead.triage">分析研判（lead.triage）</option>' in every.text
    assert '<a href="/leads/1/record.pdf">' in every.text
    assert '"flags"' not in every.text and "large_amount" not in every.text  # no data
    signed = client.get("/audit/events?actor=case_man&action=people.sign_in").text
    assert signed.count('<td class="num">') == 1 and "<td>签入工作台</td>" in signed
    by_unit = client.get("/audit/events?unit=C03").text
    assert "<td>分析研判</td>" in by_unit and "签入工作台" not in by_unit.split("<tbody>")[1]
    today = date.today().isoformat()
    assert "<td>分析研判</td>" in client.get(f"/audit/events?from=2026-01-01&to={today}").text
    none = client.get("/audit/events?to=2026-01-01").text
    assert "没有符合条件的事件" in none
    bad = client.get("/audit/events?from=2026-13-01")
    assert bad.status_code == 422 and "起始日期" in bad.text
    for page in (every.text, signed, by_unit):
        assert REPORTER[0] not in page and REPORTER[1] not in page


def test_a_leads_record_is_exported_and_recorded(world: World, client: TestClient) -> None:
    sign_in(client, "auditor")
    record = client.get("/leads/KM-2026-000102/record.pdf")
    assert record.status_code == 200 and record.headers["content-type"] == "application/pdf"
    assert record.content.startswith(b"%PDF")
    [exported] = _events(world, "audit.export")
    assert exported.actor.startswith("auditor（周审）") and exported.lead_id == 1
    assert client.get("/leads/999/record.pdf").status_code == 404


def test_audit_review_is_closed_to_an_officer(world: World, client: TestClient) -> None:
    csrf = sign_in(client, "officer")
    assert client.get("/audit").status_code == 403
    assert client.post("/audit/verify", data={"csrf": csrf}).status_code == 403
    assert client.get("/audit/events").status_code == 403
    assert client.get("/leads/1/record.pdf").status_code == 403
    refused = [json.loads(e.data)["act"] for e in _events(world, "access.refused")]
    assert refused == ["audit.verify", "audit.verify", "audit.search", "audit.export"]
    assert _events(world, "audit.verify") == [] and _events(world, "audit.export") == []
