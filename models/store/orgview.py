"""A plain, read-only snapshot of the organisation for the rules (no database in sight).

Triage and recusal are decided on this snapshot; :func:`snapshot` builds it from the
tables, and tests build it by hand or with hypothesis.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.audit import AuditEvent, lock_chain
from models.domain.orgview import EntityView, OrgView, PersonView, RelationView, UnitView
from models.domain.units import UnitKind
from models.store.organisation import (
    ORG_LOADED,
    DeclaredRelation,
    Entity,
    Person,
    Unit,
    UnitGroup,
    Zone,
    unit_group_members,
)


def snapshot(session: Session) -> OrgView:
    """The organisation as the tables hold it, read column by column (never as ORM objects:
    a bulk import takes one whenever the organisation has changed)."""
    zone_codes = dict(session.execute(select(Zone.id, Zone.code)).tuples().all())
    units, unit_codes = _units(session, zone_codes)
    entities, entity_codes = _entities(session, unit_codes, zone_codes)
    people, person_codes = _people(session, unit_codes, entity_codes)
    relations = _relations(session, person_codes, entity_codes)
    return OrgView(units, entities, people, relations, _groups(session, unit_codes))


# Each reader below returns its views by code and, for the readers after it, the codes by id.


def _units(
    session: Session, zone_codes: dict[int, str]
) -> tuple[dict[str, UnitView], dict[int, str]]:
    unit_rows = session.execute(
        select(
            Unit.id, Unit.code, Unit.kind, Unit.zone_id, Unit.office_id, Unit.parent_id, Unit.name
        )
    ).all()
    unit_codes = {r.id: r.code for r in unit_rows}
    units = {
        r.code: UnitView(
            r.code,
            UnitKind(r.kind),
            zone_codes.get(r.zone_id),
            unit_codes.get(r.office_id),
            unit_codes.get(r.parent_id),
            id=r.id,
            name=r.name,
        )
        for r in unit_rows
    }
    return units, unit_codes


def _entities(
    session: Session, unit_codes: dict[int, str], zone_codes: dict[int, str]
) -> tuple[dict[str, EntityView], dict[int, str]]:
    entity_rows = session.execute(
        select(
            Entity.id,
            Entity.code,
            Entity.supervised_by_id,
            Entity.county_id,
            Entity.zone_id,
            Entity.resident_group_id,
        )
    ).all()
    entities = {
        r.code: EntityView(
            r.code,
            unit_codes[r.supervised_by_id],
            unit_codes.get(r.county_id),
            zone_codes.get(r.zone_id),
            unit_codes.get(r.resident_group_id),
        )
        for r in entity_rows
    }
    return entities, {r.id: r.code for r in entity_rows}


def _people(
    session: Session, unit_codes: dict[int, str], entity_codes: dict[int, str]
) -> tuple[dict[str, PersonView], dict[int, str]]:
    person_rows = session.execute(
        select(
            Person.id,
            Person.code,
            Person.home_unit_id,
            Person.home_entity_id,
            Person.expertise,
            Person.active,
            Person.name,
        )
    ).all()
    people = {
        p.code: PersonView(
            p.code,
            unit_codes[p.home_unit_id],
            entity_codes.get(p.home_entity_id),
            frozenset(p.expertise),
            p.active,
            id=p.id,
            name=p.name,
        )
        for p in person_rows
    }
    return people, {p.id: p.code for p in person_rows}


def _relations(
    session: Session, person_codes: dict[int, str], entity_codes: dict[int, str]
) -> tuple[RelationView, ...]:
    return tuple(
        RelationView(
            person_codes[r.person_id], r.subject_name, entity_codes.get(r.entity_id), r.relation
        )
        for r in session.execute(
            select(
                DeclaredRelation.person_id,
                DeclaredRelation.subject_name,
                DeclaredRelation.entity_id,
                DeclaredRelation.relation,
            )
        )
    )


def _groups(session: Session, unit_codes: dict[int, str]) -> dict[str, tuple[str, ...]]:
    """Each unit group's member units, by code in order."""
    group_codes = dict(session.execute(select(UnitGroup.id, UnitGroup.code)).tuples().all())
    groups: dict[str, list[str]] = {code: [] for code in group_codes.values()}
    for group_id, unit_id in session.execute(select(unit_group_members)).all():
        groups[group_codes[group_id]].append(unit_codes[unit_id])
    return {k: tuple(sorted(v)) for k, v in groups.items()}


@dataclass
class HeldSnapshot:
    """A snapshot held across transactions (a bulk import's batches, a worker's leads),
    taken anew only when an organisation load has been recorded since: every change to
    the organisation is a load, and every load that changes something is on the audit
    chain. A transaction then looks at the events since the last one's, not at every
    unit, entity and person again.

    The chain's hash where the view was last found current tells whether it is still the
    same chain: a database made anew at the same address (a test's, a restored backup)
    has other hashes, and is read again."""

    view: OrgView | None = None
    checked_to: int = 0  # the chain's last seq when the view was last found current
    checked_hash: str = ""  # and its hash

    def current(self, session: Session) -> OrgView:
        head, digest = lock_chain(session)  # the chain as this transaction sees it, and ours
        if self.view is None or not self._unchanged_to(session, head, digest):
            self.view = snapshot(session)
        self.checked_to, self.checked_hash = head, digest
        return self.view

    def _unchanged_to(self, session: Session, head: int, digest: str) -> bool:
        if head <= self.checked_to:
            return (head, digest) == (self.checked_to, self.checked_hash)
        same_chain = (
            session.scalar(select(AuditEvent.hash).where(AuditEvent.seq == self.checked_to))
            == self.checked_hash
        )
        return same_chain and (
            session.scalar(
                select(AuditEvent.seq)
                .where(
                    AuditEvent.seq > self.checked_to,
                    AuditEvent.seq <= head,
                    AuditEvent.action == ORG_LOADED,
                )
                .limit(1)
            )
            is None
        )


@lru_cache(maxsize=8)
def _held(url: str) -> HeldSnapshot:
    return HeldSnapshot()


def held(session: Session) -> OrgView:
    """The organisation as this transaction sees it, held by this process for the
    database the session is on (:class:`HeldSnapshot`)."""
    url = session.get_bind().engine.url  # an engine, or a connection of one
    return _held(url.render_as_string(hide_password=False)).current(session)
