"""What notices say comes from the policy in force and the organisation (docs/architecture.md
principle 4), on a real database: another commission's wording, deadlines, scoring and
coordinating office change the notices the services issue; a policy stored before the
wording was part of it still loads, and says what it said.
"""

from __future__ import annotations

import subprocess
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError
from sqlalchemy import Engine, select

from models import documents
from models.audit import AuditEvent
from models.config.policy import default_policy, read_policy
from models.documents.rendering import render_pdf
from models.domain.people import system
from models.domain.policy import Policy
from models.inputs.readers import read_organisation, read_returns
from models.services import escalations, returns
from models.services.desk import Desk
from models.services.disposal import dispose, record_outcome
from models.services.organisation import load
from models.services.policy import in_force, install
from models.services.rectification import order_rectification
from models.services.sweep import sweep_decision, sweep_rectification
from models.services.triage import triage
from models.store.base import utcnow
from models.store.database import transaction
from models.store.records import Document, PolicyRecord
from tests.conftest import EXAMPLES, KUNMING, on_day
from tests.integration.helpers import example_leads, receive
from tests.integration.history import write_returns

OFFICE = "纪检监察协调室"  # the coordinating office, as this organisation names it
SUPERVISION = "逾期仍未整改，由{office}挂牌督办，限五个工作日内整改到位。"


def other_commission() -> Policy:
    body = default_policy().model_dump(mode="json")
    body["notices"] = {
        "commission": "州纪委监委",
        "leaders": "委主要领导",
        "bulletin_scope": "全州纪检监察机关",
        "bulletin_addressee": "各县（市）纪委监委",
    }
    body["deadlines"]["work_warning_reply"] = 10
    body["scoring"] = {"red_max_rank": 2, "points": {"red": 6, "blue": 3, "white": 1}}
    for rung in body["overdue_ladder"]:
        if rung["step"] == "supervision":
            rung["notice"] = SUPERVISION
    return Policy.model_validate(body)


@pytest.fixture
def other_engine(engine: Engine, tmp_path: Path) -> Engine:
    """The example organisation with its coordinating office renamed, under another policy."""
    text = (EXAMPLES / "kunming.yaml").read_text(encoding="utf-8")
    assert text.count("name: 党风政风监督室") == 1
    path = tmp_path / "org.yaml"
    path.write_text(text.replace("name: 党风政风监督室", f"name: {OFFICE}"), encoding="utf-8")
    organisation, locate = read_organisation(path)
    with transaction(engine) as session:
        load(session, organisation, source=str(path), locate=locate, by=system("test"))
        install(session, other_commission(), by=system("test"))
    return engine


def desk(engine: Engine, tmp_path: Path, day: date) -> Desk:
    with transaction(engine) as session:
        return on_day(Desk(system("督查员"), day, in_force(session), tmp_path / "out", KUNMING))


def contents(engine: Engine, kind: str) -> list[dict[str, Any]]:
    with transaction(engine) as session:
        return list(
            session.scalars(
                select(Document.content).where(Document.kind == kind).order_by(Document.id)
            )
        )


