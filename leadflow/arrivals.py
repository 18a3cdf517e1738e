"""One lead arriving from a shell (`lead submit`, `lead post`): recorded first, then handed
on, then — unless told not to wait — followed until it is triaged.

Where it is handed depends on what runs (docs/operations.md):
- the local stack: the arrival is recorded and the stack's reconciler woken; it hands the
  lead to the intake deployment, and a worker runs it;
- a Prefect server without the stack: this command hands it on itself;
- neither: the intake runs here, in this process, without Prefect.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy.exc
from sqlalchemy import select

from leadflow import prefect_runs, reconciler, stack
from models import documents
from models.config.settings import get_settings
from models.domain.errors import LeadFlowError, NotHandedOn, Unavailable
from models.domain.lifecycle import INITIAL
from models.inputs.schemas import LeadIn
from models.services import outbox, runtime
from models.services.intake import Arrival, Receipt
from models.store.database import transaction
from models.store.lead import Lead, TriageProposal
from models.store.outbox import IntakeRequest
from models.store.records import Document

# How long `lead submit` follows its lead before saying it is still on its way.
SUBMIT_WAIT_SECONDS = 60.0
# How long `lead submit --no-wait` waits for the running stack to hand its lead on.
HAND_ON_WAIT_SECONDS = 10.0
_POLL_SECONDS = 0.05


@dataclass
class Submitted:
    receipt: Receipt
    external_id: str
    handed_to: str | None = None
    state: str = INITIAL.value
    notices: list[str] = field(default_factory=list)
    proposed_mode: str | None = None
    # The notices held because they would name the reporter: number, kind, fields.
    held: list[dict[str, Any]] = field(default_factory=list)
    held_messages: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "lead_id": self.receipt.lead_id,
            "external_id": self.external_id,
            "duplicate": self.receipt.duplicate,
            "state": self.state,
            "flow_run": self.handed_to,
            "proposed_mode": self.proposed_mode,
            "notices": self.notices,
            "held": self.held,
        }


def record(lead: LeadIn, source: str) -> Receipt:
    """The arrival and its intake request, in one transaction; nothing else yet. As the
    process's person, whose refusal is recorded."""
    try:
        with runtime.work() as session:
            return outbox.arrive(session, Arrival(lead, source), by=runtime.person())
    except sqlalchemy.exc.OperationalError:
        raise Unavailable("the database cannot be reached: nothing was recorded") from None


def submit(lead: LeadIn, *, source: str, wait: bool, say: Callable[[str], None]) -> Submitted:
    """Record the arrival, hand it on, and follow it (see the module's docstring)."""
    return carry_on(Submitted(record(lead, source), lead.external_id), wait=wait, say=say)


def carry_on(done: Submitted, *, wait: bool, say: Callable[[str], None]) -> Submitted:
    """Hand a recorded arrival on — to the stack, a Prefect server, or this process —
    and follow it until triaged (``wait``) or handed on."""
    if done.receipt.duplicate:
        return _follow(done, 0)
    mode = get_settings().intake_mode
    here = mode == "local" or (mode == "auto" and not prefect_runs.server_configured())
    if here:
        done.handed_to = reconciler.take_in_here(
            outbox.Due(done.receipt.lead_id, done.external_id, 0, None, None), say=say
        )
        return _follow(done, 0)
    if mode == "auto" and stack.running() is not None:
        reconciler.wake()
        done = _follow(
            done, SUBMIT_WAIT_SECONDS if wait else HAND_ON_WAIT_SECONDS, handed_only=not wait
        )
        if done.handed_to is None:
            raise NotHandedOn(
                f"lead {done.receipt.lead_id} ({done.external_id}) is recorded but the stack "
                "has not handed it on yet (is its Prefect server answering? `leadflow status`); "
                "its reconciler will"
            )
        return done
    done.handed_to = hand_on(done.receipt.lead_id, done.external_id)
    return _follow(done, SUBMIT_WAIT_SECONDS if wait else 0)


def hand_on(lead_id: int, external_id: str) -> str:
    """Claim the first attempt and hand it to the server; 75 if it cannot be."""
    with transaction(runtime.engine()) as session:
        due = outbox.request_of(session, lead_id)
        attempt = outbox.claim(session, due, grace=reconciler.GRACE) if due else None
    if due is None or attempt is None:
        return "claimed by the reconciler"
    try:
        run = prefect_runs.hand_on(lead_id, external_id, attempt, due.unit)
    except LeadFlowError as exc:
        with transaction(runtime.engine()) as session:
            outbox.not_handed(session, lead_id, attempt)
        raise NotHandedOn(
            f"lead {lead_id} ({external_id}) is recorded but was not handed on: {exc}; "
            "the reconciler (`leadflow reconcile`, or the running stack) will hand it on"
        ) from None
    with transaction(runtime.engine()) as session:
        outbox.handed(session, lead_id, attempt, run)
    return run


def _follow(done: Submitted, seconds: float, *, handed_only: bool = False) -> Submitted:
    """Read the lead until it has left ``received`` (or, ``handed_only``, until its
    request has reached a run), for at most ``seconds``; then what it came to."""
    deadline = time.monotonic() + seconds
    lead_id = done.receipt.lead_id
    while True:
        with transaction(runtime.engine()) as session:
            state = session.scalar(select(Lead.state).where(Lead.id == lead_id))
            run = session.scalar(
                select(IntakeRequest.flow_run).where(IntakeRequest.lead_id == lead_id)
            )
            done.proposed_mode = session.scalar(
                select(TriageProposal.proposed_mode).where(TriageProposal.lead_id == lead_id)
            )
            found = session.scalars(
                select(Document).where(Document.lead_id == lead_id).order_by(Document.id)
            ).all()
            _held(done, found)
            notices = [d.path or d.number for d in found]
        done.state, done.handed_to, done.notices = str(state), run or done.handed_to, notices
        settled = bool(run) if handed_only else state != INITIAL.value
        if settled or time.monotonic() >= deadline:
            return done
        time.sleep(_POLL_SECONDS)


def _held(done: Submitted, found: Sequence[Document]) -> None:
    """The lead's held notices, and what the officer is told of each (fields, never values)."""
    held = [d for d in found if d.status == documents.HELD]
    done.held = [
        {"number": d.number, "kind": d.kind, "fields": documents.held_fields(d)} for d in held
    ]
    done.held_messages = [documents.hold_message(d, str(done.receipt.lead_id)) for d in held]


def post(lead: LeadIn, *, source: str) -> tuple[Receipt, str]:
    """Record the arrival, then post it as an event (references only): the event's id.
    The event's run is the lead's hand-on; if it cannot be posted, 75."""
    receipt = record(lead, source)
    if receipt.duplicate:
        return receipt, "none (a duplicate: nothing posted)"
    with transaction(runtime.engine()) as session:
        due = outbox.request_of(session, receipt.lead_id)
        attempt = outbox.claim(session, due, grace=reconciler.GRACE) if due else None
    if attempt is None:  # the reconciler took it first: it hands it on
        return receipt, "none (handed on by the reconciler)"
    try:
        event = prefect_runs.post_arrival(receipt.lead_id, lead.external_id)
    except LeadFlowError as exc:
        with transaction(runtime.engine()) as session:
            outbox.not_handed(session, receipt.lead_id, attempt)
        raise NotHandedOn(
            f"lead {receipt.lead_id} ({lead.external_id}) is recorded but the event was not "
            f"posted: {exc}; the reconciler will hand it on"
        ) from None
    return receipt, event
