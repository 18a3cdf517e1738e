"""Duplicates (issue 6): one lead submitted 50 times at once from separate processes is
one lead, one receipt event, one assignment notice — on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import sqlalchemy as sa

from tests.conftest import EXAMPLES, Cli

TIMES, AT_ONCE = 50, 10


def test_one_lead_submitted_50_times_at_once_is_one_lead(
    cli: Cli,
    tmp_path: Path,
    db_url: str,
    figure,  # type: ignore[no-untyped-def]
) -> None:
    cli("init", check=0)
    cli("org", "load", EXAMPLES / "kunming.yaml", check=0)
    lead = next(
        json.loads(line)
        for line in (EXAMPLES / "leads.jsonl").read_text(encoding="utf-8").splitlines()
        if json.loads(line)["external_id"] == "KM-2026-000104"  # own handling: one notice
    )
    path = tmp_path / "lead.json"
    path.write_text(json.dumps(lead, ensure_ascii=False), encoding="utf-8")
    command = [sys.executable, "-c", "from leadflow.cli import main; main()"]
    started = time.perf_counter()
    results = []
    for wave in range(TIMES // AT_ONCE):
        processes = [
            subprocess.Popen(
                [*command, "lead", "submit", str(path), "--json"],
                cwd=tmp_path,
                env=cli.env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(AT_ONCE)
        ]
        for p in processes:
            out, err = p.communicate(timeout=300)
            assert p.returncode == 0, f"wave {wave}: exit {p.returncode}\n{err}"
            assert "Traceback" not in err
            results.append(json.loads(out))
    seconds = time.perf_counter() - started
    assert len({r["lead_id"] for r in results}) == 1
    assert sum(not r["duplicate"] for r in results) == 1  # the first one landed it

    engine = sa.create_engine(db_url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as connection:

        def count(sql: str) -> int:
            return connection.execute(sa.text(sql), {"x": lead["external_id"]}).scalar_one()

        leads = count("SELECT count(*) FROM leads WHERE external_id = :x")
        receipts = count(
            "SELECT count(*) FROM audit_events e JOIN leads l ON l.id = e.lead_id "
            "WHERE l.external_id = :x AND e.action = 'lead.receive'"
        )
        notices = count(
            "SELECT count(*) FROM documents d JOIN leads l ON l.id = d.lead_id "
            "WHERE l.external_id = :x AND d.kind = 'assignment_notice'"
        )
    engine.dispose()
    assert (leads, receipts, notices) == (1, 1, 1)
    verified = json.loads(cli("audit", "verify", "--json", check=0).stdout)
    figure(
        f"{db_url.split(':')[0]}: {TIMES} submissions, {AT_ONCE} processes at a time, "
        f"{seconds:.1f} s: 1 lead, 1 receipt event, 1 assignment notice; "
        f"chain of {verified['events']} events intact"
    )
