"""The leader's desk (领导研判) in process: a lead left waiting by intake is listed with its
proposal and reasons, decided from its form — recorded on its trail by the leader, the
waiting intake run resumed with the decision's key — and leaves the desk; closed at
triage (予以了结) from its own form; a recusal shortfall is told and the lead stays;
forms without their token, bad fields and other roles are refused and recorded."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from leadflow import prefect_runs
from leadflow.web import create_app
from models.audit import AuditEvent
from models.config.policy import default_policy
from models.services import runtime
from models.store.database import make_engine, transaction
from models.store.lead import Lead, TriageProposal
from tests.conftest import EXAMPLES
from tests.e2e.api_world import REPORTER, World
from tests.e2e.workbench_client import sign_in

WAITING_RUN = "6f1c2f4e-3b7a-4c55-9d0e-2a1b3c4d5e6f"


def _bearer(world: World, who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {world.tokens[who]}"}


@pytest.fixture
def client(world: World) -> Iterator[TestClient]:
    """The example lead, received through the API: its flags propose joint handling, so
    intake leaves it waiting for a leader's decision."""
    client = TestClient(create_app())
    lead = json.loads((EXAMPLES / "lead.json").read_text(encoding="utf-8"))
    assert client.post(
        "/api/v1/leads", json=lead, headers=_bearer(world, "case_manager")
    ).is_success
    yield client


def _events(world: World, action: str) -> list[AuditEvent]:
    with transaction(make_engine(world.url)) as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def _no_reporter(html: str) -> None:
    assert REPORTER[0] not in html and REPORTER[1] not in html


def test_a_leader_decides_from_the_desk_and_the_waiting_run_resumes(
    world: World, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # On a Prefect server intake would be suspended here; its run's id is on the proposal.
    with transaction(make_engine(world.url)) as session:
        session.execute(update(TriageProposal).values(waiting_flow_run=WAITING_RUN))
    resumed: list[tuple[str | None, str]] = []

    def resume(run: str | None, key: str) -> bool:
        resumed.append((run, key))
        return True

    monkeypatch.setattr(prefect_runs, "resume_waiting_run", resume)
    csrf = sign_in(client, "leader")
    desk = client.get("/desk")
    assert desk.status_code == 200
    for shown in ('id="decide-1"', 'action="/desk/1/decide"', 'id="close-1"', "KM-2026-000102"):
        assert shown in desk.text
    assert "室组地联动办理（建议）" in desk.text  # the proposed mode, chosen already
    assert all(reason in desk.text for reason in ("案情复杂", "涉案金额较大", "时间跨度较长"))
    assert "刘某" in desk.text and "商户举报市场服务中心职工刘某" in desk.text
    _no_reporter(desk.text)

    told = {"mode": "joint", "reason": "涉及商户多、金额大\r\n同意室组地联动办理"}
    assert client.post("/desk/1/decide", data=told).status_code == 403  # no form token
    bad = client.post("/desk/1/decide", data={**told, "csrf": csrf, "mode": "all"})
    assert bad.status_code == 422 and "办理方式" in bad.text
    blank = client.post("/desk/1/decide", data={**told, "csrf": csrf, "reason": " \r\n "})
    assert blank.status_code == 422 and "理由" in blank.text
    assert _events(world, "lead.decide") == []

    done = client.post("/desk/1/decide", data={**told, "csrf": csrf}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/desk?done=1&result=resumed"
    after = client.get(done.headers["location"])
    said = re.search(r'<p class="done" role="status">([^<]+)</p>', after.text)
    assert said and "KM-2026-000102：已决定室组地联动办理并交办" in said.group(1)
    assert "等待该决定的受理流程已恢复运行" in said.group(1)
    assert 'id="decide-1"' not in after.text and "目前没有待研判的线索" in after.text
    [decided] = _events(world, "lead.decide")
    assert decided.actor == "杨正晓" and decided.lead_id == 1
    assert decided.reason == "涉及商户多、金额大；同意室组地联动办理"
    assert json.loads(decided.data)["recorded_by"].startswith("leader（杨正晓） web:")
    with transaction(make_engine(world.url)) as session:
        proposal = session.get_one(TriageProposal, 1)
        assert session.get_one(Lead, 1).state == "in_handling"
        assert resumed == [(WAITING_RUN, proposal.decision_key)]
    again = client.post("/desk/1/decide", data={**told, "csrf": csrf})
    assert again.status_code == 200 and len(_events(world, "lead.decide")) == 1  # a retry


def test_a_lead_awaiting_its_decision_is_closed_at_triage(world: World, client: TestClient) -> None:
    csrf = sign_in(client, "leader")
    assert client.post("/desk/1/close", data={"csrf": csrf, "reason": ""}).status_code == 422
    done = client.post(
        "/desk/1/close", data={"csrf": csrf, "reason": "反映问题已另案处理，予以了结"},
        follow_redirects=False,
    )  # fmt: skip
    assert done.headers["location"] == "/desk?done=1&result=closed"
    after = client.get(done.headers["location"])
    assert "KM-2026-000102：已予以了结（办结）" in after.text and 'id="close-1"' not in after.text
    [closed] = _events(world, "lead.close_at_triage")
    assert closed.actor.startswith("leader（杨正晓）") and closed.state_after == "closed"


def test_a_recusal_shortfall_is_told_and_the_lead_stays(
    world: World, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A team larger than recusal leaves: the decision stands, escalation is proposed."""
    too_big = default_policy().model_copy(
        update={"team": default_policy().team.model_copy(update={"size": 500})}
    )
    monkeypatch.setattr(runtime, "in_force", lambda session: too_big)
    csrf = sign_in(client, "leader")
    done = client.post(
        "/desk/1/decide", data={"csrf": csrf, "mode": "joint", "reason": "同意联动"},
        follow_redirects=False,
    )  # fmt: skip
    assert done.headers["location"] == "/desk?done=1&result=shortfall"
    after = client.get(done.headers["location"])
    assert "您的决定已记录" in after.text and "改为提议提级办理" in after.text
    assert 'id="decide-1"' in after.text and "提级办理（建议）" in after.text
    assert "回避后力量不足" in after.text  # the new proposal's reason
    assert [e.action for e in _events(world, "lead.recusal_shortfall")] == [
        "lead.recusal_shortfall"
    ]


def test_the_desk_is_the_leaders(world: World, client: TestClient) -> None:
    csrf = sign_in(client, "officer")
    assert client.get("/desk").status_code == 403
    answer = client.post("/desk/1/decide", data={"csrf": csrf, "mode": "own", "reason": "自办"})
    assert answer.status_code == 403 and "无权" in answer.text
    refused = [json.loads(e.data)["act"] for e in _events(world, "access.refused")]
    assert refused == ["lead.decide", "lead.decide"]
    assert _events(world, "lead.decide") == []
