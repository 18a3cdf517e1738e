"""Handling steps on a real database: deadlines with their marks, unanswered proposals,
recusal that leaves too few, and the overdue ladder taken once."""

from __future__ import annotations

import json
import subprocess
from datetime import date
from pathlib import Path

from sqlalchemy import Engine, func, select

from models import documents, handling
from models.audit import AuditEvent, verify
from models.database import transaction
from models.lead import (
    Assignment,
    LadderStep,
    Lead,
    TeamMember,
    TriageProposal,
)
from models.organisation import Unit
from models.policy import default_policy
from models.recusal import RecusalShortfall
from models.schemas import Flag
from models.triage import Mode
from tests.integration.helpers import example_leads, receive


def desk(tmp_path: Path, day: date, **policy_changes: object) -> handling.Desk:
    policy = default_policy()
    if policy_changes:
        policy = policy.model_copy(update=policy_changes)
    return handling.Desk("测试员", day, policy, tmp_path / "out")


def lead_by(external_id: str):  # type: ignore[no-untyped-def]
    return next(lead for lead in example_leads() if lead.external_id == external_id)


def test_a_deadline_into_an_uncovered_year_is_marked_on_the_notice_and_in_the_trail(
    org_engine: Engine, tmp_path: Path
) -> None:
    d = desk(tmp_path, date(2026, 12, 20))
    lead_id = receive(org_engine, lead_by("KM-2026-000101"))
    with transaction(org_engine) as session:
        handling.triage(session, d, lead_id)  # own handling: assigned at once
        handling.dispose(session, d, lead_id, method="preliminary_verification", reason="核实")
        handling.record_outcome(session, d, lead_id, kind="first_form", reason="教育")
        rectification = handling.order_rectification(session, d, lead_id, reason="整改", days=15)
    assert rectification.deadline == date(2027, 1, 11) and rectification.deadline_provisional
    with transaction(org_engine) as session:
        event = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "lead.order_rectification")
        ).one()
        [doc_id] = [
            i
            for i in documents.pending(session, lead_id=lead_id)
            if session.get(documents.Document, i).kind == "rectification_notice"
        ]
        document = documents.render(session, doc_id, output_dir=d.output_dir, actor="t")
    deadline = json.loads(event.data)["deadline"]
    assert deadline == {
        "due": "2027-01-11",
        "working_days": 15,
        "provisional": True,
        "uncovered_years": [2027],
    }
    text = subprocess.run(
        ["pdftotext", document.path, "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "2027年1月11日" in "".join(text.split()) and "暂定" in text


def test_an_unanswered_proposal_goes_up_once(org_engine: Engine, tmp_path: Path) -> None:
    lead_id = receive(org_engine, lead_by("KM-2026-000102"))
    with transaction(org_engine) as session:
        proposal = handling.triage(session, desk(tmp_path, date(2026, 6, 1)), lead_id)
    assert proposal.decision_due == date(2026, 6, 8)  # 5 working days
    for day, expected in (
        (date(2026, 6, 8), None),
        (date(2026, 6, 9), "decision_overdue"),
        (date(2026, 6, 30), None),
    ):
        with transaction(org_engine) as session:
            step = handling.sweep_decision(session, desk(tmp_path, day), lead_id)
        assert (step.step if step else None) == expected, day


def test_recusal_that_leaves_too_few_escalates_and_never_relaxes(
    org_engine: Engine, tmp_path: Path
) -> None:
    lead_id = receive(org_engine, lead_by("KM-2026-000102"))
    too_big = default_policy().team.model_copy(update={"size": 500})
    d = desk(tmp_path, date(2026, 6, 1), team=too_big)
    with transaction(org_engine) as session:
        handling.triage(session, d, lead_id)
    with transaction(org_engine) as session:
        shortfall = handling.decide(
            session, d, lead_id, mode=Mode.joint, by="杨正晓", reason="同意"
        )
    assert isinstance(shortfall, RecusalShortfall) and "needs 500" in str(shortfall)
    with transaction(org_engine) as session:
        proposal = session.get(TriageProposal, lead_id)
        lead = session.get(Lead, lead_id)
        actions = list(
            session.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.lead_id == lead_id)
                .order_by(AuditEvent.seq)
            )
        )
        assigned = session.scalar(select(func.count()).where(Assignment.lead_id == lead_id))
        drawn = session.scalar(select(func.count()).where(TeamMember.lead_id == lead_id))
    assert actions[-2:] == ["lead.decide", "lead.recusal_shortfall"]  # both on the record
    assert "lead.assign" not in actions and assigned == drawn == 0  # nothing half-assigned
    assert (lead.state, proposal.proposed_mode, proposal.decided_mode) == (
        "triaged",
        "escalated",
        None,
    )
    with org_engine.connect() as connection:
        assert verify(connection).intact


def test_the_ladder_takes_each_step_once_even_when_swept_twice(
    org_engine: Engine, tmp_path: Path
) -> None:
    d = desk(tmp_path, date(2026, 6, 1))
    lead_id = receive(org_engine, lead_by("KM-2026-000101"))
    with transaction(org_engine) as session:
        handling.triage(session, d, lead_id)
        handling.dispose(session, d, lead_id, method="preliminary_verification", reason="核实")
        handling.record_outcome(session, d, lead_id, kind="first_form", reason="教育")
        rectification = handling.order_rectification(session, d, lead_id, reason="整改", days=5)
    late = desk(tmp_path, date(2026, 8, 31))
    for _ in range(2):
        with transaction(org_engine) as session:
            handling.sweep_rectification(session, late, rectification.id)
    with transaction(org_engine) as session:
        steps = list(session.scalars(select(LadderStep.step).order_by(LadderStep.id)))
        state = session.get(Lead, lead_id).state
    assert steps == ["reminder", "urging", "supervision", "accountability"]
    assert state == "escalated"


def test_escalated_handling_moves_jurisdiction_up(org_engine: Engine, tmp_path: Path) -> None:
    d = desk(tmp_path, date(2026, 6, 1))
    lead = lead_by("KM-2026-000101")  # a street's general cadre: the county's jurisdiction
    lead_id = receive(org_engine, lead.model_copy(update={"flags": [Flag.public_reaction]}))
    with transaction(org_engine) as session:
        proposal = handling.triage(session, d, lead_id)
        assert proposal.proposed_mode == "escalated"
        handling.decide(session, d, lead_id, mode=Mode.escalated, by="杨正晓", reason="提级")
    with transaction(org_engine) as session:
        row = session.get(Lead, lead_id)
        units = dict(session.execute(select(Unit.id, Unit.code)).all())
    assert units[row.jurisdiction_unit_id] == units[row.lead_unit_id] == "O2"  # C04's office
