"""A document that would name its lead's reporter is held, not issued (docs/rules.md §5):
its number kept, no PDF, the fields that carry the identity on the record (never the
identity); `lead amend` re-quotes the rewritten text into the lead's held documents,
which are then issued under the same numbers — or held again while a field still names
the reporter. An anonymous report keeps no identity, so nothing is held for it."""

from __future__ import annotations

import hashlib
import json
import subprocess
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from models import documents
from models.audit import AuditEvent, verify
from models.config.policy import default_policy
from models.domain.errors import BadInput
from models.domain.people import system
from models.inputs.schemas import LeadIn, ReporterIn
from models.services.amending import amend
from models.services.desk import Desk
from models.services.disposal import dispose, record_outcome
from models.services.rectification import order_rectification
from models.services.triage import triage
from models.store.database import transaction
from models.store.lead import Lead, Reporter
from models.store.records import Document
from tests.conftest import KUNMING, NAMED_REPORTER, on_day, summary_naming_reporter
from tests.integration.helpers import example_leads, receive

DAY = date(2026, 10, 9)
NAME, PHONE = NAMED_REPORTER
CLEAN = "群众反映：街道便民服务中心窗口工作人员上班时间玩游戏，见到检查组仍照玩不误。"
FOUND = "窗口工作人员上班时间玩游戏属实"


def desk(tmp_path: Path) -> Desk:
    return on_day(Desk(system("测试员"), DAY, default_policy(), tmp_path / "out", KUNMING))


def a_lead(*, summary: str, post: str | None = None, anonymous: bool = False) -> LeadIn:
    """The first example lead (own handling, no flags), reported by NAMED_REPORTER."""
    lead = example_leads()[0]
    subject = lead.subject.model_copy(update={"post": post}) if post else lead.subject
    # Validated as a lead file is read: an anonymous report's name and phone are dropped.
    reporter = ReporterIn.model_validate({"name": NAME, "phone": PHONE, "anonymous": anonymous})
    return lead.model_copy(
        update={
            "external_id": "T-HELD",
            "summary": summary,
            "reporter": reporter,
            "subject": subject,
        }
    )


def rendered(engine: Engine, d: Desk, lead_id: int) -> list[Document]:
    return documents.render_pending(engine, output_dir=d.output_dir, actor=d.actor, lead_id=lead_id)


def to_rectification(
    engine: Engine,
    d: Desk,
    lead_id: int,
    *,
    finding: str = "违规发放补贴",
    kind: str = "first_form",
) -> None:
    with transaction(engine) as session:
        dispose(session, d, lead_id, method="preliminary_verification", reason="核实")
        record_outcome(session, d, lead_id, kind=kind, reason="教育", finding=finding)
        order_rectification(session, d, lead_id, reason="整改", days=10)


def events(engine: Engine, action: str) -> list[dict[str, object]]:
    with transaction(engine) as session:
        rows = session.scalars(select(AuditEvent).where(AuditEvent.action == action)).all()
        return [{"reason": e.reason, "data": json.loads(e.data)} for e in rows]


def pdf_text(path: str) -> str:
    done = subprocess.run(["pdftotext", path, "-"], capture_output=True, text=True, check=True)
    return "".join(done.stdout.split())


def test_notices_naming_the_reporter_are_held_then_issued_under_their_numbers_once_amended(
    org_engine: Engine, tmp_path: Path
) -> None:
    d, summary = desk(tmp_path), summary_naming_reporter(CLEAN)
    finding = f"经核实，{FOUND}（据举报人{NAME}补充材料）"
    lead_id = receive(org_engine, a_lead(summary=summary), on=DAY)
    with transaction(org_engine) as session:
        triage(session, d, lead_id)  # own handling: assigned at once, with its notice
    [assignment] = rendered(org_engine, d, lead_id)
    to_rectification(org_engine, d, lead_id, finding=finding)
    [rectification] = rendered(org_engine, d, lead_id)
    for held in (assignment, rectification):
        assert (held.status, held.path, held.sha256) == ("held", None, None)
    assert documents.held_fields(assignment) == ["summary"]
    assert documents.held_fields(rectification) == ["finding"]  # it states the finding
    assert not list(tmp_path.rglob("*.pdf"))
    holds = events(org_engine, "document.hold")
    assert [h["data"]["fields"] for h in holds] == [["summary"], ["finding"]]
    message = documents.hold_message(assignment, str(lead_id))
    assert f"leadflow lead amend {lead_id} --field summary --text-file FILE" in message
    on_record = json.dumps([holds, message], ensure_ascii=False)
    assert NAME not in on_record and "137" not in on_record

    with transaction(org_engine) as session:
        done = amend(session, d, lead_id, field="summary", text=CLEAN, reason="去除举报人信息")
    assert done.changed and done.documents == [assignment.number, rectification.number]
    again = {x.kind: x for x in rendered(org_engine, d, lead_id)}
    assert again["assignment_notice"].status == "issued"
    assert again["rectification_notice"].status == "held"  # its finding names them still
    with transaction(org_engine) as session:
        amend(session, d, lead_id, field="finding", text=f"经核实，{FOUND}", reason="去除")
    [issued] = rendered(org_engine, d, lead_id)
    assert (issued.number, issued.status) == (rectification.number, "issued")
    for document in (again["assignment_notice"], issued):
        text = pdf_text(document.path or "")
        assert NAME not in text and "13700000000" not in text
    assert CLEAN in pdf_text(again["assignment_notice"].path or "")
    assert f"经核实，{FOUND}" in pdf_text(issued.path or "")
    first, second = events(org_engine, "lead.amend")
    assert first["data"]["old_sha256"] == hashlib.sha256(summary.encode()).hexdigest()
    assert second["data"]["old_sha256"] == hashlib.sha256(finding.encode()).hexdigest()
    assert NAME not in json.dumps([first, second], ensure_ascii=False)
    with transaction(org_engine) as session:
        serials = session.scalars(select(Document.serial).order_by(Document.id)).all()
        assert serials == [1, 1]  # one of each kind: no number skipped, none taken again
        assert documents.verify_files(session) == (2, [])
    with org_engine.connect() as connection:
        assert verify(connection).intact


