"""The local stack as a user meets it: `leadflow up` starts a Prefect server, the workers
and the reconciler under one supervisor; `status` reports them; a child that dies is
restarted; `down` — or the supervisor's own death by SIGKILL — leaves no process behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Cli

pytestmark = pytest.mark.slow


@pytest.fixture
def stack_cli(tmp_path: Path) -> Iterator[Cli]:
    """The CLI on an SQLite file, with its own LeadFlow home and no Prefect server chosen
    (not `sqlite_cli`, whose session server the stack replaces and would only slow)."""
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env.update(
        LEADFLOW_DATABASE_URL=f"sqlite:///{tmp_path / 'leadflow.db'}",
        LEADFLOW_OUTPUT_DIR=str(tmp_path / "output"),
        LEADFLOW_HOME=str(tmp_path / "home"),
        LEADFLOW_ACTOR="测试员",
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        COLUMNS="200",
    )
    cli = Cli(cwd=tmp_path, env=env)
    cli("init", check=0)
    yield cli
    cli("down")
    for pid in _stack_processes(tmp_path / "home"):  # a failed test must not leak them
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _stack_processes(home: Path) -> list[int]:
    """Every live process whose command line or environment names this home (what `ps`
    and /proc show), this test's own process aside."""
    needle = str(home).encode()
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        pid = int(entry.name)
        if pid == os.getpid():
            continue
        try:
            if (entry / "stat").read_text().rsplit(")", 1)[-1].split()[0] == "Z":
                continue
            if needle in (entry / "cmdline").read_bytes() + (entry / "environ").read_bytes():
                found.append(pid)
        except OSError:
            continue
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _status(cli: Cli) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(cli("status", "--json", check=0).stdout)
    return document


def _children(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {child["name"]: child for child in document["children"]}


def _wait(condition: Any, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.3)
    return bool(condition())


def _chosen_api(cli: Cli, preset: str | None = None) -> str:
    """The Prefect server a command started in this environment talks to."""
    env = cli.env if preset is None else {**cli.env, "PREFECT_API_URL": preset}
    code = "import os; from leadflow import stack; stack.use_running(); "
    code += "print(os.environ.get('PREFECT_API_URL'))"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=cli.cwd, env=env, capture_output=True, text=True
    )
    return done.stdout.strip()


def _answers_within(url: str, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return bool(response.status == 200)
        except OSError:
            time.sleep(0.2)
    return False


def _up(cli: Cli, figure: Any) -> dict[str, Any]:
    began = time.monotonic()
    ran = cli("up", "--json", check=0)
    figure(f"`leadflow up` returned in {time.monotonic() - began:.1f} s")
    assert "Prefect UI http://127.0.0.1:" in ran.stderr
    document: dict[str, Any] = json.loads(ran.stdout)
    return document


def test_up_status_restart_down(stack_cli: Cli, tmp_path: Path, figure: Any) -> None:
    home = tmp_path / "home"
    started = _up(stack_cli, figure)
    assert started["running"] and started["ready"]
    assert set(_children(started)) == {
        "prefect-server",
        "worker-1",
        "worker-2",
        "reconciler",
        "web",
    }
    assert _answers_within(f"{started['web_url']}/api/v1/openapi.json", 30)

    status = _status(stack_cli)
    assert status["running"] and status["api_url"] == started["api_url"]
    assert all(c["alive"] and c["restarts"] == 0 for c in status["children"])
    for path in ("health", "deployments/name/lead-intake/lead-intake"):
        with urllib.request.urlopen(f"{status['api_url']}/{path}", timeout=5) as response:
            assert response.status == 200
    commands = {name: c["command"][-2:] for name, c in _children(status).items()}
    assert commands["worker-1"][-1] == commands["worker-2"][-1] == "worker"
    assert commands["reconciler"] == ["reconcile", "--watch"]
    rss = [status["supervisor_rss_mb"], *(c["rss_mb"] for c in status["children"])]
    figure(f"the stack's {len(rss)} processes hold {sum(rss):.0f} MB resident ({rss})")

    assert _chosen_api(stack_cli) == status["api_url"]
    assert _chosen_api(stack_cli, "http://127.0.0.1:9/api") == "http://127.0.0.1:9/api"

    again = stack_cli("up")
    assert again.code == 1 and "already runs" in again.stderr

    victim = _children(status)["worker-1"]["pid"]
    os.kill(victim, signal.SIGKILL)

    def restarted_once() -> bool:
        child = _children(_status(stack_cli))["worker-1"]
        return bool(child["restarts"] == 1 and child["alive"])

    assert _wait(restarted_once, 20)
    restarted = _children(_status(stack_cli))["worker-1"]
    assert restarted["pid"] != victim
    assert "worker-1 (pid" in (home / "logs" / "supervisor.log").read_text()

    pids = [status["supervisor_pid"], *(c["pid"] for c in status["children"]), restarted["pid"]]
    stack_cli("down", check=0)
    assert [pid for pid in pids if _alive(pid)] == []
    assert _stack_processes(home) == []
    assert not (home / "stack.json").exists()
    stopped = stack_cli("status", "--json", check=0)
    assert json.loads(stopped.stdout)["running"] is False
    assert "no local stack runs" in stopped.stderr
    assert "no local stack runs" in stack_cli("down", check=0).stderr


def test_killed_supervisor_leaves_no_child(stack_cli: Cli, tmp_path: Path, figure: Any) -> None:
    home = tmp_path / "home"
    fresh = Cli(stack_cli.cwd, {**stack_cli.env, "LEADFLOW_DATABASE_URL": "sqlite:///new.db"})
    refused = fresh("up", check=1)
    assert "leadflow init" in refused.stderr and not (home / "stack.json").exists()
    started = _up(stack_cli, figure)
    children = [c["pid"] for c in started["children"]]
    os.kill(started["supervisor_pid"], signal.SIGKILL)
    assert _wait(lambda: not any(_alive(pid) for pid in children), 10)
    assert _stack_processes(home) == []
    assert (home / "stack.json").exists()  # left by the killed supervisor, until asked
    stopped = stack_cli("status", "--json", check=0)
    assert json.loads(stopped.stdout)["running"] is False
    assert "stale" in stopped.stderr
    assert not (home / "stack.json").exists()


def test_the_stack_acts_as_the_system_once_people_exist(stack_cli: Cli, figure: Any) -> None:
    """Once a commission has users, the stack's workers and reconciler still carry every
    arrival through (they act as the system), while each command needs its person's token."""
    from dataclasses import replace

    from tests.conftest import EXAMPLES

    stack_cli("org", "load", EXAMPLES / "kunming.yaml", check=0)
    _up(stack_cli, figure)
    made = subprocess.run(
        [sys.executable, "-c", "from leadflow.cli import main; main()", "user", "add", "wangmin",
         "--name", "王敏", "--unit", "D1", "--role", "admin", "--role", "case_manager"],
        cwd=stack_cli.cwd, env=stack_cli.env, input="a long enough password\n",
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    stack_cli("lead", "submit", EXAMPLES / "lead.json", check=3)  # no token: refused
    person = replace(stack_cli, env={**stack_cli.env, "LEADFLOW_TOKEN": made.stdout.strip()})
    done = json.loads(person("lead", "submit", EXAMPLES / "lead.json", "--json", check=0).stdout)
    assert done["state"] == "triaged" and done["flow_run"]
    status = _status(stack_cli)
    assert all(c["alive"] and c["restarts"] == 0 for c in status["children"]), status
