"""`leadflow doctor`: one line a check, ✓ or ✗ with the fix; `--json` one document; exit 0
when every piece is there, 1 otherwise; nothing of any lead in what it prints."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from chinese_calendar.constants import holidays

from tests.conftest import EXAMPLES, Cli, _lead_contents
from tests.e2e.test_glyphs_cli import embedded_cli, latin_only_fonts

NAMES = ["fonts", "font subsetting", "poppler", "database", "prefect", "calendar"]
# The last year the installed calendar library covers: a June day of it needs no next year.
LAST_COVERED = max(day.year for day in holidays)


def doctor(cli: Cli, **env: str) -> tuple[int, dict[str, Any], list[str]]:
    ran = Cli(cli.cwd, {**cli.env, **env})("doctor", "--json")
    assert "Traceback" not in ran.stderr
    return ran.code, json.loads(ran.stdout), ran.stderr.splitlines()


def test_a_healthy_machine_is_all_ticks_and_says_nothing_of_leads(tmp_path: Path) -> None:
    cli = embedded_cli(tmp_path)
    cli("init", check=0)
    cli("org", "load", EXAMPLES / "kunming.yaml", check=0)
    cli("lead", "import", EXAMPLES / "leads.jsonl", check=0)
    code, report, lines = doctor(cli, LEADFLOW_TODAY=f"{LAST_COVERED}-06-01")
    assert code == 0, lines
    assert report["ok"] is True and set(report) == {"checks", "ok"}
    assert [c["name"] for c in report["checks"]] == NAMES
    for check in report["checks"]:
        assert set(check) == {"name", "ok", "detail", "fix"}
        assert check["ok"] is True and check["detail"] and check["fix"] == ""
    assert [line[:2] for line in lines if line[:1] in "✓✗"] == ["✓ "] * len(NAMES)
    by_name = {c["name"]: c["detail"] for c in report["checks"]}
    assert "FandolFang" in by_name["fonts"] and "embedded" in by_name["prefect"]
    assert f"{LAST_COVERED}" in by_name["calendar"] and "schema current" in by_name["database"]
    shown = json.dumps(report, ensure_ascii=False) + "\n".join(lines)
    assert not [text for text in _lead_contents() if text in shown]
    plain = cli("doctor", check=None)
    assert plain.stdout == ""  # without --json, stdout stays empty


def test_each_broken_piece_is_a_cross_with_its_fix(tmp_path: Path) -> None:
    cli = embedded_cli(tmp_path)
    code, report, lines = doctor(
        cli,
        LEADFLOW_DATABASE_URL="postgresql+psycopg://leadflow@127.0.0.1:1/leadflow",
        FONTCONFIG_FILE=str(latin_only_fonts(tmp_path)),
        PREFECT_API_URL="http://127.0.0.1:1/api",
        LEADFLOW_TODAY=f"{LAST_COVERED}-12-01",  # next year is needed now, and not covered
    )
    assert code == 1 and report["ok"] is False
    checks = {c["name"]: c for c in report["checks"]}
    assert {name for name, c in checks.items() if not c["ok"]} == {
        "fonts",
        "database",
        "prefect",
        "calendar",
    }
    assert checks["fonts"]["fix"] == "sudo apt-get install -y fonts-noto-cjk texlive-lang-chinese"
    assert "FandolFang" in checks["fonts"]["detail"] and "U+" in checks["fonts"]["detail"]
    assert "127.0.0.1:1" in checks["database"]["detail"]
    assert "LEADFLOW_DATABASE_URL" in checks["database"]["fix"]
    assert "PREFECT_API_URL" in checks["prefect"]["fix"]
    assert f"{LAST_COVERED + 1} not covered" in checks["calendar"]["detail"]
    assert "chinesecalendar" in checks["calendar"]["fix"]
    crosses = [line for line in lines if line.startswith("✗ ")]
    assert len(crosses) == 4 and all(" — fix: " in line for line in crosses)


def test_a_missing_database_file_asks_for_init(tmp_path: Path) -> None:
    code, report, _ = doctor(embedded_cli(tmp_path), LEADFLOW_TODAY=f"{LAST_COVERED}-06-01")
    [database] = [c for c in report["checks"] if c["name"] == "database"]
    assert code == 1 and not database["ok"] and database["fix"] == "leadflow init"
    assert not (tmp_path / "leadflow.db").exists()  # the doctor made no empty database
