"""The custodian's page (信访室): officers' requests to see a reporter, granted for a few
hours and one read or refused — as `leadflow reporter grant` and `refuse` answer them —
and the custodian's own read of a lead's reporter, handed to the lead's read form. The
page shows a lead by its id and external id only: the custodian reads no lead."""

from __future__ import annotations

import re
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from leadflow.web.workbench.fields import reasoned, refused, whole
from leadflow.web.workbench.render import page
from leadflow.web.workbench.sessions import Signed, signed_form, text
from models.services import reporter_requests, requests_view, runtime

router = APIRouter(include_in_schema=False)

RequestNumber = Annotated[int, Path(ge=1, le=2**62)]
LEAD_REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}")
DONE = {"grant": "已批准", "refuse": "已不予批准"}


@router.get("/reporter")
def reporter_page(
    request: Request,
    signed: Signed,
    done: Annotated[str, Query(max_length=8)] = "",
    number: Annotated[int | None, Query(ge=1, le=2**62)] = None,
) -> HTMLResponse:
    with runtime.work() as session:
        found = requests_view.requests(session, signed.person)
    said = f"第 {number} 号申请{DONE[done]}，已记入审计记录。" if done in DONE and number else None
    return page(
        request,
        "reporter.html.j2",
        signed,
        title="举报人信息",
        requests=found,
        said=said,
        most_hours=reporter_requests.GRANT_HOURS_MAX,
    )


def _answer(number: int, *, grant: bool, hours: int, reason: str, signed: Signed) -> Response:
    with runtime.work() as session:
        reporter_requests.answer(
            session, signed.person, number, grant=grant, hours=hours, reason=reason
        )
    done = "grant" if grant else "refuse"
    return RedirectResponse(f"/reporter?done={done}&number={number}", status_code=303)


@router.post("/reporter/requests/{number}/grant")
async def grant_form(request: Request, number: RequestNumber, signed: Signed) -> Response:
    form = await signed_form(request, signed)
    most = reporter_requests.GRANT_HOURS_MAX
    hours = whole(text(form, "hours"), "hours", "有效时长（小时）", 1, most)
    reason = reasoned(text(form, "reason"))
    return _answer(number, grant=True, hours=hours, reason=reason, signed=signed)


@router.post("/reporter/requests/{number}/refuse")
async def refuse_form(request: Request, number: RequestNumber, signed: Signed) -> Response:
    form = await signed_form(request, signed)
    reason = reasoned(text(form, "reason"))
    return _answer(number, grant=False, hours=1, reason=reason, signed=signed)


@router.post("/reporter/read")
async def read_form(request: Request, signed: Signed) -> Response:
    """The read form names its lead in a field: the form is handed on, as posted (307),
    to the lead's own read, which checks it, reads and records the read."""
    form = await signed_form(request, signed)
    lead = text(form, "lead").strip()
    if not LEAD_REF.fullmatch(lead):
        raise refused("lead", "线索编号", "请填写线索的编号或外部编号（字母、数字及 _ . : -）")
    reasoned(text(form, "reason"))
    return RedirectResponse(f"/leads/{quote(lead, safe='')}/reporter", status_code=307)