def test_the_escalations_say_what_the_policy_and_the_organisation_say(
    other_engine: Engine, tmp_path: Path
) -> None:
    csv = write_returns(tmp_path / "returns.csv", ["2026-04", "2026-05", "2026-06"])
    with transaction(other_engine) as session:
        returns.import_returns(session, read_returns(csv), source=str(csv), by=system("test"))
    d = desk(other_engine, tmp_path, date(2026, 11, 22))
    with transaction(other_engine) as session:
        escalations.monthly(session, d, "2026-05")
    with transaction(other_engine) as session:
        escalations.quarterly(session, d, "2026-Q2")

    [warning] = contents(other_engine, "work_warning")  # R05: last in April and May
    assert warning["paragraphs"][1] == (
        "根据州纪委监委“多色榜”通报制度，现对你单位予以工作预警。请你单位认真分析原因，"
        "压实工作责任，于收到本通知书之日起10个工作日内将整改措施书面报送"
        f"州纪委监委{OFFICE}。"
    )
    [bulletin] = contents(other_engine, "bulletin")
    assert bulletin["addressee"] == "各县（市）纪委监委"
    assert (
        bulletin["paragraphs"][0] == "现将2026年5月全州纪检监察机关问题线索处置工作情况通报如下。"
    )
    assert (
        "前二名为红色（计6分），排名最后为白色（计1分），其余为蓝色（计3分）"
        in (bulletin["paragraphs"][1])
    )
    interviews = contents(other_engine, "interview_notice")
    assert len(interviews) == 2
    for interview in interviews:
        assert interview["paragraphs"][1].startswith("经委主要领导同意，由州纪委监委领导约谈")
    reports = contents(other_engine, "quarterly_report")
    assert reports and {r["addressee"] for r in reports} == {f"州纪委监委{OFFICE}"}
    [consolidated] = contents(other_engine, "consolidated_report")
    assert consolidated["addressee"] == "委主要领导"
    assert "拟由委主要领导约谈主要负责人的单位" in consolidated["paragraphs"][1]

    # The PDF says it too: the deadline and the office, as the policy and organisation word it.
    with transaction(other_engine) as session:
        warning_id = session.scalar(select(Document.id).where(Document.kind == "work_warning"))
    [rendered] = documents.render_each(
        other_engine, [warning_id], output_dir=d.output_dir, actor="test"
    )
    text = subprocess.run(
        ["pdftotext", rendered.path, "-"], capture_output=True, text=True, check=True
    ).stdout
    assert f"10个工作日内将整改措施书面报送州纪委监委{OFFICE}" in "".join(text.split())
    # The bulletin's key to its annexes scores as the policy does.
    assert bulletin["legend"] == {"red_max_rank": "二", "points": {"red": 6, "blue": 3, "white": 1}}
    with transaction(other_engine) as session:
        bulletin_id = session.scalar(select(Document.id).where(Document.kind == "bulletin"))
    [rendered] = documents.render_each(
        other_engine, [bulletin_id], output_dir=d.output_dir, actor="test"
    )
    text = subprocess.run(
        ["pdftotext", rendered.path, "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "单项前二名，计6分" in "".join(text.split())
    # A bulletin numbered before its content carried the legend still renders, without it.
    older = {k: v for k, v in bulletin.items() if k != "legend"}
    pdf = render_pdf("bulletin.html.j2", {"title": "通报", "number": "昆纪通〔2026〕1号", **older})
    assert pdf.startswith(b"%PDF")


def test_the_sweep_says_what_the_policy_and_the_organisation_say(
    other_engine: Engine, tmp_path: Path
) -> None:
    leads = {lead.external_id: lead for lead in example_leads()}
    start = desk(other_engine, tmp_path, date(2026, 6, 1))
    lead_id = receive(other_engine, leads["KM-2026-000101"])
    undecided = receive(other_engine, leads["KM-2026-000102"])
    with transaction(other_engine) as session:
        triage(session, start, lead_id)  # own handling: assigned at once
        dispose(session, start, lead_id, method="preliminary_verification", reason="核实")
        record_outcome(
            session, start, lead_id, kind="first_form", reason="教育", finding="违规发放补贴"
        )
        rectification = order_rectification(session, start, lead_id, reason="整改", days=5)
        triage(session, start, undecided)  # joint handling proposed: a leader must decide
    for day in (date(2026, 6, 9), date(2026, 8, 31), date(2026, 10, 30)):  # 催办, 督办, 问责
        with transaction(other_engine) as session:
            sweep_rectification(session, desk(other_engine, tmp_path, day), rectification.id)
    with transaction(other_engine) as session:
        sweep_decision(session, desk(other_engine, tmp_path, date(2026, 10, 30)), undecided)

    [supervision] = contents(other_engine, "supervision_notice")
    assert supervision["paragraphs"][0] == SUPERVISION.format(office=OFFICE)
    [urging] = contents(other_engine, "urging_notice")  # a rung the policy left as it was
    assert urging["paragraphs"][0] == "整改期限已过，你单位尚未报告整改情况。请立即整改并报告。"
    [accountability] = contents(other_engine, "accountability_proposal")
    assert accountability["addressee"] == OFFICE
    [overdue] = contents(other_engine, "decision_overdue_notice")
    assert overdue["addressee"] == "委主要领导"
    with transaction(other_engine) as session:
        reasons = session.scalars(
            select(AuditEvent.reason).where(AuditEvent.action == "lead.escalate")
        ).all()
    assert reasons == [f"整改逾期，{OFFICE}督办"]


def old_body() -> dict[str, Any]:
    """The default policy as stored before notices' wording, the work warning's reply
    deadline, the returns' deadline and the boards' scope were part of it."""
    body = default_policy().model_dump(mode="json")
    del body["notices"], body["deadlines"]["work_warning_reply"]
    del body["deadlines"]["monthly_returns"]
    for board in body["boards"].values():
        del board["domains"], board["units"]
    for rung in body["overdue_ladder"]:
        del rung["notice"]
    return body


def test_a_policy_stored_before_the_wording_was_policy_still_loads(
    engine: Engine, tmp_path: Path
) -> None:
    with transaction(engine) as session:
        session.add(PolicyRecord(sha256="0" * 64, body=old_body(), loaded_at=utcnow()))
    with transaction(engine) as session:
        policy = in_force(session)
    assert policy == default_policy()  # every new field defaults to what notices said
    assert policy.deadlines.work_warning_reply == 15
    assert policy.deadlines.monthly_returns == 3  # the 3rd working day of the next month
    assert {(b.domains, b.units) for b in policy.boards.values()} == {(None, None)}  # all
    assert policy.notices.commission == "市纪委监委"
    assert [r.worded("党风政风监督室") for r in policy.overdue_ladder][2] == (
        "整改逾期未完成，现由党风政风监督室挂牌督办，请限期整改到位。"
    )
    # A commission's policy file of that time reads the same.
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(old_body(), allow_unicode=True), encoding="utf-8")
    assert read_policy(path) == default_policy()


def test_a_board_names_each_domain_and_unit_once() -> None:
    body = old_body()
    for scope in ({"domains": []}, {"units": ["C06", "C06"]}):
        with pytest.raises(ValidationError, match="each once"):
            Policy.model_validate(
                {
                    **body,
                    "boards": {**body["boards"], "county": {**body["boards"]["county"], **scope}},
                }
            )
    body["deadlines"]["monthly_returns"] = 11  # past the 10th working day: refused
    with pytest.raises(ValidationError, match="monthly_returns"):
        Policy.model_validate(body)


def test_a_rung_may_name_only_the_office() -> None:
    body = old_body()
    body["overdue_ladder"][0]["notice"] = "请{unit}整改。"
    with pytest.raises(ValidationError, match="may name only"):
        Policy.model_validate(body)
    body["overdue_ladder"][0]["notice"] = ""
    with pytest.raises(ValidationError):
        Policy.model_validate(body)
