"""The JSON API in process: what each role may read and do, the refusals recorded, the
reporter only in the custodian's read, failed tokens slowed down, errors without data —
and Schemathesis over the OpenAPI document: no 5xx, no response off its schema, no
reporter in any response but a reporter read."""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import hypothesis
import hypothesis.strategies as st
import pytest
import schemathesis
from fastapi.testclient import TestClient
from schemathesis.specs.openapi.checks import positive_data_acceptance
from sqlalchemy import select

from leadflow.web import create_app, guard
from models.audit import AuditEvent
from models.services import ledger, runtime
from models.store.database import make_engine
from tests.conftest import EXAMPLES
from tests.e2e.api_world import REPORTER, World


@pytest.fixture
def client(world: World) -> TestClient:
    client = TestClient(create_app())
    lead = json.loads((EXAMPLES / "lead.json").read_text(encoding="utf-8"))
    arrived = client.post("/api/v1/leads", json=lead, headers=_as(world, "case_manager"))
    assert arrived.status_code == 202, arrived.text
    return client


def _as(world: World, who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {world.tokens[who]}"}


def _refusals(world: World) -> list[tuple[str, str]]:
    engine = make_engine(world.url)
    with engine.connect() as c:
        rows = c.execute(
            select(AuditEvent.actor, AuditEvent.data).where(AuditEvent.action == "access.refused")
        ).all()
    engine.dispose()
    return [(actor.split("（")[0], json.loads(data)["act"]) for actor, data in rows]


def test_each_role_reads_and_acts_as_the_table_says(world: World, client: TestClient) -> None:
    page = client.get("/api/v1/leads", headers=_as(world, "officer")).json()
    assert [i["external_id"] for i in page["items"]] == ["KM-2026-000102"]
    assert page["items"][0]["state"] == "triaged"  # its intake ran once it was recorded
    assert client.get("/api/v1/leads", headers=_as(world, "clerk")).json()["items"] == []
    for who, status in [("officer", 200), ("leader", 200), ("auditor", 200), ("clerk", 404)]:
        assert client.get("/api/v1/leads/1", headers=_as(world, who)).status_code == status
    unknown = client.get("/api/v1/leads/999", headers=_as(world, "clerk")).json()
    outside = client.get("/api/v1/leads/1", headers=_as(world, "clerk")).json()
    assert outside["error"]["message"].replace("'1'", "'999'") == unknown["error"]["message"]
    assert client.get("/api/v1/leads", headers=_as(world, "custodian")).status_code == 403
    ask = {"reason": "核实举报人身份"}
    officer = client.post("/api/v1/leads/1/reporter", json=ask, headers=_as(world, "officer"))
    assert officer.status_code == 403 and REPORTER[0] not in officer.text
    read = client.post("/api/v1/leads/1/reporter", json=ask, headers=_as(world, "custodian"))
    assert read.status_code == 200 and read.json()["reporter"]["name"] == REPORTER[0]
    trail = client.get("/api/v1/leads/KM-2026-000102/audit", headers=_as(world, "auditor"))
    actions = [e["action"] for e in trail.json()["events"]]
    assert actions[:2] == ["lead.receive", "lead.triage"] and "reporter.read" in actions
    assert trail.json()["events"][0]["actor"].startswith("case_manager（钱莉） client:")
    lead = json.loads((EXAMPLES / "lead.json").read_text(encoding="utf-8"))
    again = client.post("/api/v1/leads", json=lead, headers=_as(world, "officer"))
    assert again.status_code == 403
    assert sorted(_refusals(world)) == sorted(
        [
            ("clerk", "lead.read"),
            ("clerk", "lead.read"),
            ("custodian", "lead.read"),
            ("officer", "reporter.read"),
            ("officer", "lead.register"),
        ]
    )


def test_a_lead_is_filtered_and_paged_by_key(world: World, client: TestClient) -> None:
    cm = _as(world, "case_manager")
    for line in (EXAMPLES / "leads.jsonl").read_text(encoding="utf-8").splitlines()[:6]:
        client.post("/api/v1/leads", json=json.loads(line), headers=cm)
    first = client.get("/api/v1/leads?limit=3", headers=cm).json()
    second = client.get(f"/api/v1/leads?limit=3&page={first['next_page']}", headers=cm).json()
    ids = [i["id"] for i in first["items"] + second["items"]]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 6
    triaged = client.get("/api/v1/leads?state=triaged", headers=cm).json()["items"]
    assert triaged and {i["state"] for i in triaged} == {"triaged"}
    assert client.get("/api/v1/leads?source=big_data", headers=cm).json()["items"] == [
        i for i in client.get("/api/v1/leads?limit=200", headers=cm).json()["items"]
        if i["source"] == "big_data"
    ]  # fmt: skip
    bad = client.get("/api/v1/leads?page=abc&limit=0", headers=cm)
    assert bad.status_code == 422
    assert {p["field"] for p in bad.json()["error"]["problems"]} == {"query.page", "query.limit"}


def test_tokens_are_checked_failures_slowed_and_headers_set(
    world: World, client: TestClient
) -> None:
    none = client.get("/api/v1/leads")
    assert none.status_code == 401 and none.headers["www-authenticate"] == "Bearer"
    for _ in range(guard.FAILURES_ALLOWED - 1):
        assert client.get("/api/v1/leads", headers={"Authorization": "Bearer x"}).status_code == 401
    slowed = client.get("/api/v1/leads", headers=_as(world, "auditor"))
    assert slowed.status_code == 429 and slowed.headers["retry-after"] == "60"
    for header in ("x-content-type-options", "x-frame-options", "content-security-policy"):
        assert header in slowed.headers
    assert _refusals(world).count(("unknown client:testclient", "authenticate")) == 10
    guard.limiter._failures.clear()
    revoked = _as(world, "officer")
    with runtime.work() as session:
        from models.domain.people import system
        from models.services import people

        people.revoke(session, system(), "officer")
    assert client.get("/api/v1/leads", headers=revoked).status_code == 401


def test_an_internal_error_answers_one_sentence_without_data(
    world: World,
    client: TestClient,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError(f"planted: {REPORTER[0]} {REPORTER[1]} 刘某")

    monkeypatch.setattr(ledger, "page", broken)
    with caplog.at_level(logging.DEBUG):
        answer = client.get("/api/v1/leads", headers=_as(world, "auditor"))
    assert answer.status_code == 500
    assert answer.json() == {"error": {"status": 500, "message": "internal error", "problems": []}}
    logged = caplog.text
    assert "RuntimeError" in logged
    assert not any(secret in logged for secret in (*REPORTER, "刘某", "planted"))


def test_a_body_past_the_bound_is_refused(world: World, client: TestClient) -> None:
    big = {"external_id": "X", "summary": "甲" * (1 << 20)}
    answer = client.post("/api/v1/leads", json=big, headers=_as(world, "case_manager"))
    assert answer.status_code == 413


# --- Schemathesis ----------------------------------------------------------------------

READERS = ("case_manager", "officer", "clerk", "custodian", "auditor", "leader")
FUZZ = hypothesis.settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=list(hypothesis.HealthCheck),
    derandomize=True,
    database=None,
)


def test_the_api_holds_its_schema_under_fuzzing(
    world: World, client: TestClient, figure: Callable[[str], None]
) -> None:
    """Every operation of the OpenAPI document, by every reading role, with generated
    requests: each response a documented status, matching its schema, never a 5xx, and
    no reporter in it but the custodian's reporter read."""
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", client.app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 6
    calls: list[int] = []

    for operation in operations:

        @FUZZ
        @hypothesis.given(case=operation.as_strategy(), who=st.sampled_from(READERS))
        def call(case: schemathesis.Case, who: str) -> None:
            guard.limiter._failures.clear()
            # Every check but "schema-valid data is accepted": the lead's schema states its
            # fields' types and bounds; some rules (a code's shape) it words only in prose.
            response = case.call_and_validate(
                headers=_as(world, who), excluded_checks=[positive_data_acceptance]
            )
            calls.append(response.status_code)
            custodians_read = (
                case.path.endswith("/reporter") and response.status_code == 200
            ) and who == "custodian"
            if not custodians_read:
                assert not any(secret in response.text for secret in REPORTER), (who, case.path)

        call()
    assert len(calls) >= 6 * 20 and max(calls) < 500
    tally = ", ".join(f"{code}: {n}" for code, n in sorted(Counter(calls).items()))
    figure(f"{len(calls)} generated requests over {len(operations)} operations: {tally}")


def test_leadflow_web_serves_the_api_as_a_process(world: World, tmp_path: Path) -> None:
    """`leadflow web` as users run it: a real server; what it answers, and what its log
    holds of a token or a reporter (nothing)."""
    import os
    import socket
    import subprocess
    import sys
    import time

    import httpx

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = (tmp_path / "web.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-c", "from leadflow.cli import main; main()", "web", "--port", str(port)],
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}/api/v1"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/openapi.json", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        lead = json.loads((EXAMPLES / "lead.json").read_text(encoding="utf-8"))
        arrived = httpx.post(f"{base}/leads", json=lead, headers=_as(world, "case_manager"))
        assert arrived.status_code == 202 and arrived.json()["lead_id"] == 1
        ask = {"reason": "核实"}
        read = httpx.post(f"{base}/leads/1/reporter", json=ask, headers=_as(world, "custodian"))
        assert read.json()["reporter"]["phone"] == REPORTER[1]
        assert httpx.get(f"{base}/leads/1", headers=_as(world, "clerk")).status_code == 404
        assert httpx.get(f"{base}/leads", headers={"Authorization": "Bearer x"}).status_code == 401
        page = httpx.get(f"{base}/leads", headers=_as(world, "officer")).json()
        assert [i["external_id"] for i in page["items"]] == ["KM-2026-000102"]
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
    said = (tmp_path / "web.log").read_text(encoding="utf-8", errors="replace")
    assert "serving the JSON API" in said
    assert not any(s in said for s in (*REPORTER, *world.tokens.values(), "刘某")), said


def test_bad_input_names_each_field_and_never_its_value(world: World, client: TestClient) -> None:
    lead = json.loads((EXAMPLES / "lead.json").read_text(encoding="utf-8"))
    lead["external_id"] = "KM 刘某 受贿"  # a space: not an id
    lead["subject"]["entity"] = "E 刘某"
    lead["reporter"]["phone"] = "张三的电话"
    answer = client.post("/api/v1/leads", json=lead, headers=_as(world, "case_manager"))
    assert answer.status_code == 422
    fields = {p["field"] for p in answer.json()["error"]["problems"]}
    assert fields == {"body.external_id", "body.subject.entity", "body.reporter.phone"}
    assert "刘某" not in answer.text and "张三" not in answer.text
