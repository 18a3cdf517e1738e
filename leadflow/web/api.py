"""The JSON API, /api/v1 (docs/api.md): a lead arrives, the ledger read page by page,
a lead, its audit trail, the custodian's reading of a reporter, and a lead's text
amended. Each route calls the services as the token's person; the services check the
permission table and record a refusal."""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, BackgroundTasks, Depends, Path, Query, Request
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel, Field

from leadflow import arrivals
from leadflow.web.guard import authenticate, bearer
from models import documents
from models.domain.lifecycle import State
from models.domain.people import Person, clean_text
from models.inputs.schemas import SUMMARY_MAX_CHARS, LeadIn, Source
from models.services import access, amending, intake, ledger, outbox, reporters, runtime
from models.services.clock import real_today
from models.store.lead import Lead

log = logging.getLogger("leadflow.web")


def person(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Person:
    return authenticate(request, credentials)


Caller = Annotated[Person, Depends(person)]
LeadRef = Annotated[
    str,
    Path(
        min_length=1,
        max_length=128,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$",
        description="The lead's id or external id.",
    ),
]


class Problem(BaseModel):
    field: str
    reason: str


class ErrorBody(BaseModel):
    status: int
    message: str
    problems: list[Problem]


class ErrorOut(BaseModel):
    error: ErrorBody


ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut, "description": what}
    for code, what in {
        401: "no live token",
        403: "the person's roles do not allow it (recorded)",
        404: "no such lead, or one outside the person's units (recorded)",
        409: "a rule refused it",
        422: "bad input: each field and why",
        429: "too many failed attempts from this address",
    }.items()
}

router = APIRouter(prefix="/api/v1", responses=ERRORS)


class Arrived(BaseModel):
    lead_id: int
    external_id: str
    duplicate: bool
    state: State


class LeadSummary(BaseModel):
    id: int
    external_id: str
    state: State
    version: int
    source: str
    received_at: datetime
    lead_unit: str | None


class LeadPage(BaseModel):
    items: list[LeadSummary]
    next_page: str | None = Field(description="Pass as `page` for the next page; null: last.")


class Subject(BaseModel):
    name: str
    post: str
    rank: str


class LeadRecord(BaseModel):
    id: int
    external_id: str
    state: State
    version: int
    received_at: datetime
    source: str
    channel: str
    domain: str
    summary: str
    amount_yuan: str
    flags: list[str]
    subject: Subject
    entity: str | None
    handling_mode: str | None
    proposed_mode: str | None
    lead_unit: str | None
    jurisdiction_unit: str | None
    disposal: str | None
    rectification_due: date | None
    overdue: bool
    withheld: list[str] = Field(
        description="The texts shown as withheld: they name the lead's reporter (举报人), "
        "and the caller reads for a handling unit (summary, subject.post)."
    )


class AuditEventOut(BaseModel):
    seq: int
    at: str
    actor: str
    action: str
    reason: str
    lead: int | None
    unit: str | None
    state_before: str | None
    state_after: str | None
    data: dict[str, Any]
    prev_hash: str
    hash: str


class Trail(BaseModel):
    lead_id: int
    events: list[AuditEventOut]


class ReporterAsk(BaseModel):
    reason: str = Field(min_length=1, max_length=2000, description="Why: kept on the record.")


class Identity(BaseModel):
    name: str | None
    phone: str | None
    anonymous: bool


class ReporterRead(BaseModel):
    lead_id: int
    reporter: Identity | None


class AmendIn(BaseModel):
    field: Literal["summary", "finding"] = Field(
        description="The lead's text to rewrite: summary (反映问题) or finding (核查结论)."
    )
    text: str = Field(min_length=1, max_length=SUMMARY_MAX_CHARS, description="The new text.")
    reason: str = Field(min_length=1, max_length=2000, description="Why: kept on the record.")


class DocumentOut(BaseModel):
    number: str
    kind: str
    status: str = Field(description="issued, held (it would name the reporter), void or pending.")
    fields: list[str] = Field(description="Held: the fields that carry the reporter.")


class AmendedOut(BaseModel):
    lead_id: int
    field: str
    changed: bool = Field(description="false: the lead already said this; nothing recorded.")
    documents: list[DocumentOut] = Field(description="The lead's documents rendered again.")


