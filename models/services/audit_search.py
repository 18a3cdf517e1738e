"""Audit review (审计核查): the last full check and the latest anchor, the events of the
whole trail searched by who, what, which unit and when — shown as what was done, by whom,
when and why, never the data an event records — the issued documents checked against
their recorded checksums, and a lead's audit record exported as its PDF.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from models import documents
from models.audit import AuditEvent
from models.audit.anchors import Anchor
from models.documents import audit_record
from models.domain.people import Person
from models.domain.terms import action_term
from models.services import anchoring, runtime, verifying
from models.services.access import find_lead, permit
from models.store.lead import Lead
from models.store.organisation import Unit
from models.store.periods import SHANGHAI

PAGE = 50


@dataclass(frozen=True)
class Query:
    """What the reviewer asks for; every part optional."""

    actor: str = ""  # a part of the actor's name or username
    action: str = ""  # an act's code
    unit: str = ""  # a unit's code: its own events and its leads'
    since: date | None = None  # local days, both included
    until: date | None = None


@dataclass(frozen=True)
class EventRow:
    seq: int
    at: datetime
    actor: str
    action: str  # the code; the page names it in Chinese
    reason: str
    lead_id: int | None
    external_id: str | None
    unit: str | None
    state_before: str | None
    state_after: str | None


@dataclass(frozen=True)
class Review:
    last: verifying.LastCheck | None
    anchor: Anchor | None


def review(session: Session, person: Person) -> Review:
    """The last full check and the latest anchor outside the database."""
    permit(session, person, "audit.verify")
    return Review(verifying.last_check(session), anchoring.latest())


def _bound(day: date) -> str:
    """The start of a local day as the trail stamps instants (UTC, ISO 8601): stamps of
    one form compare as text in time order."""
    return datetime.combine(day, time(), SHANGHAI).astimezone(UTC).isoformat()


def _conditions(session: Session, query: Query) -> list[ColumnElement[bool]]:
    """The query as conditions on the events; a unit matches its own events and its leads'."""
    conditions: list[ColumnElement[bool]] = []
    if query.actor:
        conditions.append(AuditEvent.actor.contains(query.actor, autoescape=True))
    if query.action:
        conditions.append(AuditEvent.action == query.action)
    if query.unit:
        unit_id = session.scalar(select(Unit.id).where(Unit.code == query.unit)) or -1
        leads = select(Lead.id).where(
            or_(Lead.lead_unit_id == unit_id, Lead.jurisdiction_unit_id == unit_id)
        )
        conditions.append(or_(AuditEvent.unit == query.unit, AuditEvent.lead_id.in_(leads)))
    if query.since:
        conditions.append(AuditEvent.at >= _bound(query.since))
    if query.until:
        conditions.append(AuditEvent.at < _bound(query.until + timedelta(days=1)))
    return conditions


def search(
    session: Session, person: Person, query: Query, *, after: int | None
) -> tuple[list[EventRow], int | None]:
    """One page of the matching events, newest first, and the sequence the next ends at."""
    permit(session, person, "audit.search")
    conditions = _conditions(session, query)
    if after is not None:
        conditions.append(AuditEvent.seq < after)
    rows = session.execute(
        select(
            AuditEvent.seq,
            AuditEvent.at,
            AuditEvent.actor,
            AuditEvent.action,
            AuditEvent.reason,
            AuditEvent.lead_id,
            Lead.external_id,
            AuditEvent.unit,
            AuditEvent.state_before,
            AuditEvent.state_after,
            AuditEvent.data,
        )
        .outerjoin(Lead, Lead.id == AuditEvent.lead_id)
        .where(*conditions)
        .order_by(AuditEvent.seq.desc())
        .limit(PAGE + 1)
    ).all()
    found = [_row(*r) for r in rows[:PAGE]]
    return found, (found[-1].seq if len(rows) > PAGE else None)


def _row(
    seq: int, at: str, actor: str, action: str, reason: str, lead_id: int | None,
    external_id: str | None, unit: str | None, before: str | None, after: str | None, data: str,
) -> EventRow:  # fmt: skip
    """An event as the reviewer reads it: its reason in words (a receipt recorded in the
    old form reads in Chinese); the data it records stays on the trail."""
    said = audit_record.reason_text(action, reason, json.loads(data))
    at_time = datetime.fromisoformat(at)
    return EventRow(seq, at_time, actor, action, said, lead_id, external_id, unit, before, after)


def actions(session: Session) -> list[tuple[str, str]]:
    """Every act on the trail, by code, with its Chinese name, in the names' order."""
    codes = session.scalars(select(AuditEvent.action).distinct())
    return sorted(((code, action_term(code)) for code in codes), key=lambda pair: pair[1])


def units(session: Session) -> list[tuple[str, str]]:
    """Every unit, by code, with its name."""
    return [(c, n) for c, n in session.execute(select(Unit.code, Unit.name).order_by(Unit.code))]


@dataclass(frozen=True)
class DocumentsChecked:
    checked: int
    problems: list[documents.FileProblem]


def verify_documents(session: Session, person: Person) -> DocumentsChecked:
    """Every issued document's file against its recorded checksum (`leadflow docs verify`)."""
    permit(session, person, "documents.verify")
    checked, problems = documents.verify_files(session)
    return DocumentsChecked(checked, problems)


def export_record(person: Person, ref: str) -> tuple[int, Path, str]:
    """The lead's audit record as a PDF, as `leadflow audit export` makes it: the export
    is an event on the lead's trail (path and checksum). The lead's id, the file, its
    SHA-256."""
    desk = runtime.desk(who=person)
    with runtime.work() as session:
        lead = find_lead(session, person, ref, "audit.export")
        path, sha256 = audit_record.export(
            session,
            lead,
            numbering=desk.numbering,
            output_dir=desk.output_dir,
            actor=desk.actor,
            on=desk.today,
            anchored=anchoring.check(session.connection()),
            latest=anchoring.latest(),
        )
        return lead.id, path, sha256
