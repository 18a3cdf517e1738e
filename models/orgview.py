"""A plain, read-only snapshot of the organisation for the rules (no database in sight).

Triage and recusal are decided on this snapshot; :func:`snapshot` builds it from the
tables, and tests build it by hand or with hypothesis.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property, lru_cache

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.audit import AuditEvent, lock_chain
from models.org_loader import ORG_LOADED
from models.organisation import (
    DeclaredRelation,
    Entity,
    Person,
    Unit,
    UnitGroup,
    UnitKind,
    Zone,
    unit_group_members,
)
from models.schemas import OrganisationIn


@dataclass(frozen=True)
class UnitView:
    code: str
    kind: UnitKind
    zone: str | None = None
    office: str | None = None
    parent: str | None = None
    # Carried so that assignments and notices need no further queries (None/"" from a file).
    id: int | None = None
    name: str = ""


@dataclass(frozen=True)
class EntityView:
    code: str
    supervised_by: str
    county: str | None = None
    zone: str | None = None


@dataclass(frozen=True)
class PersonView:
    code: str
    home_unit: str
    home_entity: str | None = None
    expertise: frozenset[str] = frozenset()
    active: bool = True
    id: int | None = None
    name: str = ""


@dataclass(frozen=True)
class RelationView:
    person: str
    subject: str
    entity: str | None
    relation: str


@dataclass(frozen=True)
class OrgView:
    units: dict[str, UnitView]
    entities: dict[str, EntityView]
    people: dict[str, PersonView] = field(default_factory=dict)
    relations: tuple[RelationView, ...] = ()
    groups: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def of_kind(self, kind: UnitKind) -> list[UnitView]:
        return list(self._by_kind.get(kind, ()))

    @cached_property
    def _by_kind(self) -> dict[UnitKind, tuple[UnitView, ...]]:
        # Triage asks for the coordinating office of every province-level lead.
        by_kind: dict[UnitKind, list[UnitView]] = {}
        for unit in sorted(self.units.values(), key=lambda u: u.code):
            by_kind.setdefault(unit.kind, []).append(unit)
        return {kind: tuple(units) for kind, units in by_kind.items()}

    def group_of(self, unit: str) -> tuple[str, ...]:
        """The members of the first unit group (by code) that ``unit`` belongs to."""
        for code in sorted(self.groups):
            if unit in self.groups[code]:
                return self.groups[code]
        return ()

    def locality(self, entity: EntityView) -> frozenset[str]:
        """The units whose territory or daily supervision holds the entity (熟人社会)."""
        local = {entity.supervised_by}
        if entity.county is not None:
            local.add(entity.county)
            local |= {u.code for u in self.units.values() if u.parent == entity.county}
        return frozenset(local)


def snapshot(session: Session) -> OrgView:
    zone_codes = dict(session.execute(select(Zone.id, Zone.code)).all())
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
    entity_rows = session.execute(
        select(Entity.id, Entity.code, Entity.supervised_by_id, Entity.county_id, Entity.zone_id)
    ).all()
    entity_codes = {r.id: r.code for r in entity_rows}
    entities = {
        r.code: EntityView(
            r.code,
            unit_codes[r.supervised_by_id],
            unit_codes.get(r.county_id),
            zone_codes.get(r.zone_id),
        )
        for r in entity_rows
    }
    # Columns, not ORM objects: bulk intake takes a snapshot every batch.
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
    person_codes = {p.id: p.code for p in person_rows}
    relations = tuple(
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
    group_codes = dict(session.execute(select(UnitGroup.id, UnitGroup.code)).all())
    groups: dict[str, list[str]] = {code: [] for code in group_codes.values()}
    for group_id, unit_id in session.execute(select(unit_group_members)).all():
        groups[group_codes[group_id]].append(unit_codes[unit_id])
    return OrgView(
        units, entities, people, relations, {k: tuple(sorted(v)) for k, v in groups.items()}
    )


@dataclass
class HeldSnapshot:
    """A snapshot held across transactions (a bulk import's batches, a worker's leads),
    taken anew only when an organisation load has been recorded since: every change to
    the organisation is a load, and every load that changes something is on the audit
    chain. A transaction then looks at the events since the last one's, not at every
    unit, entity and person again (5.5 ms for the example organisation, a tenth of one
    lead's intake).

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


def from_file(org: OrganisationIn) -> OrgView:
    """The snapshot of an organisation file as it stands (for rules tested without a database)."""
    return OrgView(
        units={u.code: UnitView(u.code, u.kind, u.zone, u.office, u.parent) for u in org.units},
        entities={
            e.code: EntityView(e.code, e.supervised_by, e.county, e.zone) for e in org.entities
        },
        people={
            p.code: PersonView(p.code, p.home_unit, p.home_entity, frozenset(p.expertise), p.active)
            for p in org.people
        },
        relations=tuple(
            RelationView(r.person, r.subject, r.entity, r.relation) for r in org.relations
        ),
        groups={g.code: tuple(sorted(g.members)) for g in org.unit_groups},
    )
