"""An officer's request to see a reporter, and the custodian's answer (docs/permissions.md):
the officer asks with a reason; the custodian (信访室) grants it for a limited time or
refuses it; a grant holds for one read. Each step is an audit event on the lead's trail.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from models import audit
from models.domain.errors import BadInput, Problem, RuleRefused
from models.domain.people import Person, clean_text
from models.services.access import find_lead, permit
from models.store.base import utcnow
from models.store.lead import Lead, ReporterRequest

GRANT_HOURS_MAX = 72


def ask(session: Session, by: Person, ref: str, *, reason: str) -> int:
    """An officer's request to see the reporter of the lead ``ref`` (in their units)."""
    clean_text(reason, field="reason", source="--reason")
    lead = find_lead(session, by, ref, "reporter.request")
    asked = ReporterRequest(
        lead_id=lead.id, username=by.username, reason=reason, requested_at=utcnow()
    )
    session.add(asked)
    session.flush()
    _record(session, by, "reporter.request", reason, lead.id, asked.id)
    return asked.id


def answer(
    session: Session, by: Person, request_id: int, *, grant: bool, hours: int, reason: str
) -> ReporterRequest:
    """The custodian grants (for ``hours``, one read) or refuses a pending request."""
    permit(session, by, "reporter.grant")
    clean_text(reason, field="reason", source="--reason")
    if not 1 <= hours <= GRANT_HOURS_MAX:
        raise BadInput([Problem("--hours", f"1 to {GRANT_HOURS_MAX} hours", field="hours")])
    audit.lock_chain(session)
    asked = session.get(ReporterRequest, request_id)
    if asked is None:
        raise BadInput([Problem("REQUEST", f"no request {request_id}", field="request")])
    if asked.granted is not None:
        raise RuleRefused("reporter", f"request {request_id} was answered already")
    now = utcnow()
    asked.granted, asked.decided_at = grant, now
    asked.expires_at = now + timedelta(hours=hours) if grant else None
    action = "reporter.grant" if grant else "reporter.refuse"
    _record(session, by, action, reason, asked.lead_id, request_id)
    return asked


def live_grant(session: Session, by: Person, ref: str) -> ReporterRequest | None:
    """``by``'s granted, unused, unexpired request for the lead named ``ref``."""
    named = or_(Lead.external_id == ref, Lead.id == (int(ref) if ref.isdigit() else -1))
    return session.scalar(
        select(ReporterRequest)
        .join(Lead, Lead.id == ReporterRequest.lead_id)
        .where(
            named,
            ReporterRequest.username == by.username,
            ReporterRequest.granted.is_(True),
            ReporterRequest.used_at.is_(None),
            ReporterRequest.expires_at > utcnow(),
        )
        .order_by(ReporterRequest.id)
        .limit(1)
    )


def _record(
    session: Session, by: Person, action: str, reason: str, lead_id: int, request_id: int
) -> None:
    audit.record(
        session,
        audit.EventDraft(
            actor=by.actor, action=action, reason=reason, lead_id=lead_id,
            data={"request": request_id},
        ),
    )  # fmt: skip
