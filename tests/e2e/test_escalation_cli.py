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
from tests.integration.history import INDICATORS, LAGGARDS, write_returns
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
    # C12 filed no return: not filed (未报送), which is no zero report.
    assert {z["unit"] for z in first["zero_reports"]} == {"R20"}
    assert [(m["board"], m["unit"]) for m in first["missing"]] == [("county", "C12")]
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
    record_interviews_held(
        sqlite_cli, [d["number"] for d in ran["issued"] if d["document"] == "interview_notice"]
    )


def record_interviews_held(cli: Cli, numbers: list[str]) -> None:
    """The interviews the notices asked for, recorded as held: one alone, the rest (if any)
    together in one meeting (集体约谈); each once, each on the trail."""
    held = ["--held-on", "2026-11-25", "--interviewer", "杨正晓", "--followed", "诫勉谈话"]
    first, *rest = numbers
    alone = [first, *held, "--interviewee", "主要负责人", "--reason", "约谈已开展"]
    cli("interview", "record", *alone, "--json", check=0)
    if rest:
        together = [*rest, *held, "--interviewee", "各单位主要负责人", "--reason", "集体约谈"]
        assert cli("interview", "record", *together).code == 1  # several only as a meeting
        cli("interview", "record", *together, "--meeting", "第三季度集体约谈会", check=0)
    again = cli("interview", "record", *alone)
    assert again.code == 1 and "already recorded" in again.stderr
    ahead = cli(
        "interview",
        "record",
        first,
        *held[:0],
        "--held-on",
        "2099-01-01",
        "--interviewer",
        "杨正晓",
        "--interviewee",
        "x",
        "--followed",
        "x",
        "--reason",
        "x",
    )
    assert ahead.code == 2 and "--held-on" in ahead.stderr
    with sqlite3.connect(cli.cwd / "leadflow.db") as db:
        rows = db.execute("SELECT count(*), count(meeting) FROM interviews").fetchone()
        events = db.execute(
            "SELECT count(*) FROM audit_events WHERE action = 'interview.held'"
        ).fetchone()
    assert rows == (len(numbers), len(rest)) and events == (len(numbers),)


def test_a_month_with_missing_returns_shows_them_not_filed(sqlite_cli: Cli, tmp_path: Path) -> None:
    """C12 filed nothing for September: on the board each indicator only a return gives is
    missing (value null) and white, below every filed value; the bulletin lists it as
    未报送, not as a zero report."""
    setup(sqlite_cli, tmp_path)
    board = json.loads(
        sqlite_cli(
            "board", "show", "--period", "2026-09", "--board", "county", "--json", check=0
        ).stdout
    )
    units = {u["unit"]: u for u in board["units"]}
    c12 = units["C12"]
    assert not c12["zero_report"] and c12["last"]
    filed_only = {
        "direct_investigations",
        "principal_duty_failures",
        "supervisory_duty_failures",
        "public_exposures",
    }
    for code, cell in c12["indicators"].items():
        if code in filed_only:
            assert cell == {
                "value": None,
                "rank": 14,
                "color": "white",
                "points": 1,
                "missing": True,
            }
        else:
            assert cell["value"] is not None and cell["missing"] is False
    others = [c for u, row in units.items() if u != "C12" for c in row["indicators"].values()]
    assert all(c["missing"] is False and isinstance(c["value"], int) for c in others)
    table = sqlite_cli("board", "show", "--period", "2026-09", "--board", "county", check=0)
    assert "未报送" in table.stderr

    ran = json.loads(
        sqlite_cli("escalate", "monthly", "--period", "2026-09", "--json", check=0).stdout
    )
    assert {z["unit"] for z in ran["zero_reports"]} == {"R20"}
    [missing] = ran["missing"]
    assert (missing["board"], missing["unit"], set(missing["indicators"])) == (
        "county",
        "C12",
        filed_only,
    )
    [bulletin] = ran["issued"]
    text = pdf_text(bulletin["pdf"])
    assert "以下单位未按期报送本月月报（未报送）" in text
    paragraph = text.split("以下单位未按期报送本月月报（未报送）")[1].split("。")[0]
    assert "晋宁区纪委监委" in paragraph
    assert "晋宁区纪委监委" not in text.split("零报告")[1].split("。")[0]
    assert text.count("未报送") >= 4  # its four cells on the county board


def test_escalate_monthly_waits_for_the_returns_deadline(sqlite_cli: Cli, tmp_path: Path) -> None:
    """Before September's returns are due (the 3rd working day of October: Saturday the
    10th, a working day on the official calendar), the run is refused while a unit has
    not filed; once every unit has, it runs."""
    sqlite_cli.env["LEADFLOW_TODAY"] = "2026-10-09"
    sqlite_cli("init", check=0)
    sqlite_cli("org", "load", EXAMPLES / "kunming.yaml", check=0)
    sqlite_cli("stats", "import", write_returns(tmp_path / "returns.csv", ["2026-09"]), check=0)
    early = sqlite_cli("escalate", "monthly", "--json")
    assert early.code == 1 and early.stdout == ""
    assert (
        "returns for 2026-09 are due by 2026-10-10; 1 unit(s) have not filed: C12" in early.stderr
    )
    assert "Traceback" not in early.stderr
    with sqlite3.connect(sqlite_cli.cwd / "leadflow.db") as db:
        assert db.execute("SELECT count(*) FROM documents").fetchone() == (0,)
    rows = [f"2026-09,C12,{k},3" for k in INDICATORS["county"]]
    late = tmp_path / "late.csv"
    late.write_text("period,unit,indicator,value\n" + "\n".join(rows) + "\n", encoding="utf-8")
    sqlite_cli("stats", "import", late, check=0)
    ran = json.loads(sqlite_cli("escalate", "monthly", "--json", check=0).stdout)
    assert ran["period"] == "2026-09" and ran["missing"] == []
    assert [d["document"] for d in ran["issued"]] == ["bulletin"]
