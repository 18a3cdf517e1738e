"""The JSON API's way to a held notice (docs/api.md): a lead posted with its reporter named
in its summary gets its assignment notice held, and its summary is withheld from the
handling unit's officer who reads it; `POST /api/v1/leads/{id}/amend` is
refused to a role that may not amend (403, recorded) and to an officer of another unit
(404), refuses a text that still names the reporter (422, naming the field, never the
text), and from the lead's own officer issues the notice under its number. No response
carries the reporter."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from sqlalchemy import select

from leadflow.web import create_app
from models.store.database import make_engine
from models.store.records import Document
from tests.conftest import EXAMPLES, NAMED_REPORTER, _typed, summary_naming_reporter
from tests.e2e.api_world import World
from tests.e2e.test_api import _as, _refusals

NAME, PHONE = NAMED_REPORTER
CLEAN = "群众反映：市场服务中心职工刘某利用职务便利违规收取商户租金。"


def _documents(world: World) -> list[tuple[str, str]]:
    engine = make_engine(world.url)
    with engine.connect() as connection:
        rows = connection.execute(select(Document.number, Document.status)).all()
    engine.dispose()
    return [(number, status) for number, status in rows]


def _no_reporter(text: str) -> None:
    for identity in NAMED_REPORTER:
        assert not _typed(identity).search(text), (identity, text[:300])


def test_a_held_notice_is_issued_once_its_officer_amends_the_summary(world: World) -> None:
    client = TestClient(create_app())
    lead = json.loads((EXAMPLES / "lead.json").read_text(encoding="utf-8"))
    lead |= {
        "external_id": "KM-2026-900102",
        "flags": [],  # own handling: assigned at once, with its notice
        "reporter": {"name": NAME, "phone": PHONE, "anonymous": False},
        "summary": summary_naming_reporter(lead["summary"]),
    }
    arrived = client.post("/api/v1/leads", json=lead, headers=_as(world, "case_manager"))
    assert arrived.status_code == 202, arrived.text
    [(number, status)] = _documents(world)
    assert status == "held"
    # The handling unit's officer reads the lead with its summary withheld; the commission's
    # case manager, who registered it, reads it as it is.
    shown = client.get("/api/v1/leads/1", headers=_as(world, "officer"))
    assert shown.json()["withheld"] == ["summary"] and "已隐去" in shown.json()["summary"]
    _no_reporter(shown.text)
    registered = client.get("/api/v1/leads/1", headers=_as(world, "case_manager")).json()
    assert registered["withheld"] == [] and _typed(NAME).search(registered["summary"])

    url = "/api/v1/leads/KM-2026-900102/amend"
    body = {"field": "summary", "text": CLEAN, "reason": "去除举报人身份信息"}
    answers = [
        client.post(url, json=body, headers=_as(world, "auditor")),
        client.post(url, json=body, headers=_as(world, "clerk")),
        client.post(url, json={**body, "field": "subject.name"}, headers=_as(world, "officer")),
        client.post(
            url,
            json={**body, "text": f"群众（电话１３７ ００００ ００００）反映：{CLEAN}"},
            headers=_as(world, "officer"),
        ),
        client.post(
            url, json={**body, "reason": f"去除{NAME}的姓名"}, headers=_as(world, "officer")
        ),
    ]
    assert [a.status_code for a in answers] == [403, 404, 422, 422, 422]
    assert answers[3].json()["error"]["problems"][0]["field"] == "text"
    assert answers[4].json()["error"]["problems"][0]["field"] == "reason"
    assert ("auditor", "lead.amend") in _refusals(world)
    assert ("clerk", "lead.amend") in _refusals(world)
    assert _documents(world) == [(number, "held")]  # nothing changed

    done = client.post(url, json=body, headers=_as(world, "officer"))
    assert done.status_code == 200, done.text
    assert done.json() == {
        "lead_id": 1,
        "field": "summary",
        "changed": True,
        "documents": [
            {"number": number, "kind": "assignment_notice", "status": "issued", "fields": []}
        ],
    }
    assert _documents(world) == [(number, "issued")]
    record = client.get("/api/v1/leads/1", headers=_as(world, "officer")).json()
    assert (record["summary"], record["withheld"]) == (CLEAN, [])
    trail = client.get("/api/v1/leads/1/audit", headers=_as(world, "officer")).text
    assert '"lead.amend"' in trail and '"document.hold"' in trail
    for answer in [*answers, done]:
        _no_reporter(answer.text)
    _no_reporter(trail)
