"""Limits (issue 6, README "Limits"): oversized and pathological input is refused in
bounded time and memory, and a large board is scored in bounded time and memory. The
bounds asserted are generous — they catch a blow-up, not a slowdown (speed lives in the
benchmark harness) — and the figures are printed at the end of the run."""

from __future__ import annotations

import json
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from leadflow.bench import national
from models.config import policy
from models.domain.errors import BadInput
from models.inputs.readers import read_jsonl, read_lead, read_organisation
from models.inputs.schemas import LeadIn
from models.services import boards
from models.store import migrate
from models.store.database import make_engine, transaction
from tests.conftest import EXAMPLES

MB = 1024 * 1024


def measured(call: Callable[[], Any]) -> tuple[Any, float, float]:
    """What ``call`` returned (or the BadInput it raised), its seconds and peak MiB."""
    tracemalloc.start()
    started = time.perf_counter()
    try:
        result: Any = call()
    except BadInput as exc:
        result = exc
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] / MB
    tracemalloc.stop()
    return result, seconds, peak


def test_a_10_mb_summary_is_refused_in_bounded_time_and_memory(tmp_path: Path, figure) -> None:  # type: ignore[no-untyped-def]
    lead = json.loads((EXAMPLES / "lead.json").read_text())
    lead["summary"] = "举报" * (5 * MB)  # 10 million characters, 30 MB of UTF-8
    path = tmp_path / "big.json"
    path.write_text(json.dumps(lead, ensure_ascii=False))
    refused, seconds, peak = measured(lambda: read_lead(path))
    assert isinstance(refused, BadInput) and "summary" in str(refused.problems[0])
    assert seconds < 10 and peak < 400
    figure(
        f"10 M-character summary ({path.stat().st_size // MB} MiB file): refused in "
        f"{seconds:.2f} s, peak {peak:.0f} MiB"
    )

    line = tmp_path / "big.jsonl"
    line.write_text(json.dumps(lead, ensure_ascii=False) + "\n")
    (problem,), seconds, peak = measured(lambda: list(read_jsonl(line, LeadIn)))
    assert "longer than" in problem.reason and problem.line == 1
    assert seconds < 10 and peak < 100
    figure(f"the same lead as a JSON Lines line: rejected in {seconds:.2f} s, peak {peak:.0f} MiB")


@pytest.mark.parametrize(
    "name, text",
    [
        (
            "alias bomb (10^10 nodes)",
            "\n".join(
                ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
                + [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 10)]
            ),
        ),
        ("nesting 100,000 deep", "units: " + "[" * 100_000 + "]" * 100_000),
        ("a flat list of 300,000 items", "units: [" + ", ".join(["x"] * 300_000) + "]"),
    ],
)
def test_pathological_yaml_is_refused_in_bounded_time_and_memory(
    tmp_path: Path,
    figure,
    name: str,
    text: str,  # type: ignore[no-untyped-def]
) -> None:
    path = tmp_path / "org.yaml"
    path.write_text(text + "\n")
    refused, seconds, peak = measured(lambda: read_organisation(path))
    assert isinstance(refused, BadInput), name
    assert seconds < 30 and peak < 500
    figure(
        f"{name}: refused in {seconds:.2f} s, peak {peak:.0f} MiB — {refused.problems[0].reason}"
    )


def test_a_5000_unit_board_is_scored_in_bounded_time_and_memory(tmp_path: Path, figure) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path / 'big.db'}")
    migrate.upgrade(engine)
    national.generate(engine, units=5_000, leads=100_000)
    rules = policy.default_policy()

    def score() -> dict:
        with transaction(engine) as session:
            scored = boards.load_many(session, rules, periods=["2026-09", "2026-01..2026-09"])
            return {p: {n: len(b.rows) for n, b in by.items()} for p, by in scored.items()}

    counts, seconds, peak = measured(score)
    engine.dispose()
    assert counts["2026-09"] == {"resident": 3_500, "county": 1_500}
    assert seconds < 60 and peak < 500
    figure(
        f"5,000 units, 100,000 leads: the month's and the year to date's boards, rows "
        f"built, in {seconds:.2f} s, peak {peak:.0f} MiB"
    )
