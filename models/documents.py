"""Issuing documents (DOMAIN.md §4): a gapless number, a record, a PDF, an audit event.

A document is keyed by (kind, subject of the document, period or step): issuing the
same key again returns the first document and issues nothing. Its number is taken in
the same transaction as the step it accompanies, under the audit chain's lock, so
numbers run per issuer, kind and year without gaps; the record waits as ``pending``
until :func:`render` turns it into a PDF (fan-out, after the step has committed). A
render that fails leaves the record ``void`` with its reason: a number is never reused
and never silently missing.

What a document may say is a :class:`NoticeContent`: it has no field for a reporter,
so no notice can carry one (confidentiality by structure, DOMAIN.md §5).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from models import audit
from models.base import utcnow
from models.database import insert_rows, select_in, transaction
from models.policy import Numbering
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
    "work_warning": "工作预警通知书",
    "interview_notice": "约谈通知书",
    "bulletin": "通报",
    "quarterly_report": "季度工作报告",
    "consolidated_report": "季度综合报告",
}
# The kinds with a layout of their own; every other kind is a notice.
TEMPLATES = {"bulletin": "bulletin.html.j2"}


class Table(BaseModel):
    """A plain table in a notice or report: a header row and rows of text."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    headers: list[str]
    rows: list[list[str]]


