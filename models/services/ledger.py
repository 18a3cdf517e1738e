"""The ledger as a person may read it (总台账, docs/permissions.md): leads filtered and
paged by key — each page continues after the last id of the one before, so the millionth
lead's page costs what the first one does — and one lead's record, never its reporter:
a text of the lead that names them is withheld from a handling unit's readers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, exists, select
from sqlalchemy.orm import Session

from models import audit, documents
from models.domain.people import Person
from models.domain.permissions import readable_units
from models.services.access import find_lead, permit, readable
from models.store.lead import Disposal, Lead, Rectification, TriageProposal
from models.store.organisation import Entity, Unit

MAX_PAGE = 200


@dataclass(frozen=True)
class Filters:
    state: str | None = None
    unit: str | None = None  # the lead unit's code (承办单位)
    source: str | None = None
    overdue: bool | None = None  # an open rectification past its deadline


@dataclass(frozen=True)
class Row:
    id: int
    external_id: str
    state: str
    version: int
    source: str
    received_at: datetime
    lead_unit: str | None


def overdue_on(today: date) -> ColumnElement[bool]:
    """A lead with a rectification neither verified nor struck off whose deadline passed."""
    return exists().where(
        Rectification.lead_id == Lead.id,
        Rectification.verified_at.is_(None),
        Rectification.struck_off_at.is_(None),
        Rectification.deadline < today,
    )


def page(
    session: Session,
    person: Person,
    filters: Filters,
    *,
    after: int | None,
    limit: int,
    today: date,
) -> tuple[list[Row], int | None]:
    """One page of the leads ``person`` may read, newest first, and where the next starts."""
    permit(session, person, "lead.read")
    query = select(
        Lead.id, Lead.external_id, Lead.state, Lead.version, Lead.source, Lead.received_at,
        Unit.code,
    ).outerjoin(Unit, Unit.id == Lead.lead_unit_id)  # fmt: skip
    scope = readable(person, session)
    conditions = [] if scope is None else [scope]
    if filters.state is not None:
        conditions.append(Lead.state == filters.state)
    if filters.source is not None:
        conditions.append(Lead.source == filters.source)
    if filters.unit is not None:
        unit_id = session.scalar(select(Unit.id).where(Unit.code == filters.unit))
        conditions.append(Lead.lead_unit_id == (unit_id or -1))
    if filters.overdue is not None:
        conditions.append(overdue_on(today) if filters.overdue else ~overdue_on(today))
    if after is not None:
        conditions.append(Lead.id < after)
    rows = session.execute(
        query.where(*conditions).order_by(Lead.id.desc()).limit(min(limit, MAX_PAGE) + 1)
    ).all()
    found = [Row(*r) for r in rows[:limit]]
    return found, (found[-1].id if len(rows) > limit else None)


# What a unit's reader is shown in place of a text that names the lead's reporter.
WITHHELD = "（此处载有举报人身份信息，已隐去，待修改）"


def _shown_texts(session: Session, person: Person, lead: Lead) -> tuple[dict[str, str], list[str]]:
    """The lead's free texts as ``person`` may see them, and those withheld: a reader of a
    unit's leads (a handling unit) never sees one that names the reporter, until it is
    amended; the commission's readers see them as they are."""
    texts = {"summary": lead.summary, "subject.post": lead.subject_post}
    if readable_units(person) is None:
        return texts, []
    withheld = [f for f, text in texts.items() if documents.names_reporter(session, lead.id, text)]
    return texts | dict.fromkeys(withheld, WITHHELD), withheld


def record_of(session: Session, person: Person, ref: str, *, today: date) -> dict[str, Any]:
    """A lead as its readers see it: what it says, where it stands, whose it is — never
    its reporter, even where the lead's own text names them (:func:`_shown_texts`)."""
    lead = find_lead(session, person, ref, "lead.read")
    texts, withheld = _shown_texts(session, person, lead)
    wanted = {lead.lead_unit_id, lead.jurisdiction_unit_id} - {None}
    units = session.execute(select(Unit.id, Unit.code).where(Unit.id.in_(wanted)))
    codes = {unit_id: code for unit_id, code in units}
    proposal = session.get(TriageProposal, lead.id)
    disposal = session.get(Disposal, lead.id)
    due = session.scalars(
        select(Rectification.deadline)
        .where(Rectification.lead_id == lead.id, Rectification.struck_off_at.is_(None))
        .order_by(Rectification.id.desc())
    ).first()
    return {
        "id": lead.id,
        "external_id": lead.external_id,
        "state": lead.state.value,
        "version": lead.version,
        "received_at": lead.received_at,
        "source": lead.source,
        "channel": lead.channel,
        "domain": lead.domain,
        "summary": texts["summary"],
        "amount_yuan": str(lead.amount_yuan),
        "flags": list(lead.flags),
        "subject": {
            "name": lead.subject_name,
            "post": texts["subject.post"],
            "rank": lead.subject_rank,
        },
        "entity": session.scalar(select(Entity.code).where(Entity.id == lead.entity_id)),
        "handling_mode": lead.handling_mode,
        "proposed_mode": proposal.proposed_mode if proposal else None,
        "lead_unit": codes.get(lead.lead_unit_id) if lead.lead_unit_id else None,
        "jurisdiction_unit": codes.get(lead.jurisdiction_unit_id)
        if lead.jurisdiction_unit_id
        else None,
        "disposal": disposal.method if disposal else None,
        "rectification_due": due,
        "overdue": bool(due and due < today),
        "withheld": withheld,
    }


def trail_of(session: Session, person: Person, ref: str) -> tuple[int, list[dict[str, Any]]]:
    """The lead's id and its audit events, oldest first."""
    lead = find_lead(session, person, ref, "lead.read")
    return lead.id, [audit.as_dict(e) for e in audit.events_for_lead(session, lead.id)]
