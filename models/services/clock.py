"""The day an act happens on (docs/rules.md §7): the real date in Asia/Shanghai. A replayed
day — ``LEADFLOW_TODAY`` or a command's ``--on``, for a demo or a replay of past work —
may not pass the real date, may not precede the last act of the lead it acts on, and is
recorded beside the real time in every audit event written while it is in force.
"""

from __future__ import annotations

import json
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import audit
from models.domain.errors import BadInput, Problem, RuleRefused
from models.store.base import utcnow
from models.store.periods import SHANGHAI


def real_today(now: datetime | None = None) -> date:
    """Today in Asia/Shanghai by the machine's clock: deadlines are counted on the
    commission's calendar."""
    return (now or utcnow()).astimezone(SHANGHAI).date()


def acting_day(replayed: date | None, *, named: str) -> date:
    """The day to act on: the real date, or ``replayed`` (named by the setting or option
    it came from) once it is found not to pass the real date; a replayed day is then
    written into the audit events that follow."""
    today = real_today()
    if replayed is None or replayed == today:
        return today
    check_replayed(replayed, named=named)
    audit.REPLAYED_ON.set(replayed)
    return replayed


def check_replayed(replayed: date, *, named: str) -> None:
    """Refuse a replayed day after the real date: a run may not act ahead of time."""
    today = real_today()
    if replayed > today:
        raise BadInput(
            [Problem(named, f"a replayed day may not pass today's date ({today.isoformat()})")]
        )


def last_act_day(session: Session, lead_id: int, received_at: datetime) -> date:
    """The day of the lead's last act: its receipt, or its latest audit event's day (the
    replayed day the event records, else the real day it was written)."""
    row = session.execute(
        select(audit.AuditEvent.at, audit.AuditEvent.data)
        .where(audit.AuditEvent.lead_id == lead_id, audit.AuditEvent.action != "access.refused")
        .order_by(audit.AuditEvent.seq.desc())
        .limit(1)
    ).first()
    received = received_at.astimezone(SHANGHAI).date()
    if row is None:
        return received
    replayed = json.loads(row.data).get(audit.REPLAYED_KEY)
    acted = date.fromisoformat(replayed) if replayed else real_today(datetime.fromisoformat(row.at))
    return max(received, acted)


def check_not_before(session: Session, lead_id: int, received_at: datetime, day: date) -> None:
    """Refuse an act dated before the lead's last act: a notice may not precede the lead's
    receipt, nor a decision the step it answers."""
    last = last_act_day(session, lead_id, received_at)
    if day < last:
        raise RuleRefused(
            "date",
            f"lead {lead_id}'s last act is dated {last.isoformat()}; "
            f"an act dated {day.isoformat()} may not precede it",
        )
