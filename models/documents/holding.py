"""A document that names its lead's reporter is held, never issued (docs/rules.md §5).

Before a document about a lead is rendered, every text it would print is screened
against the lead's reporter (:mod:`models.domain.disclosure`). A hit holds it: the
status ``held``, its number kept (numbers have no gaps and are never reused), the lead's
fields that carry the identity recorded — their names, never the identity — and a
``document.hold`` audit event naming them. Once the field is rewritten
(``leadflow lead amend``), :func:`release` re-quotes the amended text into the lead's
held and still pending documents and sends them back to ``pending``: the next render
screens them again and issues them under the same number, or holds them again.

This module and :mod:`models.services.reporters` are the only readers of the reporters'
table: this one compares and answers yes or no, and returns nothing of what it read.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import audit
from models.domain.disclosure import AMENDABLE, NOTICE, Screen, quotes, requoted
from models.store.lead import Lead, Outcome, Reporter
from models.store.records import Document

HELD = "held"
# How a held document's reason begins (the record's void_reason: why it is not issued).
REASON = "ReporterNamed: "


def screen_of(session: Session, lead_id: int) -> Screen | None:
    """The lead's reporter, ready to look for; None when no name or phone is on record
    (an anonymous report keeps none: nothing to look for). What is on record is looked
    for whatever the anonymous flag says, so no slip at input lets a name through."""
    reporter = session.get(Reporter, lead_id)
    return None if reporter is None else Screen.of(reporter.name, reporter.phone)


def names_reporter(session: Session, lead_id: int, text: str) -> bool:
    """Whether ``text`` names the lead's reporter (a rewritten field, a reason)."""
    found = screen_of(session, lead_id)
    return found is not None and found.finds(text)


def lead_texts(session: Session, lead: Lead) -> dict[str, str]:
    """The lead's texts a document may quote, by the names the lead file and the outcome
    give them (the finding once an outcome has recorded one)."""
    outcome = session.get(Outcome, lead.id)
    return {
        "summary": lead.summary,
        "finding": (outcome.finding if outcome else None) or "",
        "subject.post": lead.subject_post,
        "subject.name": lead.subject_name,
        "external_id": lead.external_id,
    }


def _strings(value: Any) -> Iterator[str]:
    """Every string in a document's content, each apart (a name is never read across two)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def screen(session: Session, document: Document) -> list[str]:
    """The fields that carry the lead's reporter into ``document``; [] when it names no
    one. They are the lead's texts that name the reporter and that the document quotes
    — else those that name them at all, else ``notice``: the document's own words."""
    if document.lead_id is None:
        return []
    found = screen_of(session, document.lead_id)
    printed = list(_strings([document.title, document.content]))
    if found is None or not found.finds_any(printed):
        return []
    texts = lead_texts(session, session.get_one(Lead, document.lead_id))
    naming = {name: text for name, text in texts.items() if found.finds(text)}
    quoted = [name for name, text in naming.items() if any(quotes(p, text) for p in printed)]
    return quoted or list(naming) or [NOTICE]


def hold(session: Session, document: Document, fields: Sequence[str], *, actor: str) -> None:
    """Hold ``document``: not issued, not void, its number kept; the fields on the record."""
    document.status, document.void_reason = HELD, REASON + ", ".join(fields)
    audit.record(
        session,
        audit.EventDraft(
            actor=actor,
            action="document.hold",
            reason=f"{document.title} {document.number}：载有举报人身份信息，暂不印发",
            lead_id=document.lead_id,
            data={"number": document.number, "kind": document.kind, "fields": list(fields)},
        ),
    )


def held_fields(document: Document) -> list[str]:
    """The fields a held document's hold names ([] for any other document)."""
    if document.status != HELD or not (document.void_reason or "").startswith(REASON):
        return []
    return (document.void_reason or "").removeprefix(REASON).split(", ")


def release(session: Session, lead_id: int, *, old: str, new: str) -> list[Document]:
    """The lead's held and still pending documents, each quotation of the old text in
    what they print made the same quotation of the new one (:func:`requoted`), and back
    to ``pending``: the next render screens them again and issues them under their
    numbers, or holds them again while another text still names the reporter."""
    audit.lock_chain(session)
    documents = session.scalars(
        select(Document)
        .where(Document.lead_id == lead_id, Document.status.in_((HELD, "pending")))
        .order_by(Document.id)
        .execution_options(populate_existing=True)
    ).all()
    for document in documents:
        content: dict[str, Any] = dict(document.content or {})
        for part in ("paragraphs", "facts", "table"):
            if part in content:
                content[part] = _requoted(content[part], old, new)
        document.content = content
        document.status, document.void_reason = "pending", None
    return list(documents)


def _requoted(value: Any, old: str, new: str) -> Any:
    """Every string in a part of a document's content, its quotations of ``old`` requoted."""
    if isinstance(value, str):
        return requoted(value, old, new)
    if isinstance(value, dict):
        return {key: _requoted(item, old, new) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_requoted(item, old, new) for item in value]
    return value


# How a message names each field a hold may name.
LABELS = {
    "summary": "summary (反映问题)",
    "finding": "finding (核查结论)",
    "subject.post": "subject.post (被反映人职务)",
    "subject.name": "subject.name (被反映人)",
    "external_id": "external_id (线索编号)",
    NOTICE: "the notice's own words",
}


def hold_message(document: Document, lead: str) -> str:
    """What the officer is told of a held document: the fields that carry the reporter,
    and the command that rewrites each — never the identity, nor the text that carries it."""
    fields = held_fields(document)
    told = (
        f"{document.kind} ({document.title}) {document.number} is held, not issued (its "
        "number stays accounted for): it would name the lead's reporter (举报人), carried by "
        + ", ".join(LABELS.get(f, f) for f in fields)
    )
    amendable = [f for f in fields if f in AMENDABLE]
    for field in amendable:
        told += (
            f"; rewrite {field} without the reporter's name or phone: `leadflow lead amend "
            f"{lead} --field {field} --text-file FILE --reason R`"
        )
    if amendable:
        told += "; the notice is then issued under the same number"
    if fixed := [LABELS.get(f, f) for f in fields if f not in AMENDABLE]:
        told += f"; {', '.join(fixed)} cannot be amended: the custodian (信访室) must judge it"
    return told
