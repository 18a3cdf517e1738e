"""The workbench's pages: Jinja2 templates under templates/web, autoescaped — a lead's
text is always shown as text — with the Chinese terms of the domain's codes, the
navigation a person's roles open, and the form token every form carries."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from leadflow.web.workbench.sessions import Viewer
from models.domain import terms
from models.domain.permissions import ACTS, may
from models.store.periods import SHANGHAI

TEMPLATES = Path(__file__).resolve().parents[3] / "templates" / "web"

# The pages of the navigation, each shown to those who may perform the act it needs.
NAVIGATION = [
    ("/leads", "台账", "lead.read"),
    ("/desk", "领导研判", "lead.decide"),
    ("/boards", "多色榜", "board.read"),
    ("/audit", "审计核查", "audit.verify"),
    ("/reporter", "举报人信息", "reporter.grant"),
]


def local_time(moment: datetime | None) -> str:
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if moment else ""


def local_day(day: date | datetime | None) -> str:
    if isinstance(day, datetime):
        return day.astimezone(SHANGHAI).date().isoformat()
    return day.isoformat() if day else ""


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        state=lambda code: terms.STATES.get(code, code) if code else "",
        mode=lambda code: terms.MODE_TERMS.get(code, code) if code else "",
        source=lambda code: terms.SOURCES.get(code, code) if code else "",
        domain=lambda code: terms.DOMAINS.get(code, code) if code else "",
        disposal=lambda code: terms.DISPOSAL_METHODS.get(code, code) if code else "",
        outcome=lambda code: terms.OUTCOMES.get(code, code) if code else "",
        act=terms.action_term,
        local_time=local_time,
        local_day=local_day,
    )
    return env


ENV = _environment()


def navigation(viewer: Viewer) -> list[tuple[str, str]]:
    return [(href, label) for href, label, act in NAVIGATION if may(viewer.person, ACTS[act])]


def page(
    request: Request,
    template: str,
    viewer: Viewer | None,
    *,
    title: str,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    html = ENV.get_template(template).render(
        title=title,
        viewer=viewer,
        person=viewer.person if viewer else None,
        csrf=viewer.csrf if viewer else "",
        navigation=navigation(viewer) if viewer else [],
        path=request.url.path,
        **context,
    )
    return HTMLResponse(html, status_code=status)
