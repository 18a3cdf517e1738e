"""Records kept beside the leads: issued documents, units' monthly returns, the policy in force."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.store.base import Base, JSONType, UTCDateTime


class Document(Base):
    """An issued (or voided, or held) document. Numbers run per issuer, kind and year,
    without gaps."""

    __tablename__ = "documents"
    __table_args__ = (
        UniqueConstraint("issuer", "kind", "year", "serial"),
        # The idempotency key: (kind, subject of the document, period or step).
        UniqueConstraint("key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(32))
    issuer: Mapped[str] = mapped_column(String(64))
    year: Mapped[int] = mapped_column(Integer)
    serial: Mapped[int] = mapped_column(Integer)
    number: Mapped[str] = mapped_column(String(64))
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    period: Mapped[str | None] = mapped_column(String(32))
    path: Mapped[str | None] = mapped_column(Text)
    sha256: Mapped[str | None] = mapped_column(String(64))
    # pending (number allocated, not yet rendered) → issued, or → void (with its reason),
    # or → held (it would name the lead's reporter; the fields in void_reason) → pending
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    title: Mapped[str | None] = mapped_column(String(100))
    content: Mapped[dict[str, object] | None] = mapped_column(JSONType)
    # Why it is not issued: a void document's reason, or the fields a hold names.
    void_reason: Mapped[str | None] = mapped_column(Text)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Interview(Base):
    """约谈 as held: who interviewed whom, on which day, and what followed — one record a
    notice; notices held together in one meeting (集体约谈) share its name."""

    __tablename__ = "interviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), unique=True)
    held_on: Mapped[date] = mapped_column(Date)
    interviewer: Mapped[str] = mapped_column(String(100))
    interviewee: Mapped[str] = mapped_column(String(100))
    followed: Mapped[str] = mapped_column(Text)
    meeting: Mapped[str | None] = mapped_column(String(100))
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())


class MonthlyReturn(Base):
    """A unit's monthly return for one indicator; a later row for the same key replaces it."""

    __tablename__ = "monthly_returns"
    __table_args__ = (
        UniqueConstraint("period", "unit_id", "indicator"),
        # The boards read one indicator's returns in unit order from this index alone.
        Index("ix_monthly_returns_indicator_unit", "indicator", "unit_id", "period", "value"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    period: Mapped[str] = mapped_column(String(7))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    indicator: Mapped[str] = mapped_column(String(64))
    value: Mapped[int] = mapped_column(Integer)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime())


class PolicyRecord(Base):
    """A validated policy (docs/rules.md's configurable values); the newest row is in force."""

    __tablename__ = "policies"

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    body: Mapped[dict[str, object]] = mapped_column(JSONType)
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime())


class EscalationRun(Base):
    """What a monthly or quarterly run saw and decided: the board values it scored, so a
    rerun can tell whether the data of a closed period changed since (docs/rules.md §3)."""

    __tablename__ = "escalation_runs"
    __table_args__ = (UniqueConstraint("kind", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    period: Mapped[str] = mapped_column(String(32))
    # {board: {period: {unit: {indicator: value}}}} for every board the decisions read
    values: Mapped[dict[str, object]] = mapped_column(JSONType)
    decisions: Mapped[list[dict[str, object]]] = mapped_column(JSONType)
    run_at: Mapped[datetime] = mapped_column(UTCDateTime())
