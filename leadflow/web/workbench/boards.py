"""The colour boards (多色榜): a month's board as a coloured table with the year to date
and each unit's trend beside it, the units that have not filed, what the month's
escalation issued, and the month's bulletin (通报) as its checked PDF."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from leadflow.web.workbench.render import page
from leadflow.web.workbench.sessions import Signed
from models.documents.bulletin import period_label
from models.domain.terms import numeral
from models.services import board_view, runtime

router = APIRouter(include_in_schema=False)

COLOURS = {"red": "红", "blue": "蓝", "white": "白"}


@router.get("/boards")
def boards_page(
    request: Request,
    signed: Signed,
    period: Annotated[str, Query(max_length=7)] = "",
    board: Annotated[str, Query(max_length=32)] = "",
) -> HTMLResponse:
    with runtime.work() as session:
        shown = board_view.board_page(
            session, signed.person, period=period or None, name=board or None
        )
    label = period_label(shown.period)
    return page(
        request,
        "boards.html.j2",
        signed,
        title="多色榜",
        shown=shown,
        label=label,
        ytd_label=period_label(f"{shown.period[:4]}-01..{shown.period}")
        if not shown.period.endswith("-01")
        else label,
        month_labels=[period_label(m) for m in shown.trend_months],
        period_labels={p: period_label(p) for p in shown.periods},
        colours=COLOURS,
        top=numeral(shown.scoring.red_max_rank),
    )


@router.get("/boards/bulletin.pdf")
def bulletin_pdf(
    request: Request, signed: Signed, period: Annotated[str, Query(max_length=7)]
) -> Response:
    with runtime.work() as session:
        found = board_view.bulletin_file(session, signed.person, period)
    if found.pdf is None:
        return page(
            request,
            "error.html.j2",
            signed,
            title="通报不可用",
            status=404,
            message=found.problem or "该月的通报尚未印发。",
            problems=[],
            back=f"/boards?period={period}",
        )
    return Response(
        found.pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="bulletin-{period}.pdf"'},
    )
