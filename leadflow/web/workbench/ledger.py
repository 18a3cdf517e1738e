"""The ledger (台账): the leads the person may read — the coordinating office's master
ledger (总台账), a unit group's (分台账), a unit's own — filtered by a form of plain GET
fields, in pages that continue by key, and the same view exported as a workbook or a CSV
file (导出台账, recorded). No total is counted: a million leads are not counted for it."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from leadflow.web.workbench.render import page
from leadflow.web.workbench.sessions import Signed
from models.domain import terms
from models.services import ledger, ledger_export, runtime
from models.services.clock import real_today

router = APIRouter(include_in_schema=False)
PAGE_ROWS = 50


def _link(asked: ledger.Query, **more: str) -> str:
    """The query string of the view: its filters and order, and ``more``."""
    fields = asked.filters.given()
    if asked.sort != ledger.DEFAULT_SORT:
        fields["sort"] = asked.sort
    return urlencode(fields | more)


def _heading(asked: ledger.Query, groups: list[tuple[str, str]], whole: bool) -> str:
    """The view's name: the master ledger, a group's, or the person's units' leads."""
    group = dict(groups).get(asked.filters.group or "")
    name = f"分台账：{group}" if group else "总台账" if whole else "本单位台账"
    narrowed = set(asked.filters.given()) - {"group"}
    return f"{name}（已按条件筛选）" if narrowed else name


@router.get("/leads")
def ledger_page(request: Request, signed: Signed) -> HTMLResponse:
    asked = ledger.query(request.query_params)
    with runtime.work() as session:
        found = ledger.browse(
            session,
            signed.person,
            asked.filters,
            sort=asked.sort,
            after=asked.after,
            limit=PAGE_ROWS,
            today=real_today(),
        )
        units, groups = ledger.units(session), ledger.unit_groups(session)
    view = _link(asked)
    return page(
        request,
        "ledger.html.j2",
        signed,
        title="台账",
        heading=_heading(asked, groups, ledger.reads_every_lead(signed.person)),
        rows=found.rows,
        chosen=asked.filters.given() | {"sort": asked.sort},
        continued=asked.after is not None,
        first=f"/leads?{view}" if view else "/leads",
        next=f"/leads?{_link(asked, after=str(found.next))}" if found.next else None,
        exports={kind: f"/leads/export.{kind}?{view}".rstrip("?") for kind in ("xlsx", "csv")},
        choices={
            "state": list(terms.STATES.items()),
            "source": list(terms.SOURCES.items()),
            "domain": list(terms.DOMAINS.items()),
            "mode": list(terms.MODE_TERMS.items()),
            "unit": [(code, f"{name}（{code}）") for code, name in units],
            "group": groups,
            "overdue": [("1", "是"), ("0", "否")],
            "sort": list(ledger.SORTS.items()),
        },
        labels=ledger.FIELD_TERMS,
        cap=ledger_export.MAX_ROWS,
    )


def _export(request: Request, signed: Signed, kind: str) -> Response:
    asked = ledger.query(request.query_params)
    with runtime.work() as session:
        made = ledger_export.export(
            session, signed.person, asked.filters, kind=kind, sort=asked.sort, today=real_today()
        )
    headers = {
        "Content-Disposition": f'attachment; filename="{made.filename}"',
        "X-Export-Rows": str(made.rows),
    }
    if made.cut:  # more leads than an export holds: the first ones, and it says so
        headers["X-Export-Cut"] = f"first {made.rows} rows of a larger view"
    return Response(made.content, media_type=made.media_type, headers=headers)


@router.get("/leads/export.xlsx")
def export_xlsx(request: Request, signed: Signed) -> Response:
    return _export(request, signed, "xlsx")


@router.get("/leads/export.csv")
def export_csv(request: Request, signed: Signed) -> Response:
    return _export(request, signed, "csv")
