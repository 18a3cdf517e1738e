"""The intake outbox: a lead's request to be handed to its intake run.

An arrival and its request are written in one transaction before anything is handed
to Prefect; the request records each attempt to hand it on, so that whatever was not
carried through is handed on again by the reconciler — once, keyed by the attempt.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from models.store.base import Base, UTCDateTime


class IntakeRequest(Base):
    __tablename__ = "intake_requests"

    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"), primary_key=True)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Attempts to hand the lead on so far; the current one keys its flow run.
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # When the current attempt was claimed (None: not handed on, or its hand-on failed).
    handed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    # The flow run the current attempt created ("here": run in the command's own process).
    flow_run: Mapped[str | None] = mapped_column(String(64))
