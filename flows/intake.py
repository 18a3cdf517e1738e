"""Lead intake (docs/rules.md §2.1–2.3) — a lead, recorded on arrival, is triaged:
jurisdiction by the subject's cadre level, the handling mode proposed with its reasons.
Own handling is assigned at once, with its notice. Joint, escalated or cross handling
waits for a commission leader's decision: in a deployment the run suspends (holding no
worker) until the policy's decision deadline; the decision is recorded through LeadFlow
(`leadflow lead decide`), which then resumes the run with the decision's key alone.

The run is handed references only — the lead's id and external id — and reads the lead
from LeadFlow's database (docs/architecture.md principle 8); its name is the lead's
external id, so Prefect's UI shows which run is which lead without what the lead says.

Under a burst the reconciler hands leads on in batches (`lead_intake_batch`): one run
takes many leads, each lead a task run of its own named after it, and a lead that waits
for a leader gets its waiting run made already suspended (flows/waiting.py) — a flow run
per lead costs about eleven requests to Prefect, which bounds a server near ten a second.
"""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.context import FlowRunContext
from prefect.flow_runs import suspend_flow_run
from sqlalchemy import select

from flows.waiting import (
    LeaderDecision,
    create_waiting_run,
    given_decision,
    pause_key,
    resume,
)
from models import documents
from models.domain.triage import Mode
from models.services import outbox, runtime
from models.services import triage as triage_service
from models.services.decisions import refuse_resume
from models.store.database import transaction
from models.store.lead import Lead, TriageProposal
from models.store.periods import SHANGHAI
from models.store.records import Document

# A waiting run suspended with less than this left before its deadline still waits this long.
SHORTEST_WAIT = timedelta(minutes=1)


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


def _waited(lead_id: int, run_id: str) -> bool:
    """Whether this run is the one recorded as waiting: started again while the lead is
    undecided, it was resumed from outside LeadFlow."""
    with transaction(runtime.engine()) as session:
        return session.get_one(TriageProposal, lead_id).waiting_flow_run == run_id


def wait_for_decision(lead_id: int) -> None:
    """Suspend for the leader's decision when this run can be resumed (a deployment run);
    resumed without the decision recorded, or with another one, act on nothing: the
    resume is refused and recorded."""
    context = FlowRunContext.get()
    flow_run = context.flow_run if context else None
    if flow_run is None or flow_run.deployment_id is None:
        return
    run = str(flow_run.id)
    given = given_decision(lead_id, flow_run.id)
    if given is None and not _waited(lead_id, run):
        seconds = _may_wait(lead_id, run)
        if seconds is None:
            return
        given = suspend_flow_run(
            wait_for_input=LeaderDecision, key=pause_key(lead_id), timeout=seconds
        ).decision
    with transaction(runtime.engine()) as session:
        refused = refuse_resume(session, lead_id, given or "", run=run, actor=runtime.actor())
    if refused:
        get_run_logger().warning("lead %s: resume refused (%s)", lead_id, refused)


def _awaits_leader(proposal: TriageProposal) -> bool:
    return proposal.decided_mode is None and proposal.proposed_mode != Mode.own.value


def take_in(lead_id: int, *, waiting: bool) -> dict[str, Any]:
    """Triage the recorded lead; wait for a leader where one must decide and ``waiting``;
    render its notices. What happened, as references."""
    proposal = triage(lead_id)
    if _awaits_leader(proposal):
        _log().info("lead %s: %s handling proposed", lead_id, proposal.proposed_mode)
        if waiting:
            wait_for_decision(lead_id)
    notices = render_notices(lead_id) if waiting else render_notices.fn(lead_id)
    return _outcome(lead_id, proposal, notices)


def _outcome(lead_id: int, proposal: TriageProposal, notices: list[str]) -> dict[str, Any]:
    """What the run came to, as references: a notice held because it would name the
    reporter is named by its number alone, and the run still ends normally."""
    with transaction(runtime.engine()) as session:
        state = session.get_one(Lead, lead_id).state
        held = list(
            session.scalars(
                select(Document.number)
                .where(Document.lead_id == lead_id, Document.status == documents.HELD)
                .order_by(Document.id)
            )
        )
    if held:
        _log().info("lead %s: %s notice(s) held, naming the reporter", lead_id, len(held))
    return {
        "lead_id": lead_id,
        "state": state.value,
        "proposed_mode": proposal.proposed_mode,
        "notices": notices,
        "held": held,
    }


def park(lead_id: int, external_id: str, unit: str | None) -> str | None:
    """Give the lead awaiting a leader its waiting run, made suspended (flows/waiting.py),
    unless it has one or was decided meanwhile: the run's id."""
    with transaction(runtime.engine()) as session:
        proposal = session.get_one(TriageProposal, lead_id)
        if not _awaits_leader(proposal) or proposal.waiting_flow_run is not None:
            return proposal.waiting_flow_run
        seconds = _seconds_until(proposal.decision_due)
    run = create_waiting_run(
        lead_id, external_id, seconds=seconds, tags=[f"unit:{unit}"] if unit else []
    )
    with transaction(runtime.engine()) as session:
        proposal = session.get_one(TriageProposal, lead_id, populate_existing=True)
        if proposal.waiting_flow_run is None:
            proposal.waiting_flow_run = run
        decided = proposal.decision_key
    if decided is not None:  # decided while the run was made: it goes on at once
        resume(run, decided)
    return run


@task(
    name="lead-intake",
    task_run_name="intake {external_id}",
    retries=2,
    retry_delay_seconds=1,
    cache_policy=NO_CACHE,
    persist_result=False,
)
def take_in_one(lead_id: int, external_id: str, unit: str | None) -> dict[str, Any]:
    """One lead of a batch: triaged; its waiting run made if a leader must decide, else
    its notices rendered."""
    proposal = triage(lead_id)
    # A lead that waits has its notices rendered by its waiting run, once decided.
    if _awaits_leader(proposal) and park(lead_id, external_id, unit) is not None:
        return _outcome(lead_id, proposal, [])
    return _outcome(lead_id, proposal, render_notices.fn(lead_id))


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


@flow(name="lead-intake-batch", persist_result=True, validate_parameters=False)
def lead_intake_batch(lead_ids: list[int]) -> list[dict[str, Any]]:
    """Many recorded leads, each a task run of its own named after it; a lead whose task
    failed stays received, and the reconciler hands it on again."""
    outcomes = []
    with transaction(runtime.engine()) as session:
        leads = outbox.references(session, [int(i) for i in lead_ids])
    for lead_id, external_id, unit in leads:
        state = take_in_one(lead_id, external_id, unit, return_state=True)
        outcomes.append(state.result() if state.is_completed() else {"lead_id": lead_id})
    return outcomes
