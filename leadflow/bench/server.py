"""`leadflow bench --server`: the paths users run with a server — the local stack as
`leadflow up` starts it (a Prefect server, two workers, the reconciler), in a scratch
folder, on the embedded default.

- burst: ``count`` arrivals recorded at once (the example leads' mix: most wait for a
  leader), handed on by the stack; leads per second until every one is *settled* —
  triaged, and either its notice rendered or its run waiting for the decision;
- paced: arrivals at ``rate`` a second; each one's seconds from arrival to settled;
- lost (never settled within the bound) and duplicated (a second receipt, triage or
  notice of one kind) over both;
- the median wall time of a one-off `leadflow lead submit` with the stack up, before the
  burst.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

EXAMPLES = Path(__file__).resolve().parent.parent.parent / "examples"
_CLI = (sys.executable, "-c", "from leadflow.cli import main; main()")

# A lead is settled when triaged and either its notices are all rendered or its intake
# run is recorded as the one waiting for the leader's decision.
SETTLED = text(
    """
    SELECT l.external_id FROM leads l JOIN triage_proposals p ON p.lead_id = l.id
    WHERE l.external_id LIKE :prefix AND l.state != 'received'
      AND NOT EXISTS (SELECT 1 FROM documents d WHERE d.lead_id = l.id AND d.status = 'pending')
      AND (p.waiting_flow_run IS NOT NULL
           OR EXISTS (SELECT 1 FROM documents d WHERE d.lead_id = l.id AND d.status = 'issued'))
    """
)
TWICE = text(
    """
    SELECT count(*) FROM (
      SELECT lead_id FROM audit_events WHERE action IN ('lead.receive', 'lead.triage')
      GROUP BY lead_id, action HAVING count(*) > 1
      UNION ALL
      SELECT lead_id FROM documents WHERE lead_id IS NOT NULL
      GROUP BY lead_id, kind HAVING count(*) > 1) twice
    """
)


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*_CLI, *args], env=env, capture_output=True, text=True, timeout=600)


@contextmanager
def stack_up() -> Iterator[tuple[Path, dict[str, str]]]:
    """A scratch folder with a fresh database and the organisation loaded, and the local
    stack running on it; stopped (nothing left behind) at the end."""
    with tempfile.TemporaryDirectory(prefix="leadflow-bench-server-") as folder:
        root = Path(folder)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "LEADFLOW_"))}
        env |= {
            "LEADFLOW_DATABASE_URL": f"sqlite:///{root / 'bench.db'}",
            "LEADFLOW_OUTPUT_DIR": str(root / "output"),
            "LEADFLOW_HOME": str(root / "home"),
            "LEADFLOW_ACTOR": "bench",
        }
        for args in (("init",), ("org", "load", str(EXAMPLES / "kunming.yaml")), ("up",)):
            done = _cli(env, *args)
            if done.returncode:
                raise RuntimeError(f"`leadflow {' '.join(args)}` failed: {done.stderr[-400:]}")
        try:
            yield root, env
        finally:
            _cli(env, "down")


def _leads(prefix: str, count: int) -> list[dict[str, Any]]:
    """``count`` leads in the example leads' mix, each with an external id of its own."""
    examples = [
        json.loads(line) for line in (EXAMPLES / "leads.jsonl").read_text("utf-8").splitlines()
    ]
    return [
        {**examples[n % len(examples)], "external_id": f"{prefix}-{n:06d}"} for n in range(count)
    ]


def _arrive(env: dict[str, str], leads: list[dict[str, Any]]) -> dict[str, float]:
    """Record each lead with its intake request, as `lead submit` does, and wake the
    stack's reconciler; when each was recorded."""
    from leadflow import reconciler
    from models.domain.people import system
    from models.inputs.schemas import LeadIn
    from models.services import outbox
    from models.services.intake import Arrival
    from models.store.database import make_engine, transaction

    engine = make_engine(env["LEADFLOW_DATABASE_URL"])
    recorded = {}
    for lead in leads:
        with transaction(engine) as session:
            outbox.arrive(
                session, Arrival(LeadIn.model_validate(lead), "bench"), by=system("bench")
            )
        recorded[lead["external_id"]] = time.monotonic()
        reconciler.wake(Path(env["LEADFLOW_HOME"]))
    return recorded


def settled(engine: Engine, prefix: str) -> set[str]:
    with engine.connect() as connection:
        return {r[0] for r in connection.execute(SETTLED, {"prefix": f"{prefix}-%"})}


