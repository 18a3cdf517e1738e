"""Audit review (审计核查): the last full check and the latest anchor; a full check of the
chain, its anchors and every issued document run from the page (`leadflow audit verify`
and `leadflow docs verify`); the trail's events searched; a lead's audit record as its
PDF (`leadflow audit export`)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from leadflow.web.workbench.fields import refused
from leadflow.web.workbench.render import page
from leadflow.web.workbench.sessions import Signed, Viewer, signed_form
from models.documents.audit_record import spaced
from models.domain.people import Person
from models.services import audit_search, runtime, verifying

router = APIRouter(include_in_schema=False)

LeadRef = Annotated[
    str, Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
]


def _search_choices(session: Session) -> dict[str, Any]:
    return {"actions": audit_search.actions(session), "units": audit_search.units(session)}


def _review_page(request: Request, signed: Viewer, **verdict: Any) -> HTMLResponse:
    with runtime.work() as session:
        review = audit_search.review(session, signed.person)
        choices = _search_choices(session)
    return page(
        request,
        "audit.html.j2",
        signed,
        title="审计核查",
        review=review,
        query=audit_search.Query(),
        spaced=spaced,
        **choices,
        **verdict,
    )


@router.get("/audit")
def audit_page(request: Request, signed: Signed) -> HTMLResponse:
    return _review_page(request, signed, checked=None, files=None)


def _check(person: Person) -> tuple[verifying.Checked, audit_search.DocumentsChecked]:
    """The whole chain and its anchors, then every issued document's file."""
    with runtime.work() as session:
        audit_search.review(session, person)  # refused here, and recorded, if not allowed
    checked = verifying.check_all(runtime.engine(), person)
    with runtime.work() as session:
        files = audit_search.verify_documents(session, person)
    return checked, files


# What a document's check found, in Chinese, by the start of what it reports.
FILE_PROBLEMS = (
    ("missing", "文件缺失"),
    ("changed", "文件已被改动，校验值与审计记录不符"),
    ("its record differs", "文书记录与审计记录中的校验值不符"),
)


def file_problem(problem: str) -> str:
    return next((said for start, said in FILE_PROBLEMS if problem.startswith(start)), problem)


@router.post("/audit/verify")
async def verify_form(request: Request, signed: Signed) -> Response:
    await signed_form(request, signed)
    checked, files = await run_in_threadpool(_check, signed.person)
    return _review_page(request, signed, checked=checked, files=files, file_problem=file_problem)


def _day(value: str, field: str, label: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise refused(field, label, "应为日期 YYYY-MM-DD") from None


@router.get("/audit/events")
def events_page(
    request: Request,
    signed: Signed,
    actor: Annotated[str, Query(max_length=100)] = "",
    action: Annotated[str, Query(max_length=64)] = "",
    unit: Annotated[str, Query(max_length=64)] = "",
    since: Annotated[str, Query(alias="from", max_length=10)] = "",
    until: Annotated[str, Query(alias="to", max_length=10)] = "",
    after: Annotated[int | None, Query(ge=1, le=2**62)] = None,
) -> HTMLResponse:
    query = audit_search.Query(
        actor.strip(),
        action,
        unit,
        _day(since, "from", "起始日期"),
        _day(until, "to", "截止日期"),
    )
    with runtime.work() as session:
        rows, next_after = audit_search.search(session, signed.person, query, after=after)
        choices = _search_choices(session)
    asked = {"actor": actor, "action": action, "unit": unit, "from": since, "to": until}
    kept = {k: v for k, v in asked.items() if v}
    return page(
        request,
        "audit_events.html.j2",
        signed,
        title="审计事件检索",
        query=query,
        rows=rows,
        next_href=f"/audit/events?{urlencode({**kept, 'after': next_after})}"
        if next_after
        else None,
        **choices,
    )


@router.get("/leads/{lead}/record.pdf")
def record_pdf(lead: LeadRef, signed: Signed) -> Response:
    _, path, _ = audit_search.export_record(signed.person, lead)
    return FileResponse(
        path, media_type="application/pdf", filename=path.name, content_disposition_type="inline"
    )
