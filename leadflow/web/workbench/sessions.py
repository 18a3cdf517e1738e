"""Who is at the browser: the session cookie (secure where TLS is on, HTTP-only,
SameSite=Strict) turned into the person who signed in, and every form checked for the
session's form token (CSRF) before anything is read from it — a form without it is
refused and recorded."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from starlette.datastructures import FormData
from starlette.responses import Response

from leadflow.web.guard import client_of
from models.domain.errors import Refusal
from models.domain.people import Person
from models.services import runtime, signin
from models.services.access import record_refusal

COOKIE = "leadflow_session"
SIGNIN_COOKIE = "leadflow_signin"  # the sign-in form's own token, before any session
MAX_FORM_FIELDS = 40


class SignInNeeded(Exception):
    """No live session: the browser is sent to the sign-in page."""


class FormRefused(Exception):
    """A form without its session's token (403): it may have been posted by another site."""


@dataclass(frozen=True)
class Viewer:
    person: Person
    csrf: str


def secure(request: Request) -> bool:
    return request.url.scheme == "https"


def set_cookie(request: Request, response: Response, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        secure=secure(request),
        httponly=True,
        samesite="strict",
    )


def current(request: Request) -> Viewer | None:
    cookie = request.cookies.get(COOKIE, "")
    if not cookie or len(cookie) > 100:
        return None
    with runtime.work() as session:
        found = signin.signed_in(session, cookie, via=f"web:{client_of(request)}")
    return Viewer(found.person, found.csrf) if found else None


def viewer(request: Request) -> Viewer:
    found = current(request)
    if found is None:
        raise SignInNeeded
    return found


Signed = Annotated[Viewer, Depends(viewer)]


async def checked_form(request: Request, expected: str, *, who: str) -> FormData:
    """The posted form once its token matches ``expected``; else refused and recorded."""
    form = await request.form(max_files=0, max_fields=MAX_FORM_FIELDS)
    given = form.get("csrf")
    if not isinstance(given, str) or not secrets.compare_digest(given, expected):
        record_refusal(
            runtime.engine(),
            Refusal(who, "web.form", "not_permitted", "工作台：表单缺少有效的防伪令牌（CSRF）"),
        )
        raise FormRefused
    return form


async def signed_form(request: Request, signed: Viewer) -> FormData:
    return await checked_form(request, signed.csrf, who=signed.person.actor)


def text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""