def test_a_quotation_inside_a_sentence_or_cut_short_is_requoted_the_same(
    org_engine: Engine, tmp_path: Path
) -> None:
    d = desk(tmp_path)
    long_summary = summary_naming_reporter("甲" * 600)
    lead_id = receive(org_engine, a_lead(summary=long_summary), on=DAY)
    with transaction(org_engine) as session:
        triage(session, d, lead_id)
    finding = f"窗口管理制度不健全（{NAME}反映）"  # a risk point quotes it mid-sentence
    to_rectification(org_engine, d, lead_id, finding=finding, kind="risk_point")
    assert {x.status for x in rendered(org_engine, d, lead_id)} == {"held"}
    new = "乙" * 650
    with transaction(org_engine) as session:
        amend(session, d, lead_id, field="summary", text=new, reason="去除举报人信息")
        amend(session, d, lead_id, field="finding", text="窗口管理制度不健全", reason="去除")
    issued = {x.kind: x for x in rendered(org_engine, d, lead_id)}
    assert {x.status for x in issued.values()} == {"issued"}
    facts = dict(map(tuple, (issued["assignment_notice"].content or {})["facts"]))
    assert facts["反映问题"] == new[:500]  # the notice cut it at 500: the new text cut so
    paragraph = (issued["rectification_notice"].content or {})["paragraphs"][0]
    assert "风险隐患：窗口管理制度不健全。请你单位" in paragraph


def test_a_text_no_amend_reaches_is_named_and_the_custodian_told_to_judge(
    org_engine: Engine, tmp_path: Path
) -> None:
    d = desk(tmp_path)
    post = f"窗口工作人员（{NAME}之兄）"
    lead_id = receive(org_engine, a_lead(summary=CLEAN, post=post), on=DAY)
    with transaction(org_engine) as session:
        triage(session, d, lead_id)
    [held] = rendered(org_engine, d, lead_id)
    assert documents.held_fields(held) == ["subject.post"]
    told = documents.hold_message(held, str(lead_id))
    assert "cannot be amended" in told and "lead amend" not in told and NAME not in told

    # A reporter whose name is the entity's own (金碧): no text of the lead carries it.
    with transaction(org_engine) as session:
        documents.issue(
            session,
            kind="supervision_notice",
            key="sup:own-words",
            content=documents.NoticeContent(addressee="西山区金碧街道", paragraphs=["请办理。"]),
            numbering=d.numbering,
            actor="测试员",
            reason="测试",
            on=DAY,
            lead_id=lead_id,
        )
        session.get_one(Reporter, lead_id).name = "金碧"
    [own] = [x for x in rendered(org_engine, d, lead_id) if x.kind == "supervision_notice"]
    assert documents.held_fields(own) == ["notice"]
    assert "cannot be amended" in documents.hold_message(own, str(lead_id))


def test_an_amend_that_still_names_the_reporter_is_refused_and_changes_nothing(
    org_engine: Engine, tmp_path: Path
) -> None:
    d, summary = desk(tmp_path), summary_naming_reporter(CLEAN)
    lead_id = receive(org_engine, a_lead(summary=summary), on=DAY)
    with transaction(org_engine) as session:
        triage(session, d, lead_id)
    rendered(org_engine, d, lead_id)
    attempts = [
        ("summary", f"群众（电话１３７-００００-００００）反映：{CLEAN}", "去除"),
        ("summary", CLEAN, f"去除{NAME}的姓名"),  # the reason goes on the trail
        ("summary", "   ", "去除"),
        ("subject.post", CLEAN, "去除"),
    ]
    for field, text, reason in attempts:
        with pytest.raises(BadInput) as refused, transaction(org_engine) as session:
            amend(session, d, lead_id, field=field, text=text, reason=reason)
        said = str(refused.value)
        assert NAME not in said and "137" not in said and "１３７" not in said, said
    with transaction(org_engine) as session:
        assert session.get_one(Lead, lead_id).summary == summary
        held = session.scalars(select(Document).where(Document.lead_id == lead_id)).one()
        assert held.status == "held"
    assert events(org_engine, "lead.amend") == []


def test_an_anonymous_report_keeps_no_identity_so_nothing_is_looked_for(
    org_engine: Engine, tmp_path: Path
) -> None:
    d = desk(tmp_path)
    lead_id = receive(org_engine, a_lead(summary=CLEAN, anonymous=True), on=DAY)
    with transaction(org_engine) as session:
        reporter = session.get_one(Reporter, lead_id)
        assert (reporter.name, reporter.phone, reporter.anonymous) == (None, None, True)
        assert not documents.names_reporter(session, lead_id, summary_naming_reporter(CLEAN))
        triage(session, d, lead_id)
    [notice] = rendered(org_engine, d, lead_id)
    assert notice.status == "issued"
