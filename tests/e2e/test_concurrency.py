"""Concurrency on PostgreSQL (issue 6): two worker processes move the same leads and run
the same escalations at the same instant. Each step is taken once, by one of them; no
update is lost, the audit chain does not fork, no document number is given twice."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from leadflow.bench.synthetic import write_leads
from tests.conftest import EXAMPLES, ROOT, Cli, _cli_env
from tests.e2e.worker import REPLAYED
from tests.integration.history import write_returns

pytestmark = pytest.mark.postgres


def test_two_workers_on_the_same_leads_and_escalations(
    tmp_path: Path,
    postgres_url: str,
    prefect_api: str,
    figure,  # type: ignore[no-untyped-def]
) -> None:
    cli = Cli(cwd=tmp_path, env=_cli_env(tmp_path, postgres_url, prefect_api))
    cli.env["LEADFLOW_TODAY"] = REPLAYED.isoformat()  # the workers act on the import's day
    cli("init", check=0)
    cli("org", "load", EXAMPLES / "kunming.yaml", check=0)
    entities = [
        e["code"] for e in yaml.safe_load((EXAMPLES / "kunming.yaml").read_text())["entities"]
    ]
    cli("lead", "import", write_leads(tmp_path / "l.jsonl", count=80, entities=entities), check=0)
    cli("stats", "import", write_returns(tmp_path / "r.csv", ["2026-08", "2026-09"]), check=0)
    engine = sa.create_engine(postgres_url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as connection:
        ids = [
            str(i)
            for (i,) in connection.execute(
                sa.text("SELECT id FROM leads WHERE state = 'in_handling' ORDER BY id")
            )
        ]
    assert len(ids) >= 10
    start_at = time.time() + 10  # both workers are imported and connected by then
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "tests" / "e2e" / "worker.py"),
                postgres_url,
                str(tmp_path / "out"),
                name,
                str(start_at),
                *order,
            ],
            cwd=ROOT,
            env={**cli.env, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        # Opposite orders: they race for every lead, and meet on the ones in the middle.
        for name, order in (("甲", ids), ("乙", ids[::-1]))
    ]
    results = []
    for worker in workers:
        out, err = worker.communicate(timeout=600)
        assert worker.returncode == 0, err[-3000:]
        results.append(json.loads(out))
    seconds = time.time() - start_at

    steps = 3 * len(ids)
    assert sum(r["moved"] for r in results) == steps  # each step once, by one worker
    assert sum(r["refused"] for r in results) == steps  # and refused to the other
    issued = [e[1] for r in results for e in r["escalations"]]
    assert sorted(issued)[:2] == [0, 0] and sum(issued) > 0  # each run issued by one worker
    with engine.connect() as connection:

        def rows(sql: str) -> list:
            return connection.execute(sa.text(sql)).all()

        # No lost update: each lead's version counts every move the trail records.
        lost = rows(
            "SELECT l.id FROM leads l WHERE l.state = 'rectifying' AND l.version - 1 != "
            "(SELECT count(*) FROM audit_events e WHERE e.lead_id = l.id "
            " AND e.state_after IS NOT NULL AND e.state_before IS NOT NULL)"
        )
        moved = rows(
            f"SELECT count(*) FROM leads WHERE state = 'rectifying' AND id IN ({','.join(ids)})"
        )
        numbers = rows(
            "SELECT kind, count(*), count(DISTINCT serial), max(serial) FROM documents "
            "GROUP BY issuer, kind, year"
        )
        runs = rows("SELECT count(*) FROM escalation_runs")
    engine.dispose()
    assert lost == [] and moved == [(len(ids),)]
    assert all(n == distinct == top for _, n, distinct, top in numbers), numbers
    assert runs == [(2,)]
    verified = json.loads(cli("audit", "verify", "--json", check=0).stdout)
    assert verified["intact"]
    won = " / ".join(f"{r['moved']}" for r in results)
    figure(
        f"2 workers, {len(ids)} leads × 3 steps + 2 escalations, {seconds:.1f} s: steps won "
        f"{won}, each refused to the other; no lost update; "
        f"{sum(n for _, n, _, _ in numbers)} document numbers, none twice, no gap; "
        f"chain of {verified['events']} events intact"
    )
