"""`leadflow worker` on a real Prefect server: two workers apply prefect.yaml's deployments,
take the lead-intake runs handed on to the server and run each one in their own process,
exactly once between them; a run a leader's decision resumes is taken again; SIGTERM ends
each worker cleanly.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import sqlalchemy as sa

from models.config.policy import default_policy
from models.domain.people import system
from models.inputs.readers import read_organisation
from models.inputs.schemas import LeadIn
from models.services import organisation, outbox
from models.services.intake import Arrival
from models.services.policy import install
from models.store import migrate
from models.store.database import make_engine, transaction
from tests.conftest import EXAMPLES, ROOT

LEADS = 12
DECISION = ("--mode", "joint", "--by", "杨正晓", "--reason", "同意", "--json")
CLI = (sys.executable, "-c", "from leadflow.cli import main; main()")
T = TypeVar("T")


def _wait(condition: Callable[[], T], what: str, seconds: float = 40) -> T:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if found := condition():
            return found
        time.sleep(0.2)
    raise AssertionError(f"waited {seconds} s for {what}")


@pytest.fixture
def home(tmp_path: Path, prefect_api: str) -> Iterator[dict[str, str]]:
    """A LeadFlow database with the example organisation and ``LEADS`` recorded arrivals
    in the example leads' mix, and the environment a worker needs to reach it."""
    url = f"sqlite:///{tmp_path / 'leadflow.db'}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    org, locate = read_organisation(EXAMPLES / "kunming.yaml")
    examples = [
        json.loads(line) for line in (EXAMPLES / "leads.jsonl").read_text("utf-8").splitlines()
    ]
    leads = [
        LeadIn.model_validate({**examples[n % len(examples)], "external_id": f"WK-{n:04d}"})
        for n in range(LEADS)
    ]
    with transaction(engine) as session:
        install(session, default_policy(), by=system("test"))
        organisation.load(session, org, source="kunming.yaml", locate=locate, by=system("test"))
        outbox.arrive_many(session, [Arrival(lead, "test") for lead in leads], by=system("test"))
    engine.dispose()
    yield {
        **os.environ,
        "LEADFLOW_DATABASE_URL": url,
        "LEADFLOW_OUTPUT_DIR": str(tmp_path / "output"),
        "LEADFLOW_HOME": str(tmp_path / "home"),
        "LEADFLOW_ACTOR": "测试员",
        "PREFECT_API_URL": prefect_api,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    }


def _start(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [*CLI, "worker", "--poll", "0.2"],
        cwd=ROOT,
        env=env,
        stderr=log.open("w"),
    )


def _children(pid: int) -> list[str]:
    """The processes ``pid`` has started and not yet reaped (none, for in-process runs)."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):  # a thread that ended meanwhile
            found += (task / "children").read_text().split()
    return found


def _started(log: Path) -> Counter[str]:
    """The flow runs a worker's log says it started, and how often."""
    return Counter(
        re.findall(r"run ([0-9a-f-]{36}) \(.*\) of lead-intake/\S+ started", log.read_text())
    )


def _read(client: Any, ids: list[Any]) -> list[Any]:
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    return list(client.read_flow_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=ids))))


def _hand_on(client: Any, env: dict[str, str]) -> list[Any]:
    """Each recorded lead's intake run, created as LeadFlow hands a lead on."""
    from prefect.exceptions import ObjectNotFound

    def deployment() -> Any:
        try:
            return client.read_deployment_by_name("lead-intake/lead-intake")
        except ObjectNotFound:
            return None

    intake = _wait(deployment, "the workers to apply the deployments")
    engine = sa.create_engine(env["LEADFLOW_DATABASE_URL"])
    with engine.connect() as connection:
        leads = connection.execute(sa.text("SELECT id, external_id FROM leads")).all()
    engine.dispose()
    return [
        client.create_flow_run_from_deployment(
            intake.id,
            parameters={"lead_id": lead_id, "external_id": external_id},
            name=f"intake {external_id}",
            idempotency_key=f"intake-{external_id}-1",
        ).id
        for lead_id, external_id in leads
    ]


def _settled(runs: list[Any]) -> bool:
    return all(r.state and (r.state.is_final() or r.state.is_paused()) for r in runs)


def _decide(env: dict[str, str], run: Any) -> None:
    """A leader's decision on the lead the run waits for, recorded through LeadFlow, which
    resumes the run."""
    external_id = run.name.removeprefix("intake ")
    decided = subprocess.run(
        [*CLI, "lead", "decide", external_id, *DECISION],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert decided.returncode == 0, decided.stderr
    assert json.loads(decided.stdout)["resumed_flow_run"] == str(run.id)


def test_two_workers_run_each_intake_once_in_their_own_processes(
    home: dict[str, str], tmp_path: Path
) -> None:
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    logs = [tmp_path / "worker-1.log", tmp_path / "worker-2.log"]
    workers = [_start(home, log) for log in logs]
    spawned: set[str] = set()
    try:
        with (
            temporary_settings(updates={PREFECT_API_URL: home["PREFECT_API_URL"]}),
            get_client(sync_client=True) as client,
        ):
            # Both workers poll before the runs are handed on, so that both may take them.
            for log, worker in zip(logs, workers, strict=True):
                ready = f"worker {worker.pid}: at most 4 run(s) at once"
                _wait(lambda log=log, ready=ready: ready in log.read_text(), "a worker to start")
            ids = _hand_on(client, home)
            intake = client.read_deployment_by_name("lead-intake/lead-intake")
            owned = client.read_resource_related_automations(f"prefect.deployment.{intake.id}")
            assert len(owned) == 1, "two workers applying the trigger left one automation"

            def settled() -> list[Any]:
                for worker in workers:
                    spawned.update(_children(worker.pid))
                runs = _read(client, ids)
                return runs if _settled(runs) else []

            runs = _wait(settled, "every intake run to end or wait for a leader")
            started = _started(logs[0]) + _started(logs[1])
            assert started == Counter({str(i): 1 for i in ids})
            assert {r.run_count for r in runs} == {1}
            assert not spawned, "a worker started a process"

            waiting = next(r for r in runs if r.state.is_paused())
            _decide(home, waiting)
            resumed = _wait(
                lambda: [r for r in _read(client, [waiting.id]) if r.state.is_completed()],
                "the resumed run to be taken again and complete",
            )
            assert resumed
            # Taken again once, by whichever worker claimed it.
            assert (_started(logs[0]) + _started(logs[1]))[str(waiting.id)] == 2
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        codes = [worker.wait(timeout=30) for worker in workers]
    assert codes == [0, 0]
    for log, worker in zip(logs, workers, strict=True):
        text = log.read_text()
        assert f"worker {worker.pid}: at most 4 run(s) at once" in text
        assert f"worker {worker.pid} stopped after" in text
