"""The ledger (台账): the leads the person may read, filtered and paged."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from leadflow.web.workbench.render import page
from leadflow.web.workbench.sessions import Signed
from models.services import ledger, runtime
from models.services.clock import real_today

router = APIRouter(include_in_schema=False)


@router.get("/leads")
def ledger_page(
    request: Request,
    signed: Signed,
    after: Annotated[int | None, Query(ge=1)] = None,
) -> HTMLResponse:
    with runtime.work() as session:
        rows, next_after = ledger.page(
            session, signed.person, ledger.Filters(), after=after, limit=50, today=real_today()
        )
    return page(request, "ledger.html.j2", signed, title="台账", rows=rows, next_after=next_after)
