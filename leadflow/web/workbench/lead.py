"""A lead's page (线索详情): its facts, its place in the lifecycle, its team and their
authority, its deadlines, documents and audit events; and the forms of the acts the
reader may take now, each taken as `leadflow lead <act>` takes it (leadflow/steps.py).
A reporter is shown only on a read of its own: the custodian's, or an officer's granted
one-time read."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from leadflow import steps
from leadflow.web.workbench import lifecycle
from leadflow.web.workbench.lead_forms import Fields
from leadflow.web.workbench.render import local_time, page
from leadflow.web.workbench.sessions import Signed, Viewer, signed_form
from models import documents
from models.domain import terms
from models.domain.people import Person
from models.domain.permissions import ACTS, may
from models.domain.triage import REASONS, Mode
from models.services import lead_view, reporter_requests, reporters, runtime
from models.services.applications import apply
from models.services.clock import real_today
from models.services.disposal import HandledCounts, close, dispose, record_outcome
from models.services.rectification import follow_up, order_rectification, report_rectification

router = APIRouter(include_in_schema=False)
LeadRef = Annotated[str, Path(min_length=1, max_length=128)]

# What the page confirms after each act (role="status").
DONE = {
    "dispose": "已记录处置。",
    "outcome": "已记录处理结果及核查结论。",
    "rectify": "已下达限期整改通知。",
    "report": "已记录整改报告。",
    "follow-up": "已记录回头看结果。",
    "close": "线索已办结。",
    "apply": "协作申请已提出，待委领导决定。",
    "reporter-request": "查阅举报人信息的申请已送信访室，批准后可查阅一次。",
}
# The lead's fields a held document's hold may name, as the page names them.
HELD_FIELDS = {
    "summary": "反映问题",
    "finding": "核查结论",
    "subject.post": "被反映人职务",
    "subject.name": "被反映人",
    "external_id": "线索编号",
    "notice": "文书正文",
}
APPLIED_MODES = {m: terms.MODE_TERMS[m] for m in ("joint", "escalated", "cross")}
FOLLOW_UP = {"passed": "整改到位（通过）", "failed": "整改不到位（未通过）"}
FORMS = {"": "不适用", **{str(n): f"第{terms.numeral(n)}种形态" for n in range(1, 5)}}
MOST_HANDLED = 10_000  # people one outcome may count, a bound against a slip of the keys


@router.get("/leads/{lead}")
def lead_page(
    request: Request,
    lead: LeadRef,
    signed: Signed,
    done: Annotated[str, Query(max_length=32)] = "",
    undrawn: Annotated[int, Query(ge=0, le=1)] = 0,
) -> HTMLResponse:
    with runtime.work() as session:
        shown = lead_view.lead_page(session, signed.person, lead, today=real_today())
    record = shown.record
    return page(
        request,
        "lead.html.j2",
        signed,
        title=f"线索 {record['external_id']}",
        view=shown,
        facts=_facts(shown),
        drawing=lifecycle.drawing(record["state"], shown.visited),
        done=DONE.get(done, ""),
        warnings=_warnings(shown, bool(undrawn)),
        decides=may(signed.person, ACTS["lead.decide"]),
        choices={
            "method": terms.DISPOSAL_METHODS,
            "kind": terms.OUTCOMES,
            "form": FORMS,
            "result": FOLLOW_UP,
            "mode": APPLIED_MODES,
        },
    )


def _facts(shown: lead_view.LeadPage) -> list[tuple[str, str]]:
    """The lead's facts in Chinese, as its reader may see them (never its reporter)."""
    record, subject = shown.record, shown.record["subject"]
    return [
        ("线索编号", record["external_id"]),
        ("受理时间", local_time(record["received_at"])),
        ("来源", terms.SOURCES.get(record["source"], record["source"])),
        ("渠道", terms.CHANNELS.get(record["channel"], record["channel"])),
        ("领域", terms.DOMAINS.get(record["domain"], record["domain"])),
        ("所在单位", shown.entity),
        ("被反映人", subject["name"]),
        ("职务", subject["post"]),
        ("职级", terms.RANKS.get(subject["rank"], subject["rank"])),
        ("涉及金额（元）", f"{Decimal(record['amount_yuan']):,.2f}"),
        ("情形", "、".join(REASONS.get(f, f) for f in record["flags"]) or "无"),
        ("反映问题", record["summary"]),
    ]


