"""The intake outbox (docs/architecture.md principle 9): an arrival is recorded with its
request to be handed on, in one transaction, before anything reaches Prefect; each hand-on
is an attempt claimed here first, so that two reconcilers, or a command and a reconciler,
never hand the same attempt on twice.

A lead's intake is complete once it has left ``received`` (triage moved it on); until
then the lead is *due*: never handed on, its hand-on failed, or handed on longer ago than
the grace period (a crashed worker, a lost run).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from models.domain.lifecycle import INITIAL
from models.services.intake import Arrival, Receipt, register
from models.store.base import utcnow
from models.store.lead import Lead
from models.store.outbox import IntakeRequest

if TYPE_CHECKING:
    from sqlalchemy import CursorResult

# The run a command makes in its own process, when no Prefect server is there to take it.
HERE = "here"


@dataclass(frozen=True)
class Due:
    """A lead whose intake has not completed, and its request as it stands."""

    lead_id: int
    external_id: str
    attempts: int
    flow_run: str | None
    handed_at: datetime | None


def arrive(session: Session, arrival: Arrival, *, actor: str) -> Receipt:
    """Register one arrival and, if it is new, its intake request (one transaction)."""
    receipt = register(session, [arrival], actor=actor).receipts[0]
    if not receipt.duplicate:
        session.add(IntakeRequest(lead_id=receipt.lead_id, requested_at=utcnow(), attempts=0))
        session.flush()
    return receipt


def due(session: Session, *, grace: timedelta, limit: int = 500) -> list[Due]:
    """The leads still ``received`` whose request was never handed on, or whose hand-on
    failed, or is older than ``grace``: oldest first."""
    stale = utcnow() - grace
    rows = session.execute(
        select(
            Lead.id,
            Lead.external_id,
            IntakeRequest.attempts,
            IntakeRequest.flow_run,
            IntakeRequest.handed_at,
        )
        .outerjoin(IntakeRequest, IntakeRequest.lead_id == Lead.id)
        .where(Lead.state == INITIAL.value)
        .where(or_(IntakeRequest.handed_at.is_(None), IntakeRequest.handed_at < stale))
        .order_by(Lead.id)
        .limit(limit)
    ).all()
    return [Due(r[0], r[1], r[2] or 0, r[3], r[4]) for r in rows]


def claim(session: Session, item: Due, *, grace: timedelta) -> int | None:
    """Take the next attempt of a due lead: its number, or None if someone else took it
    (or the lead's intake completed meanwhile)."""
    if session.get(IntakeRequest, item.lead_id) is None:
        session.add(IntakeRequest(lead_id=item.lead_id, requested_at=utcnow(), attempts=0))
        session.flush()
    now, attempt = utcnow(), item.attempts + 1
    taken = cast(
        "CursorResult[Any]",
        session.execute(
            update(IntakeRequest)
            .where(IntakeRequest.lead_id == item.lead_id, IntakeRequest.attempts == item.attempts)
            .where(or_(IntakeRequest.handed_at.is_(None), IntakeRequest.handed_at < now - grace))
            .values(attempts=attempt, handed_at=now, flow_run=None)
            .execution_options(synchronize_session=False)
        ),
    )
    state = session.scalar(select(Lead.state).where(Lead.id == item.lead_id))
    return attempt if taken.rowcount == 1 and state == INITIAL.value else None


def handed(session: Session, lead_id: int, attempt: int, flow_run: str) -> None:
    """The attempt reached its flow run."""
    _settle(session, lead_id, attempt, flow_run=flow_run)


def not_handed(session: Session, lead_id: int, attempt: int) -> None:
    """The attempt could not be handed on: due again at the next pass."""
    _settle(session, lead_id, attempt, handed_at=None)


def _settle(session: Session, lead_id: int, attempt: int, **values: object) -> None:
    session.execute(
        update(IntakeRequest)
        .where(IntakeRequest.lead_id == lead_id, IntakeRequest.attempts == attempt)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
