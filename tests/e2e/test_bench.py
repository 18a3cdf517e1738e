"""`leadflow bench --quick` runs and reports its figures (benchmarks assert no speed)."""

from __future__ import annotations

import json

from leadflow.bench import harness as harness
from tests.conftest import Cli


def test_bench_quick_reports_its_figures(sqlite_cli: Cli) -> None:
    report = json.loads(sqlite_cli("bench", "--quick", "--json", check=0).stdout)
    assert report["quick"] is True and report["event_runs"] == 10
    assert 0 < report["event_p50_ms"] <= report["event_p95_ms"]
    assert report["pdf_runs"] == 10 and report["pdf_ms_per_notice"] > 0 < report["pdf_vs_bare"]
    assert report["national_units"] == 10_000 and report["national_decisions"] > 0
    assert report["bulk_leads"] == 2_000 and report["audit_events"] > report["bulk_leads"]
    assert report["bulk_rounds"] == 1
    assert (report["api_leads"], report["api_runs"]) == (100_000, 50)
    figures = set(harness.TARGETS) | {"event_p95_ms", "sqlite_ceiling_rows_per_s"}
    figures |= {"api_list_p50_ms", "api_list_scoped_p95_ms", "api_list_sql_p95_ms"}
    sizes = {"quick", "event_runs", "pdf_runs", "national_units", "national_leads"}
    sizes |= {"national_decisions", "bulk_leads", "bulk_audit_events", "bulk_rounds"}
    sizes |= {"audit_events", "api_leads", "api_runs"}
    assert set(report) == figures | sizes  # issue 7: exactly these, plus the sizes used
    assert all(report[k] > 0 for k in figures)


def test_bench_server_quick_reports_its_figures(sqlite_cli: Cli) -> None:
    """The local stack of its own, a burst and paced arrivals: every lead settled, none
    handled twice (the speeds are figures, not asserted)."""
    sqlite_cli.env.pop("PREFECT_API_URL")
    report = json.loads(sqlite_cli("bench", "--server", "--quick", "--json", check=0).stdout)
    assert set(harness.SERVER_TARGETS) <= set(report)
    assert report["server_burst_leads"] == 60 and report["server_paced_leads"] == 20
    assert report["server_duplicated"] == 0 and report["server_lost"] == 0
    assert report["server_leads_per_s"] > 0 and report["cli_submit_s"] > 0
    assert 0 < report["server_p50_s"] <= report["server_p95_s"]