def _warnings(shown: lead_view.LeadPage, undrawn: bool) -> list[str]:
    """What the reader must be told of the lead's documents: each held because it would
    name the reporter; and, just after an act, each that could not be drawn."""
    said = []
    for d in shown.documents:
        if d.status == "held":
            fields = "、".join(HELD_FIELDS.get(f, f) for f in d.held_fields)
            said.append(
                f"{d.title}（{d.number}）载有举报人身份信息，暂缓印发，文号保留（涉及：{fields}）。"
                "请修改相应文字、去除举报人姓名和电话后，以原文号印发。"
            )
        if undrawn and d.undrawn:
            said.append(
                f"{d.title}（{d.number}）含有已安装字体无法显示的文字，未能生成，已作废，文号保留；"
                "本次操作已记录。安装所需字体后，待出文书可重新生成。"
            )
    return said


@router.get("/leads/{lead}/documents/{number}")
def document_pdf(request: Request, lead: LeadRef, number: str, signed: Signed) -> Response:
    """The issued PDF, served only if it still matches its audit event's checksum."""
    with runtime.work() as session:
        found = lead_view.document_file(session, signed.person, lead, number)
    if found.pdf is None:
        return page(
            request,
            "error.html.j2",
            signed,
            title="文书未予提供",
            status=409,
            message=found.refused or "",
            problems=[],
            back=f"/leads/{quote(lead, safe='')}",
        )
    name = re.sub(
        r"[^A-Za-z0-9._-]",
        "_",
        f"{found.lead_external_id}-{found.kind}-{found.year}-{found.serial}",
    )
    return Response(
        found.pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}.pdf"'},
    )


async def _taken(signed: Viewer, lead: str, form: str, act: str, step: steps.Step) -> Response:
    """The step taken as the command line takes it; then back to the lead's page."""
    taken = await run_in_threadpool(steps.take, signed.person, lead, act, step)
    undrawn = any(documents.undrawn(d) for d in taken.rendered)
    tail = "&undrawn=1" if undrawn else ""  # the step stands; its notice could not be drawn
    return RedirectResponse(f"/leads/{taken.lead_id}?done={form}{tail}", status_code=303)


async def _fields(request: Request, signed: Viewer) -> Fields:
    return Fields(await signed_form(request, signed))


@router.post("/leads/{lead}/dispose")
async def dispose_form(request: Request, lead: LeadRef, signed: Signed) -> Response:
    fields = await _fields(request, signed)
    method = fields.choice("method", "处置方式", terms.DISPOSAL_METHODS)
    reason = fields.reason()
    fields.checked()
    return await _taken(
        signed,
        lead,
        "dispose",
        "lead.dispose",
        lambda s, d, i: dispose(s, d, i, method=method, reason=reason),
    )


@router.post("/leads/{lead}/outcome")
async def outcome_form(request: Request, lead: LeadRef, signed: Signed) -> Response:
    fields = await _fields(request, signed)
    kind = fields.choice("kind", "处理结果", terms.OUTCOMES)
    finding = fields.written("finding", "核查结论")
    form = fields.choice("form", "处理形态", FORMS)
    counts = HandledCounts(
        *(
            fields.number(name, label, 0, MOST_HANDLED) or 0
            for name, label in (
                ("educated", "批评教育人数"),
                ("accountable", "问责人数"),
                ("party_sanctions", "党纪处分人数"),
                ("government_sanctions", "政务处分人数"),
            )
        )
    )
    clear_name, reason = fields.ticked("clear_name"), fields.reason()
    fields.checked()

    def step(s: Any, d: Any, i: int) -> Any:
        return record_outcome(
            s, d, i, kind=kind, reason=reason, finding=finding,
            form=int(form) if form else None, counts=counts, clear_name=clear_name,
        )  # fmt: skip

    return await _taken(signed, lead, "outcome", "lead.outcome", step)


