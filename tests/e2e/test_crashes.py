"""Crashes (issue 6): `docs render` and a quarterly escalation killed with SIGKILL while
they render, then run again — nothing lost, nothing issued twice, every number
accounted for, every file matching its checksum, the audit chain whole. (The import
killed halfway: test_import_crash.py.)"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from leadflow.bench.synthetic import write_leads
from tests.conftest import EXAMPLES, Cli
from tests.e2e.test_escalation_cli import setup
from tests.e2e.test_import_crash import _count


def _start(cli: Cli, tmp_path: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", "from leadflow.cli import main; main()", *args],
        cwd=tmp_path,
        env=cli.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _kill_when(process: subprocess.Popen, condition, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + 300
    while not condition():
        assert process.poll() is None, f"it ended before {what}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.wait()


def _whole(cli: Cli, database: Path) -> dict[str, int]:
    """Every document issued once, numbered without gaps, its file matching its checksum;
    the chain intact. Returns the counts for the figures."""
    assert _count(database, "SELECT count(*) FROM documents WHERE status != 'issued'") == 0
    kinds = _count(database, "SELECT count(DISTINCT kind) FROM documents")
    gaps = _count(
        database,
        "SELECT count(*) FROM (SELECT kind, max(serial) - count(*) AS gap FROM documents "
        "GROUP BY issuer, kind, year) WHERE gap != 0",
    )
    assert kinds and gaps == 0
    events = _count(database, "SELECT count(*) FROM audit_events WHERE action='document.issue'")
    documents = _count(database, "SELECT count(*) FROM documents")
    assert events == documents  # each rendered once, however often it was tried
    assert json.loads(cli("docs", "verify", "--json", check=0).stdout)["problems"] == []
    assert json.loads(cli("audit", "verify", "--json", check=0).stdout)["intact"]
    return {"documents": documents}


def test_docs_render_killed_halfway_then_rerun(sqlite_cli: Cli, tmp_path: Path, figure) -> None:  # type: ignore[no-untyped-def]
    sqlite_cli("init", check=0)
    sqlite_cli("org", "load", EXAMPLES / "kunming.yaml", check=0)
    entities = [
        e["code"] for e in yaml.safe_load((EXAMPLES / "kunming.yaml").read_text())["entities"]
    ]
    sqlite_cli(
        "lead", "import", write_leads(tmp_path / "l.jsonl", count=300, entities=entities), check=0
    )
    database = tmp_path / "leadflow.db"
    pending = _count(database, "SELECT count(*) FROM documents WHERE status = 'pending'")
    assert pending >= 60

    process = _start(sqlite_cli, tmp_path, "docs", "render")
    _kill_when(
        process,
        lambda: (
            _count(database, "SELECT count(*) FROM documents WHERE status = 'issued'")
            >= pending // 3
        ),
        "a third of the documents were rendered",
    )
    rendered = _count(database, "SELECT count(*) FROM documents WHERE status = 'issued'")
    assert pending // 3 <= rendered < pending

    again = json.loads(sqlite_cli("docs", "render", "--json", check=0).stdout)
    assert len(again["rendered"]) == pending - rendered
    counts = _whole(sqlite_cli, database)
    figure(
        f"docs render killed with {rendered} of {pending} rendered; the rerun rendered the "
        f"other {pending - rendered}: {counts['documents']} documents, each once, no gap"
    )


@pytest.mark.parametrize("kind, period", [("monthly", "2026-09"), ("quarterly", "2026-Q3")])
def test_an_escalation_killed_while_rendering_then_rerun(
    sqlite_cli: Cli,
    tmp_path: Path,
    figure,
    kind: str,
    period: str,  # type: ignore[no-untyped-def]
) -> None:
    setup(sqlite_cli, tmp_path)
    sqlite_cli("docs", "render", check=0)
    database = tmp_path / "leadflow.db"
    before = _count(database, "SELECT count(*) FROM documents")

    process = _start(sqlite_cli, tmp_path, "escalate", kind, "--period", period)
    _kill_when(
        process,
        lambda: _count(database, "SELECT count(*) FROM escalation_runs") == 1,
        "the run committed",
    )
    run_documents = _count(database, f"SELECT count(*) FROM documents WHERE id > {before}")
    left = _count(database, "SELECT count(*) FROM documents WHERE status = 'pending'")
    assert run_documents >= 1 and left >= 1, "the kill must fall while the run renders"

    again = json.loads(sqlite_cli("escalate", kind, "--period", period, "--json", check=0).stdout)
    assert again["issued"] == [] and len(again["already_issued"]) == run_documents
    assert all(d["status"] == "issued" for d in again["already_issued"])
    assert _count(database, "SELECT count(*) FROM escalation_runs") == 1
    counts = _whole(sqlite_cli, database)
    figure(
        f"{kind} run killed with {left} of its {run_documents} documents unrendered; the "
        f"rerun issued nothing new and rendered them: {counts['documents']} documents, no gap"
    )
