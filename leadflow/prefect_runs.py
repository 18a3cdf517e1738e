"""How LeadFlow's shells reach Prefect: the one adapter.

A Prefect server is used when ``PREFECT_API_URL`` names one — set by the user, or by
:func:`leadflow.stack.use_running` when the local stack runs. With none, flows run in
the command's own process without Prefect (no temporary server is started: its start-up
costs seconds, and concurrent commands raced on it).

Prefect is handed references only (docs/architecture.md principle 8): a lead's id and
external id, a decision's key. Local runs from the command line turn off the flow-run
heartbeat: in Prefect 3.8 a synchronous flow joins its heartbeat thread at exit, and that
thread sleeps in whole seconds; here the command itself is the run's lifetime.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, cast
from uuid import UUID

from models.domain.errors import LeadFlowError

# States of a flow run that will still carry its lead on, and those that will only while
# the worker that started it lives.
QUEUED_STATES = frozenset({"SCHEDULED", "PAUSED"})
STARTED_STATES = frozenset({"PENDING", "RUNNING"})


# Said once by a command that runs its flow in its own process for want of a server.
NO_SERVER = "no Prefect server (start one with `leadflow up`): running here without Prefect"


def server_configured() -> bool:
    return bool(os.environ.get("PREFECT_API_URL"))


class _NoTracebackOnTheConsole(logging.Filter):
    """Prefect logs the exception that ends a flow or task run with its traceback. The
    exception goes on to the command, which reports it (``cli.main``) as a sentence; so
    on the console the run's line stays and the traceback goes."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.exc_info, record.exc_text = None, None
        return True


@contextmanager
def local() -> Iterator[None]:
    """Flow runs of this process reported to the server: no heartbeat (above), one API
    client for all of them, and no traceback on the console."""
    from prefect.context import SyncClientContext
    from prefect.logging.handlers import PrefectConsoleHandler
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

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


def run_flow(flow: Any, say: Callable[[str], None], *args: Any) -> Any:
    """Run a flow here: as a Prefect flow run when a server is there to record it, else
    its body alone, saying so in one line."""
    if server_configured():
        with local():
            return flow(*args)
    say(NO_SERVER)
    return flow.fn(*args)


def hand_on(lead_id: int, external_id: str, attempt: int, unit: str | None = None) -> str:
    """Create the lead's intake run on the server (it does not wait for it): its id.

    The run is keyed by the attempt, so a retried hand-on of the same attempt finds the
    run it made before rather than making another."""
    from prefect.client.schemas.objects import FlowRun
    from prefect.deployments import run_deployment

    from flows.waiting import INTAKE_DEPLOYMENT

    try:
        run = cast(
            "FlowRun",
            run_deployment(
                INTAKE_DEPLOYMENT,
                parameters={"lead_id": lead_id, "external_id": external_id},
                flow_run_name=f"intake {external_id}",
                idempotency_key=f"intake-{external_id}-{attempt}",
                tags=[f"unit:{unit}"] if unit else None,
                timeout=0,
            ),
        )
    except Exception as exc:  # unreachable, refused, no such deployment: not handed on
        raise LeadFlowError(
            f"the Prefect server did not take the run ({type(exc).__name__})"
        ) from None
    return str(run.id)


INTAKE_BATCH_DEPLOYMENT = "lead-intake-batch/lead-intake-batch"
# Leads one batch intake run takes: enough that a burst needs few runs, few enough that a
# batch is done in a second or two and the stack's workers share a burst between them.
BATCH_SIZE = 50


def hand_on_batches(items: Sequence[tuple[int, str, int, str | None]]) -> dict[int, str | None]:
    """Hand many leads on — (lead id, external id, attempt, unit) each — in batch intake
    runs of up to BATCH_SIZE, created over one client: each lead's run id, or None where
    the server refused its batch.

    A batch is keyed by its leads' attempts, so a retried hand-on of the same attempts
    finds the run it made before."""
    import hashlib

    from prefect.client.orchestration import get_client

    from flows.waiting import deployment_id, forget_deployments

    handed: dict[int, str | None] = {}
    with get_client(sync_client=True) as client:
        deployment = deployment_id(client, INTAKE_BATCH_DEPLOYMENT)
        for start in range(0, len(items), BATCH_SIZE):
            batch = items[start : start + BATCH_SIZE]
            attempts = ",".join(f"{external_id}:{attempt}" for _, external_id, attempt, _ in batch)
            try:
                run = client.create_flow_run_from_deployment(
                    deployment,
                    parameters={"lead_ids": [lead_id for lead_id, *_ in batch]},
                    name=_batch_name([external_id for _, external_id, _, _ in batch]),
                    tags=sorted({f"unit:{unit}" for *_, unit in batch if unit}),
                    idempotency_key="intake-batch-"
                    + hashlib.sha256(attempts.encode()).hexdigest()[:24],
                )
            except Exception:  # the server refused or went away: these leads stay due
                forget_deployments()
                handed |= {lead_id: None for lead_id, *_ in batch}
                continue
            handed |= {lead_id: str(run.id) for lead_id, *_ in batch}
    return handed


