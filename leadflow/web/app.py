"""The web application: the JSON API under /api/v1 (its OpenAPI document at
/api/v1/openapi.json), every error answered as JSON with its field and reason — never a
traceback, never the data that was sent — and every response with security headers."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from leadflow.web import api
from leadflow.web.guard import Guarded, Unauthenticated
from models.domain.errors import (
    BadInput,
    LeadFlowError,
    NotFound,
    NotHandedOn,
    NotPermitted,
    Unavailable,
)

_STATUS = {NotPermitted: 403, NotFound: 404, BadInput: 422, Unavailable: 503, NotHandedOn: 202}


def error(status: int, message: str, problems: list[dict[str, str]] | None = None) -> JSONResponse:
    body = {"error": {"status": status, "message": message, "problems": problems or []}}
    return JSONResponse(body, status_code=status)


def _leadflow_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, LeadFlowError)
    status = next((code for kind, code in _STATUS.items() if isinstance(exc, kind)), 409)
    if isinstance(exc, BadInput):
        problems = [{"field": p.field or p.source, "reason": p.reason} for p in exc.problems]
        return error(422, "bad input; nothing was changed", problems)
    return error(status, str(exc))


def _invalid_request(_request: Request, exc: Exception) -> JSONResponse:
    """A request that does not match its schema: each field and why — never its value."""
    assert isinstance(exc, RequestValidationError)
    problems = [
        {"field": ".".join(str(part) for part in e["loc"]), "reason": str(e["msg"])}
        for e in exc.errors()
    ]
    return error(422, "bad input; nothing was changed", problems)


def _unauthenticated(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Unauthenticated)
    if exc.slow_down:
        response = error(429, str(exc))
        response.headers["Retry-After"] = "60"
        return response
    response = error(401, f"authentication needed: {exc}")
    response.headers["WWW-Authenticate"] = "Bearer"
    return response


def _http(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    return error(exc.status_code, str(exc.detail))


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
    app.add_exception_handler(LeadFlowError, _leadflow_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(Unauthenticated, _unauthenticated)
    app.add_exception_handler(HTTPException, _http)
    # Inside Starlette's own error layer, which would log a traceback: this one does not.
    app.add_middleware(Guarded)
    return app
