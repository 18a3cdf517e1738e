"""The benchmark harness (`leadflow bench`): figures measured in one run, on this machine.

Benchmarks are not tests: the suite runs `leadflow bench --quick` to prove it works and
asserts nothing about speed. Each figure is measured warm, in a scratch directory with
its own SQLite database, so a user's data is never touched.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from models.inputs.readers import read_organisation
from models.inputs.schemas import Channel, LeadIn, Rank, Source

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@contextmanager
def scratch() -> Any:
    """A scratch database and output folder, with the example organisation loaded."""
    with tempfile.TemporaryDirectory(prefix="leadflow-bench-") as folder:
        saved = {k: os.environ.get(k) for k in ("LEADFLOW_DATABASE_URL", "LEADFLOW_OUTPUT_DIR")}
        os.environ["LEADFLOW_DATABASE_URL"] = f"sqlite:///{folder}/bench.db"
        os.environ["LEADFLOW_OUTPUT_DIR"] = f"{folder}/output"
        try:
            from models.config.policy import default_policy
            from models.domain.people import system
            from models.services import organisation, runtime
            from models.services.policy import install
            from models.store import migrate
            from models.store.database import transaction

            engine = runtime.engine()
            migrate.upgrade(engine)
            org, locate = read_organisation(EXAMPLES / "kunming.yaml")
            with transaction(engine) as session:
                install(session, default_policy(), by=system("bench"))
                organisation.load(
                    session, org, source="kunming.yaml", locate=locate, by=system("bench")
                )
            yield Path(folder)
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def _lead(n: int) -> dict[str, Any]:
    """A lead with no triage flag: own handling, assigned at once, its notice rendered."""
    return {
        "external_id": f"BENCH-{n:06d}",
        "received_at": "2026-09-03T10:15:00+08:00",
        "source": Source.resident_group.value,
        "channel": Channel.internal.value,
        "subject": {
            "name": f"某{n}",
            "post": "窗口工作人员",
            "rank": Rank.general.value,
            "entity": "E-XS-JINBI",
        },
        "domain": "four_winds",
        "summary": "上班时间玩电脑游戏",
    }


def event_latency(runs: int, warmup: int = 3) -> dict[str, float]:
    """One lead's arrival → recorded with its intake request, triaged and assigned, its
    notice PDF on disk, through the intake flow as a local Prefect flow run (warm: the
    server and fonts already up)."""
    from flows.intake import lead_intake
    from leadflow import arrivals, prefect_runs
    from models.services import runtime
    from models.store.database import transaction
    from models.store.records import Document

    times = []
    with scratch(), prefect_runs.local():
        for n in range(warmup + runs):
            started = time.perf_counter()
            lead = LeadIn.model_validate(_lead(n))
            receipt = arrivals.record(lead, "bench")
            lead_intake(lead_id=receipt.lead_id, external_id=lead.external_id)
            elapsed = time.perf_counter() - started
            with transaction(runtime.engine()) as session:
                paths = [d.path for d in session.query(Document).filter_by(lead_id=receipt.lead_id)]
            if not paths or not all(p and Path(p).is_file() for p in paths):
                raise RuntimeError(f"no notice on disk for lead {receipt.lead_id}")
            if n >= warmup:
                times.append(elapsed * 1000)
    times.sort()
    return {
        "event_p50_ms": round(statistics.median(times), 1),
        "event_p95_ms": round(times[min(len(times) - 1, int(len(times) * 0.95))], 1),
        "event_runs": runs,
    }


def bulk_intake(count: int, rounds: int) -> dict[str, Any]:
    """``count`` leads through the full intake rules in batch mode on SQLite — the import
    flow's own function (validation, de-duplication, triage, assignment, audit events,
    notices numbered), without Prefect around it — against the ceiling: the same rows
    (the leads and their audit events) inserted with raw ``executemany`` in one
    transaction into an empty copy of the schema, on the same machine.

    ``rounds`` times, each in a fresh database, the ceiling straight after the import:
    on a shared host either one moves from one minute to the next, so the figures are
    the rounds' medians and the ratio the median of each round's own (its two halves
    timed back to back). The chain of the last round is verified."""
    bulk: list[float] = []
    ceiling: list[float] = []
    ratios: list[float] = []
    for n in range(rounds):
        bulk_s, ceiling_s, events, verify = _bulk_round(count, verify=n == rounds - 1)
        bulk.append(bulk_s)
        ceiling.append(ceiling_s)
        ratios.append(ceiling_s / bulk_s)
    rows = count + events
    return {
        "bulk_leads_per_s": round(count / statistics.median(bulk)),
        "sqlite_ceiling_rows_per_s": round(rows / statistics.median(ceiling)),
        # Both as leads per second: the same leads' rows, through the rules and raw.
        "bulk_vs_ceiling": round(statistics.median(ratios), 3),
        "bulk_leads": count,
        "bulk_audit_events": events,
        "bulk_rounds": rounds,
        **verify,
    }


def _bulk_round(count: int, *, verify: bool) -> tuple[float, float, int, dict[str, Any]]:
    """One import of ``count`` leads and its ceiling: their seconds, the audit events the
    import appended and (if ``verify``) the verification of its chain."""
    import sqlite3

    import yaml

    from flows.bulk import lead_import
    from leadflow.bench.synthetic import write_leads
    from models.store import migrate
    from models.store.database import make_engine

    entities = [
        e["code"] for e in yaml.safe_load((EXAMPLES / "kunming.yaml").read_text())["entities"]
    ]
    with scratch() as folder:
        path = write_leads(folder / "leads.jsonl", count=count, entities=entities, seed=11)
        started = time.perf_counter()
        report = lead_import.fn(str(path), batch_size=1000)
        bulk_s = time.perf_counter() - started
        if report.registered != count:
            raise RuntimeError(
                f"{report.registered} of {count} leads registered: {report.rejected[:3]}"
            )
        source = sqlite3.connect(folder / "bench.db")
        tables = {
            t: source.execute(f"SELECT * FROM {t}").fetchall() for t in ("leads", "audit_events")
        }
        source.close()
        empty = folder / "ceiling.db"
        migrate.upgrade(make_engine(f"sqlite:///{empty}"))
        target = sqlite3.connect(empty, isolation_level=None)
        target.execute("PRAGMA journal_mode=WAL")
        target.execute("PRAGMA synchronous=NORMAL")
        target.execute("PRAGMA foreign_keys=OFF")
        started = time.perf_counter()
        target.execute("BEGIN")
        for table, rows in tables.items():
            marks = ",".join("?" * len(rows[0]))
            target.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)
        target.execute("COMMIT")
        ceiling_s = time.perf_counter() - started
        target.close()
        verified = audit_verify(folder / "bench.db") if verify else {}
    return bulk_s, ceiling_s, len(tables["audit_events"]), verified


def audit_verify(database: Path) -> dict[str, Any]:
    """The whole chain of ``database`` verified, as `leadflow audit verify` does."""
    from models import audit
    from models.store.database import make_engine

    engine = make_engine(f"sqlite:///{database}")
    with engine.connect() as connection:
        audit.verify(connection)  # warm: the file in the page cache
        started = time.perf_counter()
        verdict = audit.verify(connection)
        seconds = time.perf_counter() - started
    engine.dispose()
    if not verdict.intact:
        raise RuntimeError(f"the bench's chain does not verify: {verdict.problem}")
    return {
        "audit_verify_events_per_s": round(verdict.events / seconds),
        "audit_events": verdict.events,
    }


def national_decisions(engine: Any, period: str = "2026-12") -> int:
    """Boards and escalation decisions (no PDFs) of a monthly and a quarterly run: both
    boards for the month and the months before it (work warnings, zero reports), the
    year to date (the bulletin's) and the quarter (interview notices)."""
    from models.config.policy import default_policy
    from models.domain.escalation import monthly_decisions, quarterly_decisions
    from models.services import boards
    from models.services.escalations import running_window
    from models.store.database import transaction

    rules = default_policy()
    window = running_window(period, rules.escalation.work_warning_after_last_months)
    quarter = f"{period[:4]}-Q{(int(period[5:]) - 1) // 3 + 1}"
    with transaction(engine) as session:
        scored = boards.load_many(
            session, rules, periods=[*window, f"{period[:4]}-01..{period}", quarter]
        )
    decisions = monthly_decisions(
        {n: [scored[m][n] for m in window] for n in rules.boards},
        period=period,
        running=len(window),
    )
    decisions += quarterly_decisions(scored[quarter], period=quarter)
    return len(decisions)


def monthly_national(units: int, leads: int) -> dict[str, Any]:
    """`national_decisions` on a synthetic national year, generated first (not timed)."""
    from leadflow.bench import national
    from models.store import migrate
    from models.store.database import make_engine

    with tempfile.TemporaryDirectory(prefix="leadflow-national-") as folder:
        engine = make_engine(f"sqlite:///{folder}/national.db")
        migrate.upgrade(engine)
        national.generate(engine, units=units, leads=leads)
        started = time.perf_counter()
        decisions = national_decisions(engine)
        elapsed = time.perf_counter() - started
        engine.dispose()
    return {
        "monthly_national_s": round(elapsed, 2),
        "national_units": units,
        "national_leads": leads,
        "national_decisions": decisions,
    }


def pdf_speed(runs: int, warmup: int = 3) -> dict[str, float]:
    """A notice rendered warm by LeadFlow (Jinja, the assets-only fetcher, the shared font
    configuration), and bare WeasyPrint on the same HTML, interleaved run by run."""
    from models.documents import rendering

    context = {
        "title": "工作预警通知书",
        "number": "昆纪预〔2026〕3号",
        "issuer_name": "昆明市纪委监委",
        "date": "2026年10月9日",
        "addressee": "驻市教育局纪检监察组",
        "paragraphs": ["经统计，你单位在问题线索处置工作“多色榜”中连续2个月综合排名末位。" * 3],
        "facts": [("线索编号", "KM-2026-000123")],
        "table": None,
        "provisional": False,
    }
    html = rendering.render_html("notice.html.j2", context)
    HTML = rendering.weasyprint().HTML

    sheets = [
        str(rendering.TEMPLATES / name) for name in rendering.stylesheets_of("notice.html.j2")
    ]

    def bare() -> None:
        HTML(string=html, base_url=str(rendering.TEMPLATES)).write_pdf(stylesheets=sheets)

    ours: list[float] = []
    theirs: list[float] = []
    for n in range(warmup + runs):
        for timed, sink in (
            (lambda: rendering.render_pdf("notice.html.j2", context), ours),
            (bare, theirs),
        ):
            started = time.perf_counter()
            timed()
            if n >= warmup:
                sink.append((time.perf_counter() - started) * 1000)
    return {
        "pdf_ms_per_notice": round(statistics.median(ours), 1),
        "pdf_vs_bare": round(statistics.median(theirs) / statistics.median(ours), 2),
        "pdf_runs": runs,
    }


FIGURES: dict[str, Callable[[bool], dict[str, Any]]] = {
    "bulk": lambda quick: bulk_intake(2_000, 1) if quick else bulk_intake(20_000, 3),
    "event": lambda quick: event_latency(10 if quick else 50),
    "pdf": lambda quick: pdf_speed(10 if quick else 50),
    "national": lambda quick: (
        monthly_national(10_000, 200_000) if quick else monthly_national(100_000, 2_000_000)
    ),
    "api": lambda quick: _api(100_000, 50) if quick else _api(1_000_000, 200),
}


def _api(leads: int, runs: int) -> dict[str, Any]:
    from leadflow.bench.api import api_latency

    return api_latency(leads, runs)


# The targets a 2-core machine must meet (BENCHMARKS.md): (figure, at least or at most, value).
TARGETS: dict[str, tuple[str, float]] = {
    "bulk_leads_per_s": (">=", 5_000),
    "bulk_vs_ceiling": (">=", 0.25),
    "event_p50_ms": ("<=", 300),
    "monthly_national_s": ("<=", 10),
    "pdf_ms_per_notice": ("<=", 60),
    "pdf_vs_bare": (">=", 0.9),
    "audit_verify_events_per_s": (">=", 200_000),
    "api_list_p95_ms": ("<=", 50),
    "api_lead_p95_ms": ("<=", 30),
    # The workbench's pages, by the server's own time (leadflow/bench/api.py).
    "web_ledger_p95_ms": ("<=", 100),
    "web_lead_p95_ms": ("<=", 60),
}
# `--server`: the local stack as users run it (leadflow/bench/server.py).
SERVER_TARGETS: dict[str, tuple[str, float]] = {
    "server_leads_per_s": (">=", 20),
    "server_p95_s": ("<=", 5),
    "server_lost": ("<=", 0),
    "server_duplicated": ("<=", 0),
    "cli_submit_s": ("<=", 1.5),
}


def target(figure: str) -> tuple[str, float] | None:
    return TARGETS.get(figure) or SERVER_TARGETS.get(figure)


def met(figure: str, value: float) -> bool | None:
    """Whether ``value`` meets the figure's target (None: the figure has none)."""
    aim = target(figure)
    if aim is None:
        return None
    sense, bound = aim
    return value >= bound if sense == ">=" else value <= bound


def run(*, quick: bool, server: bool = False) -> dict[str, Any]:
    results: dict[str, Any] = {"quick": quick}
    if server:
        from leadflow.bench import server as server_bench

        return results | server_bench.run(quick=quick)
    for figure in FIGURES.values():
        results |= figure(quick)
    return results
