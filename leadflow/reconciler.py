"""The reconciler (`leadflow reconcile`): hands on again every lead whose intake has not
completed — never handed on, its hand-on failed (Prefect unreachable), or handed on
longer ago than the grace period to a run that will not carry it (crashed, failed,
cancelled, or gone from Prefect's database) — each attempt exactly once.

It runs outside Prefect, so that it works while Prefect is down: the local stack runs it
as a process of its own (`--watch`), woken at once by a datagram when a command records
an arrival, else every few seconds.
"""

from __future__ import annotations

import logging
import os
import select
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from leadflow import prefect_runs
from models.config.settings import get_settings
from models.services import outbox, runtime
from models.store.database import transaction

# A hand-on younger than this is left to its run: a burst may queue runs for a while.
GRACE = timedelta(seconds=60)
log = logging.getLogger("leadflow.reconciler")


@dataclass
class Pass:
    """What one pass found and did, by lead id."""

    handed_on: list[int] = field(default_factory=list)
    taken_in_here: list[int] = field(default_factory=list)
    still_running: list[int] = field(default_factory=list)
    not_handed: list[int] = field(default_factory=list)
    prefect_unreachable: bool = False

    def as_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def take_in_here(item: outbox.Due, *, say: Callable[[str], None] | None = None) -> str:
    """Claim the lead's next attempt and run its intake in this process: as a Prefect
    flow run when a server is there to record it, else without Prefect."""
    from flows.intake import lead_intake, take_in

    with transaction(runtime.engine()) as session:
        attempt = outbox.claim(session, item, grace=GRACE)
        if attempt is not None:
            outbox.handed(session, item.lead_id, attempt, outbox.HERE)
    if attempt is None:
        return outbox.HERE
    if prefect_runs.server_configured():
        with prefect_runs.local():
            lead_intake(lead_id=item.lead_id, external_id=item.external_id)
    else:
        if say:
            say("no Prefect server (start one with `leadflow up`): the intake runs here")
        take_in(item.lead_id, waiting=False)
    return outbox.HERE


def run_pass(*, grace: timedelta = GRACE) -> Pass:
    """One pass over the due leads (see the module's docstring)."""
    done = Pass()
    with transaction(runtime.engine()) as session:
        due = outbox.due(session, grace=grace)
    if not due:
        return done
    if not prefect_runs.server_configured():
        for item in due:
            take_in_here(item)
            done.taken_in_here.append(item.lead_id)
        return done
    live = prefect_runs.live_runs([i.flow_run for i in due if i.flow_run])
    if live is None:
        done.prefect_unreachable = True
        return done
    for item in due:
        if item.flow_run in live:
            done.still_running.append(item.lead_id)
        else:
            _hand_on(item, grace, done)
    return done


def _hand_on(item: outbox.Due, grace: timedelta, done: Pass) -> None:
    with transaction(runtime.engine()) as session:
        attempt = outbox.claim(session, item, grace=grace)
    if attempt is None:
        return
    try:
        run = prefect_runs.hand_on(item.lead_id, item.external_id, attempt)
    except Exception:
        with transaction(runtime.engine()) as session:
            outbox.not_handed(session, item.lead_id, attempt)
        done.not_handed.append(item.lead_id)
        return
    with transaction(runtime.engine()) as session:
        outbox.handed(session, item.lead_id, attempt, run)
    log.info(
        "lead %s (%s): handed on, attempt %s, run %s", item.lead_id, item.external_id, attempt, run
    )
    done.handed_on.append(item.lead_id)


def _socket_path() -> Path:
    return get_settings().home.resolve() / "reconciler.sock"


def wake() -> None:
    """Tell a watching reconciler that an arrival waits (no harm if none listens)."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as client:
            client.sendto(b"1", str(_socket_path()))
    except OSError:
        pass


def watch(*, every: float, grace: timedelta, report: Callable[[Pass], None]) -> None:
    """Pass after pass until the process is stopped: at once when woken, else every
    ``every`` seconds."""
    path = _socket_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        os.unlink(path)
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as listener:
        listener.bind(str(path))
        while True:
            try:
                report(run_pass(grace=grace))
            except Exception as exc:  # the database or Prefect away: try again next pass
                log.warning("reconcile pass failed (%s); trying again", type(exc).__name__)
            readable, _, _ = select.select([listener], [], [], every)
            while readable:
                listener.recv(64)
                readable, _, _ = select.select([listener], [], [], 0)
