"""A reporter's identity (举报人身份, docs/rules.md §5): read through `reveal` and nowhere else.

The identity lives in the `reporters` table, which no document, export or Prefect run
reads; the receiving unit's authorised staff read it here, and every read is an audit
event naming who read it and why — even a read that finds the report was anonymous.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from models import audit
from models.domain.errors import BadInput, Problem
from models.domain.people import Person, clean_text
from models.services.access import permit
from models.store.lead import Reporter


@dataclass(frozen=True)
class ReporterIdentity:
    name: str | None
    phone: str | None
    anonymous: bool


def reveal(session: Session, lead_id: int, *, by: Person, reason: str) -> ReporterIdentity | None:
    """The reporter of ``lead_id`` (None: no reporter was given), recorded as read: only
    by the custodian (信访室, docs/permissions.md), with a reason."""
    permit(session, by, "reporter.read", lead_id)
    if not reason.strip():
        raise BadInput([Problem("--reason", "reading a reporter's identity needs a reason")])
    clean_text(reason, field="reason", source="--reason")
    reporter = session.get(Reporter, lead_id)
    audit.record(
        session,
        audit.EventDraft(
            actor=by.actor,
            action="reporter.read",
            reason=reason,
            lead_id=lead_id,
            data={"reporter_on_record": reporter is not None},
        ),
    )
    if reporter is None:
        return None
    return ReporterIdentity(reporter.name, reporter.phone, reporter.anonymous)
