"""The organisation as the rules see it (docs/rules.md §1): units, supervised entities,
the talent pool, declared relations and unit groups as plain frozen dataclasses, read
once from the database or an organisation file. Triage and recusal take an
:class:`OrgView` and ask it who is local to an entity and who belongs to which group, so
they run without a database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from models.domain.units import UnitKind


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
    resident_group: str | None = None


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
