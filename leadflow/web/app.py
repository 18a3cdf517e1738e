"""The web application: the JSON API under /api/v1 (its OpenAPI document at
/api/v1/openapi.json) and the workbench's pages beside it. Every error is answered with its
field and reason — as JSON to the API, as a page in Chinese to the workbench — never a
traceback, never the data that was sent; every response carries security headers."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException

from leadflow.web import api, workbench
from leadflow.web.guard import Guarded, Unauthenticated
from leadflow.web.workbench.render import page
from leadflow.web.workbench.sessions import FormRefused, SignInNeeded, current
from models.domain.errors import (
    BadInput,
    LeadFlowError,
    NotFound,
    NotHandedOn,
    NotPermitted,
    Unavailable,
)

_STATUS = {NotPermitted: 403, NotFound: 404, BadInput: 422, Unavailable: 503, NotHandedOn: 202}


# What the workbench says, in Chinese, for each answer.
_HEADINGS = {
    401: "请先签入。",
    403: "您的角色无权进行此项操作，此次尝试已记录。",
    404: "未找到该线索或页面。",
    409: "该操作不符合规则，未作任何更改。",
    413: "提交的内容过大。",
    422: "输入有误，未作任何更改。",
    429: "尝试次数过多，请稍后再试。",
    503: "服务暂不可用，请稍后再试。",
}


def _wants_page(request: Request) -> bool:
    return not request.url.path.startswith("/api/")


def error(
    status: int,
    message: str,
    problems: list[dict[str, str]] | None = None,
    request: Request | None = None,
) -> Response:
    if request is not None and _wants_page(request):
        return page(
            request,
            "error.html.j2",
            current(request) if status not in (401, 429) else None,
            title="操作未完成",
            status=status,
            message=_HEADINGS.get(status, "操作未完成。")
            + (f"（{message}）" if status == 409 else ""),
            problems=problems or [],
            back=None,
        )
    body = {"error": {"status": status, "message": message, "problems": problems or []}}
    return JSONResponse(body, status_code=status)


def _leadflow_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LeadFlowError)
    status = next((code for kind, code in _STATUS.items() if isinstance(exc, kind)), 409)
    if isinstance(exc, BadInput):
        problems = [{"field": p.field or p.source, "reason": p.reason} for p in exc.problems]
        return error(422, "bad input; nothing was changed", problems, request)
    return error(status, str(exc), request=request)


def _invalid_request(request: Request, exc: Exception) -> Response:
    """A request that does not match its schema: each field and why — never its value."""
    assert isinstance(exc, RequestValidationError)
    problems = [
        {"field": ".".join(str(part) for part in e["loc"]), "reason": str(e["msg"])}
        for e in exc.errors()
    ]
    return error(422, "bad input; nothing was changed", problems, request)


def _unauthenticated(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Unauthenticated)
    if exc.slow_down:
        response = error(429, str(exc), request=request)
        response.headers["Retry-After"] = "60"
        return response
    response = error(401, f"authentication needed: {exc}", request=request)
    response.headers["WWW-Authenticate"] = "Bearer"
    return response


def _http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return error(exc.status_code, str(exc.detail), request=request)


def _sign_in_needed(request: Request, _exc: Exception) -> Response:
    return RedirectResponse("/login", status_code=303)


def _form_refused(request: Request, _exc: Exception) -> Response:
    """A form without its session's token: perhaps posted from another site."""
    return page(
        request,
        "error.html.j2",
        current(request),
        title="操作未完成",
        status=403,
        message="表单缺少有效的防伪令牌，已拒绝并记录。请重新打开页面后再提交。",
        problems=[],
        back=None,
    )


def create_app() -> FastAPI:
    app = FastAPI(
        title="LeadFlow",
        version="1",
        summary="The lifecycle of case leads (问题线索): the JSON API.",
        openapi_url="/api/v1/openapi.json",
        docs_url=None,  # the documentation pages load scripts from a CDN: none here
        redoc_url=None,
    )
    app.include_router(api.router)
    app.include_router(workbench.router)
    app.add_exception_handler(LeadFlowError, _leadflow_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(Unauthenticated, _unauthenticated)
    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(SignInNeeded, _sign_in_needed)
    app.add_exception_handler(FormRefused, _form_refused)
    # Inside Starlette's own error layer, which would log a traceback: this one does not.
    app.add_middleware(Guarded)
    return app