def _watch(engine: Engine, prefix: str, count: int, bound: float) -> dict[str, float]:
    """When each lead of ``prefix`` was first seen settled, until all are or ``bound``
    seconds have passed."""
    seen: dict[str, float] = {}
    deadline = time.monotonic() + bound
    while len(seen) < count and time.monotonic() < deadline:
        now = time.monotonic()
        for name in settled(engine, prefix) - seen.keys():
            seen[name] = now
        time.sleep(0.1)
    return seen


def duplicated(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(TWICE).scalar_one())


def burst(env: dict[str, str], count: int, bound: float) -> dict[str, Any]:
    """``count`` arrivals recorded at once; leads per second until all are settled."""
    from models.store.database import make_engine

    engine = make_engine(env["LEADFLOW_DATABASE_URL"])
    leads = _leads("BURST", count)
    started = time.monotonic()
    _record_at_once(env, leads)
    seen = _watch(engine, "BURST", count, bound)
    seconds = (max(seen.values()) if seen else time.monotonic()) - started
    return {
        "server_leads_per_s": round(len(seen) / seconds, 1) if seen else 0.0,
        "server_burst_leads": count,
        "server_burst_s": round(seconds, 1),
        "lost_burst": count - len(seen),
    }


def _record_at_once(env: dict[str, str], leads: list[dict[str, Any]]) -> None:
    from leadflow import reconciler
    from models.domain.people import system
    from models.inputs.schemas import LeadIn
    from models.services import outbox
    from models.services.intake import Arrival
    from models.store.database import make_engine, transaction

    arrivals = [Arrival(LeadIn.model_validate(lead), "bench") for lead in leads]
    with transaction(make_engine(env["LEADFLOW_DATABASE_URL"])) as session:
        outbox.arrive_many(session, arrivals, by=system("bench"))
    reconciler.wake(Path(env["LEADFLOW_HOME"]))


def paced(env: dict[str, str], count: int, rate: float, bound: float) -> dict[str, Any]:
    """Arrivals at ``rate`` a second; each one's seconds from arrival to settled."""
    import threading

    from models.store.database import make_engine

    engine = make_engine(env["LEADFLOW_DATABASE_URL"])
    leads = _leads("PACED", count)
    recorded: dict[str, float] = {}

    def arrive() -> None:
        started = time.monotonic()
        for n, lead in enumerate(leads):
            time.sleep(max(0.0, started + n / rate - time.monotonic()))
            recorded.update(_arrive(env, [lead]))

    feeder = threading.Thread(target=arrive)
    feeder.start()
    seen = _watch(engine, "PACED", count, count / rate + bound)
    feeder.join()
    waits = sorted(seen[name] - recorded[name] for name in seen)
    return {
        "server_p50_s": round(statistics.median(waits), 2) if waits else None,
        "server_p95_s": round(waits[min(len(waits) - 1, int(len(waits) * 0.95))], 2)
        if waits
        else None,
        "server_paced_leads": count,
        "server_paced_rate": rate,
        "lost_paced": count - len(seen),
    }


def cli_submit(root: Path, env: dict[str, str], runs: int) -> dict[str, Any]:
    """The median wall time of a one-off `leadflow lead submit` with the stack up, and how
    many of them were not triaged within the command's wait (exit 75)."""
    times, late = [], 0
    for lead in _leads("CLI", runs):
        path = root / f"{lead['external_id']}.json"
        path.write_text(json.dumps(lead, ensure_ascii=False), encoding="utf-8")
        started = time.perf_counter()
        done = _cli(env, "lead", "submit", str(path))
        times.append(time.perf_counter() - started)
        if done.returncode == 75:
            late += 1
        elif done.returncode:
            raise RuntimeError(f"`leadflow lead submit` exited {done.returncode}: {done.stderr}")
    return {"cli_submit_s": round(statistics.median(times), 2), "cli_submit_late": late}


def run(*, quick: bool) -> dict[str, Any]:
    """Every figure of the server benchmark, in one run of the stack."""
    from models.store.database import make_engine

    count, paced_count = (60, 20) if quick else (2000, 300)
    with stack_up() as (root, env):
        # The one-off command first, on the stack as a user meets it between arrivals: just
        # after a burst the server is still storing the burst's events, and a command's
        # hand-on queues behind that work (BENCHMARKS.md gives both).
        results = {
            **cli_submit(root, env, 5),
            **burst(env, count, bound=900),
            **paced(env, paced_count, rate=5.0, bound=300),
        }
        results["server_lost"] = results.pop("lost_burst") + results.pop("lost_paced")
        results["server_duplicated"] = duplicated(make_engine(env["LEADFLOW_DATABASE_URL"]))
    return results
