"""Checking an organisation file before anything of it is written (docs/rules.md §1).

Every code is unique within its section, and every reference (a unit's office, parent
and zone, a group's members, an entity's county and supervisor, a person's home unit and
entity, a declared relation's person and entity, a designation's unit) names a code
loaded before or given in the same file. All problems are found at once, each placed
at its line and field, and the file is refused whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.domain.errors import BadInput, Problem
from models.domain.units import UnitKind
from models.inputs.files import LineOf, dotted
from models.inputs.schemas import OrganisationIn
from models.store.organisation import Entity, Person, Unit, Zone


def check(session: Session, org: OrganisationIn, source: str, locate: LineOf) -> None:
    """Refuse the file, every problem placed at its line and field, where a code appears
    twice in a section or a reference names what is neither loaded nor in the file."""
    found = _Findings(source, locate, _known(session, org))
    _check_unique_codes(found, org)
    _check_references(found, org)
    if found.problems:
        raise BadInput(found.problems)


@dataclass(frozen=True)
class _Known:
    """The codes a reference may name: those loaded before and those of the file."""

    unit_kinds: dict[str, str]
    zones: set[str]
    entities: set[str]
    people: set[str]


def _known(session: Session, org: OrganisationIn) -> _Known:
    return _Known(
        unit_kinds=dict(session.execute(select(Unit.code, Unit.kind)).tuples().all())
        | {u.code: u.kind.value for u in org.units},
        zones=set(session.scalars(select(Zone.code))) | {z.code for z in org.zones},
        entities=set(session.scalars(select(Entity.code))) | {e.code for e in org.entities},
        people=set(session.scalars(select(Person.code))) | {p.code for p in org.people},
    )


class _Findings:
    """The problems found in the file so far, and the checks of one reference."""

    def __init__(self, source: str, locate: LineOf, known: _Known) -> None:
        self.source, self.locate, self.known = source, locate, known
        self.problems: list[Problem] = []

    def add(self, loc: tuple[int | str, ...], reason: str) -> None:
        self.problems.append(Problem(self.source, reason, line=self.locate(loc), field=dotted(loc)))

    def unit(
        self, loc: tuple[int | str, ...], code: str | None, kind: UnitKind | None = None
    ) -> None:
        """A reference to a unit (of that kind, if given), where there is one."""
        unit_kinds = self.known.unit_kinds
        if code is None:
            return
        if code not in unit_kinds:
            self.add(loc, f"unknown unit '{code}'")
        elif kind is not None and unit_kinds[code] != kind.value:
            self.add(loc, f"unit '{code}' is a {unit_kinds[code]}, not a {kind.value}")

    def zone(self, loc: tuple[int | str, ...], code: str | None) -> None:
        if code is not None and code not in self.known.zones:
            self.add(loc, f"unknown zone '{code}'")

    def entity(self, loc: tuple[int | str, ...], code: str | None) -> None:
        if code is not None and code not in self.known.entities:
            self.add(loc, f"unknown entity '{code}'")


class _Coded(Protocol):
    """An entry of a section whose codes are unique."""

    @property
    def code(self) -> str: ...


def _check_unique_codes(found: _Findings, org: OrganisationIn) -> None:
    sections: tuple[tuple[str, Sequence[_Coded]], ...] = (
        ("zones", org.zones),
        ("units", org.units),
        ("unit_groups", org.unit_groups),
        ("entities", org.entities),
        ("people", org.people),
    )
    for section, items in sections:
        codes: set[str] = set()
        for i, item in enumerate(items):
            if item.code in codes:
                found.add((section, i, "code"), f"code '{item.code}' appears twice in {section}")
            codes.add(item.code)


def _check_references(found: _Findings, org: OrganisationIn) -> None:
    """Every reference, section by section in the file's order."""
    for i, u in enumerate(org.units):
        if u.office is not None and u.kind != UnitKind.resident_group:
            found.add(("units", i, "office"), "only a resident group is assigned to an office")
        found.unit(("units", i, "office"), u.office, UnitKind.inspection_office)
        found.unit(("units", i, "parent"), u.parent)
        found.zone(("units", i, "zone"), u.zone)
    for i, g in enumerate(org.unit_groups):
        for j, member in enumerate(g.members):
            found.unit(("unit_groups", i, "members", j), member)
    for i, e in enumerate(org.entities):
        found.unit(("entities", i, "county"), e.county, UnitKind.county_commission)
        found.unit(("entities", i, "supervised_by"), e.supervised_by)
        found.zone(("entities", i, "zone"), e.zone)
        found.unit(("entities", i, "resident_group"), e.resident_group, UnitKind.resident_group)
    for i, p in enumerate(org.people):
        found.unit(("people", i, "home_unit"), p.home_unit)
        found.entity(("people", i, "home_entity"), p.home_entity)
    for i, r in enumerate(org.relations):
        if r.person not in found.known.people:
            found.add(("relations", i, "person"), f"unknown person '{r.person}'")
        found.entity(("relations", i, "entity"), r.entity)
    for i, d in enumerate(org.designations):
        found.unit(("designations", i, "unit"), d.unit)
