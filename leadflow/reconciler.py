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
from models import documents
from models.config.settings import get_settings
from models.services import outbox, runtime
from models.store.base import utcnow
from models.store.database import transaction

# A hand-on younger than this is left to its run: a burst may queue runs for a while.
GRACE = timedelta(seconds=60)
log = logging.getLogger("leadflow.reconciler")


@dataclass
class Pass:
    """What one pass found and did, by lead id."""

    handed_on: list[int] = field(default_factory=list)
    taken_in_here: list[int] = field(default_factory=list)
    notices_rendered: list[int] = field(default_factory=list)
    notices_held: list[int] = field(default_factory=list)  # they would name the reporter
    still_running: list[int] = field(default_factory=list)
    not_handed: list[int] = field(default_factory=list)
    prefect_unreachable: bool = False

    def as_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def take_in_here(
    item: outbox.Due, *, say: Callable[[str], None] | None = None, grace: timedelta = GRACE
) -> str:
    """Claim the lead's next attempt and run its intake in this process: as a Prefect
    flow run when a server is there to record it, else without Prefect."""
    from flows.intake import lead_intake, take_in

    with transaction(runtime.engine()) as session:
        attempt = outbox.claim(session, item, grace=grace)
        if attempt is not None:
            outbox.handed(session, item.lead_id, attempt, outbox.HERE)
    if attempt is None:
        return outbox.HERE
    if prefect_runs.server_configured():
        with prefect_runs.local():
            lead_intake(lead_id=item.lead_id, external_id=item.external_id)
    else:
        if say:
            say(prefect_runs.NO_SERVER)
        take_in(item.lead_id, waiting=False)
    return outbox.HERE


def _render_left_behind(grace: timedelta, done: Pass) -> None:
    """Render the notices a run numbered and did not render (its worker died): keyed, so
    a notice rendered meanwhile by its run is not rendered twice. Only pending ones: a
    held notice waits for its lead's text to be amended, which sends it back."""
    desk = runtime.desk()
    with transaction(runtime.engine()) as session:
        left = documents.pending(session, before=utcnow() - grace, limit=200)
    rendered = documents.render_each(
        runtime.engine(), left, output_dir=desk.output_dir, actor=desk.actor
    )
    done.notices_rendered = [d.id for d in rendered if d.status == "issued"]
    done.notices_held = [d.id for d in rendered if d.status == documents.HELD]


def run_pass(*, grace: timedelta = GRACE) -> Pass:
    """One pass over the due leads (see the module's docstring)."""
    done = Pass()
    server = prefect_runs.server_configured()
    _render_left_behind(grace, done)
    with transaction(runtime.engine()) as session:
        due = outbox.due(session, grace=grace, waiting_runs=server)
    if not due:
        return done
    if not server:
        for item in due:
            take_in_here(item, grace=grace)
            done.taken_in_here.append(item.lead_id)
        return done
    live = prefect_runs.live_runs([i.flow_run for i in due if i.flow_run], grace=grace)
    if live is None:
        done.prefect_unreachable = True
        return done
    done.still_running = [i.lead_id for i in due if i.flow_run in live]
    _hand_on([i for i in due if i.flow_run not in live], grace, done)
    return done


def _hand_on(due: list[outbox.Due], grace: timedelta, done: Pass) -> None:
    """Claim each lead's next attempt, hand the claimed on together, record each outcome."""
    claimed: list[tuple[outbox.Due, int]] = []
    with transaction(runtime.engine()) as session:
        for item in due:
            attempt = outbox.claim(session, item, grace=grace)
            if attempt is not None:
                claimed.append((item, attempt))
    if not claimed:
        return
    try:
        runs = prefect_runs.hand_on_batches(
            [(i.lead_id, i.external_id, attempt, i.unit) for i, attempt in claimed]
        )
    except Exception:  # the server went away, or has no intake deployment yet
        runs = {}
    with transaction(runtime.engine()) as session:
        for item, attempt in claimed:
            if run := runs.get(item.lead_id):
                outbox.handed(session, item.lead_id, attempt, run)
                done.handed_on.append(item.lead_id)
            else:
                outbox.not_handed(session, item.lead_id, attempt)
                done.not_handed.append(item.lead_id)
    if done.handed_on:
        log.info("%s lead(s) handed on: %s", len(done.handed_on), done.handed_on[:20])


def _socket_path(home: Path | None = None) -> Path:
    return (home or get_settings().home).resolve() / "reconciler.sock"


def wake(home: Path | None = None) -> None:
    """Tell the reconciler watching over ``home`` (this process's LeadFlow home unless
    given) that an arrival waits; no harm if none listens."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as client:
            client.sendto(b"1", str(_socket_path(home)))
    except OSError:
        pass


def watch(*, every: float, grace: timedelta, report: Callable[[Pass], None]) -> None:
    """Pass after pass until the process is stopped: at once when woken, else every
    ``every`` seconds."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    path = _socket_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        os.unlink(path)
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as listener:
        listener.bind(str(path))
        while True:
            try:
                done = run_pass(grace=grace)
                report(done)
            except Exception as exc:  # the database or Prefect away: try again next pass
                log.warning("reconcile pass failed (%s); trying again", type(exc).__name__)
                done = Pass()
            # A full pass may have left more behind it (a burst): go on at once.
            busy = len(done.handed_on) + len(done.taken_in_here) >= outbox.DUE_BATCH
            readable, _, _ = select.select([listener], [], [], 0 if busy else every)
            while readable:
                listener.recv(64)
                readable, _, _ = select.select([listener], [], [], 0)
