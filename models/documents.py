"""Issuing documents (DOMAIN.md §4): a gapless number, a record, a PDF, an audit event.

A document is keyed by (kind, subject of the document, period or step): issuing the
same key again returns the first document and issues nothing. The number is taken in
the same transaction as the record and the state change it accompanies, under the
audit chain's lock — so numbers run per issuer, kind and year without gaps, and a
render that fails rolls the whole step back, number included.

What a document may say is a :class:`NoticeContent`: it has no field for a reporter,
so no notice can carry one (confidentiality by structure, DOMAIN.md §5).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from pydantic import BaseModel, ConfigDict
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import audit
from models.base import utcnow
from models.records import Document
from models.render import render_pdf

TITLES = {
    "assignment_notice": "问题线索交办通知书",
    "joint_handling_notice": "联合办理通知书",
    "rectification_notice": "整改通知书",
    "reminder_notice": "整改期限提醒函",
    "urging_notice": "催办通知书",
    "supervision_notice": "督办通知书",
    "accountability_proposal": "问责建议书",
    "decision_overdue_notice": "研判逾期提请函",
}


class NoticeContent(BaseModel):
    """Everything a notice shows. Deliberately without any field for the reporter."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    addressee: str
    paragraphs: list[str]
    facts: list[tuple[str, str]] = []
    provisional: bool = False


@dataclass(frozen=True)
class Issued:
    document: Document
    new: bool


def chinese_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _number(issuer: str, prefix: str, year: int, serial: int) -> str:
    return f"{issuer}{prefix}〔{year}〕{serial}号"


def issue(
    session: Session,
    *,
    kind: str,
    key: str,
    content: NoticeContent,
    issuer: str,
    issuer_name: str,
    prefix: str,
    output_dir: Path,
    actor: str,
    reason: str,
    on: date,
    lead_id: int | None = None,
    unit_id: int | None = None,
    period: str | None = None,
) -> Issued:
    audit.lock_chain(session)
    existing = session.scalar(select(Document).where(Document.key == key))
    if existing is not None:
        return Issued(existing, False)
    serial = 1 + (
        session.scalar(
            select(func.max(Document.serial)).where(
                Document.issuer == issuer, Document.kind == kind, Document.year == on.year
            )
        )
        or 0
    )
    number = _number(issuer, prefix, on.year, serial)
    pdf = render_pdf(
        "notice.html.j2",
        {
            "title": TITLES[kind],
            "issuer_name": issuer_name,
            "number": number,
            "date": chinese_date(on),
            **content.model_dump(),
        },
    )
    path = output_dir / str(on.year) / kind / f"{number}.pdf"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pdf)
    digest = hashlib.sha256(pdf).hexdigest()
    document = Document(
        key=key,
        kind=kind,
        issuer=issuer,
        year=on.year,
        serial=serial,
        number=number,
        lead_id=lead_id,
        unit_id=unit_id,
        period=period,
        path=str(path),
        sha256=digest,
        status="issued",
        issued_at=utcnow(),
    )
    session.add(document)
    session.flush()
    audit.record(
        session,
        audit.EventDraft(
            actor=actor,
            action="document.issue",
            reason=reason,
            lead_id=lead_id,
            data={"kind": kind, "number": number, "sha256": digest, "key": key, "path": str(path)},
        ),
    )
    return Issued(document, True)
