"""The JSON API and the workbench as a client meets them (`leadflow bench`): `leadflow web`
started as its own process on a synthetic ledger of a million leads, and timed over HTTP
with a kept-alive connection — a filtered first page of the ledger, and one lead —
against the ceiling: the same page's SQL run straight on the same database file. The
workbench's pages — the ledger filtered as the API's list is, and a lead with fifty
events on its trail — are fetched signed in through /login, each timed by the server's
own account of it (Server-Timing: app;dur=ms), not the client's round trip.
"""

from __future__ import annotations

import os
import random
import re
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

UNITS = 1_000
# The page timed: a unit's leads in handling, newest first — the ledger's first screen.
LIST = "/api/v1/leads?state=in_handling&unit=U000123"
# The same view on the workbench's ledger (台账).
WEB_LEDGER = "/leads?state=in_handling&unit=U000123"
PASSWORD = "a long enough password"
EVENTS = 50  # the events on the trail of the lead whose page is timed


def _world(folder: Path, leads: int) -> tuple[str, dict[str, str]]:
    """A migrated database with the policy and the national ledger, a case manager and an
    officer of unit U000123 (each with a password for the workbench), their tokens, and
    one lead with :data:`EVENTS` events on its trail."""
    from leadflow.bench import national
    from models.config.policy import default_policy
    from models.domain.people import system
    from models.services import people
    from models.services.policy import install
    from models.store import migrate
    from models.store.database import make_engine, transaction

    url = f"sqlite:///{folder}/api.db"
    engine = make_engine(url)
    migrate.upgrade(engine)
    national.generate(engine, units=UNITS, leads=leads)
    tokens = {}
    with transaction(engine) as session:
        install(session, default_policy(), by=system("bench"))
        for username, role in (("cm", "case_manager"), ("officer", "officer")):
            people.add(
                session, system("bench"), username=username, name=username, unit="U000123",
                roles=[role], password=PASSWORD,
            )  # fmt: skip
            tokens[username] = people.issue_token(session, system("bench"), username)
        _trail(session, busy_lead(leads))
    engine.dispose()
    return url, tokens


def busy_lead(leads: int) -> int:
    """The lead whose page is timed: one in the middle of the ledger."""
    return leads // 2


def _trail(session: Session, lead_id: int) -> None:
    """:data:`EVENTS` events on one lead's trail, of the kinds a lead's handling records."""
    from models import audit

    kinds = [
        ("lead.receive", None, "received"),
        ("lead.triage", "received", "triaged"),
        ("lead.decide", None, None),
        ("lead.assign", "triaged", "in_handling"),
        ("document.allocate", None, None),
        ("document.issue", None, None),
        ("rectification.report", None, None),
        ("rectification.follow_up", None, None),
        ("lead.amend", None, None),
        ("audit.export", None, None),
    ]
    drafts = []
    for n in range(EVENTS):
        action, before, after = kinds[n % len(kinds)]
        draft = audit.EventDraft(
            actor="bench（基准）", action=action, reason=f"基准测试事件第{n + 1}件",
            lead_id=lead_id, unit="U000123", state_before=before, state_after=after,
            data={"step": n + 1},
        )  # fmt: skip
        drafts.append(draft)
    audit.append(session, drafts)


