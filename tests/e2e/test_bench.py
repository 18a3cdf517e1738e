"""`leadflow bench --quick` runs and reports its figures (benchmarks assert no speed)."""

from __future__ import annotations

import json

from tests.conftest import Cli


def test_bench_quick_reports_its_figures(sqlite_cli: Cli) -> None:
    report = json.loads(sqlite_cli("bench", "--quick", "--json", check=0).stdout)
    assert report["quick"] is True and report["event_runs"] == 10
    assert 0 < report["event_p50_ms"] <= report["event_p95_ms"]
    assert report["pdf_runs"] == 10 and report["pdf_ms_per_notice"] > 0 < report["pdf_vs_bare"]
    assert report["national_units"] == 10_000 and report["national_decisions"] > 0
