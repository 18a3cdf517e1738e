"""Loading the organisation file: every reference checked first, then an idempotent upsert.

Loading the same file twice changes nothing and records nothing the second time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import audit
from models.errors import BadInput, Problem
from models.organisation import (
    DeclaredRelation,
    Designation,
    Entity,
    Person,
    Unit,
    UnitGroup,
    UnitKind,
    Zone,
)
from models.schemas import OrganisationIn

Locate = Callable[[tuple[int | str, ...]], int | None]

# The audit action of a load that changed the organisation (orgview.HeldSnapshot reads it).
ORG_LOADED = "org.load"


@dataclass
class LoadReport:
    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return any(self.created.values()) or any(self.updated.values())

    def count(self, section: str, *, created: bool) -> None:
        bucket = self.created if created else self.updated
        bucket[section] = bucket.get(section, 0) + 1


def _check(session: Session, org: OrganisationIn, source: str, locate: Locate) -> None:
    problems: list[Problem] = []

    def problem(loc: tuple[int | str, ...], reason: str) -> None:
        problems.append(Problem(source, reason, line=locate(loc), field=_dotted(loc)))

    unit_kinds = dict(session.execute(select(Unit.code, Unit.kind)).all())
    zones = set(session.scalars(select(Zone.code)))
    entities = set(session.scalars(select(Entity.code)))
    people = set(session.scalars(select(Person.code)))

    for section, items in (
        ("zones", org.zones),
        ("units", org.units),
        ("unit_groups", org.unit_groups),
        ("entities", org.entities),
        ("people", org.people),
    ):
        codes: set[str] = set()
        for i, item in enumerate(items):
            if item.code in codes:
                problem((section, i, "code"), f"code '{item.code}' appears twice in {section}")
            codes.add(item.code)
    zones |= {z.code for z in org.zones}
    unit_kinds |= {u.code: u.kind.value for u in org.units}
    entities |= {e.code for e in org.entities}
    people |= {p.code for p in org.people}

    def unit_ref(
        loc: tuple[int | str, ...], code: str | None, kind: UnitKind | None = None
    ) -> None:
        if code is None:
            return
        if code not in unit_kinds:
            problem(loc, f"unknown unit '{code}'")
        elif kind is not None and unit_kinds[code] != kind.value:
            problem(loc, f"unit '{code}' is a {unit_kinds[code]}, not a {kind.value}")

    def zone_ref(loc: tuple[int | str, ...], code: str | None) -> None:
        if code is not None and code not in zones:
            problem(loc, f"unknown zone '{code}'")

    for i, u in enumerate(org.units):
        if u.office is not None and u.kind != UnitKind.resident_group:
            problem(("units", i, "office"), "only a resident group is assigned to an office")
        unit_ref(("units", i, "office"), u.office, UnitKind.inspection_office)
        unit_ref(("units", i, "parent"), u.parent)
        zone_ref(("units", i, "zone"), u.zone)
    for i, g in enumerate(org.unit_groups):
        for j, member in enumerate(g.members):
            unit_ref(("unit_groups", i, "members", j), member)
    for i, e in enumerate(org.entities):
        unit_ref(("entities", i, "county"), e.county, UnitKind.county_commission)
        unit_ref(("entities", i, "supervised_by"), e.supervised_by)
        zone_ref(("entities", i, "zone"), e.zone)
    for i, p in enumerate(org.people):
        unit_ref(("people", i, "home_unit"), p.home_unit)
        if p.home_entity is not None and p.home_entity not in entities:
            problem(("people", i, "home_entity"), f"unknown entity '{p.home_entity}'")
    for i, r in enumerate(org.relations):
        if r.person not in people:
            problem(("relations", i, "person"), f"unknown person '{r.person}'")
        if r.entity is not None and r.entity not in entities:
            problem(("relations", i, "entity"), f"unknown entity '{r.entity}'")
    for i, d in enumerate(org.designations):
        unit_ref(("designations", i, "unit"), d.unit)
    if problems:
        raise BadInput(problems)


def _dotted(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def _upsert(
    session: Session,
    report: LoadReport,
    section: str,
    existing: Any,
    model: type[Any],
    values: dict[str, Any],
) -> Any:
    if existing is None:
        row = model(**values)
        session.add(row)
        report.count(section, created=True)
        return row
    if any(getattr(existing, k) != v for k, v in values.items()):
        for k, v in values.items():
            setattr(existing, k, v)
        report.count(section, created=False)
    return existing


def _sync(
    session: Session,
    report: LoadReport,
    section: str,
    model: type[Any],
    items: Sequence[Any],
    values: Callable[[Any], dict[str, Any]],
) -> dict[str, Any]:
    """Create or update ``model`` rows keyed by code; all rows of the table by code."""
    rows = {row.code: row for row in session.scalars(select(model))}
    for item in items:
        rows[item.code] = _upsert(
            session,
            report,
            section,
            rows.get(item.code),
            model,
            {"code": item.code, **values(item)},
        )
    session.flush()
    return rows


def load(
    session: Session, org: OrganisationIn, *, source: str, locate: Locate, actor: str
) -> LoadReport:
    """Check every reference, then create or update rows by code, in the session's transaction."""
    audit.lock_chain(session)
    _check(session, org, source, locate)
    report = LoadReport()

    zones = _sync(session, report, "zones", Zone, org.zones, lambda z: {"name": z.name})

    def zone_id(code: str | None) -> int | None:
        return None if code is None else zones[code].id

    def unit_id(code: str | None) -> int | None:
        return None if code is None else units[code].id

    new_units = {u.code for u in org.units} - set(session.scalars(select(Unit.code)))
    # First pass: every unit exists, so the references between units resolve in the second.
    units = _sync(
        session,
        report,
        "units",
        Unit,
        org.units,
        lambda u: {"name": u.name, "kind": u.kind.value, "zone_id": zone_id(u.zone)},
    )
    for u in org.units:  # a unit created above is not also counted as "updated"
        _upsert(
            session,
            LoadReport() if u.code in new_units else report,
            "units",
            units[u.code],
            Unit,
            {"office_id": unit_id(u.office), "parent_id": unit_id(u.parent)},
        )

    new_groups = {g.code for g in org.unit_groups} - set(session.scalars(select(UnitGroup.code)))
    groups = _sync(
        session, report, "unit_groups", UnitGroup, org.unit_groups, lambda g: {"name": g.name}
    )
    for g in org.unit_groups:
        members = [units[m] for m in g.members]
        if {m.code for m in groups[g.code].members} != set(g.members):
            groups[g.code].members = members
            if g.code not in new_groups:
                report.count("unit_groups", created=False)

    entities = _sync(
        session,
        report,
        "entities",
        Entity,
        org.entities,
        lambda e: {
            "name": e.name,
            "county_id": unit_id(e.county),
            "supervised_by_id": unit_id(e.supervised_by),
            "zone_id": zone_id(e.zone),
        },
    )
    people = _sync(
        session,
        report,
        "people",
        Person,
        org.people,
        lambda p: {
            "name": p.name,
            "home_unit_id": unit_id(p.home_unit),
            "home_entity_id": None if p.home_entity is None else entities[p.home_entity].id,
            "expertise": list(p.expertise),
            "active": p.active,
        },
    )

    relations = {
        (r.person_id, r.subject_name, r.entity_id): r
        for r in session.scalars(select(DeclaredRelation))
    }
    for r in org.relations:
        entity_id = None if r.entity is None else entities[r.entity].id
        key = (people[r.person].id, r.subject, entity_id)
        _upsert(
            session,
            report,
            "relations",
            relations.get(key),
            DeclaredRelation,
            {
                "person_id": key[0],
                "subject_name": r.subject,
                "entity_id": entity_id,
                "relation": r.relation,
            },
        )

    designations = {(d.unit_id, d.kind): d for d in session.scalars(select(Designation))}
    for d in org.designations:
        key = (units[d.unit].id, d.kind)
        _upsert(
            session,
            report,
            "designations",
            designations.get(key),
            Designation,
            {"unit_id": key[0], "kind": d.kind, "label": d.label},
        )
    session.flush()

    if report.changed:
        audit.record(
            session,
            audit.EventDraft(
                actor=actor,
                action=ORG_LOADED,
                reason=f"organisation loaded from {source}",
                data={"created": report.created, "updated": report.updated},
            ),
        )
    return report
