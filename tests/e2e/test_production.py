"""The production topology of docs/operations.md, on this machine: LeadFlow on PostgreSQL
(a cluster of the test's own, on a port of its own, so that it can be restarted), a
Prefect server on PostgreSQL, two `leadflow worker` processes and `leadflow reconcile
--watch`. A burst of leads arrives and LeadFlow's database is restarted mid-burst: every
lead is triaged exactly once without a manual step, the chain verifies, and Prefect's
whole database holds no lead content.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.conftest import _PG_REASON, POSTGRES_ADMIN_URL, ROOT, Cli, _free_port, _lead_contents
from tests.e2e.test_stack_failures import BURST, _all_settled, _arrive, _once_and_intact

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

PG_VERSION = "15"


@pytest.fixture
def own_cluster() -> Iterator[tuple[str, str]]:
    """A PostgreSQL cluster of this test's own (never the machine's shared one): its
    name and the URL of a database in it."""
    if _PG_REASON or shutil.which("pg_createcluster") is None:
        pytest.skip(_PG_REASON or "no pg_createcluster (Debian's postgresql-common)")
    name, port = f"lf{uuid.uuid4().hex[:8]}", _free_port()
    subprocess.run(
        ["pg_createcluster", PG_VERSION, name, "-p", str(port), "--", "--auth=trust"],
        check=True,
        capture_output=True,
    )
    try:
        subprocess.run(["pg_ctlcluster", PG_VERSION, name, "start"], check=True)
        subprocess.run(
            ["runuser", "-u", "postgres", "--", "createdb", "-p", str(port), "leadflow"],
            check=True,
        )
        yield name, f"postgresql://postgres@127.0.0.1:{port}/leadflow"
    finally:
        subprocess.run(["pg_dropcluster", "--stop", PG_VERSION, name], capture_output=True)


@pytest.fixture
def prefect_database() -> Iterator[str]:
    """A database for Prefect's server on the machine's PostgreSQL, dropped afterwards."""
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"prefect_t_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def _start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@pytest.fixture
def topology(
    own_cluster: tuple[str, str], prefect_database: str, tmp_path: Path
) -> Iterator[tuple[Cli, dict[str, Any]]]:
    """The processes of docs/operations.md's production table, on loopback."""
    port = _free_port()
    api = f"http://127.0.0.1:{port}/api"
    admin = sa.make_url(POSTGRES_ADMIN_URL)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "LEADFLOW_"))}
    env |= {
        "LEADFLOW_DATABASE_URL": own_cluster[1],
        "LEADFLOW_OUTPUT_DIR": str(tmp_path / "output"),
        "LEADFLOW_HOME": str(tmp_path / "home"),
        "LEADFLOW_ACTOR": "测试员",
        "LEADFLOW_RECONCILE_GRACE_SECONDS": "8",
        "PREFECT_HOME": str(tmp_path / "prefect-home-production"),
        "PREFECT_API_URL": api,
        "PREFECT_API_DATABASE_CONNECTION_URL": admin.set(
            drivername="postgresql+asyncpg", database=prefect_database
        ).render_as_string(hide_password=False),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_LOGGING_LEVEL": "WARNING",
    }
    cli = Cli(cwd=tmp_path, env=env)
    cli("init", check=0)
    cli("org", "load", ROOT / "examples" / "kunming.yaml", check=0)
    leadflow = [sys.executable, "-c", "from leadflow.cli import main; main()"]
    server = [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1"]
    processes = {"server": _start([*server, "--port", str(port)], env, tmp_path / "server.log")}
    deadline = time.monotonic() + 120
    while not _answers(api):
        assert time.monotonic() < deadline, (tmp_path / "server.log").read_text()[-2000:]
        time.sleep(0.5)
    for name in ("worker-1", "worker-2"):
        processes[name] = _start([*leadflow, "worker"], env, tmp_path / f"{name}.log")
    processes["reconciler"] = _start(
        [*leadflow, "reconcile", "--watch", "--every", "2"], env, tmp_path / "reconciler.log"
    )
    try:
        yield cli, processes
    finally:
        for process in processes.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes.values():
            try:
                process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def _prefect_dump(env: dict[str, str]) -> bytes:
    url = sa.make_url(env["PREFECT_API_DATABASE_CONNECTION_URL"])
    return subprocess.run(
        [
            *("pg_dump", "-h", str(url.host), "-p", str(url.port or 5432)),
            *("-U", str(url.username), "--data-only", str(url.database)),
        ],
        check=True,
        capture_output=True,
    ).stdout


def test_leadflows_database_restarted_mid_burst_on_the_production_topology(
    topology: tuple[Cli, dict[str, Any]],
    own_cluster: tuple[str, str],
    figure: Any,
) -> None:
    cli, _ = topology
    deadline = time.monotonic() + 120
    while "lead-intake" not in _deployments(cli):
        assert time.monotonic() < deadline, "the workers did not apply the deployments"
        time.sleep(1)
    engine = _arrive(cli, "PG", BURST)
    _all_settled(engine, "PG", 3, 180)  # the burst is under way
    subprocess.run(
        ["pg_ctlcluster", PG_VERSION, own_cluster[0], "restart", "-m", "fast"], check=True
    )
    seconds = _all_settled(engine, "PG", BURST, 420)
    _once_and_intact(cli, engine)
    dump = _prefect_dump(cli.env)
    leaked = [t for t in _lead_contents() if t.encode() in dump]
    assert not leaked, leaked[:5]
    figure(
        f"LeadFlow's PostgreSQL restarted mid-burst (Prefect on PostgreSQL, two workers): "
        f"all {BURST} settled {seconds:.0f} s later, once each; Prefect's database "
        f"({len(dump) // 1024} KiB dumped) holds no lead content"
    )


def _deployments(cli: Cli) -> str:
    try:
        request = urllib.request.Request(
            f"{cli.env['PREFECT_API_URL']}/deployments/filter",
            data=json.dumps({"limit": 10}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            return str(response.read().decode())
    except OSError:
        return ""