def _batch_name(external_ids: list[str]) -> str:
    if len(external_ids) == 1:
        return f"intake batch {external_ids[0]} (1)"
    return f"intake batch {external_ids[0]}…{external_ids[-1]} ({len(external_ids)})"


def live_runs(run_ids: Sequence[str], *, grace: timedelta) -> set[str] | None:
    """Which of these flow runs will still carry their lead on — queued, suspended, or
    started less than ``grace`` ago (an intake takes seconds; one started long before is
    taken for a run whose worker died with it) — or None if the server cannot tell."""
    ids = [UUID(r) for r in run_ids if _is_uuid(r)]
    if not ids:
        return set()
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    try:
        with get_client(sync_client=True) as client:
            runs = client.read_flow_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=ids)), limit=len(ids)
            )
    except Exception:
        return None
    since = datetime.now(UTC) - grace
    return {
        str(r.id)
        for r in runs
        if r.state is not None
        and (
            r.state.type.value in QUEUED_STATES
            or (r.state.type.value in STARTED_STATES and r.state.timestamp > since)
        )
    }


def _is_uuid(text: str) -> bool:
    try:
        UUID(text)
    except ValueError:
        return False
    return True


def post_arrival(lead_id: int, external_id: str) -> str:
    """Post `leadflow.lead.received` (references only) and wait until the server has it:
    the event's id."""
    from prefect.client.orchestration import get_client
    from prefect.events import emit_event
    from prefect.events.worker import EventsWorker

    with get_client(sync_client=True) as client:
        if client.api_healthcheck() is not None:
            raise LeadFlowError("the Prefect server cannot be reached")
    event = emit_event(
        event="leadflow.lead.received",
        resource={"prefect.resource.id": f"leadflow.lead.{external_id}"},
        payload={"lead_id": lead_id, "external_id": external_id},
    )
    EventsWorker.drain_all()
    if event is None:
        raise LeadFlowError("the event could not be emitted")
    return str(event.id)


def resume_waiting_run(flow_run_id: str | None, decision_key: str) -> bool:
    """Resume the intake run suspended for the lead's decision, if one waits: with the
    recorded decision's key, where the run (one that suspended itself) takes it."""
    if not (flow_run_id and server_configured() and _is_uuid(flow_run_id)):
        return False
    from flows.waiting import resume

    try:
        resume(flow_run_id, decision_key)
    except Exception:  # not paused any more, timed out, or Prefect's record is gone
        return False
    return True


def immediate_sqlite_transactions() -> None:
    """Make Prefect's server begin its SQLite transactions IMMEDIATE.

    Prefect begins them DEFERRED unless they lock rows: one that reads and then writes
    while another connection has written since gets SQLITE_BUSY at once (its busy
    timeout never applies), answers 503, and the client waits 2, 4, 8… seconds before
    trying again. IMMEDIATE takes the write lock at BEGIN, where the busy timeout does
    apply, so concurrent writers queue instead of failing. PostgreSQL is not affected."""
    from contextlib import asynccontextmanager

    from prefect.server.database.configurations import AioSqliteConfiguration

    deferred = AioSqliteConfiguration.begin_transaction

    @asynccontextmanager
    async def immediate(self: Any, session: Any, with_for_update: bool = False) -> Any:
        async with deferred(self, session, with_for_update=True) as transaction:
            yield transaction

    AioSqliteConfiguration.begin_transaction = immediate  # type: ignore[method-assign]


def serve_prefect(argv: Sequence[str]) -> None:
    """`prefect server start` with ``argv``, its SQLite transactions begun IMMEDIATE."""
    import sys

    from prefect.cli import app

    immediate_sqlite_transactions()
    sys.argv = ["prefect", "server", "start", *argv]
    app()


if __name__ == "__main__":
    import sys

    serve_prefect(sys.argv[1:])
