"""Lead intake (docs/rules.md §2.1–2.3) — a lead arrives, is received once, and is triaged:
jurisdiction by the subject's cadre level, the handling mode proposed with its reasons.
Own handling is assigned at once, with its notice. Joint, escalated or cross handling
waits for a commission leader's decision: in a deployment the run suspends (holding no
worker) until the decision is given — in the Prefect UI or by `leadflow lead decide` —
and then assigns; run locally, it ends and `leadflow lead decide` carries on.
"""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger, task
from prefect.context import FlowRunContext
from prefect.flow_runs import suspend_flow_run
from prefect.input import RunInput

from models import documents
from models.domain.errors import BadInput
from models.domain.triage import Mode
from models.inputs.schemas import LeadIn
from models.services import intake, runtime
from models.services import triage as triage_service
from models.store.database import transaction
from models.store.lead import Lead, TriageProposal


class LeaderDecision(RunInput):
    """委领导分析研判: the decision a commission leader gives on a proposal."""

    mode: Mode
    by: str
    reason: str


def receive(lead: LeadIn, source: str) -> tuple[int, bool]:
    with transaction(runtime.engine()) as session:
        result = intake.register(session, [intake.Arrival(lead, source)], actor=runtime.actor())
    if result.problems:
        raise BadInput(result.problems)
    receipt = result.receipts[0]
    return receipt.lead_id, receipt.duplicate


def triage(lead_id: int) -> TriageProposal:
    with transaction(runtime.engine()) as session:
        return triage_service.triage(session, runtime.desk(), lead_id)


def apply_decision(lead_id: int, decision: LeaderDecision) -> None:
    with transaction(runtime.engine()) as session:
        shortfall = triage_service.decide(
            session,
            runtime.desk(),
            lead_id,
            mode=decision.mode,
            by=decision.by,
            reason=decision.reason,
        )
    if shortfall is not None:
        get_run_logger().warning(
            "lead %s: %s; escalated handling is proposed instead", lead_id, shortfall
        )


@task(name="render-notices", retries=2, retry_delay_seconds=1)
def render_notices(lead_id: int) -> list[str]:
    """Fan-out of rendering: the lead's pending notices become PDFs (idempotent)."""
    desk = runtime.desk()
    return [
        d.path or f"{d.number} void: {d.void_reason}"
        for d in documents.render_pending(
            runtime.engine(), output_dir=desk.output_dir, actor=desk.actor, lead_id=lead_id
        )
    ]


def wait_for_decision(lead_id: int) -> LeaderDecision | None:
    """Suspend for the leader's decision when this run can be resumed (a deployment run)."""
    context = FlowRunContext.get()
    flow_run = context.flow_run if context else None
    if flow_run is None or flow_run.deployment_id is None:
        return None
    with transaction(runtime.engine()) as session:
        proposal = session.get_one(TriageProposal, lead_id)
        if proposal.decided_mode is not None:
            return None
        proposal.waiting_flow_run = str(flow_run.id)
    return suspend_flow_run(wait_for_input=LeaderDecision, key=f"decision-{lead_id}")


# Prefect's own validation of the parameters would build a pydantic model of the signature
# at every call, on top of ours; the lead is validated once, below, as LeadIn.
@flow(name="lead-intake", persist_result=True, validate_parameters=False)
def lead_intake(lead: dict[str, Any], source: str = "event") -> dict[str, Any]:
    logger = get_run_logger()
    arrival = LeadIn.model_validate(lead)
    lead_id, duplicate = receive(arrival, source)
    proposal = triage(lead_id)
    if proposal.decided_mode is None and proposal.proposed_mode != Mode.own.value:
        logger.info(
            "lead %s: %s handling proposed, awaiting a leader's decision",
            lead_id,
            proposal.proposed_mode,
        )
        decision = wait_for_decision(lead_id)
        if decision is not None:
            apply_decision(lead_id, decision)
    notices = render_notices(lead_id)
    with transaction(runtime.engine()) as session:
        state = session.get_one(Lead, lead_id).state
    return {
        "lead_id": lead_id,
        "external_id": arrival.external_id,
        "duplicate": duplicate,
        "state": state,
        "proposed_mode": proposal.proposed_mode,
        "notices": notices,
    }
