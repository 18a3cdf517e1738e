"""Interviews as held (约谈, docs/rules.md §3): an interview notice asks a commission leader
to interview a unit's head; the record says that it happened — who interviewed whom, on
which day, and what followed (e.g. 诫勉谈话) — singly, or as one collective interview
meeting (集体约谈) holding several notices.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import audit
from models.domain.errors import RuleRefused
from models.domain.people import clean_text
from models.services import clock
from models.services.access import permit
from models.services.desk import Desk
from models.store.base import utcnow
from models.store.organisation import Unit
from models.store.records import Document, Interview

HELD = "interview.held"


@dataclass(frozen=True)
class Held:
    """What an interview record says; ``meeting`` names a collective one."""

    held_on: date
    interviewer: str
    interviewee: str
    followed: str
    meeting: str | None = None

    def checked(self) -> Held:
        return Held(
            self.held_on,
            clean_text(self.interviewer, field="name", source="--interviewer"),
            clean_text(self.interviewee, field="name", source="--interviewee"),
            clean_text(self.followed, field="reason", source="--followed"),
            clean_text(self.meeting, field="name", source="--meeting") if self.meeting else None,
        )


def record_held(
    session: Session, desk: Desk, numbers: Sequence[str], held: Held, *, reason: str
) -> list[int]:
    """The interviews of these notices held as ``held`` says: one record a notice, each on
    the audit trail; a day after the real date, before a notice was issued, or a notice
    already recorded is refused."""
    permit(session, desk.person, "interview.record")
    audit.lock_chain(session)
    held = held.checked()
    if len(numbers) > 1 and held.meeting is None:
        raise RuleRefused("interview", "several notices are held together only as a --meeting")
    clock.check_replayed(held.held_on, named="--held-on")
    recorded = []
    for number in dict.fromkeys(numbers):
        notice = _notice(session, number, held.held_on)
        session.add(
            Interview(
                document_id=notice.id,
                held_on=held.held_on,
                interviewer=held.interviewer,
                interviewee=held.interviewee,
                followed=held.followed,
                meeting=held.meeting,
                recorded_by=desk.actor,
                recorded_at=utcnow(),
            )
        )
        audit.record(session, _event(session, desk, notice, held, reason))
        recorded.append(notice.id)
    return recorded


def _notice(session: Session, number: str, held_on: date) -> Document:
    notice = session.scalar(
        select(Document).where(Document.number == number, Document.kind == "interview_notice")
    )
    if notice is None or notice.status != "issued":
        raise RuleRefused("interview", f"no issued interview notice numbered {number}")
    if held_on < dated(notice):
        raise RuleRefused("interview", f"{number} is dated after the day given")
    if session.scalar(select(Interview.id).where(Interview.document_id == notice.id)):
        raise RuleRefused("interview", f"the interview of {number} is already recorded")
    return notice


def dated(document: Document) -> date:
    """The day a document is dated (成文日期), as written on it."""
    found = re.fullmatch(
        r"(\d{4})年(\d{1,2})月(\d{1,2})日", str((document.content or {}).get("date"))
    )
    if found is None:
        return clock.real_today(document.issued_at)
    return date(*(int(part) for part in found.groups()))


def _event(
    session: Session, desk: Desk, notice: Document, held: Held, reason: str
) -> audit.EventDraft:
    unit = session.get(Unit, notice.unit_id) if notice.unit_id else None
    return audit.EventDraft(
        actor=desk.actor,
        action=HELD,
        reason=reason,
        unit=unit.code if unit else None,
        data={
            "notice": notice.number,
            "held_on": held.held_on.isoformat(),
            "interviewer": held.interviewer,
            "interviewee": held.interviewee,
            "followed": held.followed,
            "meeting": held.meeting,
        },
    )
