"""The long-lived worker (`leadflow worker`): LeadFlow's deployment runs in this process.

A process work pool or `prefect serve` starts a Python process for every flow run (about
130 MB and seconds of imports). This worker applies the deployments of prefect.yaml on
the server at PREFECT_API_URL, polls that server for their scheduled runs — new ones,
and waiting runs a leader's decision has resumed — and runs each in a thread of this
process, at most ``--limit`` at once.

A run is claimed by moving it from Scheduled to Pending: the server grants that move to
one claimant only, so several workers may poll the same server and each run is executed
once. SIGTERM or SIGINT stops the taking of runs; the running ones are given
``GRACE_SECONDS`` to finish, and any still running then is handed back to be scheduled
again.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import inspect
import itertools
import json
import logging
import os
import random
import signal
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType
from typing import TYPE_CHECKING, Annotated, Any
from uuid import UUID

import typer

if TYPE_CHECKING:
    from prefect import Flow
    from prefect.client.orchestration import SyncPrefectClient
    from prefect.client.schemas.objects import FlowRun
    from prefect.client.schemas.responses import FlowRunResponse
    from prefect.states import State

log = logging.getLogger("leadflow.worker")

DEFAULT_LIMIT = 4
DEFAULT_POLL_SECONDS = 0.25
# How long a stopping worker waits for its running runs before handing them back.
GRACE_SECONDS = 30.0
GIVE_BACK_SECONDS = 10.0
# How often the poll also tells the server the deployments are served (see _scheduled).
READY_SECONDS = 30.0
# How long to wait before polling again a server that failed to answer.
UNREACHABLE_SECONDS = 2.0
# However long a request to the server hangs, a stopping worker is gone after this.
EXIT_SECONDS = GRACE_SECONDS + GIVE_BACK_SECONDS + 5.0
# A poll asks for this many candidates per free slot, so that a run another worker took
# in the meantime leaves a spare to claim instead of a wait for the next poll.
CANDIDATES_PER_SLOT = 3


@dataclass(frozen=True)
class Served:
    """A deployment applied on the server, and the flow its runs execute here."""

    deployment_id: UUID
    name: str
    flow: Flow[..., Any]


def flow_of(entrypoint: str) -> Flow[..., Any]:
    """The flow of a prefect.yaml entrypoint (`flows/intake.py:lead_intake`), imported
    as a module of this process like every other."""
    module, _, name = entrypoint.partition(":")
    flow: Flow[..., Any] = getattr(
        importlib.import_module(module.removesuffix(".py").replace("/", ".")), name
    )
    return flow


def apply_deployments(stopping: threading.Event) -> dict[UUID, Served]:
    """Create or update the deployments of prefect.yaml (schedules and triggers too) on
    the server; the ones this worker serves, by deployment id. Stops early once
    ``stopping`` is set."""
    from flows.serve import declared, deployments

    served: dict[UUID, Served] = {}
    for spec, deployment in zip(declared(), deployments(), strict=True):
        deployment_id = _apply(deployment, stopping)
        if deployment_id is None:
            break
        served[deployment_id] = Served(
            deployment_id, deployment.full_name, flow_of(spec["entrypoint"])
        )
    return served


def _apply(deployment: Any, stopping: threading.Event) -> UUID | None:
    """Apply one deployment unless the server has it as declared already; if the server
    cannot take it now (a busy SQLite database refuses writes for a while) but has it,
    serve the copy it has rather than wait, and otherwise try again until it can or the
    worker is stopped."""
    names = {t.name for t in deployment.triggers if t.name}
    # The declaration's digest rides in the deployment's version, so a worker restarted
    # on the same prefect.yaml and code reads it back instead of writing it again.
    digest = json.dumps(deployment.model_dump(mode="json"), sort_keys=True, default=str)
    deployment.version = f"{deployment.version} {hashlib.sha256(digest.encode()).hexdigest()[:12]}"
    for attempt in itertools.count():
        if stopping.is_set():
            return None
        try:
            current = _current(deployment.full_name, deployment.version, names)
            if current is not None:
                log.info("deployment %s as declared already (%s)", deployment.full_name, current)
                return current
            deployment_id: UUID = deployment.apply()
            _one_automation_each(deployment_id, names)
        except Exception as exc:
            existing = _existing(deployment.full_name)
            if existing is not None:
                log.warning(
                    "deployment %s not updated (%s): the server's copy is served",
                    deployment.full_name,
                    type(exc).__name__,
                )
                return existing
            log.warning("deployment %s not applied (%s)", deployment.full_name, type(exc).__name__)
            stopping.wait(min(30.0, 2.0**attempt))
            continue
        log.info("deployment %s applied (%s)", deployment.full_name, deployment_id)
        return deployment_id
    return None


def _current(name: str, version: str, triggers: set[str]) -> UUID | None:
    """The deployment's id if the server has it with this version and one automation for
    each of its triggers."""
    from prefect import get_client
    from prefect.exceptions import ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            found = client.read_deployment_by_name(name)
        except ObjectNotFound:
            return None
        if found.version != version:
            return None
        related = client.read_resource_related_automations(f"prefect.deployment.{found.id}")
        if sorted(a.name for a in related if a.name in triggers) != sorted(triggers):
            return None
        return found.id


def _existing(name: str) -> UUID | None:
    from prefect import get_client

    try:
        with get_client(sync_client=True) as client:
            found: UUID = client.read_deployment_by_name(name).id
            return found
    except Exception:
        return None


def _one_automation_each(deployment_id: UUID, names: set[str]) -> None:
    """Applying replaces a deployment's automations by deleting then creating them, so two
    workers starting together can leave two of a trigger (two runs for every event): all
    but the one with the least id of each name are deleted, which every worker decides
    alike, so the last to look leaves one."""
    from prefect import get_client

    with get_client(sync_client=True) as client:
        related = client.read_resource_related_automations(f"prefect.deployment.{deployment_id}")
        kept: set[str] = set()
        for automation in sorted(related, key=lambda a: str(a.id)):
            if automation.name not in names:
                continue
            if automation.name in kept:
                client.delete_automation(automation.id)
                log.info("duplicate automation %s deleted", automation.id)
            kept.add(automation.name)


def claim(client: SyncPrefectClient, flow_run: FlowRun | FlowRunResponse) -> bool:
    """Move the run from Scheduled to Pending; True when this worker got it.

    The server refuses Pending to a run another worker made Pending, Running or Paused
    (an abort). When the client retried the proposal after a reply was lost (a busy
    server answers 503), the retry finds the Pending the first attempt made and is
    rejected as a repeated transition: that Pending is this worker's.
    """
    from prefect.client.schemas.responses import OrchestrationResult, SetStateStatus
    from prefect.exceptions import ObjectNotFound
    from prefect.states import Pending

    try:
        result: OrchestrationResult[Any] = client.set_flow_run_state(flow_run.id, Pending())
    except ObjectNotFound:
        return False
    state = result.state
    if state is None or not state.is_pending():
        return False
    if result.status == SetStateStatus.REJECT:
        log.info("run %s (%s): claim repeated, the first one held", flow_run.id, flow_run.name)
    elif result.status != SetStateStatus.ACCEPT:
        return False
    if state.state_details.scheduled_time is None:
        # The server also grants Pending to a run that ended Failed, Crashed or Completed
        # without a stored result (one another worker ran after this one polled); only a
        # Pending made from a Scheduled state carries its scheduled time.
        _put_back(client, flow_run)
        return False
    return True


def _put_back(client: SyncPrefectClient, flow_run: FlowRun | FlowRunResponse) -> None:
    """Restore the ending that a mistaken claim replaced with Pending (see `claim`)."""
    from prefect.states import State

    states = sorted(client.read_flow_run_states(flow_run.id), key=lambda s: s.timestamp)
    if len(states) < 2:
        return
    ended = states[-2]
    client.set_flow_run_state(
        flow_run.id,
        State(type=ended.type, name=ended.name, message=ended.message, data=ended.data),
        force=True,
    )
    log.warning(
        "run %s (%s) had already ended %s: left as it was", flow_run.id, flow_run.name, ended.name
    )


def execute(served: Served, flow_run: FlowRun) -> None:
    """Run a claimed flow run to its end here, as Prefect's engine runs it in a process of
    its own: its states, logs and result reach the server the same way."""
    from prefect.exceptions import Abort, Pause
    from prefect.flow_engine import run_flow

    started = time.monotonic()
    try:
        result: Any = run_flow(served.flow, flow_run=flow_run, return_type="state")
        if inspect.iscoroutine(result):
            result = asyncio.run(result)
    except Pause:
        log.info(
            "run %s (%s) suspended after %.2f s",
            flow_run.id,
            flow_run.name,
            time.monotonic() - started,
        )
        return
    except Abort:
        log.info("run %s (%s) aborted by the server", flow_run.id, flow_run.name)
        return
    except Exception as exc:
        # The engine itself failed, not the flow (whose errors end as a Failed state).
        log.error("run %s (%s) ended by %s", flow_run.id, flow_run.name, type(exc).__name__)
        return
    ended = getattr(result, "name", None) or "?"
    log.info(
        "run %s (%s) %s in %.2f s", flow_run.id, flow_run.name, ended, time.monotonic() - started
    )


class SuspensionWatch:
    """One observer, for all of this worker's runs, of a run suspended from outside it
    (from Prefect's UI or API), which the run must notice at its next step.

    Prefect's engine starts such an observer for every deployment run — a thread, an event
    loop, an API client and a websocket — and waits for it to connect: about 150 ms of a
    run that otherwise takes tens, and a subscription on the server for every run. Here
    one observer serves every run; the engine's per-run one is replaced while the worker
    runs (`prefect.flow_engine.observe_flow_run_suspension`, a private name of Prefect
    3.8: where it is missing the engine's own is kept).
    """

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._observer: Any = None
        self._ready = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="suspension watch", daemon=True)

    def start(self) -> None:
        self._thread.start()
        self._ready.wait(30)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def _serve(self) -> None:
        try:
            self._loop.run_until_complete(self._observe())
        except Exception as exc:
            log.warning("no observer of runs suspended from outside: %s", type(exc).__name__)
        finally:
            self._ready.set()

    async def _observe(self) -> None:
        from prefect._flow_run_suspension import mark_flow_run_suspension_requested
        from prefect._internal.observers import FlowRunSuspendingObserver

        def suspended(flow_run_id: UUID, state: State[Any]) -> None:
            mark_flow_run_suspension_requested(flow_run_id, state)

        async with FlowRunSuspendingObserver(on_suspended=suspended) as observer:
            self._observer = observer
            self._ready.set()
            while not self._stop.is_set():
                await asyncio.sleep(0.5)

    @contextmanager
    def watching(self, flow_run_id: UUID, *args: Any, **kwargs: Any) -> Iterator[None]:
        """In place of the engine's per-run observer (its signature, extra arguments unused)."""
        observer = self._observer
        if observer is None:
            yield
            return
        self._loop.call_soon_threadsafe(observer.add_in_flight_flow_run_id, flow_run_id)
        try:
            yield
        finally:
            self._loop.call_soon_threadsafe(observer.remove_in_flight_flow_run_id, flow_run_id)

    @contextmanager
    def installed(self) -> Iterator[None]:
        """Serve the engine's runs from this observer while the block runs."""
        from prefect import flow_engine

        original = getattr(flow_engine, "observe_flow_run_suspension", None)
        if original is None:
            yield
            return
        self.start()
        flow_engine.observe_flow_run_suspension = self.watching
        try:
            yield
        finally:
            flow_engine.observe_flow_run_suspension = original
            self.stop()


class Worker:
    """Polls the server for the served deployments' scheduled runs and executes each one it
    claims in a thread of its own, at most ``limit`` at once."""

    def __init__(self, served: Mapping[UUID, Served], *, limit: int, poll: float) -> None:
        self.served = dict(served)
        self.limit = limit
        self.poll = poll
        self.stopping = threading.Event()
        self.executed = 0
        self._running: dict[UUID, tuple[threading.Thread, FlowRun]] = {}
        self._lock = threading.Lock()
        self._freed = threading.Event()
        self._ready_at = -READY_SECONDS

    def free(self) -> int:
        with self._lock:
            return self.limit - len(self._running)

    def run(self) -> None:
        """Take runs until `stopping` is set, then wait for the running ones (bounded)."""
        from prefect.context import SyncClientContext

        with (
            _run_settings(),
            SuspensionWatch().installed(),
            SyncClientContext.get_or_create() as context,
        ):
            while not self.stopping.is_set():
                free = self.free()
                if free == 0:
                    self._freed.wait(self.poll)
                    self._freed.clear()
                    continue
                try:
                    more = self._take(context.client, free)
                except Exception as exc:
                    # The server is down or refusing: runs wait there, the worker waits here.
                    log.warning("polling failed (%s): trying again", type(exc).__name__)
                    self.stopping.wait(max(self.poll, UNREACHABLE_SECONDS))
                    continue
                if not more:
                    self.stopping.wait(self.poll)
            self._drain(context.client)

    def _take(self, client: SyncPrefectClient, free: int) -> bool:
        """Claim and start up to ``free`` of the scheduled runs due now; whether more may be
        waiting (the poll found as many as it asked for)."""
        from prefect.client.schemas.objects import FlowRun

        asked = free * CANDIDATES_PER_SLOT
        runs = self._scheduled(client, asked)
        # Two workers polling together see the same runs first; each tries them in its own
        # order so that they seldom ask for the same one.
        random.shuffle(runs)
        started = 0
        for flow_run in runs:
            if started == free or self.stopping.is_set():
                break
            if flow_run.deployment_id not in self.served or flow_run.id in self._running:
                continue
            if claim(client, flow_run):
                self._start(FlowRun.model_validate(flow_run, from_attributes=True))
                started += 1
        return len(runs) == asked

    def _scheduled(self, client: SyncPrefectClient, limit: int) -> list[Any]:
        """The served deployments' runs due now, oldest first.

        Prefect's runner polls `get_scheduled_flow_runs_for_deployments`, which also
        marks the deployments ready: a write for every poll, which on a SQLite server
        queues behind the runs' own writes (up to its 60 s lock timeout). That call is
        made once every READY_SECONDS, to keep the deployments shown ready; the other
        polls read the same runs with a plain filter.
        """
        from prefect.client.schemas.filters import (
            FlowRunFilter,
            FlowRunFilterDeploymentId,
            FlowRunFilterNextScheduledStartTime,
            FlowRunFilterState,
            FlowRunFilterStateType,
        )
        from prefect.client.schemas.objects import StateType
        from prefect.client.schemas.sorting import FlowRunSort
        from prefect.types._datetime import now

        due = now("UTC")
        if time.monotonic() - self._ready_at > READY_SECONDS:
            self._ready_at = time.monotonic()
            return list(
                client.get_scheduled_flow_runs_for_deployments(
                    deployment_ids=list(self.served), scheduled_before=due, limit=limit
                )
            )
        return list(
            client.read_flow_runs(
                flow_run_filter=FlowRunFilter(
                    deployment_id=FlowRunFilterDeploymentId(any_=list(self.served)),
                    state=FlowRunFilterState(
                        type=FlowRunFilterStateType(any_=[StateType.SCHEDULED])
                    ),
                    next_scheduled_start_time=FlowRunFilterNextScheduledStartTime.model_validate(
                        {"before_": due}
                    ),
                ),
                sort=FlowRunSort.NEXT_SCHEDULED_START_TIME_ASC,
                limit=limit,
            )
        )

    def _start(self, flow_run: FlowRun) -> None:
        import contextvars

        served = self.served[flow_run.deployment_id]  # type: ignore[index]
        # The thread runs in a copy of this thread's context: the same settings and the
        # same open API client, which Prefect would otherwise open anew for every run.
        context = contextvars.copy_context()
        thread = threading.Thread(
            target=context.run,
            args=(self._execute, served, flow_run),
            name=f"run {flow_run.name}",
            daemon=True,
        )
        with self._lock:
            self._running[flow_run.id] = (thread, flow_run)
        log.info("run %s (%s) of %s started", flow_run.id, flow_run.name, served.name)
        thread.start()

    def _execute(self, served: Served, flow_run: FlowRun) -> None:
        try:
            execute(served, flow_run)
        finally:
            with self._lock:
                self._running.pop(flow_run.id, None)
                self.executed += 1
            self._freed.set()

    def _drain(self, client: SyncPrefectClient) -> None:
        """Wait up to GRACE_SECONDS for the running runs; hand any still running back to be
        scheduled again, as Prefect's own runner does on SIGTERM, since this process is
        about to end and the run with it."""
        deadline = time.monotonic() + GRACE_SECONDS
        with self._lock:
            running = list(self._running.values())
        if running:
            log.info("stopping: waiting for %d running run(s)", len(running))
        for thread, _ in running:
            thread.join(max(0.0, deadline - time.monotonic()))
        unfinished = [flow_run for thread, flow_run in running if thread.is_alive()]
        if unfinished:
            # The server may be what holds the runs up: giving them back is bounded too.
            giver = threading.Thread(target=_give_back, args=(client, unfinished), daemon=True)
            giver.start()
            giver.join(GIVE_BACK_SECONDS)


def _give_back(client: SyncPrefectClient, flow_runs: list[FlowRun]) -> None:
    from prefect.states import AwaitingRetry

    for flow_run in flow_runs:
        try:
            client.set_flow_run_state(flow_run.id, AwaitingRetry())
        except Exception as exc:
            log.warning(
                "run %s (%s) left unfinished (%s)", flow_run.id, flow_run.name, type(exc).__name__
            )
        else:
            log.warning("run %s (%s) unfinished: scheduled again", flow_run.id, flow_run.name)


@contextmanager
def _run_settings() -> Iterator[None]:
    """No heartbeat thread per run: a synchronous run joins it at its end, and it sleeps
    in whole seconds, so each run would last up to a second longer; this process's own
    life is what a heartbeat would tell."""
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield


def _stop_on_signals(worker: Worker) -> None:
    def stop(signum: int, frame: FrameType | None) -> None:
        log.info("%s received: no new runs are taken", signal.Signals(signum).name)
        if not worker.stopping.is_set():
            worker.stopping.set()
            deadline = threading.Timer(EXIT_SECONDS, _exit_now)
            deadline.daemon = True
            deadline.start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)


def _exit_now() -> None:
    """The stop took longer than it may: a request to an unresponsive server (which the
    client retries for minutes) must not keep the process alive."""
    log.warning("not stopped after %.0f s: exiting now", EXIT_SECONDS)
    logging.shutdown()
    os._exit(0)


def _warm_up() -> None:
    """What a run's first lead would otherwise wait for: WeasyPrint and the fonts loaded."""
    from models.documents.rendering import warm_up

    try:
        warm_up()
    except Exception as exc:  # the run that needs it will say what is wrong
        log.warning("warm-up failed (%s)", type(exc).__name__)


def _log_to_stderr() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False


def worker(
    limit: Annotated[
        int, typer.Option("--limit", min=1, help="How many runs at most run at once.")
    ] = DEFAULT_LIMIT,
    poll: Annotated[
        float,
        typer.Option("--poll", min=0.05, help="Seconds between polls when no run waits."),
    ] = DEFAULT_POLL_SECONDS,
) -> None:
    """Run LeadFlow's deployment runs in this process: apply the deployments of
    prefect.yaml on the Prefect server, then take their scheduled runs (no work pool and
    no process a run). SIGTERM or SIGINT ends it once the running runs have ended."""
    from models.domain.errors import LeadFlowError

    if not os.environ.get("PREFECT_API_URL"):
        raise LeadFlowError(
            "the worker needs a Prefect server: set PREFECT_API_URL or start the stack "
            "(`leadflow up`)"
        )
    _log_to_stderr()
    # Deployment runs are the system's acts (scheduled, or handed on after a person's
    # arrival was recorded as theirs), whoever started the worker.
    from models.services import runtime

    runtime.identify_with(None)
    taker = Worker({}, limit=limit, poll=poll)
    # Handlers first: a worker stopped while it applies the deployments still exits 0.
    _stop_on_signals(taker)
    taker.served = apply_deployments(taker.stopping)
    threading.Thread(target=_warm_up, name="warm-up", daemon=True).start()
    log.info("worker %d: at most %d run(s) at once, polling every %.2f s", os.getpid(), limit, poll)
    taker.run()
    log.info("worker %d stopped after %d run(s)", os.getpid(), taker.executed)


COMMANDS = (worker,)
