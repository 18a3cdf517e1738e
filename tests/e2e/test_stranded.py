"""No lead is stranded: an arrival is recorded before it is handed on, a hand-on that fails
says so (exit 75) and `leadflow reconcile` carries the lead through exactly once; a
database that cannot be reached records nothing (exit 69); concurrent commands on a
fresh machine all succeed; a database refusal prints and logs no data.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from leadflow.bench.synthetic import write_leads
from tests.conftest import EXAMPLES, Cli

UNREACHABLE = "http://127.0.0.1:9/api"  # the discard port: nothing answers there


@pytest.fixture
def fresh(sqlite_cli: Cli, tmp_path: Path) -> Cli:
    """The embedded default on a fresh machine: no Prefect server, empty homes."""
    env = {k: v for k, v in sqlite_cli.env.items() if k != "PREFECT_API_URL"}
    env |= {
        "LEADFLOW_INTAKE_MODE": "auto",
        "LEADFLOW_HOME": str(tmp_path / "home"),
        "PREFECT_HOME": str(tmp_path / "prefect-home-fresh"),
    }
    cli = Cli(cwd=tmp_path, env=env)
    cli("init", check=0)
    cli("org", "load", EXAMPLES / "kunming.yaml", check=0)
    return cli


def _db(cli: Cli, sql: str, *args: object) -> list[tuple]:
    path = cli.env["LEADFLOW_DATABASE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(path) as connection:
        return connection.execute(sql, args).fetchall()


def _once(cli: Cli, lead_id: int) -> None:
    """One receipt, one triage, and at most one notice: nothing happened twice."""
    actions = [a for (a,) in _db(cli, "SELECT action FROM audit_events WHERE lead_id = ?", lead_id)]
    assert actions.count("lead.receive") == 1 and actions.count("lead.triage") == 1, actions
    kinds = [k for (k,) in _db(cli, "SELECT kind FROM documents WHERE lead_id = ?", lead_id)]
    assert len(kinds) == len(set(kinds)) <= 1, kinds


def _lead_file(tmp_path: Path, external_id: str) -> Path:
    lead = next(
        json.loads(line)
        for line in (EXAMPLES / "leads.jsonl").read_text(encoding="utf-8").splitlines()
        if json.loads(line)["external_id"] == external_id
    )
    path = tmp_path / f"{external_id}.json"
    path.write_text(json.dumps(lead, ensure_ascii=False), encoding="utf-8")
    return path


def test_a_submit_prefect_cannot_take_is_recorded_and_reconciled_once(
    fresh: Cli, tmp_path: Path
) -> None:
    fresh.env["PREFECT_API_URL"] = UNREACHABLE
    ran = fresh("lead", "submit", _lead_file(tmp_path, "KM-2026-000104"))
    assert ran.code == 75, ran.stderr
    assert "recorded but was not handed on" in ran.stderr and "Traceback" not in ran.stderr
    assert _db(fresh, "SELECT id, state FROM leads") == [(1, "received")]
    # Prefect still away: the reconciler tries, says so, and leaves the lead due.
    ran = fresh("reconcile", "--json", "--grace", "0")
    assert ran.code == 75 and json.loads(ran.stdout)["not_handed"] == [1], ran.stderr
    del fresh.env["PREFECT_API_URL"]
    done = json.loads(fresh("reconcile", "--json", "--grace", "0", check=0).stdout)
    assert done["taken_in_here"] == [1]
    again = json.loads(fresh("reconcile", "--json", "--grace", "0", check=0).stdout)
    assert not any(again[k] for k in ("handed_on", "taken_in_here", "not_handed"))
    assert _db(fresh, "SELECT state FROM leads") == [("in_handling",)]
    _once(fresh, 1)
    # Two attempts failed, the third carried it through.
    assert _db(fresh, "SELECT attempts, flow_run FROM intake_requests") == [(3, "here")]


def test_a_post_to_an_unreachable_server_exits_75_and_is_carried_through(
    fresh: Cli, tmp_path: Path
) -> None:
    fresh.env["PREFECT_API_URL"] = UNREACHABLE
    ran = fresh("lead", "post", _lead_file(tmp_path, "KM-2026-000102"))
    assert ran.code == 75 and "recorded but the event was not posted" in ran.stderr
    del fresh.env["PREFECT_API_URL"]
    fresh("reconcile", "--grace", "0", check=0)
    assert _db(fresh, "SELECT state FROM leads") == [("triaged",)]  # awaits a leader
    _once(fresh, 1)


def test_a_database_that_cannot_be_reached_records_nothing(fresh: Cli, tmp_path: Path) -> None:
    fresh.env["LEADFLOW_DATABASE_URL"] = "postgresql://nobody@127.0.0.1:1/none"
    ran = fresh("lead", "submit", _lead_file(tmp_path, "KM-2026-000104"))
    assert ran.code == 69 and "recorded nothing" in ran.stderr, ran.stderr


def test_twelve_concurrent_commands_on_a_fresh_machine_all_succeed(
    fresh: Cli,
    tmp_path: Path,
    figure,  # type: ignore[no-untyped-def]
) -> None:
    entities = [
        e["code"] for e in yaml.safe_load((EXAMPLES / "kunming.yaml").read_text())["entities"]
    ]
    files = [
        write_leads(tmp_path / f"b{n}.jsonl", count=50, entities=entities, prefix=f"C{n}")
        for n in range(8)
    ]
    singles = [_lead_file(tmp_path, f"KM-2026-00010{n}") for n in range(1, 5)]
    command = [sys.executable, "-c", "from leadflow.cli import main; main()"]
    processes = [
        subprocess.Popen(
            [*command, "lead", *args],
            cwd=fresh.cwd,
            env=fresh.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for args in [("import", f) for f in files] + [("submit", f) for f in singles]
    ]
    codes = [p.wait(timeout=300) for p in processes]
    errors = [p.stderr.read() for p in processes if p.returncode]  # type: ignore[union-attr]
    assert codes == [0] * 12, errors
    assert _db(fresh, "SELECT count(*) FROM leads WHERE state != 'received'") == [(404,)]
    figure(f"12 concurrent commands, no server, fresh homes: exit codes {set(codes)}, 404 leads")


def test_a_database_refusing_the_reporters_prints_and_logs_no_data(
    fresh: Cli, tmp_path: Path
) -> None:
    """The planted failure: the reporters' insert refused by the database."""
    _db(
        fresh,
        "CREATE TRIGGER refuse_reporters BEFORE INSERT ON reporters "
        "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END",
    )
    path = _lead_file(tmp_path, "KM-2026-000102")  # a named reporter
    lead = json.loads(path.read_text(encoding="utf-8"))
    ran = fresh("lead", "submit", path)
    assert ran.code == 70 and "Traceback" not in ran.stderr, ran.stderr
    log = (tmp_path / "output" / "leadflow-error.log").read_text(encoding="utf-8")
    for secret in (lead["reporter"]["name"], lead["reporter"]["phone"], lead["summary"]):
        assert secret not in ran.stderr and secret not in log
    assert "IntegrityError" in log
    assert _db(fresh, "SELECT count(*) FROM leads") == [(0,)]  # nothing half-written


def test_the_intake_flow_takes_references_only() -> None:
    """Prefect is handed ids; the run reads the lead from LeadFlow's database."""
    import inspect

    from flows.intake import lead_intake

    assert list(inspect.signature(lead_intake.fn).parameters) == ["lead_id", "external_id"]
