"""The PDF file of a document (docs/rules.md §4): rendered from its record, checked later.

A document is recorded ``pending`` when its number is taken
(:mod:`models.documents.issuing`); rendering it, after the step it accompanies has
committed, writes its PDF and records the file's checksum on the audit chain. A render
that fails leaves the record ``void`` with its reason, so the number stays accounted
for. A document with a character no installed font draws is such a failure
(:mod:`models.documents.glyphs`): it is voided, the documents after it are left pending
(the same fonts would void them too) and :func:`raise_if_undrawn` tells the command.
A document that would name its lead's reporter is not rendered at all: it is held
(:mod:`models.documents.holding`), its number kept, until the lead's text is amended.
:func:`verify_files` re-checks every issued file against the checksum on the chain.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from models import audit
from models.documents import holding
from models.documents.content import TEMPLATES
from models.documents.glyphs import MissingGlyphs
from models.documents.rendering import render_pdf
from models.domain.errors import Unavailable
from models.store.database import transaction
from models.store.records import Document


def render(session: Session, document_id: int, *, output_dir: Path, actor: str) -> Document:
    """Render a pending document to its PDF; its checksum goes into the audit trail.

    Idempotent: an issued, void or held document is returned as it is. One that would
    name its lead's reporter is held, and nothing of it is drawn. A render that fails
    leaves the record void with its reason — the number is accounted for, never reused.
    """
    audit.lock_chain(session)
    document = session.get_one(Document, document_id, populate_existing=True)
    if document.status != "pending":
        return document
    if fields := holding.screen(session, document):
        holding.hold(session, document, fields, actor=actor)
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


def pending(
    session: Session,
    *,
    lead_id: int | None = None,
    limit: int | None = None,
    before: datetime | None = None,
) -> list[int]:
    """The ids of the documents still to render (of one lead, or all; issued before a
    time, or whenever), oldest first."""
    query = select(Document.id).where(Document.status == "pending").order_by(Document.id)
    if lead_id is not None:
        query = query.where(Document.lead_id == lead_id)
    if before is not None:
        query = query.where(Document.issued_at < before)
    return list(session.scalars(query.limit(limit)))


# How a void reason begins when no installed font draws the document (render's format).
UNDRAWN = f"{MissingGlyphs.__name__}: "


def undrawn(document: Document) -> bool:
    """Whether the document was voided because no installed font draws some character of it."""
    return document.status == "void" and (document.void_reason or "").startswith(UNDRAWN)


class NotIssued(Unavailable):
    """A document voided for want of fonts (exit 69, the machine lacks a piece): its step
    stands, its number is accounted for."""


def raise_if_undrawn(rendered: list[Document]) -> None:
    """Stop a command whose documents could not be drawn, naming the first and the fix."""
    for document in rendered:
        if undrawn(document):
            raise NotIssued(
                f"document {document.number} was not issued and is void (its number stays "
                f"accounted for): {(document.void_reason or '').removeprefix(UNDRAWN)}; "
                "once the fonts are installed, `leadflow docs render` issues any document "
                "still pending"
            )


def render_each(
    engine: Engine, document_ids: list[int], *, output_dir: Path, actor: str
) -> list[Document]:
    """Render these documents where still pending, each in its own transaction; stop at
    one no installed font draws, leaving the rest pending for once the fonts are there."""
    rendered = []
    for document_id in document_ids:
        with transaction(engine) as session:
            rendered.append(render(session, document_id, output_dir=output_dir, actor=actor))
        if undrawn(rendered[-1]):
            break
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
        if undrawn(rendered[-1]):
            return rendered


@dataclass(frozen=True)
class FileProblem:
    number: str
    path: str
    problem: str


@dataclass(frozen=True)
class CheckedFile:
    """An issued document's file, read once and checked against its audit event: ``pdf``
    is exactly the bytes that were hashed, or None with ``problem`` — ``record`` (the
    documents table disagrees with the trail), ``missing`` or ``changed``."""

    pdf: bytes | None
    problem: str | None
    recorded: str | None
    found: str | None = None


def recorded_sha256(session: Session, number: str) -> str | None:
    """The checksum the latest ``document.issue`` event of ``number`` recorded."""
    quoted = f'"number":{json.dumps(number, ensure_ascii=False)}'
    found = None
    for data in session.scalars(
        select(audit.AuditEvent.data)
        .where(
            audit.AuditEvent.action == "document.issue",
            audit.AuditEvent.data.contains(quoted, autoescape=True),
        )
        .order_by(audit.AuditEvent.seq)
    ):
        details = json.loads(data)
        if details.get("number") == number:
            found = details.get("sha256")
    return found


def read_checked(session: Session, document: Document) -> CheckedFile:
    """The document's file as the trail recorded it — the hash-chained trail, not the
    documents table, which could be edited along with the file."""
    recorded = recorded_sha256(session, document.number)
    if recorded is None or recorded != document.sha256:
        return CheckedFile(None, "record", recorded)
    path = Path(document.path or "")
    if not path.is_file():
        return CheckedFile(None, "missing", recorded)
    pdf = path.read_bytes()
    found = hashlib.sha256(pdf).hexdigest()
    if found != recorded:
        return CheckedFile(None, "changed", recorded, found)
    return CheckedFile(pdf, None, recorded, found)


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
