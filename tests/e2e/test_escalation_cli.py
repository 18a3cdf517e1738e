"""The boards and escalations through the command line (Kunming's 多色榜), on the
embedded default, with the flow's artifacts on a real Prefect server.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
from pathlib import Path

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
from prefect.settings import PREFECT_API_URL, temporary_settings

from tests.conftest import EXAMPLES, Cli
from tests.e2e.test_seed_stories import assert_no_reporter_anywhere, pdf_text
from tests.integration.history import LAGGARDS, write_returns
from tests.integration.test_documents_db import first_page_png


def setup(cli: Cli, tmp_path: Path) -> None:
    cli.env["LEADFLOW_TODAY"] = "2026-11-22"  # the periods below have ended; 2026-Q4 has not
    cli("init", check=0)
    cli("org", "load", EXAMPLES / "kunming.yaml", check=0)
    cli("lead", "import", EXAMPLES / "leads.jsonl", check=0)
    cli("stats", "import", write_returns(tmp_path / "returns.csv", ["2026-08", "2026-09"]), check=0)


def artifacts(api: str, key: str) -> list:  # type: ignore[type-arg]
    async def read() -> list:  # type: ignore[type-arg]
        async with get_client() as client:
            return await client.read_artifacts(
                artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key]))
            )

    with temporary_settings({PREFECT_API_URL: api}):
        return asyncio.run(read())


def test_board_show_json_and_table(sqlite_cli: Cli, tmp_path: Path) -> None:
    setup(sqlite_cli, tmp_path)
    ran = sqlite_cli(
        "board", "show", "--period", "2026-09", "--board", "resident", "--json", check=0
    )
    board = json.loads(ran.stdout)
    assert board["period"] == "2026-09" and board["board"] == "resident"
    assert len(board["units"]) == 35
    keys = [(u["rank"], u["unit"]) for u in board["units"]]
    assert keys == sorted(keys)  # by composite rank, then unit code
    [last] = [u for u in board["units"] if u["last"]]
    assert last["unit"] == LAGGARDS["resident"]["2026-09"] and last["zero_report"]
    for unit in board["units"]:
        assert set(unit["indicators"]) == {
            "leads_received",
            "leads_closed",
            "persons_educated",
            "persons_accountable",
        }
        assert unit["score"] == sum(c["points"] for c in unit["indicators"].values())
    assert [u["yellow"] for u in board["units"] if u["unit"] == "R24"] == [True]

    table = sqlite_cli("board", "show", "--period", "2026-Q3", "--board", "county", check=0)
    assert table.stdout == ""  # people's output goes to stderr
    assert "五华区纪委监委" in table.stderr and "末位" in table.stderr
    bad = sqlite_cli("board", "show", "--period", "2026-13", "--board", "county")
    assert bad.code == 2 and "--period" in bad.stderr and "Traceback" not in bad.stderr
    assert sqlite_cli("board", "show", "--period", "2026-09", "--board", "x").code == 2


def test_a_refused_run_is_a_sentence_not_a_traceback(sqlite_cli: Cli) -> None:
    """A period checked inside the flow (bad, or not ended) ends the run: the user reads
    the reason and the exit status, not Prefect's traceback of the run; nothing issued."""
    sqlite_cli.env["LEADFLOW_TODAY"] = "2026-11-22"
    sqlite_cli("init", check=0)
    sqlite_cli("org", "load", EXAMPLES / "kunming.yaml", check=0)
    bad = sqlite_cli("escalate", "monthly", "--period", "2026-Q3", "--json")
    assert bad.code == 2 and bad.stdout == ""
    assert "--period: '2026-Q3' is not a month" in bad.stderr
    early = sqlite_cli("escalate", "quarterly", "--period", "2026-Q4")
    assert early.code == 1 and "rule 'period_closed'" in early.stderr
    for ran in (bad, early):
        assert "Traceback" not in ran.stderr and 'File "' not in ran.stderr, ran.stderr
    with sqlite3.connect(sqlite_cli.cwd / "leadflow.db") as db:
        assert db.execute("SELECT count(*) FROM documents").fetchone() == (0,)


