"""LeadFlow on a real Prefect server: the deployments of prefect.yaml served, an arrival
event starting the intake run, a duplicate making no second lead, and a run suspended for
a leader's decision resumed from the command line.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterName
from prefect.events import emit_event
from prefect.events.worker import EventsWorker
from prefect.settings import PREFECT_API_URL, temporary_settings

from tests.conftest import EXAMPLES, ROOT, Cli

LEADS = {
    json.loads(line)["external_id"]: json.loads(line)
    for line in (EXAMPLES / "leads.jsonl").read_text(encoding="utf-8").splitlines()
}


def test_prefect_yaml_declares_the_deployments() -> None:
    spec = yaml.safe_load((ROOT / "prefect.yaml").read_text(encoding="utf-8"))
    deployments = {d["name"]: d for d in spec["deployments"]}
    assert {
        "lead-intake",
        "deadline-sweep",
        "monthly-escalation",
        "quarterly-escalation",
    } <= set(deployments)
    # docs/rules.md §3: the 1st of each month; the 1st of January, April, July and October.
    [monthly] = deployments["monthly-escalation"]["schedules"]
    [quarterly] = deployments["quarterly-escalation"]["schedules"]
    assert monthly["cron"].split()[2:] == ["1", "*", "*"]
    assert quarterly["cron"].split()[2:] == ["1", "1,4,7,10", "*"]
    for d in deployments.values():
        module, _, name = d["entrypoint"].partition(":")
        assert (ROOT / module).is_file() and f"def {name}(" in (ROOT / module).read_text()
        for schedule in d.get("schedules", []):
            assert schedule["timezone"] == "Asia/Shanghai"
    [trigger] = deployments["lead-intake"]["triggers"]
    assert trigger["expect"] == ["leadflow.lead.received"]
    assert trigger["parameters"]["lead"] == "{{ event.payload.lead }}"


@pytest.fixture
def events_drained() -> Iterator[None]:
    """Events this process emitted are sent, and its events client closed, when the test
    ends: the client's websocket pings with the global `random`, and left open it trips
    Hypothesis's check in later tests ("do not use the random module inside strategies")."""
    yield
    EventsWorker.drain_all()


@pytest.fixture
def served(
    sqlite_cli: Cli, prefect_api: str, tmp_path: Path, events_drained: None
) -> Iterator[Cli]:
    """The deployments of prefect.yaml served by one process, on this test's database."""
    sqlite_cli.env["LEADFLOW_INTAKE_MODE"] = "auto"  # a server is configured: deployments
    sqlite_cli("init", check=0)
    sqlite_cli("org", "load", EXAMPLES / "kunming.yaml", check=0)
    log = (tmp_path / "serve.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "flows.serve"],
        cwd=ROOT,
        env=sqlite_cli.env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        with temporary_settings(updates={PREFECT_API_URL: prefect_api}):
            _wait(lambda: _runs("lead-intake") is not None, "the deployment to be served", 90)
            time.sleep(3)  # let the trigger service load the new automation
            yield sqlite_cli
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
        log.close()


def _runs(deployment: str, *, besides: frozenset = frozenset()) -> list | None:
    """The deployment's flow runs (None before it exists), leaving out those in ``besides``."""
    with get_client(sync_client=True) as client:
        found = client.read_deployments(
            deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=[deployment]))
        )
        if not found:
            return None
        runs = client.read_flow_runs(
            deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=[deployment]))
        )
        return [r for r in runs if r.id not in besides]


def _ids(deployment: str) -> frozenset:
    return frozenset(r.id for r in _runs(deployment) or [])


