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
        "lead-intake-batch",
        "deadline-sweep",
        "monthly-escalation",
        "quarterly-escalation",
    } <= set(deployments)
    # docs/rules.md §3: every day from the 1st, the monthly deployment checks whether the
    # month just ended is to run (its returns in or due); the 1st of January, April, July
    # and October for the quarter.
    [monthly] = deployments["monthly-escalation"]["schedules"]
    [quarterly] = deployments["quarterly-escalation"]["schedules"]
    assert monthly["cron"].split()[2:] == ["*", "*", "*"]
    assert deployments["monthly-escalation"]["parameters"] == {"scheduled": True}
    assert quarterly["cron"].split()[2:] == ["1", "1,4,7,10", "*"]
    for d in deployments.values():
        module, _, name = d["entrypoint"].partition(":")
        assert (ROOT / module).is_file() and f"def {name}(" in (ROOT / module).read_text()
        for schedule in d.get("schedules", []):
            assert schedule["timezone"] == "Asia/Shanghai"
    [trigger] = deployments["lead-intake"]["triggers"]
    assert trigger["expect"] == ["leadflow.lead.received"]
    # References only: the run reads the lead from LeadFlow's database.
    assert trigger["parameters"] == {
        "lead_id": "{{ event.payload.lead_id }}",
        "external_id": "{{ event.payload.external_id }}",
    }


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


def _emit(lead_id: int, external_id: str) -> None:
    emit_event(
        event="leadflow.lead.received",
        resource={"prefect.resource.id": f"leadflow.lead.{external_id}"},
        payload={"lead_id": lead_id, "external_id": external_id},
        id=uuid.uuid4(),
    )


def _post(cli: Cli, tmp_path: Path, external_id: str) -> int:
    """`lead post`: the lead recorded, then its arrival event posted; the lead's id."""
    path = tmp_path / f"{external_id}.json"
    path.write_text(json.dumps(LEADS[external_id], ensure_ascii=False), encoding="utf-8")
    return int(json.loads(cli("lead", "post", path, "--json", check=0).stdout)["lead_id"])


def _finished(runs: list | None, count: int) -> bool:
    return bool(runs) and len(runs) == count and all(r.state.is_final() for r in runs)


ARRIVALS = 50


def test_an_arrival_event_starts_one_intake_run_and_duplicates_add_no_lead(
    served: Cli,
    tmp_path: Path,
    figure,  # type: ignore[no-untyped-def]
) -> None:
    external_id = "KM-2026-000104"
    before = _ids("lead-intake")
    lead_id = _post(served, tmp_path, external_id)
    runs = _wait(
        lambda: (r := _runs("lead-intake", besides=before)) and _finished(r, 1) and r,
        "the intake run",
    )
    assert runs[0].state.is_completed(), runs[0].state
    time.sleep(3)
    assert len(_runs("lead-intake", besides=before)) == 1  # exactly one run for one event
    assert runs[0].name == f"intake {external_id}"
    assert _db(served, "SELECT state FROM leads WHERE id = ?", lead_id) == [("in_handling",)]

    # The same lead arrives again and again, as new events (issue 6: 50 arrivals in all).
    started = time.perf_counter()
    for _ in range(ARRIVALS - 1):
        _emit(lead_id, external_id)
    runs = _wait(
        lambda: _finished(_runs("lead-intake", besides=before), ARRIVALS) and True,
        f"{ARRIVALS} intake runs",
        600,
    )
    seconds = time.perf_counter() - started
    assert _db(served, "SELECT count(*) FROM leads WHERE external_id = ?", external_id) == [(1,)]
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
    before = _ids("lead-intake")
    lead_id = _post(served, tmp_path, "KM-2026-000102")
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
    from leadflow import arrivals, prefect_runs
    from leadflow.bench import harness
    from models.inputs.schemas import LeadIn

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
            lead = LeadIn.model_validate(harness._lead(n))
            receipt = arrivals.record(lead, "test")
            result = lead_intake(lead_id=receipt.lead_id, external_id=lead.external_id)
            assert result["state"] == "in_handling" and len(result["notices"]) == 1
    assert len(made) == 1


def _paused(before: frozenset, count: int = 1) -> list:
    return _wait(
        lambda: (
            (r := _runs("lead-intake", besides=before))
            and len(r) == count
            and all(x.state.is_paused() or x.state.is_final() for x in r)
            and r
        ),
        "the runs to suspend or end",
    )


def _run(before: frozenset, run_id: uuid.UUID):  # type: ignore[no-untyped-def]
    return next(r for r in _runs("lead-intake", besides=before) or [] if r.id == run_id)


def test_one_waiting_run_per_lead_and_a_foreign_resume_is_refused(
    served: Cli, tmp_path: Path
) -> None:
    """A duplicate arrival event ends at once instead of waiting beside the first run; a
    resume given in Prefect (not through LeadFlow's record) acts on nothing, is recorded,
    and the lead can still be decided."""
    from prefect.flow_runs import resume_flow_run

    before = _ids("lead-intake")
    lead_id = _post(served, tmp_path, "KM-2026-000103")
    [waiting] = _paused(before)
    assert waiting.state.is_paused()
    _emit(lead_id, "KM-2026-000103")  # the same arrival, again
    runs = _wait(
        lambda: _finished(
            [r for r in _runs("lead-intake", besides=before) or [] if r.id != waiting.id], 1
        ),
        "the duplicate's run to end",
    )
    assert runs and sum(r.state.is_paused() for r in _runs("lead-intake", besides=before)) == 1

    with temporary_settings(updates={PREFECT_API_URL: served.env["PREFECT_API_URL"]}):
        resume_flow_run(waiting.id, run_input={"decision": "typed-in-the-ui"})
    _wait(lambda: _run(before, waiting.id).state.is_final(), "the resumed run to end")
    assert _db(served, "SELECT state FROM leads WHERE id = ?", lead_id) == [("triaged",)]
    refused = _db(
        served,
        "SELECT actor, reason FROM audit_events WHERE lead_id = ? AND action = ?",
        lead_id,
        "lead.resume_refused",
    )
    assert len(refused) == 1 and "未予执行" in refused[0][1] and "记录" in refused[0][1]
    served(
        "lead", "decide", str(lead_id), "--mode", "joint", "--by", "杨正晓",
        "--reason", "同意联合办理", check=0,
    )  # fmt: skip
    assert _db(served, "SELECT state FROM leads WHERE id = ?", lead_id) == [("in_handling",)]