def test_monthly_run_issues_the_bulletin_and_warnings_once(
    sqlite_cli: Cli, tmp_path: Path, prefect_api: str
) -> None:
    setup(sqlite_cli, tmp_path)
    first = json.loads(
        sqlite_cli("escalate", "monthly", "--period", "2026-09", "--json", check=0).stdout
    )
    # R10 was last in August but not in September; nobody was last in both.
    assert [d["document"] for d in first["issued"]] == ["bulletin"]
    assert first["already_issued"] == []
    assert {z["unit"] for z in first["zero_reports"]} == {"R20", "C12"}
    [bulletin] = first["issued"]
    text = pdf_text(bulletin["pdf"])
    for words in ("多色榜", "2026年9月", "2026年1—9月", bulletin["number"], "驻市教育局纪检监察组"):
        assert words in text
    fonts = subprocess.run(["pdffonts", bulletin["pdf"]], capture_output=True, text=True).stdout
    assert "FandolSong-Bold" in fonts and " yes yes " in fonts  # CJK faces embedded, subset
    assert first_page_png(Path(bulletin["pdf"]), "bulletin").stat().st_size > 1000

    second = json.loads(
        sqlite_cli("escalate", "monthly", "--period", "2026-09", "--json", check=0).stdout
    )
    assert second["issued"] == [] and second["already_issued"] == first["issued"]

    # Each board is published as a table artifact on the Prefect server.
    found = artifacts(prefect_api, "monthly-board-resident-2026-09")
    assert found and "R20" in json.dumps(found[0].data)
    assert_no_reporter_anywhere(tmp_path / "output")
    # Runs are named after what they act on, not at random.
    assert len(runs_named(prefect_api, "monthly escalation 2026-09")) >= 2  # this test ran it twice
    assert runs_named(prefect_api, "import leads.jsonl")


def runs_named(api: str, name: str) -> list:  # type: ignore[type-arg]
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterName

    with temporary_settings({PREFECT_API_URL: api}), get_client(sync_client=True) as client:
        return list(
            client.read_flow_runs(
                flow_run_filter=FlowRunFilter(name=FlowRunFilterName(any_=[name]))
            )
        )


def test_quarterly_run_interviews_the_quarters_last(sqlite_cli: Cli, tmp_path: Path) -> None:
    setup(sqlite_cli, tmp_path)
    boards = {
        name: json.loads(
            sqlite_cli(
                "board", "show", "--period", "2026-Q3", "--board", name, "--json", check=0
            ).stdout
        )
        for name in ("resident", "county")
    }
    expected = {u["unit"] for b in boards.values() for u in b["units"] if u["last"]}
    ran = json.loads(
        sqlite_cli("escalate", "quarterly", "--period", "2026-Q3", "--json", check=0).stdout
    )
    interviews = {d["unit"] for d in ran["issued"] if d["document"] == "interview_notice"}
    assert interviews == expected and expected
    reports = [d for d in ran["issued"] if d["document"] == "quarterly_report"]
    assert len(reports) == 7 and {d["unit"] for d in reports} == {f"G{i}" for i in range(1, 8)}
    assert [d["document"] for d in ran["issued"]].count("consolidated_report") == 1
    notice = next(d for d in ran["issued"] if d["document"] == "interview_notice")
    text = pdf_text(notice["pdf"])
    assert "约谈通知书" in text and notice["number"] in text and "2026年第三季度" in text
    for document in ("interview_notice", "quarterly_report", "consolidated_report"):
        pdf = next(Path(d["pdf"]) for d in ran["issued"] if d["document"] == document)
        assert first_page_png(pdf, f"{document}-e2e").stat().st_size > 1000
    again = json.loads(
        sqlite_cli("escalate", "quarterly", "--period", "2026-Q3", "--json", check=0).stdout
    )
    assert again["issued"] == [] and len(again["already_issued"]) == len(ran["issued"])
    early = sqlite_cli("escalate", "quarterly", "--period", "2026-Q4")
    assert early.code == 1 and "has not ended" in early.stderr
