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
from models.domain.people import system
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
        outbox.arrive_many(session, arrivals, by=system("测试员"))
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


def _flow_runs(client: Any, deployment: str) -> list[Any]:
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterName

    name = deployment.split("/")[-1]
    return list(
        client.read_flow_runs(
            deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=[name])),
            limit=200,
        )
    )


def _db(engine: Engine, sql: str, **params: Any) -> list[Any]:
    from sqlalchemy import text

    with engine.connect() as connection:
        return list(connection.execute(text(sql), params).all())


def test_a_burst_goes_in_batches_and_each_lead_stays_visible_by_name(
    stack_cli: Cli,  # noqa: F811
    figure: Any,
) -> None:
    """Under a burst the reconciler hands leads on in batch runs; in Prefect each lead is
    a task run named after it, and a lead that waits for a leader has a suspended run of
    its own, named after it and recorded as the one waiting. `lead decide` resumes it; a
    resume given in Prefect instead acts on nothing and is recorded."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import TaskRunFilter, TaskRunFilterName
    from prefect.flow_runs import resume_flow_run
    from prefect.settings import PREFECT_API_URL, temporary_settings

    api = _up(stack_cli)["api_url"]
    engine = _arrive(stack_cli, "BATCH", BURST)
    _all_settled(engine, "BATCH", BURST, 180)
    _once_and_intact(stack_cli, engine)
    waiting = dict(
        _db(
            engine,
            "SELECT l.external_id, p.waiting_flow_run FROM leads l JOIN triage_proposals p "
            "ON p.lead_id = l.id WHERE p.proposed_mode != 'own' AND p.decided_mode IS NULL",
        )
    )
    assert waiting and all(waiting.values())
    with temporary_settings(updates={PREFECT_API_URL: api}), get_client(sync_client=True) as client:
        batches = _flow_runs(client, "lead-intake-batch")
        assert 1 <= len(batches) < BURST // 2
        assert all(r.name.startswith("intake batch BATCH-") for r in batches)
        assert all(set(r.parameters) == {"lead_ids"} for r in batches)
        # A task run's states reach Prefect's database through its event pipeline, a moment
        # after LeadFlow's record settled: read until they have, within a bound.
        deadline = time.monotonic() + 60
        while True:
            tasks = client.read_task_runs(
                task_run_filter=TaskRunFilter(name=TaskRunFilterName(like_="intake BATCH-")),
                limit=200,
            )
            done = all(t.state is not None and t.state.is_completed() for t in tasks)
            if (done and len(tasks) == BURST) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert sorted(t.name for t in tasks) == [f"intake BATCH-{n:04d}" for n in range(BURST)]
        assert done, [
            (t.name, t.state and t.state.type)
            for t in tasks
            if not t.state or not t.state.is_completed()
        ]
        parked = {r.name: r for r in _flow_runs(client, "lead-intake")}
        assert {f"intake {e}": str(run) for e, run in waiting.items()} == {
            name: str(r.id) for name, r in parked.items()
        }
        assert all(r.state.is_paused() for r in parked.values())
        assert all(set(r.parameters) == {"lead_id", "external_id"} for r in parked.values())

        joint = _db(
            engine,
            "SELECT l.external_id FROM leads l JOIN triage_proposals p ON p.lead_id = l.id "
            "WHERE p.proposed_mode = 'joint' ORDER BY l.id",
        )
        decided, foreign = joint[0][0], joint[1][0]
        ran = stack_cli(
            "lead", "decide", decided, "--mode", "joint", "--by", "杨正晓",
            "--reason", "同意联合办理", "--json", check=0,
        )  # fmt: skip
        assert json.loads(ran.stdout)["resumed_flow_run"] == waiting[decided]
        resume_flow_run(parked[f"intake {foreign}"].id, run_input={"decision": "typed-in-the-ui"})
        resumed = [parked[f"intake {decided}"].id, parked[f"intake {foreign}"].id]
        _wait_for(lambda: all(_final(client.read_flow_run(r)) for r in resumed))
    notices = _db(
        engine,
        "SELECT d.kind, d.status FROM documents d JOIN leads l ON l.id = d.lead_id "
        "WHERE l.external_id = :e",
        e=decided,
    )
    assert notices == [("joint_handling_notice", "issued")]
    refused = _db(
        engine,
        "SELECT a.reason FROM audit_events a JOIN leads l ON l.id = a.lead_id "
        "WHERE l.external_id = :e AND a.action = 'lead.resume_refused'",
        e=foreign,
    )
    assert len(refused) == 1 and "未予执行" in refused[0][0]
    state = _db(engine, "SELECT state FROM leads WHERE external_id = :e", e=foreign)
    assert state == [("triaged",)]
    figure(
        f"a burst of {BURST}: {len(batches)} batch run(s), {len(tasks)} task runs named after "
        f"their leads, {len(parked)} suspended runs each named after its lead"
    )


def _wait_for(condition: Any, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "not within the time"
        time.sleep(0.5)


def _final(run: Any) -> bool:
    return bool(run.state is not None and run.state.is_final())
