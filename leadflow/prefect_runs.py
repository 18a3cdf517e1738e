"""How the command line runs LeadFlow's flows.

With no Prefect server configured (the embedded default) a flow runs here, as a local
Prefect flow run. With ``PREFECT_API_URL`` set, a lead goes through the `lead-intake`
deployment, its ``external_id`` the idempotency key, and a worker runs it.

Local runs from the command line turn off the flow-run heartbeat: in Prefect 3.8 a
synchronous flow joins its heartbeat thread at exit, and that thread sleeps in whole
seconds, so every command would wait on it; the heartbeat exists to detect crashed runs,
and here the command itself is the run's lifetime. Deployment runs keep it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast
from uuid import UUID

from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

from models.config.settings import get_settings
from models.domain.errors import LeadFlowError
from models.inputs.schemas import LeadIn
from models.services import intake, runtime
from models.store.database import transaction
from models.store.lead import Lead

INTAKE_DEPLOYMENT = "lead-intake/lead-intake"
# How long `lead submit` waits for a deployment run before saying it is queued.
SUBMIT_WAIT_SECONDS = 60


def server_configured() -> bool:
    return bool(os.environ.get("PREFECT_API_URL"))


class _NoTracebackOnTheConsole(logging.Filter):
    """Prefect logs the exception that ends a flow or task run with its traceback. The
    exception goes on to the command, which reports it (``cli.main``): LeadFlow's own
    (bad input, a refused rule) as a sentence and its exit status, anything else as a
    sentence with the traceback written to ``leadflow-error.log``. So on the console the
    run's line stays and the traceback goes; the run's record on the server keeps it."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.exc_info, record.exc_text = None, None
        return True


@contextmanager
def local() -> Iterator[None]:
    """Local flow runs: no heartbeat (above), one API client for all of them, and no
    traceback on the console (``_NoTracebackOnTheConsole``).
    Prefect makes a new client for each flow run that finds none open, loading the CA
    bundle into a new TLS context (even for the temporary server's plain HTTP) and
    opening a new connection; an open one is reused."""
    from prefect.context import SyncClientContext
    from prefect.logging.handlers import PrefectConsoleHandler

    # The console handlers are the root logger's, reached last (after the flow-run
    # logger's own API handler), and Prefect's logging configuration gives the root no
    # other: the filter, which strips the record it is handed, changes only the console.
    consoles = [h for h in logging.getLogger().handlers if isinstance(h, PrefectConsoleHandler)]
    quiet = _NoTracebackOnTheConsole()
    for handler in consoles:
        handler.addFilter(quiet)
    try:
        with (
            temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}),
            SyncClientContext.get_or_create(),
        ):
            yield
    finally:
        for handler in consoles:
            handler.removeFilter(quiet)


def through_deployment() -> bool:
    mode = get_settings().intake_mode
    return mode == "deployment" or (mode == "auto" and server_configured())


def receive_here(lead: LeadIn, source: str) -> tuple[intake.Receipt, dict[str, Any]]:
    """Record the receipt in LeadFlow's database; the lead as Prefect may see it.

    Prefect keeps every run's parameters and every event in its own database and shows
    them in its UI; the reporter's identity belongs only in LeadFlow's record
    (docs/rules.md §5). So the receipt — reporter included — is made here first, and Prefect
    is handed the lead without the reporter; the flow's own receipt step then finds the
    lead already received.
    """
    with transaction(runtime.engine()) as session:
        receipt = intake.register(
            session, [intake.Arrival(lead, source)], actor=runtime.actor()
        ).receipts[0]
    return receipt, lead.model_dump(mode="json", exclude={"reporter"})


def submit(lead: LeadIn, *, source: str) -> dict[str, Any]:
    """Receive the lead here, then run the intake flow on it (locally or by deployment)."""
    receipt, shareable = receive_here(lead, source)
    parameters: dict[str, Any] = {"lead": shareable, "source": source}
    if not through_deployment():
        from flows.intake import lead_intake

        with local():
            return {**lead_intake(**parameters), "duplicate": receipt.duplicate}
    from prefect.client.schemas.objects import FlowRun
    from prefect.deployments import run_deployment

    # Called from synchronous code, the sync-compatible run_deployment returns the run.
    run = cast(
        "FlowRun",
        run_deployment(
            INTAKE_DEPLOYMENT,
            parameters=parameters,
            idempotency_key=lead.external_id,
            timeout=SUBMIT_WAIT_SECONDS,
        ),
    )
    with transaction(runtime.engine()) as session:
        state = session.get_one(Lead, receipt.lead_id).state
    finished = run.state is not None and run.state.is_final()
    return {
        "lead_id": receipt.lead_id,
        "external_id": lead.external_id,
        "duplicate": receipt.duplicate,
        "state": state
        if finished
        else f"{state} (intake run {run.id}: {getattr(run.state, 'name', 'pending')})",
        "flow_run": str(run.id),
        "notices": [],
    }


def post(lead: LeadIn, *, source: str) -> tuple[intake.Receipt, str]:
    """Receive the lead here, then post it as a `leadflow.lead.received` event; the event id."""
    from prefect.events import emit_event

    receipt, shareable = receive_here(lead, source)
    event = emit_event(
        event="leadflow.lead.received",
        resource={"prefect.resource.id": f"leadflow.lead.{lead.external_id}"},
        payload={"lead": shareable},
    )
    if event is None:
        raise LeadFlowError("the event could not be emitted: is PREFECT_API_URL reachable?")
    return receipt, str(event.id)


def resume_waiting_run(flow_run_id: str | None, decision: dict[str, Any]) -> bool:
    """Hand the decision to the suspended intake run, if there is one to hand it to."""
    if not (flow_run_id and server_configured()):
        return False
    from prefect.flow_runs import resume_flow_run

    try:
        resume_flow_run(UUID(flow_run_id), run_input=decision)
    except Exception:  # not paused any more, or Prefect's record is gone: decide here
        return False
    return True