@router.post("/leads/{lead}/rectify")
async def rectify_form(request: Request, lead: LeadRef, signed: Signed) -> Response:
    fields = await _fields(request, signed)
    days = fields.number("days", "整改期限（工作日）", 1, 365, optional=True)
    reason = fields.reason()
    fields.checked()
    return await _taken(
        signed,
        lead,
        "rectify",
        "lead.rectify",
        lambda s, d, i: order_rectification(s, d, i, reason=reason, days=days),
    )


def _reason_only(
    form: str, act: str, service: Callable[..., Any]
) -> Callable[[Request, str, Viewer], Any]:
    """A form that asks only why: the service called with the reason alone."""

    async def handler(request: Request, lead: LeadRef, signed: Signed) -> Response:
        fields = await _fields(request, signed)
        reason = fields.reason()
        fields.checked()
        return await _taken(
            signed, lead, form, act, lambda s, d, i: service(s, d, i, reason=reason)
        )

    return handler


router.post("/leads/{lead}/report")(_reason_only("report", "lead.report", report_rectification))
router.post("/leads/{lead}/close")(_reason_only("close", "lead.close", close))


@router.post("/leads/{lead}/follow-up")
async def follow_up_form(request: Request, lead: LeadRef, signed: Signed) -> Response:
    fields = await _fields(request, signed)
    passed = fields.choice("result", "回头看结果", FOLLOW_UP) == "passed"
    reason = fields.reason()
    fields.checked()
    return await _taken(
        signed,
        lead,
        "follow-up",
        "lead.follow_up",
        lambda s, d, i: follow_up(s, d, i, passed=passed, reason=reason),
    )


@router.post("/leads/{lead}/apply")
async def apply_form(request: Request, lead: LeadRef, signed: Signed) -> Response:
    fields = await _fields(request, signed)
    mode = fields.choice("mode", "申请办理方式", APPLIED_MODES)
    reason = fields.reason()
    fields.checked()
    return await _taken(
        signed,
        lead,
        "apply",
        "lead.apply",
        lambda s, d, i: apply(s, d, i, mode=Mode(mode), reason=reason),
    )


@router.post("/leads/{lead}/reporter-request")
async def reporter_request_form(request: Request, lead: LeadRef, signed: Signed) -> Response:
    fields = await _fields(request, signed)
    reason = fields.reason()
    fields.checked()
    await run_in_threadpool(_ask, signed.person, lead, reason)
    return RedirectResponse(f"/leads/{quote(lead, safe='')}?done=reporter-request", status_code=303)


def _ask(person: Person, lead: str, reason: str) -> int:
    with runtime.work() as session:
        return reporter_requests.ask(session, person, lead, reason=reason)


@router.post("/leads/{lead}/reporter")
async def reporter_form(request: Request, lead: LeadRef, signed: Signed) -> HTMLResponse:
    """The reporter, on a page of its own (never in a URL; no page is stored): the
    custodian's read, or an officer's one read on a granted request — recorded either way."""
    fields = await _fields(request, signed)
    reason = fields.reason()
    fields.checked()
    lead_id, identity = await run_in_threadpool(_reveal, signed.person, lead, reason)
    return page(
        request,
        "reporter_read.html.j2",
        signed,
        title="举报人信息",
        lead_id=lead_id,
        identity=identity,
        reads_lead=may(signed.person, ACTS["lead.read"]),
        once=not may(signed.person, ACTS["reporter.read"]),  # a granted read, used up
    )


def _reveal(
    person: Person, lead: str, reason: str
) -> tuple[int, reporters.ReporterIdentity | None]:
    with runtime.work() as session:
        return reporters.reveal(session, lead, by=person, reason=reason)
