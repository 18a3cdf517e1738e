"""Signing in to the workbench, in process: a session opens only with the right password
and the sign-in form's own token; failures are recorded and slowed down with the API's; the
cookie is HTTP-only, SameSite=Strict, and Secure over TLS; signing out, a revoked person or
an expired session ends it; every form without its token is refused and recorded."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from leadflow.web import create_app, guard
from models.audit import AuditEvent
from models.domain.people import system
from models.services import people, runtime
from models.store.base import utcnow
from models.store.database import make_engine, transaction
from models.store.people import WebSession
from tests.e2e.api_world import World
from tests.e2e.workbench_client import PASSWORD, form_token, sign_in


def _events(world: World, action: str) -> list[AuditEvent]:
    with transaction(make_engine(world.url)) as session:
        found = session.scalars(select(AuditEvent).where(AuditEvent.action == action))
        return list(found)


def _post_login(client: TestClient, username: str, password: str, token: str | None = None):
    page = client.get("/login")
    data = {"username": username, "password": password}
    data["csrf"] = token if token is not None else form_token(page.text)
    return client.post("/login", data=data, follow_redirects=False)


def test_a_session_opens_with_the_password_and_ends_at_sign_out(world: World) -> None:
    client = TestClient(create_app())
    assert client.get("/leads", follow_redirects=False).headers["location"] == "/login"
    answer = _post_login(client, "officer", PASSWORD)
    assert answer.status_code == 303
    cookie = answer.headers["set-cookie"]
    assert "leadflow_session=" in cookie and "HttpOnly" in cookie
    assert "SameSite=strict" in cookie and "Secure" not in cookie  # plain HTTP here
    ledger = client.get("/leads")
    assert ledger.status_code == 200 and "赵磊" in ledger.text
    signed_in = _events(world, "people.sign_in")
    assert [e.actor.split()[0] for e in signed_in] == ["officer（赵磊）"]
    csrf = form_token(ledger.text)
    assert client.post("/logout", data={"csrf": csrf}, follow_redirects=False).status_code == 303
    assert client.get("/leads", follow_redirects=False).status_code == 303
    assert len(_events(world, "people.sign_out")) == 1


def test_a_wrong_password_or_name_says_the_same_and_is_recorded(world: World) -> None:
    client = TestClient(create_app())
    wrong_password = _post_login(client, "officer", "not the password at all")
    wrong_name = _post_login(client, "nobody", PASSWORD)
    for answer in (wrong_password, wrong_name):
        assert answer.status_code == 401
        assert "用户名或密码不正确" in answer.text
        assert "leadflow_session=" not in answer.headers.get("set-cookie", "")
    refusals = _events(world, "access.refused")
    assert len(refusals) == 2 and all("签入失败" in e.reason for e in refusals)
    assert all(PASSWORD not in e.data and "nobody" not in e.data for e in refusals)


def test_failed_sign_ins_are_slowed_down_with_the_apis_failures(world: World) -> None:
    client = TestClient(create_app())
    for _ in range(guard.FAILURES_ALLOWED):
        assert _post_login(client, "officer", "a wrong password!").status_code == 401
    # Now even the right password waits out the minute.
    slowed = _post_login(client, "officer", PASSWORD)
    assert slowed.status_code == 429 and "一分钟后再试" in slowed.text
    guard.limiter._failures.clear()
    assert _post_login(client, "officer", PASSWORD).status_code == 303


def test_the_sign_in_form_needs_its_own_token(world: World) -> None:
    client = TestClient(create_app())
    forged = _post_login(client, "officer", PASSWORD, token="forged")
    assert forged.status_code == 403 and "防伪令牌" in forged.text
    fresh = TestClient(create_app())  # no sign-in cookie at all: a form from elsewhere
    posted = fresh.post("/login", data={"csrf": "x", "username": "officer", "password": PASSWORD})
    assert posted.status_code == 403
    assert not _events(world, "people.sign_in")


def test_a_form_without_the_sessions_token_is_refused_and_recorded(world: World) -> None:
    client = TestClient(create_app())
    sign_in(client, "officer")
    refused = client.post("/logout", data={}, follow_redirects=False)
    assert refused.status_code == 403 and "防伪令牌" in refused.text
    assert client.post("/logout", data={"csrf": "wrong"}).status_code == 403
    assert client.get("/leads").status_code == 200  # still signed in: nothing changed
    recorded = [e for e in _events(world, "access.refused") if "CSRF" in e.reason]
    assert len(recorded) == 2 and recorded[0].actor.startswith("officer（赵磊）")


def test_the_cookie_is_secure_over_tls(world: World) -> None:
    client = TestClient(create_app(), base_url="https://testserver")
    answer = _post_login(client, "leader", PASSWORD)
    assert answer.status_code == 303
    assert "Secure" in answer.headers["set-cookie"]


def test_a_revoked_person_or_an_expired_session_opens_nothing(world: World) -> None:
    client = TestClient(create_app())
    sign_in(client, "officer")
    engine = make_engine(world.url)
    with transaction(engine) as session:
        session.execute(update(WebSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert client.get("/leads", follow_redirects=False).status_code == 303
    sign_in(client, "auditor")
    with runtime.work(engine) as session:
        people.revoke(session, system("setup"), "auditor")
    assert client.get("/leads", follow_redirects=False).status_code == 303


@pytest.mark.parametrize("path", ["/leads", "/static/workbench.css", "/login"])
def test_every_page_carries_the_security_headers(world: World, path: str) -> None:
    client = TestClient(create_app())
    sign_in(client, "officer")
    headers = client.get(path).headers
    policy = headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy and "unsafe-inline" not in policy
    assert "script-src" not in policy and "default-src 'none'" in policy
    assert headers["x-content-type-options"] == "nosniff"
    assert float(headers["server-timing"].removeprefix("app;dur=")) >= 0


def test_an_administrator_lands_on_a_page_that_says_where_their_work_is(world: World) -> None:
    client = TestClient(create_app())
    answer = _post_login(client, "admin", PASSWORD)
    landing = client.get(answer.headers["location"])
    assert landing.status_code == 200 and "leadflow user" in landing.text
    assert 'href="/leads"' not in landing.text  # no page the role may not open
