"""Signing in and out of the workbench, the home page each role starts from, and the
stylesheet. Failed sign-ins count against the address with the API's failed tokens:
ten a minute, then the address waits out the minute."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from leadflow.web.guard import client_of, limiter
from leadflow.web.workbench.render import TEMPLATES, navigation, page
from leadflow.web.workbench.sessions import (
    COOKIE,
    SIGNIN_COOKIE,
    FormRefused,
    Signed,
    checked_form,
    current,
    set_cookie,
    signed_form,
    text,
)
from models.domain.errors import Refusal
from models.services import runtime, signin
from models.services.access import record_refusal

router = APIRouter(include_in_schema=False)
FAILED = "用户名或密码不正确。"
SLOW_DOWN = "此地址签入失败次数过多，请一分钟后再试。"


@router.get("/static/workbench.css")
def stylesheet() -> FileResponse:
    return FileResponse(TEMPLATES / "workbench.css", media_type="text/css")


@router.get("/")
def home(request: Request) -> Response:
    viewer = current(request)
    if viewer is None:
        return RedirectResponse("/login", status_code=303)
    pages = navigation(viewer)
    if pages:
        return RedirectResponse(pages[0][0], status_code=303)
    # An administrator's work (people, the organisation, the policy) is on the command line.
    return page(request, "no_pages.html.j2", viewer, title="工作台")


def _signin_page(
    request: Request, *, failed: str = "", username: str = "", status: int = 200
) -> Response:
    token = secrets.token_urlsafe(32)
    response = page(
        request,
        "login.html.j2",
        None,
        title="签入",
        status=status,
        failed=failed,
        username=username,
        signin_token=token,
    )
    set_cookie(request, response, SIGNIN_COOKIE, token, max_age=3600)
    return response


@router.get("/login")
def login_page(request: Request) -> Response:
    return _signin_page(request)


@router.post("/login")
async def login(request: Request) -> Response:
    client = client_of(request)
    expected = request.cookies.get(SIGNIN_COOKIE, "")
    if not expected:
        raise FormRefused
    form = await checked_form(request, expected, who=f"unknown web:{client}")
    username = text(form, "username")[:32]
    if limiter.blocked(client):
        return _signin_page(request, failed=SLOW_DOWN, username=username, status=429)
    opened = None
    with runtime.work() as session:
        opened = signin.sign_in(
            session, username, text(form, "password")[:200], via=f"web:{client}"
        )
    if opened is None:
        limiter.failed(client)
        record_refusal(
            runtime.engine(),
            Refusal(f"unknown web:{client}", "authenticate", "not_permitted", "工作台：签入失败"),
        )
        return _signin_page(request, failed=FAILED, username=username, status=401)
    response = RedirectResponse("/", status_code=303)
    set_cookie(request, response, COOKIE, opened.cookie, max_age=signin.SESSION_HOURS * 3600)
    response.delete_cookie(SIGNIN_COOKIE, path="/")
    return response


@router.post("/logout")
async def logout(request: Request, signed: Signed) -> Response:
    await signed_form(request, signed)
    with runtime.work() as session:
        signin.sign_out(session, request.cookies.get(COOKIE, ""))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/", secure=request.url.scheme == "https", httponly=True)
    return response
