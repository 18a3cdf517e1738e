"""`lead import` killed with SIGKILL halfway and run again: every lead once, the chain whole."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import yaml

from leadflow.bench.synthetic import write_leads
from tests.conftest import EXAMPLES, Cli

COUNT = 20_000


def _count(database: Path, sql: str) -> int:
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30)
    try:
        return connection.execute(sql).fetchone()[0]
    except sqlite3.OperationalError:  # the schema may still be being read
        return 0
    finally:
        connection.close()


def test_import_killed_halfway_then_rerun(sqlite_cli: Cli, tmp_path: Path) -> None:
    sqlite_cli("init", check=0)
    sqlite_cli("org", "load", EXAMPLES / "kunming.yaml", check=0)
    entities = [
        e["code"] for e in yaml.safe_load((EXAMPLES / "kunming.yaml").read_text())["entities"]
    ]
    leads = write_leads(tmp_path / "leads.jsonl", count=COUNT, entities=entities, seed=7)
    database = tmp_path / "leadflow.db"

    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from leadflow.cli import main; main()",
            "lead",
            "import",
            str(leads),
            "--batch-size",
            "200",
        ],
        cwd=tmp_path,
        env=sqlite_cli.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while _count(database, "SELECT count(*) FROM leads") < COUNT // 3:
        assert process.poll() is None, "the import ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.wait()
    landed = _count(database, "SELECT count(*) FROM leads")
    print(f"killed with {landed} of {COUNT} leads landed")
    assert COUNT // 3 <= landed < COUNT, "the kill must fall halfway through the import"
    # Whatever landed, landed whole: each lead with its receipt event.
    assert (
        _count(database, "SELECT count(*) FROM audit_events WHERE action='lead.receive'") == landed
    )

    again = json.loads(sqlite_cli("lead", "import", leads, "--json", check=0).stdout)
    assert (again["registered"], again["duplicates"]) == (COUNT - landed, landed)
    assert _count(database, "SELECT count(*) FROM leads") == COUNT
    assert _count(database, "SELECT count(DISTINCT external_id) FROM leads") == COUNT
    assert (
        _count(database, "SELECT count(*) FROM audit_events WHERE action='lead.receive'") == COUNT
    )
    verified = json.loads(sqlite_cli("audit", "verify", "--json", check=0).stdout)
    assert verified["intact"] and verified["events"] >= COUNT
