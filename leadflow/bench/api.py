"""The JSON API as a client meets it (`leadflow bench`): `leadflow web` started as its own
process on a synthetic ledger of a million leads, and timed over HTTP with a kept-alive
connection — a filtered first page of the ledger, and one lead — against the ceiling:
the same page's SQL run straight on the same database file.
"""

from __future__ import annotations

import os
import random
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

UNITS = 1_000
# The page timed: a unit's leads in handling, newest first — the ledger's first screen.
LIST = "/api/v1/leads?state=in_handling&unit=U000123"


def _world(folder: Path, leads: int) -> tuple[str, dict[str, str]]:
    """A migrated database with the national ledger, a case manager and an officer of
    unit U000123, and their tokens."""
    from leadflow.bench import national
    from models.domain.people import system
    from models.services import people
    from models.store import migrate
    from models.store.database import make_engine, transaction

    url = f"sqlite:///{folder}/api.db"
    engine = make_engine(url)
    migrate.upgrade(engine)
    national.generate(engine, units=UNITS, leads=leads)
    tokens = {}
    with transaction(engine) as session:
        for username, role in (("cm", "case_manager"), ("officer", "officer")):
            people.add(
                session, system("bench"), username=username, name=username, unit="U000123",
                roles=[role], password="a long enough password",
            )  # fmt: skip
            tokens[username] = people.issue_token(session, system("bench"), username)
    engine.dispose()
    return url, tokens


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
        "api_leads": leads,
        "api_runs": runs,
    }
