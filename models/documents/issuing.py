"""Issuing documents (docs/rules.md §4): a gapless number, a record, an audit event.

A document is keyed by (kind, subject of the document, period or step): issuing the
same key again returns the first document and issues nothing. Its number is taken in
the same transaction as the step it accompanies, under the audit chain's lock, so
numbers run per issuer, kind and year without gaps; the record waits as ``pending``
until :func:`models.documents.pdf_files.render` turns it into a PDF (fan-out, after the
step has committed). A render that fails leaves the record ``void`` with its reason; a
document that would name its lead's reporter is ``held`` until the lead's text is
amended (:mod:`models.documents.holding`): a number is never reused and never silently
missing.

What a document may say is a :class:`NoticeContent`: it has no field for a reporter,
so no notice can carry one (confidentiality by structure, docs/rules.md §5).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import audit
from models.documents.content import TITLES, chinese_date
from models.domain.policy import Numbering
from models.store.base import utcnow
from models.store.database import insert_rows, select_in
from models.store.records import Document


@dataclass(frozen=True)
class Issued:
    document: Document
    new: bool


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
    audit.lock_chain(session)
    keys = [r.key for r in requests]
    found = _already_issued(session, keys)
    fresh: dict[str, Request] = {}
    for request in requests:  # the first request for a key is the one issued
        if request.key not in found:
            fresh.setdefault(request.key, request)
    last = _last_serials(session, numbering.issuer, {r.kind for r in fresh.values()}, on.year)
    now = utcnow()
    rows, drafts = _allocate(
        list(fresh.values()), found, last, numbering, on=on, now=now, actor=actor, reason=reason
    )
    if rows:
        insert_rows(session, Document.__table__, _ALLOCATED, rows)
        audit.append(session, drafts, at=now)
    return [found[key] for key in keys]


def _already_issued(session: Session, keys: list[str]) -> dict[str, Allocated]:
    """The documents of these keys that exist, by key: a retry finds them here."""
    return {
        key: Allocated(key, number, False)
        for key, number in select_in(session, Document.__table__, ("key", "number"), "key", keys)
    }


def _last_serials(session: Session, issuer: str, kinds: set[str], year: int) -> dict[str, int]:
    """The last serial the issuer gave each kind this year (0 for none yet).

    One kind at a time: the unique index then finds each maximum at once, where one
    GROUP BY over the kinds would read every number issued this year, more with every
    batch of a bulk import.
    """
    return {
        kind: session.scalar(
            select(func.max(Document.serial)).where(
                Document.issuer == issuer, Document.kind == kind, Document.year == year
            )
        )
        or 0
        for kind in kinds
    }


def _allocate(
    fresh: list[Request],
    found: dict[str, Allocated],
    last: dict[str, int],
    numbering: Numbering,
    *,
    on: date,
    now: datetime,
    actor: str,
    reason: str,
) -> tuple[list[tuple[object, ...]], list[audit.EventDraft]]:
    """Number each fresh request in order (``found`` and ``last`` move on with them): the
    documents' rows and their ``document.allocate`` audit events."""
    issuer, day = numbering.issuer, chinese_date(on)
    rows: list[tuple[object, ...]] = []
    drafts: list[audit.EventDraft] = []
    for request in fresh:
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
    return rows, drafts
