"""The gate every act passes (docs/permissions.md): the permission table checked for the
person acting, before any rule or write, for the command line, the flows and the API
alike. A refused attempt raises :class:`NotPermitted` or :class:`OutOfScope`; the
attempt's transaction is rolled back and :func:`record_refusal` then writes it on the
audit trail in a transaction of its own (``runtime.work`` does both).
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Engine, or_, select, union
from sqlalchemy.orm import Session

from models import audit
from models.domain import identifiers
from models.domain.errors import NotFound, NotPermitted, OutOfScope, Refusal
from models.domain.people import Person
from models.domain.permissions import ACTS, Answer, judge, may, readable_units
from models.store.database import transaction
from models.store.lead import Assignment, Lead, TriageProposal
from models.store.organisation import Entity, Unit

REFUSED = "access.refused"


def permit(session: Session, person: Person, act: str, lead_id: int | None = None) -> None:
    """Return when ``person`` may perform ``act`` (on ``lead_id``); else raise the refusal."""
    chosen = ACTS[act]
    if not may(person, chosen):
        raise _not_permitted(person, act, lead_id)
    if chosen.about_a_lead and lead_id is not None and not person.every_role:
        answer = judge(person, chosen, lead_units(session, lead_id))
        if answer is Answer.out_of_scope:
            raise _out_of_scope(person, act, lead_id, _unknown(str(lead_id)))
        if answer is Answer.not_permitted:  # pragma: no cover - may() answered first
            raise _not_permitted(person, act, lead_id)


def find_lead(session: Session, person: Person, ref: str, act: str) -> Lead:
    """The lead named by id or external id, if ``person`` may perform ``act`` on it; a
    lead outside their units is answered exactly as an unknown one."""
    chosen, unknown = ACTS[act], _unknown(ref)
    if not may(person, chosen):
        raise _not_permitted(person, act, None)
    lead = session.get(Lead, int(ref)) if ref.isdigit() and len(ref) < 19 else None
    if lead is None:
        # External ids arrive in NFKC (full-width ＱＪ-1 is stored as QJ-1): asked the same.
        asked = {ref, identifiers.folded(ref)}
        lead = session.scalar(select(Lead).where(Lead.external_id.in_(asked)).limit(1))
    if lead is None:
        raise NotFound(unknown)
    answer = (
        Answer.allowed if person.every_role else judge(person, chosen, lead_units(session, lead.id))
    )
    if answer is not Answer.allowed:
        raise _out_of_scope(person, act, lead.id, unknown)
    return lead


def _unknown(ref: str) -> str:
    """What an unknown lead is answered with — and a lead outside the person's units."""
    return f"no lead with id or external id '{ref}'"


def lead_units(session: Session, lead_id: int) -> set[str]:
    """The codes of the units a lead belongs to: the resident group supervising its
    entity, the unit with jurisdiction, the lead unit and every unit assigned to it."""
    supervising = (
        select(Unit.code)
        .join(Entity, Entity.supervised_by_id == Unit.id)
        .join(Lead, Lead.entity_id == Entity.id)
        .where(Lead.id == lead_id)
    )
    own = (
        select(Unit.code)
        .join(Lead, (Unit.id == Lead.lead_unit_id) | (Unit.id == Lead.jurisdiction_unit_id))
        .where(Lead.id == lead_id)
    )
    proposed = (
        select(Unit.code)
        .join(TriageProposal, TriageProposal.jurisdiction_unit_id == Unit.id)
        .where(TriageProposal.lead_id == lead_id)
    )
    assigned = (
        select(Unit.code)
        .join(Assignment, Assignment.unit_id == Unit.id)
        .where(Assignment.lead_id == lead_id)
    )
    return set(session.scalars(union(supervising, own, proposed, assigned)))


def refuse(person: Person, act: str, why: str, lead_id: int | None = None) -> NotPermitted:
    """A refusal for a reason of the act's own (a decider who is not the person, …)."""
    return NotPermitted(Refusal(person.actor, act, Answer.not_permitted, why, lead_id), why)


def _not_permitted(person: Person, act: str, lead_id: int | None) -> NotPermitted:
    roles = "、".join(g.role.chinese for g in sorted(person.grants)) or "无角色"
    why = f"{person.username} ({roles}) may not {act} ({ACTS[act].chinese})"
    return NotPermitted(Refusal(person.actor, act, Answer.not_permitted, why, lead_id), why)


def _out_of_scope(person: Person, act: str, lead_id: int, message: str) -> OutOfScope:
    why = f"lead {lead_id} is outside {person.username}'s units"
    return OutOfScope(Refusal(person.actor, act, Answer.out_of_scope, why, lead_id), message)


def record_refusal(engine: Engine, refusal: Refusal) -> None:
    """The refused attempt on the audit trail: who, what, when, and the lead if any."""
    with transaction(engine) as session:
        audit.record(
            session,
            audit.EventDraft(
                actor=refusal.actor,
                action=REFUSED,
                reason=refusal.reason,
                lead_id=refusal.lead_id,
                data={"act": refusal.act, "answer": refusal.answer},
            ),
        )


def readable(person: Person, session: Session) -> ColumnElement[bool] | None:
    """The condition on ``Lead`` that keeps the leads ``person`` may read — the same
    units as :func:`lead_units` — or None when they may read every lead."""
    codes = readable_units(person)
    if codes is None:
        return None
    ids = list(session.scalars(select(Unit.id).where(Unit.code.in_(codes))))
    supervised = select(Entity.id).where(Entity.supervised_by_id.in_(ids))
    assigned = select(Assignment.lead_id).where(Assignment.unit_id.in_(ids))
    proposed = select(TriageProposal.lead_id).where(TriageProposal.jurisdiction_unit_id.in_(ids))
    return or_(
        Lead.lead_unit_id.in_(ids),
        Lead.jurisdiction_unit_id.in_(ids),
        Lead.entity_id.in_(supervised),
        Lead.id.in_(assigned),
        Lead.id.in_(proposed),
    )