def _serve(url: str, folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "LEADFLOW_DATABASE_URL": url, "LEADFLOW_HOME": str(folder / "home")}
    server = subprocess.Popen(
        [sys.executable, "-c", "from leadflow.cli import main; main()", "web", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/api/v1/openapi.json", timeout=1).status_code == 200:
                return server, base
        except httpx.TransportError:
            time.sleep(0.1)
    server.kill()
    raise RuntimeError("`leadflow web` did not answer within 60 s")


def _p95_ms(times: list[float]) -> float:
    times = sorted(times)
    return round(times[min(len(times) - 1, int(len(times) * 0.95))] * 1000, 2)


def _timed(client: httpx.Client, path: str, token: str) -> float:
    started = time.perf_counter()
    answer = client.get(path, headers={"Authorization": f"Bearer {token}"})
    elapsed = time.perf_counter() - started
    if answer.status_code != 200:
        raise RuntimeError(f"{path}: HTTP {answer.status_code}")
    return elapsed


def _ceiling(database: Path, runs: int) -> list[float]:
    """The list's own SQL on the same file: what no API could beat."""
    connection = sqlite3.connect(database)
    query = (
        "SELECT leads.id, external_id, state, version, source, received_at, units.code "
        "FROM leads LEFT JOIN units ON units.id = leads.lead_unit_id "
        "WHERE state = 'in_handling' AND lead_unit_id = 123 ORDER BY leads.id DESC LIMIT 51"
    )
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        connection.execute(query).fetchall()
        times.append(time.perf_counter() - started)
    connection.close()
    return times


def _signed_in(client: httpx.Client, username: str) -> None:
    """Signed in through /login as a browser is: the form's token, then the password."""
    form = client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text)
    if token is None:
        raise RuntimeError("/login: no form token on the page")
    answer = client.post(
        "/login", data={"csrf": token.group(1), "username": username, "password": PASSWORD}
    )
    if answer.status_code != 303:
        raise RuntimeError(f"/login: HTTP {answer.status_code}")


def _server_s(client: httpx.Client, path: str) -> float:
    """The server's own time for the page, from its Server-Timing header, in seconds."""
    answer = client.get(path)
    if answer.status_code != 200:
        raise RuntimeError(f"{path}: HTTP {answer.status_code}")
    took = re.fullmatch(r"app;dur=([0-9.]+)", answer.headers.get("server-timing", ""))
    if took is None:
        raise RuntimeError(f"{path}: no Server-Timing app;dur=")
    return float(took.group(1)) / 1000


def web_latency(base: str, leads: int, runs: int) -> dict[str, Any]:
    """The ledger's filtered page and the busy lead's page, signed in as the case manager."""
    with httpx.Client(base_url=base, timeout=30) as client:
        _signed_in(client, "cm")
        lead = f"/leads/{busy_lead(leads)}"
        for _ in range(20):  # warm, as the API's figures are
            _server_s(client, WEB_LEDGER)
            _server_s(client, lead)
        ledger = [_server_s(client, WEB_LEDGER) for _ in range(runs)]
        one = [_server_s(client, lead) for _ in range(runs)]
    return {"web_ledger_p95_ms": _p95_ms(ledger), "web_lead_p95_ms": _p95_ms(one)}


def api_latency(leads: int, runs: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="leadflow-api-") as name:
        folder = Path(name)
        url, tokens = _world(folder, leads)
        server, base = _serve(url, folder)
        try:
            rng = random.Random(5)
            with httpx.Client(base_url=base, timeout=30) as client:
                for _ in range(20):  # warm: connections, the page cache, the token lookups
                    _timed(client, LIST, tokens["cm"])
                lists = [_timed(client, LIST, tokens["cm"]) for _ in range(runs)]
                scoped = [_timed(client, "/api/v1/leads", tokens["officer"]) for _ in range(runs)]
                one = [
                    _timed(client, f"/api/v1/leads/{rng.randint(1, leads)}", tokens["cm"])
                    for _ in range(runs)
                ]
            web = web_latency(base, leads, runs)
        finally:
            server.terminate()
            server.wait(timeout=30)
        sql = _ceiling(folder / "api.db", runs)
    return {
        "api_list_p95_ms": _p95_ms(lists),
        "api_list_p50_ms": round(statistics.median(lists) * 1000, 2),
        "api_list_scoped_p95_ms": _p95_ms(scoped),
        "api_lead_p95_ms": _p95_ms(one),
        "api_list_sql_p95_ms": _p95_ms(sql),
        **web,
        "api_leads": leads,
        "api_runs": runs,
    }
