"""Who calls the API, and what every response carries: a bearer token turned into the
person it was given to (a missing or unknown one refused and recorded, and a client that
keeps failing slowed down), security headers, and errors that never carry data."""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict, deque
from typing import Any

from fastapi import Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from models.domain.errors import Refusal
from models.domain.people import Person
from models.services import people, runtime
from models.services.access import record_refusal

log = logging.getLogger("leadflow.web")

bearer = HTTPBearer(auto_error=False, description="An API token from `leadflow user token`.")

# Failed authentications a client may make in a window before it is refused outright.
FAILURES_ALLOWED = 10
FAILURE_WINDOW_S = 60.0
_CLIENTS_KEPT = 10_000


class Unauthenticated(Exception):
    """No live token (401); ``slow_down``: too many failures from this client (429)."""

    def __init__(self, reason: str, *, slow_down: bool = False) -> None:
        super().__init__(reason)
        self.slow_down = slow_down


class FailureLimiter:
    """Failed token (and sign-in) attempts per client address, in a sliding window."""

    def __init__(self, allowed: int = FAILURES_ALLOWED, window: float = FAILURE_WINDOW_S):
        self.allowed, self.window = allowed, window
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def blocked(self, client: str) -> bool:
        with self._lock:
            recent = self._recent(client)
            return len(recent) >= self.allowed

    def failed(self, client: str) -> None:
        with self._lock:
            self._recent(client).append(time.monotonic())
            while len(self._failures) > _CLIENTS_KEPT:
                self._failures.popitem(last=False)

    def _recent(self, client: str) -> deque[float]:
        recent = self._failures.setdefault(client, deque())
        self._failures.move_to_end(client)
        while recent and recent[0] < time.monotonic() - self.window:
            recent.popleft()
        return recent


limiter = FailureLimiter()


def client_of(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def authenticate(request: Request, credentials: HTTPAuthorizationCredentials | None) -> Person:
    """The person whose live token the request carries; else refused and recorded."""
    client = client_of(request)
    if limiter.blocked(client):
        raise Unauthenticated("too many failed attempts from this address", slow_down=True)
    person = None
    if credentials is not None and len(credentials.credentials) <= 200:
        with runtime.work() as session:
            person = people.by_token(session, credentials.credentials, via=f"client:{client}")
    if person is None:
        limiter.failed(client)
        why = "no token" if credentials is None else "not a live token (unknown or revoked)"
        record_refusal(
            runtime.engine(),
            Refusal(f"unknown client:{client}", "authenticate", "not_permitted", f"API: {why}"),
        )
        raise Unauthenticated(why)
    return person


SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    # The workbench loads its one stylesheet and nothing else: no script, inline or not.
    (
        b"content-security-policy",
        b"default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
        b"base-uri 'none'; frame-ancestors 'none'",
    ),
    (b"cache-control", b"no-store"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"strict-transport-security", b"max-age=31536000"),
]


# A lead is a few kilobytes; a body past this is refused before it is read through.
MAX_BODY = 1 << 20


class BodyTooLarge(Exception):
    pass


class Guarded:
    """The API's and the workbench's outer layer: security headers on every response, the
    time the server took (Server-Timing: app;dur=ms), a body past :data:`MAX_BODY` refused
    (413), and an error that got past every handler answered as one JSON sentence — its
    type logged, never its text."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, received, began = False, 0, time.perf_counter()

        async def bounded_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > MAX_BODY:
                raise BodyTooLarge
            return message

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                took = b"app;dur=%.2f" % ((time.perf_counter() - began) * 1000)
                message["headers"] = [
                    *message.get("headers", []),
                    *SECURITY_HEADERS,
                    (b"server-timing", took),
                ]
            await send(message)

        try:
            if _declared_length(scope) > MAX_BODY:
                raise BodyTooLarge
            await self.app(scope, bounded_receive, send_with_headers)
        except BodyTooLarge:
            if not started:
                await _answer(send_with_headers, 413, b"request body too large")
        except Exception as exc:  # the last line: no traceback, no data, one sentence
            log.error("internal error answering %s: %s", scope.get("path"), type(exc).__name__)
            if not started:
                await _answer(send_with_headers, 500, b"internal error")


def _declared_length(scope: Scope) -> int:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            return int(value) if value.isdigit() else MAX_BODY + 1
    return 0


async def _answer(send: Any, status: int, message: bytes) -> None:
    body = b'{"error":{"status":%d,"message":"%s","problems":[]}}' % (status, message)
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
