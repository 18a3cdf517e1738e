"""The leader's desk (领导研判): the leads awaiting a commission leader's decision, each
decided — the mode, then the assignment — or closed at triage (予以了结) from its own
form, exactly as `leadflow lead decide` and `leadflow lead close` take those steps."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from leadflow import steps
from leadflow.web.workbench.fields import reasoned, refused
from leadflow.web.workbench.render import page
from leadflow.web.workbench.sessions import Signed, signed_form, text
from models import documents
from models.domain.errors import NotFound
from models.domain.people import Person
from models.domain.recusal import RecusalShortfall
from models.domain.terms import LEVELS, MODE_TERMS, RANKS, STATES
from models.domain.triage import Mode
from models.services import desk_view, runtime
from models.services.clock import real_today
from models.services.desk import Desk
from models.services.disposal import close
from models.services.triage import decide

router = APIRouter(include_in_schema=False)

LeadId = Annotated[int, Path(ge=1, le=2**62)]

# What the desk says after a step, by the result the step's redirect names.
RESULTS = ("decided", "resumed", "shortfall", "closed")
NOTICES = {
    "held": "有文书因载有举报人身份信息暂缓印发，承办单位修改线索文字后即按原文号印发。",
    "undrawn": "有文书因所用字体缺字未能生成，已作废并保留文号，请联系案管处理。",
}


def _notice(rendered: list[Any]) -> str:
    """Whether a notice the step issued was held back or could not be drawn."""
    if any(d.status == documents.HELD for d in rendered):
        return "held"
    return "undrawn" if any(documents.undrawn(d) for d in rendered) else ""


def _decide(person: Person, lead: int, mode: Mode, reason: str) -> str:
    """The decision recorded and the lead assigned; then the run waiting for it resumed."""
    shortfalls: list[RecusalShortfall] = []

    def step(session: Any, desk: Desk, lead_id: int) -> None:
        shortfall = decide(session, desk, lead_id, mode=mode, by=None, reason=reason)
        if shortfall is not None:
            shortfalls.append(shortfall)

    taken = steps.take(person, str(lead), "lead.decide", step)
    waiting = steps.resume_decided(taken.lead_id)
    result = "shortfall" if shortfalls else "resumed" if waiting else "decided"
    notice = _notice(taken.rendered)
    return f"/desk?done={taken.lead_id}&result={result}" + (f"&notice={notice}" if notice else "")


def _close(person: Person, lead: int, reason: str) -> str:
    taken = steps.take(
        person, str(lead), "lead.close_at_triage", lambda s, d, i: close(s, d, i, reason=reason)
    )
    return f"/desk?done={taken.lead_id}&result=closed"


@router.post("/desk/{lead}/decide")
async def decide_form(request: Request, lead: LeadId, signed: Signed) -> Response:
    form = await signed_form(request, signed)
    chosen = text(form, "mode")
    if chosen not in MODE_TERMS:
        raise refused("mode", "办理方式", "请选择自办、室组地联动办理、提级办理或交叉办理")
    reason = reasoned(text(form, "reason"))
    where = await run_in_threadpool(_decide, signed.person, lead, Mode(chosen), reason)
    return RedirectResponse(where, status_code=303)


@router.post("/desk/{lead}/close")
async def close_form(request: Request, lead: LeadId, signed: Signed) -> Response:
    form = await signed_form(request, signed)
    reason = reasoned(text(form, "reason"))
    where = await run_in_threadpool(_close, signed.person, lead, reason)
    return RedirectResponse(where, status_code=303)


def _said(decided: desk_view.Decided, result: str, notice: str) -> str:
    """The confirmation of a step, in Chinese, from what the record now holds."""
    named = f"线索 {decided.external_id}"
    if result == "closed":
        said = f"{named}：已予以了结（{STATES.get(decided.state, decided.state)}）。"
    elif result == "shortfall" or decided.awaiting:
        said = (
            f"{named}：您的决定已记录；但按回避规定可用的办理力量不足，未能按该方式交办，"
            "现已改为提议提级办理，请再次研判。回避规定不因此放宽。"
        )
    else:
        mode = MODE_TERMS.get(decided.decided_mode or "", decided.decided_mode or "")
        said = f"{named}：已决定{mode}并交办（现为{STATES.get(decided.state, decided.state)}）。"
        said += (
            "等待该决定的受理流程已恢复运行。"
            if result == "resumed"
            else "没有等待该决定的受理流程需要恢复。"
        )
    return said + NOTICES.get(notice, "")


@router.get("/desk")
def desk_page(
    request: Request,
    signed: Signed,
    done: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    result: Annotated[str, Query(max_length=16)] = "",
    notice: Annotated[str, Query(max_length=16)] = "",
) -> HTMLResponse:
    today = real_today()
    with runtime.work() as session:
        desk = desk_view.awaiting(session, signed.person, today=today)
        said = None
        if done is not None and result in RESULTS:
            try:
                said = _said(desk_view.decided(session, signed.person, done), result, notice)
            except NotFound:
                said = None  # a lead no longer there: nothing to confirm
    return page(
        request,
        "desk.html.j2",
        signed,
        title="领导研判",
        desk=desk,
        said=said,
        today=today,
        modes=list(MODE_TERMS.items()),
        levels=LEVELS,
        ranks=RANKS,
    )