class NoticeContent(BaseModel):
    """Everything a notice shows. Deliberately without any field for the reporter."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    addressee: str
    paragraphs: list[str]
    facts: list[tuple[str, str]] = []
    table: Table | None = None
    provisional: bool = False


@dataclass(frozen=True)
class Issued:
    document: Document
    new: bool


def chinese_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


_ALLOCATED = (
    "key",
    "kind",
    "issuer",
    "year",
    "serial",
    "number",
    "lead_id",
    "unit_id",
    "period",
    "status",
    "issued_at",
    "title",
    "content",
)


@dataclass(frozen=True)
class Request:
    """A document asked for: its kind, its idempotency key, what it says and what it is about.

    ``content`` is the document's own model (a :class:`NoticeContent`, a bulletin, …):
    none of them has a field for a reporter.
    """

    kind: str
    key: str
    content: BaseModel
    lead_id: int | None = None
    unit_id: int | None = None
    period: str | None = None
    title: str | None = None


@dataclass(frozen=True)
class Allocated:
    key: str  # the document's own (unique): what identifies it
    number: str
    new: bool


def issue(
    session: Session,
    *,
    kind: str,
    key: str,
    content: BaseModel,
    numbering: Numbering,
    actor: str,
    reason: str,
    on: date,
    lead_id: int | None = None,
    unit_id: int | None = None,
    period: str | None = None,
    title: str | None = None,
) -> Issued:
    """One document: :func:`issue_many` of one, with its record."""
    request = Request(kind, key, content, lead_id, unit_id, period, title)
    allocated = issue_many(
        session, [request], numbering=numbering, actor=actor, reason=reason, on=on
    )[0]
    document = session.scalars(select(Document).where(Document.key == allocated.key)).one()
    return Issued(document, allocated.new)


def issue_many(
    session: Session,
    requests: Sequence[Request],
    *,
    numbering: Numbering,
    actor: str,
    reason: str,
    on: date,
) -> list[Allocated]:
    """Allocate the next numbers of ``numbering`` (per issuer, kind and year), in request
    order, and record the documents, pending their rendering; a key already issued
    returns its first document and takes no number."""
    issuer = numbering.issuer
    audit.lock_chain(session)
    keys = [r.key for r in requests]
    found = {
        key: Allocated(key, number, False)
        for key, number in select_in(session, Document.__table__, ("key", "number"), "key", keys)
    }
    fresh: dict[str, Request] = {}
    for request in requests:  # the first request for a key is the one issued
        if request.key not in found:
            fresh.setdefault(request.key, request)
    # One kind at a time: the unique index then finds each maximum at once, where one
    # GROUP BY over the kinds read every number issued this year (a bulk import's batch
    # took 4 ms on it after 12,000 notices, and more with every batch).
    last = {
        kind: session.scalar(
            select(func.max(Document.serial)).where(
                Document.issuer == issuer, Document.kind == kind, Document.year == on.year
            )
        )
        or 0
        for kind in {r.kind for r in fresh.values()}
    }
    now, day = utcnow(), chinese_date(on)
    rows, drafts = [], []
    for request in fresh.values():
        serial = last[request.kind] = last[request.kind] + 1
        number = f"{issuer}{numbering.kinds[request.kind]}〔{on.year}〕{serial}号"
        found[request.key] = Allocated(request.key, number, True)
        rows.append(
            (
                request.key,
                request.kind,
                issuer,
                on.year,
                serial,
                number,
                request.lead_id,
                request.unit_id,
                request.period,
                "pending",
                now,
                request.title or TITLES[request.kind],
                {
                    "issuer_name": numbering.issuer_name,
                    "date": day,
                    **request.content.model_dump(mode="json"),
                },
            )
        )
        drafts.append(
            audit.EventDraft(
                actor=actor,
                action="document.allocate",
                reason=reason,
                lead_id=request.lead_id,
                data={"kind": request.kind, "number": number, "key": request.key},
            )
        )
    if rows:
        insert_rows(session, Document.__table__, _ALLOCATED, rows)
        audit.append(session, drafts, at=now)
    return [found[key] for key in keys]


def render(session: Session, document_id: int, *, output_dir: Path, actor: str) -> Document:
    """Render a pending document to its PDF; its checksum goes into the audit trail.

    Idempotent: an issued or void document is returned as it is. A render that fails
    leaves the record void with its reason — the number is accounted for, never reused.
    """
    audit.lock_chain(session)
    document = session.get(Document, document_id, populate_existing=True)
    if document is None or document.status != "pending":
        return document
    try:
        pdf = render_pdf(
            TEMPLATES.get(document.kind, "notice.html.j2"),
            {"title": document.title, "number": document.number, **(document.content or {})},
        )
        path = output_dir / str(document.year) / document.kind / f"{document.number}.pdf"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(pdf)
    except Exception as exc:  # any failure voids the number, visibly
        document.status, document.void_reason = "void", f"{type(exc).__name__}: {exc}"[:500]
        audit.record(
            session,
            audit.EventDraft(
                actor=actor,
                action="document.void",
                reason=document.void_reason,
                lead_id=document.lead_id,
                data={"number": document.number, "kind": document.kind},
            ),
        )
        return document
    document.path, document.sha256 = str(path), hashlib.sha256(pdf).hexdigest()
    document.status = "issued"
    audit.record(
        session,
        audit.EventDraft(
            actor=actor,
            action="document.issue",
            reason=f"{document.title} {document.number}",
            lead_id=document.lead_id,
            data={
                "kind": document.kind,
                "number": document.number,
                "sha256": document.sha256,
                "path": str(path),
            },
        ),
    )
    return document


def pending(session: Session, *, lead_id: int | None = None, limit: int | None = None) -> list[int]:
    query = select(Document.id).where(Document.status == "pending").order_by(Document.id)
    if lead_id is not None:
        query = query.where(Document.lead_id == lead_id)
    return list(session.scalars(query.limit(limit)))


def render_each(
    engine: Engine, document_ids: list[int], *, output_dir: Path, actor: str
) -> list[Document]:
    """Render these documents where still pending, each in its own transaction."""
    rendered = []
    for document_id in document_ids:
        with transaction(engine) as session:
            rendered.append(render(session, document_id, output_dir=output_dir, actor=actor))
    return rendered


def render_pending(
    engine: Engine, *, output_dir: Path, actor: str, lead_id: int | None = None
) -> list[Document]:
    """Render every pending document (of one lead, or all), each in its own transaction."""
    rendered: list[Document] = []
    while True:
        with transaction(engine) as session:
            batch = pending(session, lead_id=lead_id, limit=200)
        if not batch:
            return rendered
        rendered += render_each(engine, batch, output_dir=output_dir, actor=actor)


@dataclass(frozen=True)
class FileProblem:
    number: str
    path: str
    problem: str


def verify_files(session: Session) -> tuple[int, list[FileProblem]]:
    """Re-check every issued document's file against the checksum its ``document.issue``
    audit event recorded — the hash-chained trail, not the documents table, which could be
    edited along with the file. Returns how many were checked and what does not hold."""
    recorded: dict[str, str] = {}
    for data in session.scalars(
        select(audit.AuditEvent.data).where(audit.AuditEvent.action == "document.issue")
    ):
        details = json.loads(data)
        recorded[details["number"]] = details["sha256"]
    checked, problems = 0, []
    issued = select(Document.number, Document.path, Document.sha256).where(
        Document.status == "issued"
    )
    for number, path, sha256 in session.execute(issued.order_by(Document.id)):
        checked += 1
        expected = recorded.get(number)
        file = Path(path or "")
        if expected is None or expected != sha256:
            problems.append(
                FileProblem(number, str(path), "its record differs from the audit trail")
            )
        elif not file.is_file():
            problems.append(FileProblem(number, str(path), "missing"))
        elif (found := hashlib.sha256(file.read_bytes()).hexdigest()) != expected:
            problems.append(
                FileProblem(number, str(path), f"changed: sha256 {found} is not {expected}")
            )
    return checked, problems
