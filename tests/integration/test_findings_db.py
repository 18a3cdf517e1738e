"""Findings, not allegations, and handling as the commission does it: each outcome in its
own words; a name cleared with a notice of its own; an anonymous reporter never
criticised; an outcome without its finding issues no notice; a lead beyond the
commission referred up; each mode's notice under its own title."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, update

from models.audit import AuditEvent
from models.config.policy import default_policy
from models.domain.errors import RuleRefused
from models.domain.lifecycle import State
from models.domain.people import system
from models.domain.triage import Mode
from models.inputs.schemas import Rank, ReporterIn
from models.services import applications, findings
from models.services.desk import Desk
from models.services.disposal import dispose, record_outcome
from models.services.rectification import order_rectification
from models.services.triage import decide, triage
from models.store.database import transaction
from models.store.lead import Assignment, Lead, Outcome, TeamMember
from models.store.records import Document
from tests.conftest import KUNMING, on_day
from tests.integration.helpers import example_leads, receive

DAY = date(2026, 6, 1)


def _desk(tmp_path: Path) -> Desk:
    return on_day(Desk(system("测试员"), DAY, default_policy(), tmp_path / "out", KUNMING))


def _disposed(engine: Engine, tmp_path: Path, **changes: object) -> int:
    """KM-2026-000101 (own handling by its county), disposed for verification."""
    lead = next(x for x in example_leads() if x.external_id == "KM-2026-000101")
    lead_id = receive(engine, lead.model_copy(update=changes))
    with transaction(engine) as session:
        triage(session, _desk(tmp_path), lead_id)
        dispose(session, _desk(tmp_path), lead_id, method="preliminary_verification", reason="核")
    return lead_id


def _documents(engine: Engine, lead_id: int) -> dict[str, Document]:
    with transaction(engine) as session:
        rows = session.scalars(select(Document).where(Document.lead_id == lead_id)).all()
        return {d.kind: d for d in rows}


def _outcome_event(engine: Engine, lead_id: int) -> dict[str, object]:
    with transaction(engine) as session:
        data = session.scalar(
            select(AuditEvent.data).where(
                AuditEvent.lead_id == lead_id, AuditEvent.action == "lead.outcome"
            )
        )
    return json.loads(data or "{}")


@pytest.mark.parametrize(
    "reporter, criticised",
    [(ReporterIn(name="王五", phone="13700000000"), True), (ReporterIn(anonymous=True), False)],
    ids=["named", "anonymous"],
)
def test_a_false_accusation_clears_the_name_and_criticises_only_a_named_reporter(
    org_engine: Engine, tmp_path: Path, reporter: ReporterIn, criticised: bool
) -> None:
    lead_id = _disposed(org_engine, tmp_path, reporter=reporter)
    with transaction(org_engine) as session:
        record_outcome(
            session, _desk(tmp_path), lead_id, kind="false_accusation", reason="诬告",
            finding="经核查，所反映问题均不属实",
        )  # fmt: skip
    event = _outcome_event(org_engine, lead_id)
    assert event["reporter_criticised"] is criticised
    assert "finding_sha256" in event and "经核查" not in json.dumps(event, ensure_ascii=False)
    clearing = _documents(org_engine, lead_id)["name_clearing_notice"]
    paragraphs = " ".join((clearing.content or {})["paragraphs"])  # type: ignore[arg-type]
    assert "系诬告陷害" in paragraphs and "澄清正名" in paragraphs
    assert clearing.title == "澄清正名通知书"


def test_an_untrue_report_clears_a_name_only_when_asked_and_leaves_nothing_to_rectify(
    org_engine: Engine, tmp_path: Path
) -> None:
    lead_id = _disposed(org_engine, tmp_path)
    with transaction(org_engine) as session:
        record_outcome(
            session, _desk(tmp_path), lead_id, kind="untrue_report", reason="查无实据",
            finding="所反映问题查无实据",
        )  # fmt: skip
    assert "name_clearing_notice" not in _documents(org_engine, lead_id)
    assert _outcome_event(org_engine, lead_id)["reporter_criticised"] is False
    with pytest.raises(RuleRefused) as refused, transaction(org_engine) as session:
        order_rectification(session, _desk(tmp_path), lead_id, reason="整改")
    assert refused.value.rule == "rectification"
    other = _disposed(org_engine, tmp_path, external_id="KM-2026-000101-B")
    with transaction(org_engine) as session:
        record_outcome(
            session, _desk(tmp_path), other, kind="untrue_report", reason="查无实据",
            finding="所反映问题查无实据", clear_name=True,
        )  # fmt: skip
    paragraphs = (_documents(org_engine, other)["name_clearing_notice"].content or {})["paragraphs"]
    assert "查无实据" in paragraphs[0]  # type: ignore[index]


def test_an_outcome_without_its_finding_issues_no_notice_until_one_is_set(
    org_engine: Engine, tmp_path: Path
) -> None:
    lead_id = _disposed(org_engine, tmp_path)
    with transaction(org_engine) as session:
        record_outcome(
            session, _desk(tmp_path), lead_id, kind="first_form", reason="教育", finding="x"
        )
        # As an outcome recorded before findings existed reads after the upgrade.
        session.execute(update(Outcome).where(Outcome.lead_id == lead_id).values(finding=None))
    with transaction(org_engine) as session:
        assert ("核查结论", findings.NOT_RECORDED) in findings.entity_facts(
            session, session.get_one(Lead, lead_id)
        )
    with pytest.raises(RuleRefused) as refused, transaction(org_engine) as session:
        order_rectification(session, _desk(tmp_path), lead_id, reason="整改")
    assert refused.value.rule == "finding" and "leadflow lead finding" in str(refused.value)
    with transaction(org_engine) as session:
        findings.set_finding(
            session, _desk(tmp_path), lead_id, finding="两人上班玩游戏属实", reason="补录"
        )
        order_rectification(session, _desk(tmp_path), lead_id, reason="整改")
    notice = _documents(org_engine, lead_id)["rectification_notice"]
    paragraphs = (notice.content or {})["paragraphs"]
    assert paragraphs[0] == "经核查，你单位存在下列问题：两人上班玩游戏属实"  # type: ignore[index]
    with pytest.raises(RuleRefused), transaction(org_engine) as session:
        findings.set_finding(session, _desk(tmp_path), lead_id, finding="改写", reason="改")


def test_escalating_a_lead_the_commission_holds_refers_it_up_rather_than_keeping_it(
    org_engine: Engine, tmp_path: Path
) -> None:
    """提级 of a county-rank subject (the city's own jurisdiction): referred to the higher
    commission (报送上级), the lead closed here with the referral letter."""
    lead = next(x for x in example_leads() if x.external_id == "KM-2026-000103")
    lead_id = receive(org_engine, lead)
    with transaction(org_engine) as session:
        triage(session, _desk(tmp_path), lead_id)
        decide(session, _desk(tmp_path), lead_id, mode=Mode.escalated, by="杨正晓", reason="提级")
    with transaction(org_engine) as session:
        state = session.get_one(Lead, lead_id).state
    assert state == State.closed
    letter = _documents(org_engine, lead_id)["referral_letter"]
    assert letter.title == "问题线索报送函" and letter.number.startswith("昆纪送〔")
    assert (letter.content or {})["addressee"] == "上级纪委监委"


def test_a_cross_handling_notice_is_titled_as_cross_handling(
    org_engine: Engine, tmp_path: Path
) -> None:
    lead = next(x for x in example_leads() if x.external_id == "KM-2026-000103")
    lead_id = receive(
        org_engine,
        lead.model_copy(update={"subject": lead.subject.model_copy(update={"rank": Rank.section})}),
    )
    with transaction(org_engine) as session:
        triage(session, _desk(tmp_path), lead_id)  # local recusal: cross handling proposed
        decide(session, _desk(tmp_path), lead_id, mode=Mode.cross, by="杨正晓", reason="交叉")
    notice = _documents(org_engine, lead_id)["joint_handling_notice"]
    assert notice.title == "交叉办理通知书"


def test_a_handling_unit_applies_for_joint_handling_and_a_leader_decides(
    org_engine: Engine, tmp_path: Path
) -> None:
    """协作申请: the county handling a lead on its own applies; the leader's decision hands
    it to the inspection office, the entity's resident group and the county together —
    the lead stays in handling, its units and team replaced, a joint notice issued."""
    lead = next(x for x in example_leads() if x.external_id == "KM-2026-000101")
    lead_id = receive(org_engine, lead)
    with transaction(org_engine) as session:
        triage(session, _desk(tmp_path), lead_id)  # own handling by the county
        applications.apply(
            session, _desk(tmp_path), lead_id, mode=Mode.joint, reason="案情复杂，需要协作"
        )
        with pytest.raises(RuleRefused):  # one application at a time
            applications.apply(session, _desk(tmp_path), lead_id, mode=Mode.cross, reason="x")
    with transaction(org_engine) as session:
        decide(session, _desk(tmp_path), lead_id, mode=Mode.joint, by="杨正晓", reason="同意")
        row = session.get_one(Lead, lead_id)
        units = {
            u
            for (u,) in session.execute(
                select(Assignment.unit_id).where(Assignment.lead_id == lead_id)
            )
        }
        team = session.scalars(select(TeamMember.person_id).where(TeamMember.lead_id == lead_id))
        assert (row.state, row.handling_mode, len(units), len(list(team))) == (
            State.in_handling,
            "joint",
            2,
            4,
        )
    kinds = set(_documents(org_engine, lead_id))
    assert {"assignment_notice", "joint_handling_notice"} <= kinds
    with transaction(org_engine) as session:
        actions = session.scalars(
            select(AuditEvent.action).where(AuditEvent.lead_id == lead_id).order_by(AuditEvent.seq)
        ).all()
    assert (
        actions.index("lead.apply") < actions.index("lead.decide") < actions.index("lead.reassign")
    )


def test_an_application_refused_leaves_the_lead_as_it_was_handled(
    org_engine: Engine, tmp_path: Path
) -> None:
    lead = next(x for x in example_leads() if x.external_id == "KM-2026-000101")
    lead_id = receive(org_engine, lead)
    with transaction(org_engine) as session:
        triage(session, _desk(tmp_path), lead_id)
        applications.apply(session, _desk(tmp_path), lead_id, mode=Mode.cross, reason="回避")
        decide(session, _desk(tmp_path), lead_id, mode=Mode.own, by="杨正晓", reason="不同意")
        assert session.get_one(Lead, lead_id).handling_mode == "own"
    assert set(_documents(org_engine, lead_id)) == {"assignment_notice"}
