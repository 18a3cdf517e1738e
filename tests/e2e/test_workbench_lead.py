"""A lead's page in the workbench, in process: what officers, leaders and auditors see (the
facts, the lifecycle drawn, the team and its authority, deadlines, documents, the timeline
in Chinese with its check) and never the reporter; another unit's lead answered as an
unknown one and recorded; each form taken as the command line takes it, refused without
its token or its reason; a document served only while it matches its audit record; a
reporter read once on a granted request; a lead's HTML shown as text."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from leadflow import steps
from leadflow.web import create_app, guard
from models.audit import AuditEvent
from models.documents import MissingGlyphs, pdf_files
from models.domain.people import Person, system
from models.domain.triage import Mode
from models.services import people, reporter_requests, runtime
from models.services.triage import decide
from models.store.database import make_engine, transaction
from models.store.lead import Lead, ReporterRequest
from models.store.records import Document
from tests.conftest import EXAMPLES
from tests.e2e.api_world import REPORTER, World, make_world
from tests.e2e.workbench_client import PASSWORD, sign_in

HTML = "<script>alert(1)</script><b>x</b>"
# The leads of this module: the example lead under several external ids, decided as joint
# handling (in handling, with a team) — one for each test that changes a lead — and one
# whose summary carries HTML, and one whose summary names its reporter.
LEADS = {
    "example": "KM-2026-000102",
    "walk": "KM-WB-WALK",
    "reporter": "KM-WB-REPORTER",
    "html": "KM-WB-HTML",
    "named": "KM-WB-NAMED",
}


@dataclass
class Site:
    world: World
    ids: dict[str, int]

    def person(self, username: str) -> Person:
        with runtime.work() as session:
            found = people.by_token(session, self.world.tokens[username], via="test")
        assert found is not None
        return found

    def events(self, lead_id: int) -> list[AuditEvent]:
        with transaction(make_engine(self.world.url)) as session:
            query = select(AuditEvent).where(AuditEvent.lead_id == lead_id)
            return list(session.scalars(query.order_by(AuditEvent.seq)))

    def last_seq(self) -> int:
        with transaction(make_engine(self.world.url)) as session:
            return (
                session.scalars(select(AuditEvent.seq).order_by(AuditEvent.seq.desc())).first() or 0
            )

    def events_after(self, seq: int) -> list[AuditEvent]:
        with transaction(make_engine(self.world.url)) as session:
            query = select(AuditEvent).where(AuditEvent.seq > seq).order_by(AuditEvent.seq)
            return list(session.scalars(query))

    def state(self, lead_id: int) -> str:
        with transaction(make_engine(self.world.url)) as session:
            return session.get_one(Lead, lead_id).state.value


def _submit(client: TestClient, world: World, external_id: str, summary: str | None) -> int:
    lead = json.loads((EXAMPLES / "lead.json").read_text(encoding="utf-8"))
    lead["external_id"] = external_id
    if summary is not None:
        lead["summary"] = summary
    headers = {"Authorization": f"Bearer {world.tokens['case_manager']}"}
    arrived = client.post("/api/v1/leads", json=lead, headers=headers)
    assert arrived.status_code == 202, arrived.text
    return int(arrived.json()["lead_id"])


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """One database for the module: each test that changes a lead has a lead of its own."""
    with pytest.MonkeyPatch.context() as patch:
        world = make_world(patch, tmp_path_factory.mktemp("lead-page"))
        runtime.identify_with(None)
        guard.limiter._failures.clear()
        client = TestClient(create_app())
        summaries = {"html": HTML, "named": f"举报人{REPORTER[0]}反映：刘某违规收取商户租金。"}
        ids = {key: _submit(client, world, ref, summaries.get(key)) for key, ref in LEADS.items()}
        with transaction(make_engine(world.url)) as session:
            people.add(
                session, system("setup"), username="head", name="李主任", unit="C03",
                roles=["unit_head"], password=PASSWORD,
            )  # fmt: skip
        built = Site(world, ids)
        leader = built.person("leader")
        for key in ("example", "walk", "reporter", "named"):
            steps.take(
                leader, str(ids[key]), "lead.decide",
                lambda s, d, i: decide(s, d, i, mode=Mode.joint, by=None, reason="同意联动办理"),
            )  # fmt: skip
        yield built
        guard.limiter._failures.clear()


def signed(username: str) -> tuple[TestClient, str]:
    client = TestClient(create_app())
    return client, sign_in(client, username)


def shown(client: TestClient, url: str, status: int = 200) -> str:
    """A page, which names no reporter, whoever reads it."""
    answer = client.get(url)
    assert answer.status_code == status, answer.text
    assert not any(secret in answer.text for secret in REPORTER), url
    return answer.text


def form_ids(html: str) -> set[str]:
    return set(re.findall(r'<form id="form-([a-z-]+)" method="post"', html))


def test_the_page_shows_officers_leaders_and_auditors_the_lead_never_its_reporter(
    site: Site,
) -> None:
    lead = site.ids["example"]
    for username in ("officer", "leader", "auditor"):
        client, _ = signed(username)
        html = shown(client, f"/leads/{lead}")
        assert shown(client, f"/leads/{LEADS['example']}") == html  # by external id alike
        assert '<dl class="facts">' in html and "<dd>官渡区市场服务中心</dd>" in html
        assert "<dd>区市场服务中心职工</dd>" in html and "<dd>一般干部</dd>" in html
        svg = re.search(r'<svg class="lifecycle" role="img".*?</svg>', html, re.S)
        assert svg and "<title" in svg.group(0) and "当前状态为“办理中”" in svg.group(0)
        assert "<script" not in html and " style=" not in html
        assert "室组地联动办理" in html and "<dt>授权</dt><dd>杨正晓，" in html
        assert "组长" in html  # the drawn team and its leader (一事一授权)
        assert re.search(r'<table id="documents">.*昆纪协〔2026〕\d+号.*已印发', html, re.S)
        timeline = re.search(r'<table id="timeline".*?</table>', html, re.S)
        assert timeline is not None
        for said in ("受理", "分析研判", "委领导决定", "交办", "文书印发", "同意联动办理"):
            assert f"<td>{said}" in timeline.group(0), said
        assert '本线索事件核验：<span class="verdict-ok">完整</span>' in html
        assert "尚未进行全链核验" in html
        offered = form_ids(html)
        if username == "officer":
            assert offered == {"dispose", "reporter-request"}
            assert 'name="reason" required' in html
        else:
            assert offered == set()


def test_another_units_lead_is_answered_as_unknown_and_recorded(site: Site) -> None:
    client, _ = signed("clerk")
    unknown = shown(client, "/leads/999999", status=404)
    outside = shown(client, f"/leads/{site.ids['example']}", status=404)
    assert outside.replace(f"/leads/{site.ids['example']}", "/leads/999999") == unknown
    assert "刘某" not in outside and LEADS["example"] not in outside
    shown(client, f"/leads/{site.ids['example']}/documents/x", status=404)
    refused = [
        json.loads(e.data)["act"]
        for e in site.events(site.ids["example"])
        if e.action == "access.refused" and e.actor.startswith("clerk")
    ]
    assert refused == ["lead.read", "lead.read"]


def test_a_form_without_its_token_or_its_reason_changes_nothing(site: Site) -> None:
    lead = site.ids["example"]
    client, csrf = signed("officer")
    before = site.last_seq()
    forged = client.post(f"/leads/{lead}/dispose", data={"method": "hold", "reason": "暂存"})
    assert forged.status_code == 403 and "防伪令牌" in forged.text
    bare = client.post(f"/leads/{lead}/dispose", data={"csrf": csrf, "method": "hold"})
    assert bare.status_code == 422 and "理由（reason）" in bare.text
    wrong = client.post(
        f"/leads/{lead}/dispose", data={"csrf": csrf, "method": "burn", "reason": "  \r\n "}
    )
    assert wrong.status_code == 422
    assert "处置方式（method）" in wrong.text and "理由（reason）" in wrong.text
    assert "burn" not in wrong.text  # no data echoed
    late = client.post(f"/leads/{lead}/report", data={"csrf": csrf, "reason": "整改报告"})
    assert late.status_code == 409 and "未作任何更改" in late.text
    assert site.state(lead) == "in_handling"
    after = [(e.action, json.loads(e.data).get("act")) for e in site.events_after(before)]
    assert after == [("access.refused", "web.form")]  # a bad input, a rule's refusal: nothing


def _step(client: TestClient, lead: int, act: str, data: dict[str, str]) -> str:
    """A form posted as a browser does: 303 to the lead's page, which confirms it."""
    answer = client.post(f"/leads/{lead}/{act}", data=data, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"].startswith(f"/leads/{lead}?done={act}")
    html = shown(client, answer.headers["location"])
    assert '<p class="done" role="status">' in html
    return html


def test_the_forms_take_a_lead_from_disposal_to_closure(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    lead = site.ids["walk"]
    client, csrf = signed("officer")
    walk: list[tuple[str, dict[str, str], str, list[str]]] = [
        ("dispose", {"method": "preliminary_verification"}, "disposed", ["lead.dispose"]),
        (
            "outcome",
            {"kind": "risk_point", "finding": "窗口服务制度\r\n执行不严", "form": "",
             "educated": "1", "accountable": "", "party_sanctions": "0"},
            "disposed",
            ["lead.outcome"],
        ),
        ("rectify", {"days": "10"}, "rectifying", ["lead.order_rectification"]),
        ("report", {}, "rectifying", ["rectification.report"]),
        ("follow-up", {"result": "passed"}, "closed",
         ["rectification.follow_up", "lead.strike_off"]),
    ]  # fmt: skip
    for act, fields, state, actions in walk:
        before = len(site.events(lead))
        if act == "rectify":  # its notice cannot be drawn: the step stands, and is said

            def blind(*_args: object, **_kwargs: object) -> bytes:
                raise MissingGlyphs(["中"], [])

            monkeypatch.setattr(pdf_files, "render_pdf", blind)
        html = _step(client, lead, act, {"csrf": csrf, "reason": f"{act}的理由", **fields})
        monkeypatch.undo()
        assert site.state(lead) == state
        added = [e.action for e in site.events(lead)[before:]]
        assert [a for a in added if not a.startswith("document.")] == actions, added
        assert f"<td>{act}的理由" in html or f"{act}的理由</td>" in html
        if act == "rectify":
            assert "未能生成，已作废" in html and "整改期限" in html and "document.void" in added
            assert "剩余10个工作日" in html
        if act == "outcome":
            assert "rectify" in form_ids(html) and "close" in form_ids(html)
    assert form_ids(html) == set() and "当前状态为“办结”" in html


def test_a_document_is_served_while_it_matches_its_audit_record(site: Site) -> None:
    lead = site.ids["example"]
    client, _ = signed("auditor")
    html = shown(client, f"/leads/{lead}")
    link = re.search(r'href="(/leads/\d+/documents/[^"]+)"', html)
    assert link is not None
    with transaction(make_engine(site.world.url)) as session:
        document = session.scalars(select(Document).where(Document.lead_id == lead)).one()
    served = client.get(link.group(1))
    assert served.status_code == 200 and served.headers["content-type"] == "application/pdf"
    assert hashlib.sha256(served.content).hexdigest() == document.sha256
    assert document.sha256 in html
    disposition = served.headers["content-disposition"]
    assert disposition.isascii() and disposition.startswith('attachment; filename="')
    path = Path(document.path or "")
    original = path.read_bytes()
    try:
        path.write_bytes(original.replace(b"%%EOF", b"%%EOF\n% altered"))
        altered = client.get(link.group(1))
        assert altered.status_code == 409 and "已被改动" in altered.text
        assert "application/pdf" not in altered.headers["content-type"]
        assert b"%PDF" not in altered.content
        path.unlink()
        assert "文件缺失" in client.get(link.group(1)).text
    finally:
        path.write_bytes(original)
    assert client.get(link.group(1)).status_code == 200


def test_an_officer_reads_the_reporter_once_on_a_granted_request(site: Site) -> None:
    lead = site.ids["reporter"]
    client, csrf = signed("officer")
    denied = client.post(f"/leads/{lead}/reporter", data={"csrf": csrf, "reason": "核实身份"})
    assert denied.status_code == 403 and REPORTER[0] not in denied.text
    _step(client, lead, "reporter-request", {"csrf": csrf, "reason": "需核实举报人身份"})
    with transaction(make_engine(site.world.url)) as session:
        asked = session.scalars(
            select(ReporterRequest.id).where(ReporterRequest.lead_id == lead)
        ).one()
    with runtime.work() as session:
        reporter_requests.answer(
            session, site.person("custodian"), asked, grant=True, hours=2, reason="同意查阅一次"
        )
    assert "reporter" in form_ids(shown(client, f"/leads/{lead}"))
    read = client.post(f"/leads/{lead}/reporter", data={"csrf": csrf, "reason": "核实身份"})
    assert read.status_code == 200 and "no-store" in read.headers.get("cache-control", "")
    assert REPORTER[0] in read.text and REPORTER[1] in read.text
    again = client.post(f"/leads/{lead}/reporter", data={"csrf": csrf, "reason": "再次核实"})
    assert again.status_code == 403 and REPORTER[0] not in again.text
    html = shown(client, f"/leads/{lead}")
    assert "reporter" not in form_ids(html) and "<td>查阅举报人信息</td>" in html
    custodian, token = signed("custodian")
    kept = custodian.post(f"/leads/{lead}/reporter", data={"csrf": token, "reason": "信访室核对"})
    assert kept.status_code == 200 and REPORTER[0] in kept.text
    assert f'href="/leads/{lead}"' not in kept.text  # the custodian reads no lead's page
    reads = [e.actor.split("（")[0] for e in site.events(lead) if e.action == "reporter.read"]
    assert reads == ["officer", "custodian"]


def test_a_unit_head_applies_for_another_handling_mode(site: Site) -> None:
    lead = site.ids["named"]
    client, csrf = signed("head")
    assert "apply" in form_ids(shown(client, f"/leads/{lead}"))
    own = client.post(f"/leads/{lead}/apply", data={"csrf": csrf, "mode": "own", "reason": "自办"})
    assert own.status_code == 422 and "申请办理方式（mode）" in own.text
    html = _step(client, lead, "apply", {"csrf": csrf, "mode": "escalated", "reason": "案情重大"})
    assert "协作申请已提出" in html and "待委领导研判" in html and "提级办理" in html
    assert "apply" not in form_ids(html) and "委领导研判期限" in html
    assert [e.action for e in site.events(lead)][-1] == "lead.apply"
    officer, _ = signed("officer")
    assert "apply" not in form_ids(shown(officer, f"/leads/{lead}"))  # a unit head's act


def test_a_leads_html_is_shown_as_text_and_a_named_reporter_withheld(site: Site) -> None:
    client, csrf = signed("officer")
    html = shown(client, f"/leads/{site.ids['html']}")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;b&gt;x&lt;/b&gt;" in html
    assert "<script>" not in html and "<b>x</b>" not in html
    lead = site.ids["named"]
    told = f"请核实举报人{REPORTER[0]}（{REPORTER[1]}）的身份"  # a reason that names them
    answer = client.post(
        f"/leads/{lead}/reporter-request",
        data={"csrf": csrf, "reason": told},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    named = shown(client, f"/leads/{lead}")  # its summary, its notice and a reason name them
    assert named.count("已隐去") == 2 and "暂缓印发" in named and "举报人身份信息" in named
    assert "<td>申请查阅举报人信息</td>" in named
    for reader in ("leader", "auditor", "case_manager"):  # the commission's readers too
        theirs = shown(signed(reader)[0], f"/leads/{lead}")
        assert "已隐去" in theirs
