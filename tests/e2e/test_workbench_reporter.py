"""The custodian's page (信访室) in process: officers' requests listed by who, which lead
(its numbers only, never its facts), why and when; granted for some hours or refused
from their forms, as `leadflow reporter grant` and `refuse` answer them, on the trail;
the custodian's own read handed, as posted, to the lead's read; closed to an officer."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from leadflow.web import create_app
from models.audit import AuditEvent
from models.services import people, reporter_requests
from models.store.database import make_engine, transaction
from models.store.lead import ReporterRequest
from tests.conftest import EXAMPLES
from tests.e2e.api_world import REPORTER, World
from tests.e2e.workbench_client import sign_in


@pytest.fixture
def client(world: World) -> Iterator[TestClient]:
    """The example lead, and two requests by its unit's officer to see its reporter."""
    client = TestClient(create_app())
    lead = json.loads((EXAMPLES / "lead.json").read_text(encoding="utf-8"))
    headers = {"Authorization": f"Bearer {world.tokens['case_manager']}"}
    assert client.post("/api/v1/leads", json=lead, headers=headers).is_success
    with transaction(make_engine(world.url)) as session:
        officer = people.by_token(session, world.tokens["officer"], via="test")
        assert officer is not None
        for why in ("需向举报人核实租金收取情况", "补充核实商户名单"):
            reporter_requests.ask(session, officer, "KM-2026-000102", reason=why)
    yield client


def _events(world: World, action: str) -> list[AuditEvent]:
    with transaction(make_engine(world.url)) as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def _no_reporter_nor_lead_facts(html: str) -> None:
    for secret in (*REPORTER, "刘某", "商户举报市场服务中心"):
        assert secret not in html


def test_the_custodian_grants_and_refuses_requests(world: World, client: TestClient) -> None:
    csrf = sign_in(client, "custodian")  # the custodian's first page is this one
    shown = client.get("/reporter")
    assert shown.status_code == 200
    for part in ('id="grant-1"', 'action="/reporter/requests/1/grant"', 'id="refuse-2"',
                 "赵磊（officer）", "1（KM-2026-000102）", "需向举报人核实租金收取情况",
                 'id="form-read"'):  # fmt: skip
        assert part in shown.text, part
    _no_reporter_nor_lead_facts(shown.text)

    grant = {"hours": "2", "reason": "确有核实必要"}
    assert client.post("/reporter/requests/1/grant", data=grant).status_code == 403
    for hours in ("0", "73", "两"):
        bad = client.post(
            "/reporter/requests/1/grant", data={**grant, "hours": hours, "csrf": csrf}
        )
        assert bad.status_code == 422 and "有效时长" in bad.text
    assert _events(world, "reporter.grant") == []
    done = client.post(
        "/reporter/requests/1/grant", data={**grant, "csrf": csrf}, follow_redirects=False
    )
    assert done.headers["location"] == "/reporter?done=grant&number=1"
    refused = client.post(
        "/reporter/requests/2/refuse", data={"reason": "理由不足", "csrf": csrf},
        follow_redirects=False,
    )  # fmt: skip
    after = client.get(refused.headers["location"])
    assert "第 2 号申请已不予批准" in after.text and "目前没有待处理的查阅申请" in after.text
    answered = after.text.split('id="answered"', 1)[1]
    assert "<td>批准</td>" in answered and "<td>不予批准</td>" in answered
    _no_reporter_nor_lead_facts(after.text)
    with transaction(make_engine(world.url)) as session:
        first, second = session.scalars(select(ReporterRequest).order_by(ReporterRequest.id))
        assert first.granted and first.expires_at and first.decided_at
        assert (first.expires_at - first.decided_at).total_seconds() == 2 * 3600
        assert second.granted is False
    [granted], [refusal] = _events(world, "reporter.grant"), _events(world, "reporter.refuse")
    assert granted.actor.startswith("custodian（孙慧）") and granted.reason == "确有核实必要"
    assert refusal.lead_id == 1 and json.loads(refusal.data) == {"request": 2}
    again = client.post("/reporter/requests/1/refuse", data={"reason": "再议", "csrf": csrf})
    assert again.status_code == 409


def test_the_custodians_read_is_handed_to_the_leads_read(world: World, client: TestClient) -> None:
    csrf = sign_in(client, "custodian")
    asked = {"lead": "KM-2026-000102", "reason": "核实举报人身份", "csrf": csrf}
    assert client.post("/reporter/read", data={**asked, "lead": "../x"}).status_code == 422
    handed = client.post("/reporter/read", data=asked, follow_redirects=False)
    assert handed.status_code == 307  # the browser posts the same form on, token and all
    assert handed.headers["location"] == "/leads/KM-2026-000102/reporter"
    assert _events(world, "reporter.read") == []  # read where it is handed, not here
    read = client.post("/reporter/read", data=asked)
    assert read.status_code == 200 and REPORTER[0] in read.text
    [recorded] = _events(world, "reporter.read")
    assert recorded.actor.startswith("custodian（孙慧）") and recorded.reason == "核实举报人身份"


def test_the_custodians_page_is_closed_to_an_officer(world: World, client: TestClient) -> None:
    csrf = sign_in(client, "officer")
    assert client.get("/reporter").status_code == 403
    grant = {"hours": "2", "reason": "自己批准", "csrf": csrf}
    assert client.post("/reporter/requests/1/grant", data=grant).status_code == 403
    refused = [json.loads(e.data)["act"] for e in _events(world, "access.refused")]
    assert refused == ["reporter.grant", "reporter.grant"]
    with transaction(make_engine(world.url)) as session:
        assert session.get_one(ReporterRequest, 1).granted is None
