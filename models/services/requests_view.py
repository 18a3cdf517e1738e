"""The custodian's page (信访室): officers' requests to see a lead's reporter, pending and
lately answered — who asked, for which lead (its id and external id only: the custodian
reads no lead), why and when."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from models.domain.people import Person
from models.services.access import permit
from models.store.lead import Lead, ReporterRequest
from models.store.people import User

RECENT = 20  # the answered requests shown


@dataclass(frozen=True)
class RequestRow:
    number: int
    lead_id: int
    external_id: str
    username: str
    name: str  # the requester's name ("" once no such user is on record)
    reason: str
    requested_at: datetime
    granted: bool | None
    decided_at: datetime | None
    expires_at: datetime | None
    used_at: datetime | None


@dataclass(frozen=True)
class Requests:
    pending: list[RequestRow]
    answered: list[RequestRow]


def _rows() -> Select[tuple[ReporterRequest, str, str]]:
    """Each request with its lead's external id and its requester's name (None: no such
    user on record, which the outer join allows)."""
    return (
        select(ReporterRequest, Lead.external_id, User.name)
        .join(Lead, Lead.id == ReporterRequest.lead_id)
        .outerjoin(User, User.username == ReporterRequest.username)
    )


def _row(asked: ReporterRequest, external_id: str, name: str | None) -> RequestRow:
    return RequestRow(
        asked.id, asked.lead_id, external_id, asked.username, name or "", asked.reason,
        asked.requested_at, asked.granted, asked.decided_at, asked.expires_at, asked.used_at,
    )  # fmt: skip


def requests(session: Session, person: Person) -> Requests:
    """The pending requests, oldest first, and the latest answered ones, newest first."""
    permit(session, person, "reporter.grant")
    pending = session.execute(
        _rows().where(ReporterRequest.granted.is_(None)).order_by(ReporterRequest.id)
    ).all()
    answered = session.execute(
        _rows()
        .where(ReporterRequest.granted.is_not(None))
        .order_by(ReporterRequest.decided_at.desc(), ReporterRequest.id.desc())
        .limit(RECENT)
    ).all()
    return Requests([_row(*r) for r in pending], [_row(*r) for r in answered])
