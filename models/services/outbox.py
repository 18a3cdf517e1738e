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

from sqlalchemy import Select, and_, func, or_, select, update
from sqlalchemy.orm import Session

from models.domain.lifecycle import INITIAL, State
from models.domain.people import Person
from models.domain.triage import Mode
from models.services.access import permit
from models.services.intake import Arrival, Receipt, register
from models.store.base import utcnow
from models.store.lead import Lead, TriageProposal
from models.store.organisation import Entity, Unit
from models.store.outbox import IntakeRequest

if TYPE_CHECKING:
    from sqlalchemy import CursorResult

# The run a command makes in its own process, when no Prefect server is there to take it.
HERE = "here"
# Due leads taken in one pass of the reconciler.
DUE_BATCH = 500


# From a lead to the unit supervising its entity, whose code tags the lead's runs.
_SUPERVISING_UNIT = (
    (Entity, Entity.id == Lead.entity_id),
    (Unit, Unit.id == Entity.supervised_by_id),
)


@dataclass(frozen=True)
class Due:
    """A lead whose intake has not completed, and its request as it stands."""

    lead_id: int
    external_id: str
    attempts: int
    flow_run: str | None
    handed_at: datetime | None
    # The code of the unit supervising the lead's entity: the run's tag.
    unit: str | None = None


def arrive(session: Session, arrival: Arrival, *, by: Person) -> Receipt:
    """Register one arrival and, if it is new, its intake request (one transaction)."""
    return arrive_many(session, [arrival], by=by)[0]


def arrive_many(session: Session, arrivals: list[Arrival], *, by: Person) -> list[Receipt]:
    """Register arrivals and the intake request of each new lead, in the session's
    transaction: none is handed on before both are recorded."""
    permit(session, by, "lead.register")
    receipts = register(session, arrivals, actor=by.actor).receipts
    now = utcnow()
    session.add_all(
        IntakeRequest(lead_id=r.lead_id, requested_at=now, attempts=0)
        for r in receipts
        if not r.duplicate
    )
    session.flush()
    return receipts


def due(
    session: Session, *, grace: timedelta, waiting_runs: bool, limit: int = DUE_BATCH
) -> list[Due]:
    """The leads whose intake has not completed — still ``received``, or (``waiting_runs``:
    where runs wait for leaders) awaiting a leader with no run recorded as waiting — whose
    request was never handed on, or whose hand-on failed or is older than ``grace``:
    oldest first."""
    stale = utcnow() - grace
    query = _requests(waiting_runs=waiting_runs).where(
        or_(IntakeRequest.handed_at.is_(None), IntakeRequest.handed_at < stale)
    )
    return [Due(*r) for r in session.execute(query.order_by(Lead.id).limit(limit)).all()]


def request_of(session: Session, lead_id: int) -> Due | None:
    """The lead's request as it stands, while its intake has not completed."""
    row = session.execute(_requests(waiting_runs=False).where(Lead.id == lead_id)).first()
    return Due(*row) if row else None


def _requests(
    *, waiting_runs: bool
) -> Select[tuple[int, str, int, str | None, datetime | None, str]]:
    """Leads whose intake has not completed (see :func:`due`), with their request and the
    code of the unit supervising their entity."""
    unfinished = Lead.state == INITIAL.value
    if waiting_runs:
        unfinished = or_(
            unfinished,
            and_(
                Lead.state == State.triaged.value,
                TriageProposal.decided_mode.is_(None),
                TriageProposal.proposed_mode != Mode.own.value,
                TriageProposal.waiting_flow_run.is_(None),
            ),
        )
    return (
        select(
            Lead.id,
            Lead.external_id,
            func.coalesce(IntakeRequest.attempts, 0),
            IntakeRequest.flow_run,
            IntakeRequest.handed_at,
            Unit.code,
        )
        .outerjoin(IntakeRequest, IntakeRequest.lead_id == Lead.id)
        .join(*_SUPERVISING_UNIT[0])
        .join(*_SUPERVISING_UNIT[1])
        .outerjoin(TriageProposal, TriageProposal.lead_id == Lead.id)
        .where(unfinished)
    )


def references(session: Session, lead_ids: list[int]) -> list[tuple[int, str, str]]:
    """Each lead's id, external id and the code of the unit supervising its entity (a
    run's tag), in the order given; ids of no lead left out."""
    rows = session.execute(
        select(Lead.id, Lead.external_id, Unit.code)
        .join(*_SUPERVISING_UNIT[0])
        .join(*_SUPERVISING_UNIT[1])
        .where(Lead.id.in_(lead_ids))
    ).all()
    found = {row[0]: (row[0], row[1], row[2]) for row in rows}
    return [found[i] for i in lead_ids if i in found]


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
    return attempt if taken.rowcount == 1 else None


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
