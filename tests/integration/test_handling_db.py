"""Handling steps on a real database: deadlines with their marks, unanswered proposals,
recusal that leaves too few, the overdue ladder taken once, and each step refused, in
its own words, until what it waits for is done."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from datetime import date, timedelta
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from models import documents
from models.audit import AuditEvent, verify
from models.config.policy import default_policy
from models.domain.errors import RuleRefused
from models.domain.lifecycle import State
from models.domain.people import system
from models.domain.recusal import RecusalShortfall
from models.domain.triage import Mode
from models.inputs.schemas import Flag
from models.services.desk import Desk
from models.services.disposal import close, dispose, record_outcome
from models.services.rectification import follow_up, order_rectification, report_rectification
from models.services.sweep import sweep_decision, sweep_rectification
from models.services.triage import decide, triage
from models.store.database import transaction
from models.store.lead import (
    Assignment,
    Disposal,
    LadderStep,
    Lead,
    Rectification,
    TeamMember,
    TriageProposal,
)
from models.store.organisation import Unit
from models.store.records import Document
from tests.conftest import KUNMING, on_day
from tests.integration.helpers import example_leads, receive


def desk(tmp_path: Path, day: date, **policy_changes: object) -> Desk:
    policy = default_policy()
    if policy_changes:
        policy = policy.model_copy(update=policy_changes)
    return on_day(Desk(system("测试员"), day, policy, tmp_path / "out", KUNMING))


def lead_by(external_id: str):  # type: ignore[no-untyped-def]
    return next(lead for lead in example_leads() if lead.external_id == external_id)


def test_a_deadline_into_an_uncovered_year_is_marked_on_the_notice_and_in_the_trail(
    org_engine: Engine, tmp_path: Path
) -> None:
    d = desk(tmp_path, date(2026, 12, 20))
    lead_id = receive(org_engine, lead_by("KM-2026-000101"))
    with transaction(org_engine) as session:
        triage(session, d, lead_id)  # own handling: assigned at once
        dispose(session, d, lead_id, method="preliminary_verification", reason="核实")
        record_outcome(
            session, d, lead_id, kind="first_form", reason="教育", finding="违规发放补贴"
        )
        rectification = order_rectification(session, d, lead_id, reason="整改", days=15)
    assert rectification.deadline == date(2027, 1, 11) and rectification.deadline_provisional
    with transaction(org_engine) as session:
        event = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "lead.order_rectification")
        ).one()
        [doc_id] = [
            i
            for i in documents.pending(session, lead_id=lead_id)
            if session.get(Document, i).kind == "rectification_notice"
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
        proposal = triage(session, desk(tmp_path, date(2026, 6, 1)), lead_id)
    assert proposal.decision_due == date(2026, 6, 8)  # 5 working days
    for day, expected in (
        (date(2026, 6, 8), None),
        (date(2026, 6, 9), "decision_overdue"),
        (date(2026, 6, 30), None),
    ):
        with transaction(org_engine) as session:
            step = sweep_decision(session, desk(tmp_path, day), lead_id)
        assert (step.step if step else None) == expected, day


def test_recusal_that_leaves_too_few_escalates_and_never_relaxes(
    org_engine: Engine, tmp_path: Path
) -> None:
    lead_id = receive(org_engine, lead_by("KM-2026-000102"))
    too_big = default_policy().team.model_copy(update={"size": 500})
    d = desk(tmp_path, date(2026, 6, 1), team=too_big)
    with transaction(org_engine) as session:
        triage(session, d, lead_id)
    with transaction(org_engine) as session:
        shortfall = decide(session, d, lead_id, mode=Mode.joint, by="杨正晓", reason="同意")
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
        triage(session, d, lead_id)
        dispose(session, d, lead_id, method="preliminary_verification", reason="核实")
        record_outcome(
            session, d, lead_id, kind="first_form", reason="教育", finding="违规发放补贴"
        )
        rectification = order_rectification(session, d, lead_id, reason="整改", days=5)
    late = desk(tmp_path, date(2026, 8, 31))
    for _ in range(2):  # sweeps missed for weeks: the furthest rung only, once
        with transaction(org_engine) as session:
            sweep_rectification(session, late, rectification.id)
    with transaction(org_engine) as session:
        steps = list(session.scalars(select(LadderStep.step).order_by(LadderStep.id)))
        state = session.get(Lead, lead_id).state
        renewed = session.get_one(type(rectification), rectification.id).renewed_deadline
    # No reminder after the deadline, no urging beside the 督办, no 问责 on the same day.
    assert steps == ["supervision"] and state == "escalated"
    assert renewed == late.calendar.add_working_days(late.today, 10).due
    for day, taken in ((renewed, []), (renewed + timedelta(days=1), ["accountability"])):
        with transaction(org_engine) as session:
            done = sweep_rectification(session, desk(tmp_path, day), rectification.id)
        assert [s.step for s in done] == taken  # 问责 once the new deadline has passed


def test_escalated_handling_moves_jurisdiction_up(org_engine: Engine, tmp_path: Path) -> None:
    d = desk(tmp_path, date(2026, 6, 1))
    lead = lead_by("KM-2026-000101")  # a street's general cadre: the county's jurisdiction
    lead_id = receive(org_engine, lead.model_copy(update={"flags": [Flag.public_reaction]}))
    with transaction(org_engine) as session:
        proposal = triage(session, d, lead_id)
        assert proposal.proposed_mode == "escalated"
        decide(session, d, lead_id, mode=Mode.escalated, by="杨正晓", reason="提级")
    with transaction(org_engine) as session:
        row = session.get(Lead, lead_id)
        units = dict(session.execute(select(Unit.id, Unit.code)).all())
    assert units[row.jurisdiction_unit_id] == units[row.lead_unit_id] == "O2"  # C04's office


def test_each_step_waits_for_the_one_before_it(org_engine: Engine, tmp_path: Path) -> None:
    """Disposal once, the outcome after it and once, rectification after the outcome, the
    follow-up after the entity's report; a refused step leaves nothing behind."""
    d = desk(tmp_path, date(2026, 6, 1))
    lead_id = receive(org_engine, lead_by("KM-2026-000101"))
    with transaction(org_engine) as session:
        triage(session, d, lead_id)  # own handling: assigned at once

    def refused(rule: str, message: str, step: Callable[[Session], object]) -> None:
        with pytest.raises(RuleRefused) as refusal, transaction(org_engine) as session:
            step(session)
        assert str(refusal.value) == f"refused by rule '{rule}': {message}"

    def done(step: Callable[[Session], object]) -> None:
        with transaction(org_engine) as session:
            step(session)

    outcome = partial(
        record_outcome,
        desk=d,
        lead_id=lead_id,
        kind="first_form",
        reason="教育",
        finding="违规发放补贴",
    )
    refused("outcome", f"an outcome follows disposal; lead {lead_id} is 'in_handling'", outcome)
    done(lambda s: dispose(s, d, lead_id, method="preliminary_verification", reason="核实"))
    refused(
        "disposal",
        f"lead {lead_id} was already disposed (preliminary_verification)",
        lambda s: dispose(s, d, lead_id, method="talk_letter", reason="函询"),
    )
    refused(
        "closure",
        "a disposed lead is closed with its outcome recorded first",
        lambda s: close(s, d, lead_id, reason="办结"),
    )
    refused(
        "rectification",
        "record the outcome before ordering rectification",
        lambda s: order_rectification(s, d, lead_id, reason="整改"),
    )
    report = partial(report_rectification, desk=d, lead_id=lead_id, reason="报告")
    check = partial(follow_up, desk=d, lead_id=lead_id, passed=True, reason="回头看")
    refused("rectification", f"lead {lead_id} has no open rectification", report)
    refused("rectification", f"lead {lead_id} has no open rectification", check)
    done(outcome)
    refused("outcome", f"lead {lead_id} already has its outcome", outcome)
    done(lambda s: order_rectification(s, d, lead_id, reason="整改"))
    refused("rectification", "the entity has not reported its rectification yet", check)
    done(report)
    done(check)
    with transaction(org_engine) as session:
        lead = session.get_one(Lead, lead_id)
        rectifications = session.scalars(select(Rectification)).all()
    assert lead.state is State.closed and lead.closed_at is not None
    assert len(rectifications) == 1 and rectifications[0].verified_at is not None


def test_a_lead_closed_at_disposal_needs_no_outcome(org_engine: Engine, tmp_path: Path) -> None:
    """予以了结: the disposal closes the lead in the same step, with no outcome recorded."""
    d = desk(tmp_path, date(2026, 6, 1))
    lead_id = receive(org_engine, lead_by("KM-2026-000101"))
    with transaction(org_engine) as session:
        triage(session, d, lead_id)
        dispose(session, d, lead_id, method="close", reason="反映问题不实")
    with transaction(org_engine) as session:
        state = session.get_one(Lead, lead_id).state
        method = session.get_one(Disposal, lead_id).method
        actions = session.scalars(
            select(AuditEvent.action).where(AuditEvent.lead_id == lead_id).order_by(AuditEvent.seq)
        ).all()
    assert (state, method) == (State.closed, "close")
    assert actions[-2:] == ["lead.dispose", "lead.close_disposed"]
