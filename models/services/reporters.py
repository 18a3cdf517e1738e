"""A reporter's identity (举报人身份, docs/rules.md §5): read through `reveal` and nowhere else.

The identity lives in the `reporters` table, which no document, export or Prefect run
reads. The custodian (信访室) reads it with a reason; an officer reads it once, with a
request the custodian granted (reporter_requests.py). Every read is an audit event
naming who read it and why — even a read that finds the report was anonymous.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from models import audit
from models.domain.errors import BadInput, Problem
from models.domain.people import Person, clean_text
from models.services.access import find_lead
from models.services.reporter_requests import live_grant
from models.store.base import utcnow
from models.store.lead import Reporter


@dataclass(frozen=True)
class ReporterIdentity:
    name: str | None
    phone: str | None
    anonymous: bool


def reveal(
    session: Session, ref: str, *, by: Person, reason: str
) -> tuple[int, ReporterIdentity | None]:
    """The lead's id and its reporter (None: no reporter was given), recorded as read."""
    if not reason.strip():
        raise BadInput([Problem("--reason", "reading a reporter's identity needs a reason")])
    clean_text(reason, field="reason", source="--reason")
    grant = live_grant(session, by, ref)
    if grant is not None:
        lead_id, grant.used_at = grant.lead_id, utcnow()  # once
    else:
        lead_id = find_lead(session, by, ref, "reporter.read").id
    reporter = session.get(Reporter, lead_id)
    data: dict[str, object] = {"reporter_on_record": reporter is not None}
    if grant is not None:
        data["request"] = grant.id
    audit.record(
        session,
        audit.EventDraft(
            actor=by.actor, action="reporter.read", reason=reason, lead_id=lead_id, data=data
        ),
    )
    if reporter is None:
        return lead_id, None
    return lead_id, ReporterIdentity(reporter.name, reporter.phone, reporter.anonymous)


def named(session: Session, lead_id: int) -> bool:
    """Whether the lead's reporter gave a name (not anonymous): what deciding on criticism
    needs, without the identity itself leaving this module."""
    reporter = session.get(Reporter, lead_id)
    return reporter is not None and not reporter.anonymous and bool(reporter.name)
