"""The lead (问题线索) and what happens to it: assignments, disposal, outcome, rectification.

The reporter lives in a table of its own (:class:`Reporter`): nothing that builds a
document or an export for a handling unit joins it (docs/rules.md §5).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from models.domain.lifecycle import State
from models.store.base import Base, JSONType, UTCDateTime


class StateType(TypeDecorator[State]):
    """A lead's :class:`State`, stored as its value in a VARCHAR(16) and read back as the
    member. Nothing is done to a value written: a member is a str already, and the bulk
    statements of database.py, which write plain strings, pass each value through its
    column type's bind processor — an Enum type would cost a call for every lead."""

    impl = String(16)
    cache_ok = True

    def process_result_value(self, value: Any, dialect: Dialect) -> State | None:
        return None if value is None else State(value)


class Lead(Base):
    __tablename__ = "leads"
    # The boards count a unit's leads by time (models/store/indicators.py): read in unit order
    # from this index alone, a national year is grouped without a sort.
    __table_args__ = (
        Index("ix_leads_unit_received_closed", "lead_unit_id", "received_at", "closed_at"),
        # The ledger filtered by state reads that state's leads in time order, however few.
        Index("ix_leads_state_received", "state", "received_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The source system's id: the key that makes a second arrival the same lead.
    external_id: Mapped[str] = mapped_column(String(128), unique=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime())
    source: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(16))
    domain: Mapped[str] = mapped_column(String(64))
    summary: Mapped[str] = mapped_column(Text)
    amount_yuan: Mapped[Decimal] = mapped_column(Numeric(16, 2), default=Decimal(0))
    flags: Mapped[list[str]] = mapped_column(JSONType, default=list)
    subject_name: Mapped[str] = mapped_column(String(100))
    subject_post: Mapped[str] = mapped_column(String(200))
    subject_rank: Mapped[str] = mapped_column(String(16))
    entity_id: Mapped[int] = mapped_column(ForeignKey("entities.id"), index=True)

    state: Mapped[State] = mapped_column(StateType())
    # Optimistic concurrency: every move is UPDATE ... WHERE version = expected.
    version: Mapped[int] = mapped_column(Integer, default=1)

    handling_mode: Mapped[str | None] = mapped_column(String(16))
    # Indexed: a unit's readers see the leads it has jurisdiction over (access.readable).
    jurisdiction_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    lead_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    # Set by the move into `closed` (办结): the boards count closures by month from it.
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)


class LeadFacts(NamedTuple):
    """What triage and assignment read of a lead (its columns and its entity's code and
    name): for leads registered in the same transaction, what registering them wrote."""

    id: int
    external_id: str
    subject_name: str
    subject_post: str
    subject_rank: str
    summary: str
    flags: list[str]
    domain: str
    entity: str
    entity_name: str


class Reporter(Base):
    """The reporter's identity: confidential, seen only by the receiving unit's authorised staff."""

    __tablename__ = "reporters"

    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(32))
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False)


class ReporterRequest(Base):
    """An officer's request to see a lead's reporter, and the custodian's answer: a grant
    holds for one read before it expires (docs/permissions.md)."""

    __tablename__ = "reporter_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"), index=True)
    username: Mapped[str] = mapped_column(String(32), index=True)
    reason: Mapped[str] = mapped_column(Text)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime())
    granted: Mapped[bool | None] = mapped_column(Boolean)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Assignment(Base):
    """A unit's part in handling a lead: the lead unit, a co-unit, a cross or higher unit."""

    __tablename__ = "assignments"
    __table_args__ = (UniqueConstraint("lead_id", "unit_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"), index=True)
    # Indexed: a unit's readers see the leads assigned to it (access.readable).
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Disposal(Base):
    """处置方式: talk or letter inquiry, preliminary verification, hold pending, close."""

    __tablename__ = "disposals"

    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"), primary_key=True)
    method: Mapped[str] = mapped_column(String(32))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    decided_by: Mapped[str] = mapped_column(String(100))
    due_on: Mapped[date | None] = mapped_column(Date)


class Outcome(Base):
    """The outcome of docs/rules.md §2.5 and the people handled, counted on the boards."""

    __tablename__ = "outcomes"

    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    form: Mapped[int | None] = mapped_column(Integer)  # 四种形态, 1 (lightest) to 4
    persons_educated: Mapped[int] = mapped_column(Integer, default=0)
    persons_accountable: Mapped[int] = mapped_column(Integer, default=0)
    party_sanctions: Mapped[int] = mapped_column(Integer, default=0)
    government_sanctions: Mapped[int] = mapped_column(Integer, default=0)
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    # 核查结论: what the handling unit verified — what a notice to the entity states. None
    # for an outcome recorded before findings were; no notice is issued from it until set.
    finding: Mapped[str | None] = mapped_column(Text)


class Rectification(Base):
    """整改: a notice with a deadline, the entity's report, the follow-up check, striking off."""

    __tablename__ = "rectifications"
    # The open rectifications (struck_off_at NULL) by deadline: the ledger's order by
    # deadline and its overdue filter read them alone.
    __table_args__ = (Index("ix_rectifications_open_deadline", "struck_off_at", "deadline"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"), index=True)
    entity_id: Mapped[int] = mapped_column(ForeignKey("entities.id"))
    deadline: Mapped[date] = mapped_column(Date)
    # True when the deadline crosses a year the official calendar does not cover yet.
    deadline_provisional: Mapped[bool] = mapped_column(Boolean, default=False)
    reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    struck_off_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    notice_document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"))
    follow_up_failures: Mapped[int] = mapped_column(Integer, default=0)
    # The new deadline a 督办 notice set: accountability waits for it to pass.
    renewed_deadline: Mapped[date | None] = mapped_column(Date)


class TriageProposal(Base):
    """The triage result and, where one is needed, the commission leader's decision on it."""

    __tablename__ = "triage_proposals"

    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"), primary_key=True)
    level: Mapped[str] = mapped_column(String(16))
    # Indexed: a unit's readers see the leads proposed to it (access.readable).
    jurisdiction_unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    proposed_mode: Mapped[str] = mapped_column(String(16))
    reasons: Mapped[list[str]] = mapped_column(JSONType, default=list)
    proposed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    decision_due: Mapped[date | None] = mapped_column(Date)
    decided_mode: Mapped[str | None] = mapped_column(String(16))
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The Prefect flow run suspended waiting for the decision, if any (a hint, not a record).
    waiting_flow_run: Mapped[str | None] = mapped_column(String(64))
    # The recorded decision's key: the waiting run is resumed with this alone, and acts
    # only if it matches what the record holds.
    decision_key: Mapped[str | None] = mapped_column(String(32))
    overdue_escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class TeamMember(Base):
    """A person drawn for one task (一事一抽调); the leader is authorised for it (一事一授权)."""

    __tablename__ = "team_members"
    __table_args__ = (UniqueConstraint("lead_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    leader: Mapped[bool] = mapped_column(Boolean, default=False)
    drawn_at: Mapped[datetime] = mapped_column(UTCDateTime())


class LadderStep(Base):
    """One step of the overdue ladder taken for one rectification: each step exactly once."""

    __tablename__ = "ladder_steps"
    __table_args__ = (UniqueConstraint("rectification_id", "step"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    rectification_id: Mapped[int] = mapped_column(ForeignKey("rectifications.id"))
    step: Mapped[str] = mapped_column(String(32))
    taken_on: Mapped[date] = mapped_column(Date)
    document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"))