@router.post("/leads", status_code=202, response_model=Arrived)
def lead_arrives(lead: LeadIn, caller: Caller, background: BackgroundTasks) -> Arrived:
    """A lead arrives, as `leadflow lead submit --no-wait`: recorded with its intake
    request, then handed on; 202 once recorded."""
    arrival = intake.Arrival(lead, "api")
    with runtime.work() as session:  # the caller's permission first, then the rules
        access.permit(session, caller, "lead.register")
        intake.check_references(session, [arrival])
        receipt = outbox.arrive(session, arrival, by=caller)
        state = session.get_one(Lead, receipt.lead_id).state
    done = arrivals.Submitted(receipt, lead.external_id)
    if not done.receipt.duplicate:
        background.add_task(_hand_on, done)
    return Arrived(
        lead_id=done.receipt.lead_id,
        external_id=lead.external_id,
        duplicate=done.receipt.duplicate,
        state=state,
    )


def _hand_on(done: arrivals.Submitted) -> None:
    """After the response: a lead not handed on stays recorded, and the reconciler will."""
    try:
        arrivals.carry_on(done, wait=False, say=log.info)
    except Exception as exc:  # recorded already; say what failed, never with what
        log.warning("lead %s not handed on yet: %s", done.receipt.lead_id, type(exc).__name__)


@router.get("/leads", response_model=LeadPage)
def leads(
    caller: Caller,
    state: State | None = None,
    unit: Annotated[str | None, Query(max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")] = None,
    source: Source | None = None,
    overdue: bool | None = None,
    page: Annotated[str | None, Query(pattern=r"^[1-9][0-9]{0,17}$")] = None,
    limit: Annotated[int, Query(ge=1, le=ledger.MAX_PAGE)] = 50,
) -> LeadPage:
    """The leads the caller may read, newest first, filtered; keyset-paged."""
    filters = ledger.Filters(state, unit, source, overdue)
    with runtime.work() as session:
        rows, after = ledger.page(
            session,
            caller,
            filters,
            after=int(page) if page else None,
            limit=limit,
            today=real_today(),
        )
    items = [LeadSummary.model_validate(row, from_attributes=True) for row in rows]
    return LeadPage(items=items, next_page=str(after) if after else None)


@router.get("/leads/{lead}", response_model=LeadRecord)
def lead_record(lead: LeadRef, caller: Caller) -> LeadRecord:
    """One lead: what it says, where it stands, whose it is (never its reporter)."""
    with runtime.work() as session:
        found = ledger.record_of(session, caller, lead, today=real_today())
    return LeadRecord.model_validate(found)


@router.get("/leads/{lead}/audit", response_model=Trail)
def lead_trail(lead: LeadRef, caller: Caller) -> Trail:
    """The lead's audit trail, oldest first."""
    with runtime.work() as session:
        lead_id, events = ledger.trail_of(session, caller, lead)
    return Trail(lead_id=lead_id, events=[AuditEventOut.model_validate(e) for e in events])


@router.post("/leads/{lead}/reporter", response_model=ReporterRead)
def reporter_read(lead: LeadRef, ask: ReporterAsk, caller: Caller) -> ReporterRead:
    """The reporter's identity, for the custodian (信访室), or once for an officer holding
    a granted request: the read is recorded with who and why."""
    reason = clean_text(ask.reason, field="reason", source="reason")
    with runtime.work() as session:
        lead_id, found = reporters.reveal(session, lead, by=caller, reason=reason)
    shown = Identity(**found.__dict__) if found else None
    return ReporterRead(lead_id=lead_id, reporter=shown)


@router.post("/leads/{lead}/amend", response_model=AmendedOut)
def lead_amend(lead: LeadRef, amend: AmendIn, caller: Caller) -> AmendedOut:
    """Rewrite the lead's summary or its outcome's finding — most often to take out a reporter
    named in it: its held documents are then rendered again, issued under their numbers
    if they name no one, else held still. Recorded with the old text's SHA-256 only."""
    reason = clean_text(amend.reason, field="reason", source="reason")
    desk = runtime.desk(who=caller)
    with runtime.work() as session:
        lead_id = access.find_lead(session, caller, lead, "lead.amend").id
        done = amending.amend(
            session, desk, lead_id, field=amend.field, text=amend.text, reason=reason, source="text"
        )
    rendered = documents.render_pending(
        runtime.engine(), output_dir=desk.output_dir, actor=desk.actor, lead_id=lead_id
    )
    return AmendedOut(
        lead_id=lead_id,
        field=done.field,
        changed=done.changed,
        documents=[
            DocumentOut(
                number=d.number, kind=d.kind, status=d.status, fields=documents.held_fields(d)
            )
            for d in rendered
        ],
    )
