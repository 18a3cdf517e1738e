"""The organisation (docs/rules.md §1): the commission, units, zones, unit groups,
supervised entities and the talent pool.

Codes are the natural keys users write (``R03``, ``E-XS-JINBI``); integer ids are
for joins only.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, ForeignKey, String, Table, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.store.base import Base, JSONType

# The audit action of a load that changed the organisation (orgview.HeldSnapshot reads it).
ORG_LOADED = "org.load"


class Zone(Base):
    """协作片区: a grouping of units for collaboration and for cross handling."""

    __tablename__ = "zones"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))


class CommissionRow(Base):
    """The issuing commission, named by the organisation file: one row, or none yet."""

    __tablename__ = "commission"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    abbreviation: Mapped[str] = mapped_column(String(16))


class Unit(Base):
    __tablename__ = "units"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    # A resident group's inspection office (归口联系); a township commission's county.
    office_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    zone_id: Mapped[int | None] = mapped_column(ForeignKey("zones.id"))

    office: Mapped[Unit | None] = relationship(remote_side=[id], foreign_keys=[office_id])
    zone: Mapped[Zone | None] = relationship()


unit_group_members = Table(
    "unit_group_members",
    Base.metadata,
    Column("group_id", ForeignKey("unit_groups.id"), primary_key=True),
    Column("unit_id", ForeignKey("units.id"), primary_key=True),
)


class UnitGroup(Base):
    """监督单元 / 单元组: a standing team of units; composition is configurable."""

    __tablename__ = "unit_groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    members: Mapped[list[Unit]] = relationship(secondary=unit_group_members)


class Entity(Base):
    """被监督单位: a department, street, township or village whose cadres are supervised."""

    __tablename__ = "entities"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # The county commission whose territory it lies in; None for city departments.
    county_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    supervised_by_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    # The resident group of its field, where the organisation names one (joint handling).
    resident_group_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    zone_id: Mapped[int | None] = mapped_column(ForeignKey("zones.id"))


class Person(Base):
    """A member of the talent pool (监督人才库), drawn per task (一事一抽调)."""

    __tablename__ = "people"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    home_unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    # Experts drawn from outside the commission (审计、财政、发改…) also have a home department.
    home_entity_id: Mapped[int | None] = mapped_column(ForeignKey("entities.id"))
    expertise: Mapped[list[str]] = mapped_column(JSONType, default=list)
    # Removed from the pool for poor work (清理退库); kept for the record.
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class DeclaredRelation(Base):
    """A relation a person declared with a subject: grounds for recusal (回避)."""

    __tablename__ = "declared_relations"
    __table_args__ = (UniqueConstraint("person_id", "subject_name", "entity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    subject_name: Mapped[str] = mapped_column(String(100))
    entity_id: Mapped[int | None] = mapped_column(ForeignKey("entities.id"))
    relation: Mapped[str] = mapped_column(String(100))


class Designation(Base):
    """A yellow mark on the boards (e.g. lead units of the poverty command): a highlight only."""

    __tablename__ = "designations"
    __table_args__ = (UniqueConstraint("unit_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    kind: Mapped[str] = mapped_column(String(32), default="yellow")
    label: Mapped[str] = mapped_column(String(200))
