"""The local stack under failure, as a user would meet it: a worker killed with `kill -9`
mid-burst, the Prefect server killed mid-burst (the supervisor restarts both), and the
Prefect server not answering when leads arrive. After each, every lead is triaged exactly
once — one receipt, one triage, at most one notice of a kind — without a manual step,
and the audit chain verifies.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from leadflow.bench.server import duplicated, settled
from models.inputs.schemas import LeadIn
from models.services import outbox
from models.services.intake import Arrival
from models.store.database import make_engine, transaction
from tests.conftest import EXAMPLES, Cli
from tests.e2e.test_stack import stack_cli  # noqa: F401  (the fixture)

pytestmark = pytest.mark.slow

BURST = 40
# A run started this long ago without finishing is taken for one whose worker died.
GRACE_SECONDS = "8"


def _up(cli: Cli) -> dict[str, Any]:
    cli.env["LEADFLOW_RECONCILE_GRACE_SECONDS"] = GRACE_SECONDS
    cli("org", "load", EXAMPLES / "kunming.yaml", check=0)
    cli("up", check=0)
    return json.loads(cli("status", "--json", check=0).stdout)


def _child(cli: Cli, name: str) -> int:
    status = json.loads(cli("status", "--json", check=0).stdout)
    return int(next(c["pid"] for c in status["children"] if c["name"] == name))


def _arrive(cli: Cli, prefix: str, count: int) -> Engine:
    """``count`` leads of the examples' mix recorded at once, as arrivals are; the stack's
    reconciler woken."""
    examples = [
        json.loads(line) for line in (EXAMPLES / "leads.jsonl").read_text("utf-8").splitlines()
    ]
    engine = make_engine(cli.env["LEADFLOW_DATABASE_URL"])
    arrivals = [
        Arrival(
            LeadIn.model_validate(
                {**examples[n % len(examples)], "external_id": f"{prefix}-{n:04d}"}
            ),
            "test",
        )
        for n in range(count)
    ]
    with transaction(engine) as session:
        outbox.arrive_many(session, arrivals, actor="测试员")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as wake:
        wake.sendto(b"1", str(Path(cli.env["LEADFLOW_HOME"]) / "reconciler.sock"))
    return engine


def _all_settled(engine: Engine, prefix: str, count: int, seconds: float) -> float:
    started = time.monotonic()
    while len(settled(engine, prefix)) < count:
        assert time.monotonic() - started < seconds, (
            f"{len(settled(engine, prefix))} of {count} settled after {seconds:.0f} s"
        )
        time.sleep(0.5)
    return time.monotonic() - started


def _once_and_intact(cli: Cli, engine: Engine) -> None:
    assert duplicated(engine) == 0
    cli("audit", "verify", check=0)


@pytest.mark.parametrize("victim", ["worker-1", "prefect-server"])
def test_a_process_killed_mid_burst(
    stack_cli: Cli,  # noqa: F811
    victim: str,
    figure: Any,
) -> None:
    _up(stack_cli)
    engine = _arrive(stack_cli, "KILL", BURST)
    _all_settled(engine, "KILL", 3, 120)  # the burst is under way
    os.kill(_child(stack_cli, victim), signal.SIGKILL)
    seconds = _all_settled(engine, "KILL", BURST, 300)
    _once_and_intact(stack_cli, engine)
    figure(f"{victim} killed with SIGKILL mid-burst: all {BURST} settled {seconds:.0f} s later")


def test_leads_arriving_while_the_prefect_server_does_not_answer(
    stack_cli: Cli,  # noqa: F811
    tmp_path: Path,
    figure: Any,
) -> None:
    _up(stack_cli)
    server = _child(stack_cli, "prefect-server")
    os.kill(server, signal.SIGSTOP)
    try:
        lead = json.loads((EXAMPLES / "lead.json").read_text("utf-8"))
        path = tmp_path / "lead.json"
        path.write_text(json.dumps({**lead, "external_id": "DOWN-9999"}), encoding="utf-8")
        ran = stack_cli("lead", "submit", path, "--no-wait")
        assert ran.code == 75 and "recorded" in ran.stderr, ran.stderr
        engine = _arrive(stack_cli, "DOWN", 10)
    finally:
        os.kill(server, signal.SIGCONT)
    seconds = _all_settled(engine, "DOWN", 11, 300)
    _once_and_intact(stack_cli, engine)
    figure(f"Prefect server stopped while 11 leads arrived: all settled {seconds:.0f} s after")
