"""Loading the organisation file: every reference checked first, then an idempotent upsert.

Loading the same file twice changes nothing and records nothing the second time. The
checks are in :mod:`models.services.org_check`; this module writes, each section after
what it refers to.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import audit
from models.domain.commission import Commission
from models.domain.orgview import EntityView, OrgView, PersonView, RelationView, UnitView
from models.domain.people import Person as ActingPerson
from models.inputs.files import LineOf
from models.inputs.schemas import OrganisationIn
from models.services.access import permit
from models.services.org_check import check
from models.store.organisation import (
    ORG_LOADED,
    CommissionRow,
    DeclaredRelation,
    Designation,
    Entity,
    Person,
    Unit,
    UnitGroup,
    Zone,
)


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
    session: Session, org: OrganisationIn, *, source: str, locate: LineOf, by: ActingPerson
) -> LoadReport:
    """Check every reference, then create or update rows by code, in the session's
    transaction: the commission, zones, units, unit groups, entities, people, declared
    relations, designations, each after what it refers to. A load that changed something
    is recorded on the audit chain."""
    permit(session, by, "org.load")
    audit.lock_chain(session)
    check(session, org, source, locate)
    report = LoadReport()
    _write_commission(session, report, org)
    zones = _sync(session, report, "zones", Zone, org.zones, lambda z: {"name": z.name})
    units = _write_units(session, report, org, zones)
    _write_groups(session, report, org, units)
    entities = _write_entities(session, report, org, units, zones)
    people = _write_people(session, report, org, units, entities)
    _write_relations(session, report, org, people, entities)
    _write_designations(session, report, org, units)
    session.flush()
    if report.changed:
        audit.record(
            session,
            audit.EventDraft(
                actor=by.actor,
                action=ORG_LOADED,
                reason=f"organisation loaded from {source}",
                data={"created": report.created, "updated": report.updated},
            ),
        )
    return report


def _write_commission(session: Session, report: LoadReport, org: OrganisationIn) -> None:
    """The issuing commission, where the file names it (a file without it keeps the one
    named before)."""
    if org.commission is None:
        return
    row = session.get(CommissionRow, 1)
    values = {"name": org.commission.name, "abbreviation": org.commission.abbreviation}
    if row is None:
        session.add(CommissionRow(id=1, **values))
        report.count("commission", created=True)
    elif (row.name, row.abbreviation) != (values["name"], values["abbreviation"]):
        row.name, row.abbreviation = values["name"], values["abbreviation"]
        report.count("commission", created=False)


def commission_of(session: Session) -> Commission | None:
    """The commission the organisation names, or None while none is named."""
    row = session.get(CommissionRow, 1)
    return None if row is None else Commission(row.name, row.abbreviation)


def _id_of(rows: dict[str, Any], code: str | None) -> int | None:
    """The id of the row of that code, where a code is given."""
    return None if code is None else rows[code].id


def _write_units(
    session: Session, report: LoadReport, org: OrganisationIn, zones: dict[str, Any]
) -> dict[str, Any]:
    """The units, in two passes: every unit exists after the first, so the references
    between units (office, parent) resolve in the second."""
    new_units = {u.code for u in org.units} - set(session.scalars(select(Unit.code)))
    units = _sync(
        session,
        report,
        "units",
        Unit,
        org.units,
        lambda u: {"name": u.name, "kind": u.kind.value, "zone_id": _id_of(zones, u.zone)},
    )
    for u in org.units:  # a unit created above is not also counted as "updated"
        _upsert(
            session,
            LoadReport() if u.code in new_units else report,
            "units",
            units[u.code],
            Unit,
            {"office_id": _id_of(units, u.office), "parent_id": _id_of(units, u.parent)},
        )
    return units


def _write_groups(
    session: Session, report: LoadReport, org: OrganisationIn, units: dict[str, Any]
) -> None:
    """The unit groups (单元) and their members: a changed membership is an update."""
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


def _write_entities(
    session: Session,
    report: LoadReport,
    org: OrganisationIn,
    units: dict[str, Any],
    zones: dict[str, Any],
) -> dict[str, Any]:
    return _sync(
        session,
        report,
        "entities",
        Entity,
        org.entities,
        lambda e: {
            "name": e.name,
            "county_id": _id_of(units, e.county),
            "supervised_by_id": _id_of(units, e.supervised_by),
            "zone_id": _id_of(zones, e.zone),
            "resident_group_id": _id_of(units, e.resident_group),
        },
    )


def _write_people(
    session: Session,
    report: LoadReport,
    org: OrganisationIn,
    units: dict[str, Any],
    entities: dict[str, Any],
) -> dict[str, Any]:
    return _sync(
        session,
        report,
        "people",
        Person,
        org.people,
        lambda p: {
            "name": p.name,
            "home_unit_id": _id_of(units, p.home_unit),
            "home_entity_id": _id_of(entities, p.home_entity),
            "expertise": list(p.expertise),
            "active": p.active,
        },
    )


def _write_relations(
    session: Session,
    report: LoadReport,
    org: OrganisationIn,
    people: dict[str, Any],
    entities: dict[str, Any],
) -> None:
    """The relations people declared (for recusal), keyed by person, subject and entity."""
    relations = {
        (r.person_id, r.subject_name, r.entity_id): r
        for r in session.scalars(select(DeclaredRelation))
    }
    for r in org.relations:
        entity_id = _id_of(entities, r.entity)
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


def _write_designations(
    session: Session, report: LoadReport, org: OrganisationIn, units: dict[str, Any]
) -> None:
    """The marks the file puts on units for the boards (a yellow highlight), keyed by unit
    and kind."""
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


def view_of(org: OrganisationIn) -> OrgView:
    """The organisation of a file as the rules see it, without a database (for their tests)."""
    return OrgView(
        units={u.code: UnitView(u.code, u.kind, u.zone, u.office, u.parent) for u in org.units},
        entities={
            e.code: EntityView(e.code, e.supervised_by, e.county, e.zone, e.resident_group)
            for e in org.entities
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
