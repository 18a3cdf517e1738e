"""Amending a lead's text (docs/rules.md §5): an officer rewrites one of the long free texts
notices print — the report's summary (反映问题) or the outcome's finding (核查结论) — most
often to take out a reporter named in it, whose notice is held.

The rewritten text is checked as the field is where it is first written, and refused
while it still names the reporter. The record keeps the old text's SHA-256, never the
text (it may be what named the reporter). The lead's held and still pending documents
are re-quoted from the new text and go back to ``pending``: the render that follows
screens them again and issues them under their numbers, or holds them again.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy.orm import Session

from models import audit, documents
from models.domain.disclosure import AMENDABLE
from models.domain.errors import BadInput, Problem, RuleRefused
from models.domain.people import clean_text
from models.inputs.schemas import LeadIn
from models.services.desk import Desk, locked_lead
from models.store.lead import Lead, Outcome


@dataclass(frozen=True)
class Amended:
    lead_id: int
    field: str
    changed: bool
    documents: list[str]  # the numbers re-quoted and sent back to be rendered


def amend(
    session: Session,
    desk: Desk,
    lead_id: int,
    *,
    field: str,
    text: str,
    reason: str,
    source: str = "--text-file",
) -> Amended:
    """Rewrite ``field`` of the lead with ``text`` (``source`` names where it came from in
    a message); the same text again changes nothing and records nothing."""
    if field not in AMENDABLE:
        raise BadInput(
            [Problem("--field", f"must be one of {', '.join(AMENDABLE)}", field="field")]
        )
    lead = locked_lead(session, desk, lead_id, "lead.amend")
    record, column = _holder(session, lead, field)
    new = _checked(session, lead_id, field, text, source)
    _check_reason(session, lead_id, reason)
    old: str = getattr(record, column)
    if new == old:
        return Amended(lead_id, field, False, [])
    setattr(record, column, new)
    session.flush()
    numbers = [d.number for d in documents.release(session, lead_id, old=old, new=new)]
    audit.record(
        session,
        audit.EventDraft(
            actor=desk.actor,
            action="lead.amend",
            reason=reason,
            lead_id=lead_id,
            data={
                "field": field,
                "old_sha256": _sha256(old),
                "new_sha256": _sha256(new),
                "documents": numbers,
            },
        ),
    )
    return Amended(lead_id, field, True, numbers)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _holder(session: Session, lead: Lead, field: str) -> tuple[Lead | Outcome, str]:
    """The record that keeps ``field``, and its column; a finding not yet recorded is
    refused (there is nothing to amend)."""
    if field == "summary":
        return lead, "summary"
    outcome = session.get(Outcome, lead.id)
    if outcome is None or not outcome.finding:
        raise RuleRefused("amend", f"lead {lead.id} has no finding (核查结论) recorded to amend")
    return outcome, "finding"


def _validated(field: str, text: str, source: str) -> str:
    """The text as the field's own rule reads it where it is first written: the lead
    file's for a summary, the outcome's for a finding. Refusals name no text."""
    if field == "finding":
        return clean_text(text.strip(), field="finding", source=source)
    rule = LeadIn.model_fields["summary"]
    shape: Any = Annotated[(rule.annotation, *rule.metadata)]  # the field's type and checks
    try:
        return str(TypeAdapter(shape).validate_python(text))
    except ValidationError as exc:
        why = str(exc.errors()[0]["msg"])
        raise BadInput([Problem(source, f"the new {field}: {why}")]) from None


def _checked(session: Session, lead_id: int, field: str, text: str, source: str) -> str:
    """The new text, refused (naming the field, never the text) while it names the
    lead's reporter still."""
    new = _validated(field, text, source)
    if documents.names_reporter(session, lead_id, new):
        raise BadInput(
            [
                Problem(
                    source,
                    f"the new {field} still names the lead's reporter (举报人): take out "
                    "their name and phone",
                )
            ]
        )
    return new


def _check_reason(session: Session, lead_id: int, reason: str) -> None:
    """The reason goes on the audit trail, which every reader of the lead sees: it may not
    name the reporter either."""
    clean_text(reason, field="reason", source="--reason")
    if documents.names_reporter(session, lead_id, reason):
        raise BadInput(
            [
                Problem(
                    "--reason",
                    "the reason names the lead's reporter (举报人), and the audit trail may "
                    "not: say why without naming them",
                    field="reason",
                )
            ]
        )
