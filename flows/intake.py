"""Lead intake (docs/rules.md §2.1–2.3) — a lead, recorded on arrival, is triaged:
jurisdiction by the subject's cadre level, the handling mode proposed with its reasons.
Own handling is assigned at once, with its notice. Joint, escalated or cross handling
waits for a commission leader's decision: in a deployment the run suspends (holding no
worker) until the policy's decision deadline; the decision is recorded through LeadFlow
(`leadflow lead decide`), which then resumes the run with the decision's key alone.

The run is handed references only — the lead's id and external id — and reads the lead
from LeadFlow's database (docs/architecture.md principle 8); its name is the lead's
external id, so Prefect's UI shows which run is which lead without what the lead says.
"""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.context import FlowRunContext
from prefect.flow_runs import suspend_flow_run
from prefect.input import RunInput

from models import documents
from models.domain.triage import Mode
from models.services import runtime
from models.services import triage as triage_service
from models.services.decisions import refuse_resume
from models.store.database import transaction
from models.store.lead import Lead, TriageProposal
from models.store.periods import SHANGHAI

# A waiting run suspended with less than this left before its deadline still waits this long.
SHORTEST_WAIT = timedelta(minutes=1)


class LeaderDecision(RunInput):
    """The key of a decision recorded in LeadFlow: nothing else reaches Prefect."""

    decision: str


def triage(lead_id: int) -> TriageProposal:
    with transaction(runtime.engine()) as session:
        return triage_service.triage(session, runtime.desk(), lead_id)


@task(name="render-notices", retries=2, retry_delay_seconds=1)
def render_notices(lead_id: int) -> list[str]:
    """The lead's pending notices become PDFs (idempotent): their numbers."""
    desk = runtime.desk()
    return [
        d.number
        for d in documents.render_pending(
            runtime.engine(), output_dir=desk.output_dir, actor=desk.actor, lead_id=lead_id
        )
    ]


def _seconds_until(due: Any) -> int:
    """Seconds from now to the end of the decision's last day, in the commission's time."""
    if due is None:
        return 0
    end = datetime.combine(due + timedelta(days=1), time(), tzinfo=SHANGHAI)
    left = end - datetime.now(SHANGHAI)
    return int(max(left, SHORTEST_WAIT).total_seconds())


def _may_wait(lead_id: int, run_id: str) -> int | None:
    """Record this run as the one waiting for the lead's decision: the seconds it may wait,
    or None when it must not wait (decided already, or another run waits: a duplicate)."""
    with transaction(runtime.engine()) as session:
        proposal = session.get_one(TriageProposal, lead_id)
        if proposal.decided_mode is not None:
            return None
        if proposal.waiting_flow_run not in (None, run_id):
            return None
        proposal.waiting_flow_run = run_id
        return _seconds_until(proposal.decision_due)


def wait_for_decision(lead_id: int) -> None:
    """Suspend for the leader's decision when this run can be resumed (a deployment run);
    resumed, act only on the decision the record holds (a stale or foreign resume is
    refused and recorded)."""
    context = FlowRunContext.get()
    flow_run = context.flow_run if context else None
    if flow_run is None or flow_run.deployment_id is None:
        return
    seconds = _may_wait(lead_id, str(flow_run.id))
    if seconds is None:
        return
    given = suspend_flow_run(
        wait_for_input=LeaderDecision, key=f"decision-{lead_id}", timeout=seconds
    )
    with transaction(runtime.engine()) as session:
        refused = refuse_resume(
            session, lead_id, given.decision, run=str(flow_run.id), actor=runtime.actor()
        )
    if refused:
        get_run_logger().warning("lead %s: resume refused (%s)", lead_id, refused)


def take_in(lead_id: int, *, waiting: bool) -> dict[str, Any]:
    """Triage the recorded lead; wait for a leader where one must decide and ``waiting``;
    render its notices. What happened, as references."""
    proposal = triage(lead_id)
    if proposal.decided_mode is None and proposal.proposed_mode != Mode.own.value:
        _log().info("lead %s: %s handling proposed", lead_id, proposal.proposed_mode)
        if waiting:
            wait_for_decision(lead_id)
    notices = render_notices(lead_id) if waiting else render_notices.fn(lead_id)
    with transaction(runtime.engine()) as session:
        state = session.get_one(Lead, lead_id).state
    return {
        "lead_id": lead_id,
        "state": state.value,
        "proposed_mode": proposal.proposed_mode,
        "notices": notices,
    }


def _log() -> logging.Logger | logging.LoggerAdapter[logging.Logger]:
    return get_run_logger() if FlowRunContext.get() else logging.getLogger("leadflow.intake")


# The parameters are references (ids) that the flow reads the lead by: nothing to validate
# beyond the integer, and Prefect's own validation would build a model at every call.
@flow(
    name="lead-intake",
    flow_run_name="intake {external_id}",
    persist_result=True,
    validate_parameters=False,
)
def lead_intake(lead_id: int | str, external_id: str) -> dict[str, Any]:
    return {"external_id": external_id, **take_in(int(lead_id), waiting=True)}