def _wait(condition, what: str, seconds: float = 120):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def _db(cli: Cli, sql: str, *args: object) -> list[tuple]:
    path = cli.env["LEADFLOW_DATABASE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(path) as connection:
        return connection.execute(sql, args).fetchall()


def _emit(lead: dict) -> None:
    emit_event(
        event="leadflow.lead.received",
        resource={"prefect.resource.id": f"leadflow.lead.{lead['external_id']}"},
        payload={"lead": lead},
        id=uuid.uuid4(),
    )


def _finished(runs: list | None, count: int) -> bool:
    return bool(runs) and len(runs) == count and all(r.state.is_final() for r in runs)


ARRIVALS = 50


def test_an_arrival_event_starts_one_intake_run_and_duplicates_add_no_lead(
    served: Cli,
    figure,  # type: ignore[no-untyped-def]
) -> None:
    lead = {k: v for k, v in LEADS["KM-2026-000104"].items() if k != "reporter"}
    before = _ids("lead-intake")
    _emit(lead)
    runs = _wait(
        lambda: (r := _runs("lead-intake", besides=before)) and _finished(r, 1) and r,
        "the intake run",
    )
    assert runs[0].state.is_completed(), runs[0].state
    time.sleep(3)
    assert len(_runs("lead-intake", besides=before)) == 1  # exactly one run for one event
    assert _db(served, "SELECT state FROM leads WHERE external_id = ?", lead["external_id"]) == [
        ("in_handling",)
    ]

    # The same lead arrives again and again, as new events (issue 6: 50 arrivals in all).
    started = time.perf_counter()
    for _ in range(ARRIVALS - 1):
        _emit(lead)
    runs = _wait(
        lambda: _finished(_runs("lead-intake", besides=before), ARRIVALS) and True,
        f"{ARRIVALS} intake runs",
        600,
    )
    seconds = time.perf_counter() - started
    assert _db(served, "SELECT count(*) FROM leads WHERE external_id = ?", lead["external_id"]) == [
        (1,)
    ]
    receipts = _db(served, "SELECT count(*) FROM audit_events WHERE action = 'lead.receive'")
    notices = _db(served, "SELECT count(*) FROM documents WHERE kind = 'assignment_notice'")
    assert receipts == [(1,)] and notices == [(1,)]
    completed = sum(r.state.is_completed() for r in _runs("lead-intake", besides=before))
    figure(
        f"{ARRIVALS} arrival events of one lead: {completed} intake runs completed in "
        f"{seconds:.0f} s; 1 lead, 1 receipt event, 1 assignment notice"
    )


def test_a_suspended_intake_run_is_resumed_by_the_leaders_decision(
    served: Cli, tmp_path: Path
) -> None:
    path = tmp_path / "lead.json"
    path.write_text(json.dumps(LEADS["KM-2026-000102"], ensure_ascii=False), encoding="utf-8")
    before = _ids("lead-intake")
    posted = json.loads(served("lead", "post", path, "--json", check=0).stdout)
    lead_id = posted["lead_id"]
    runs = _wait(
        lambda: (r := _runs("lead-intake", besides=before)) and r[0].state.is_paused() and r,
        "the run to suspend for the decision",
    )
    waiting = _db(
        served, "SELECT waiting_flow_run FROM triage_proposals WHERE lead_id = ?", lead_id
    )
    assert waiting == [(str(runs[0].id),)]
    assert _db(served, "SELECT state FROM leads WHERE id = ?", lead_id) == [("triaged",)]

    decided = json.loads(
        served(
            "lead",
            "decide",
            str(lead_id),
            "--mode",
            "joint",
            "--by",
            "杨正晓",
            "--reason",
            "同意联合办理",
            "--json",
            check=0,
        ).stdout
    )
    assert decided["resumed_flow_run"] == str(runs[0].id)
    _wait(lambda: _finished(_runs("lead-intake", besides=before), 1), "the resumed run to finish")
    assert _runs("lead-intake", besides=before)[0].state.is_completed()
    assert _db(served, "SELECT state FROM leads WHERE id = ?", lead_id) == [("in_handling",)]
    assert _db(served, "SELECT decided_by FROM triage_proposals WHERE lead_id = ?", lead_id) == [
        ("杨正晓",)
    ]
    kinds = _db(served, "SELECT kind, status FROM documents WHERE lead_id = ?", lead_id)
    assert kinds == [("joint_handling_notice", "issued")]


def test_lead_submit_goes_through_the_deployment_once(served: Cli, tmp_path: Path) -> None:
    """With a server configured, `lead submit` hands the lead to the deployment, its
    external_id the idempotency key: submitted twice, one run and one lead."""
    path = tmp_path / "lead.json"
    path.write_text(json.dumps(LEADS["KM-2026-000101"], ensure_ascii=False), encoding="utf-8")
    before = _ids("lead-intake")
    first = json.loads(served("lead", "submit", path, "--json", check=0).stdout)
    second = json.loads(served("lead", "submit", path, "--json", check=0).stdout)
    assert first["lead_id"] == second["lead_id"] and second["duplicate"]
    assert first["flow_run"] == second["flow_run"]
    _wait(lambda: _finished(_runs("lead-intake", besides=before), 1), "the intake run")
    assert _db(served, "SELECT state FROM leads WHERE id = ?", first["lead_id"]) == [
        ("in_handling",)
    ]


def test_local_flow_runs_share_one_api_client(
    prefect_api: str, monkeypatch: pytest.MonkeyPatch, events_drained: None
) -> None:
    """Flow runs inside `prefect_runs.local()` reuse one API client: Prefect would make
    one a run, each loading the CA bundle into a new TLS context (BENCHMARKS.md)."""
    from prefect.client.orchestration import SyncPrefectClient

    from flows.intake import lead_intake
    from leadflow import prefect_runs
    from leadflow.bench import harness

    made: list[object] = []
    construct = SyncPrefectClient.__init__

    def counted(self: SyncPrefectClient, *args: object, **kwargs: object) -> None:
        made.append(self)
        construct(self, *args, **kwargs)

    monkeypatch.setattr(SyncPrefectClient, "__init__", counted)
    with (
        temporary_settings(updates={PREFECT_API_URL: prefect_api}),
        harness.scratch(),
        prefect_runs.local(),
    ):
        for n in range(3):
            result = lead_intake(lead=harness._lead(n), source="test")
            assert result["state"] == "in_handling" and Path(result["notices"][0]).is_file()
    assert len(made) == 1
