"""The desk every use case works at (docs/rules.md §2–§4): who acts, on which day, under
which policy, and where documents go; with what the use cases share — a lead read under
the audit chain's lock, a notice issued under the desk's numbering, the facts a notice
states of its lead, and the coordinating office as the organisation names it. Each use
case runs in its caller's transaction, so what it writes commits with its audit events.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import audit, documents
from models.domain.commission import Commission
from models.domain.errors import RuleRefused
from models.domain.people import Person
from models.domain.policy import Numbering, Policy
from models.domain.units import UnitKind
from models.domain.workdays import WorkCalendar
from models.services import clock
from models.services.access import permit
from models.store.lead import Lead
from models.store.organisation import Entity, Unit


@dataclass(frozen=True)
class Desk:
    """Who acts, on which day, under which policy, and where documents go."""

    person: Person
    today: date
    policy: Policy
    output_dir: Path
    commission: Commission | None = None

    @property
    def actor(self) -> str:
        return self.person.actor

    @property
    def numbering(self) -> Numbering:
        """The commission's name and abbreviation with the policy's marks: no document is
        issued until the organisation names the commission."""
        if self.commission is None:
            raise RuleRefused(
                "commission",
                "no commission is named, so no document can be issued: load an organisation "
                "file whose `commission` gives its name and abbreviation",
            )
        return self.policy.numbering.of(self.commission)

    @property
    def calendar(self) -> WorkCalendar:
        return WorkCalendar(self.policy.calendar.extra_years)


def locked_lead(session: Session, desk: Desk, lead_id: int, act: str) -> Lead:
    """The lead, once the desk's person is found to be allowed ``act`` on it (the
    permission table, docs/permissions.md), read under the chain's lock: every writer
    queues there first, so what a step checks (a disposal already made, an outcome already
    recorded) is still true when it writes — a second officer's step waits, then is
    refused, instead of colliding."""
    permit(session, desk.person, act, lead_id)
    audit.lock_chain(session)
    lead = session.get(Lead, lead_id, populate_existing=True)
    if lead is None:
        raise RuleRefused("lead", f"no lead with id {lead_id}")
    clock.check_not_before(session, lead.id, lead.received_at, desk.today)
    return lead


def issue_notice(
    session: Session,
    desk: Desk,
    *,
    kind: str,
    key: str,
    content: BaseModel,
    reason: str,
    lead: Lead | None = None,
    unit: Unit | None = None,
    period: str | None = None,
    title: str | None = None,
) -> documents.Issued:
    """One document issued at ``desk``: numbered under its policy, dated its day, in the
    name of its actor; about a lead, or a unit and a period, as the notice concerns."""
    return documents.issue(
        session,
        kind=kind,
        key=key,
        content=content,
        numbering=desk.numbering,
        actor=desk.actor,
        reason=reason,
        on=desk.today,
        lead_id=lead.id if lead else None,
        unit_id=unit.id if unit else None,
        period=period,
        title=title,
    )


def coordinating_office(session: Session) -> str | None:
    """The coordinating office (党风政风监督室) as the organisation names it, the first by
    code; None when the organisation has none."""
    return session.scalars(
        select(Unit.name).where(Unit.kind == UnitKind.coordinating_office.value).order_by(Unit.code)
    ).first()


def notice_facts(session: Session, lead: Lead) -> list[tuple[str, str]]:
    entity = session.get(Entity, lead.entity_id)
    return facts_of(lead, entity.name if entity else "")


def facts_of(lead: Any, entity_name: str) -> list[tuple[str, str]]:
    """What a notice says of its lead: ``lead`` has the lead's columns (a row will do)."""
    return [
        ("线索编号", lead.external_id),
        ("被反映人", f"{lead.subject_name}（{lead.subject_post}）"),
        ("所在单位", entity_name),
        ("反映问题", lead.summary[:500]),
    ]
