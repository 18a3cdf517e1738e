"""What an adversary — or a hurried officer — could turn against the record, through the
command line: a run ahead of time, a document under the wrong commission's name, a policy
installed unseen, one report as several leads."""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta
from pathlib import Path

import yaml

from models.services.clock import real_today
from tests.conftest import EXAMPLES, Cli
from tests.e2e.test_seed_stories import pdf_text


def _count(cli: Cli, table: str) -> int:
    with sqlite3.connect(cli.cwd / "leadflow.db") as db:
        return int(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def test_a_run_ahead_of_the_real_date_is_refused_and_locks_nothing(sqlite_cli: Cli) -> None:
    sqlite_cli("init", check=0)
    sqlite_cli("org", "load", EXAMPLES / "kunming.yaml", check=0)
    today = real_today()
    month, ahead = f"{today:%Y-%m}", today + timedelta(days=40)
    by_option = sqlite_cli("escalate", "monthly", "--period", month, "--on", f"{ahead}", "--json")
    assert by_option.code == 2 and by_option.stdout == ""
    assert "--on" in by_option.stderr and "may not pass today's date" in by_option.stderr
    sqlite_cli.env["LEADFLOW_TODAY"] = f"{ahead}"
    by_setting = sqlite_cli("escalate", "monthly", "--period", month)
    assert by_setting.code == 2 and "LEADFLOW_TODAY" in by_setting.stderr
    del sqlite_cli.env["LEADFLOW_TODAY"]
    unended = sqlite_cli("escalate", "monthly", "--period", month)
    assert unended.code == 1 and "period_closed" in unended.stderr
    assert _count(sqlite_cli, "documents") == 0 and _count(sqlite_cli, "escalation_runs") == 0


def _organisation(tmp_path: Path, commission: dict[str, str] | None) -> Path:
    org = yaml.safe_load((EXAMPLES / "kunming.yaml").read_text(encoding="utf-8"))
    org.pop("commission")
    if commission:
        org["commission"] = commission
    path = tmp_path / "org.yaml"
    path.write_text(yaml.safe_dump(org, allow_unicode=True), encoding="utf-8")
    return path


def _lead(tmp_path: Path, external_id: str) -> Path:
    lead = json.loads((EXAMPLES / "leads.jsonl").read_text(encoding="utf-8").splitlines()[0])
    path = tmp_path / f"lead-{len(list(tmp_path.glob('lead-*')))}.json"
    path.write_text(json.dumps({**lead, "external_id": external_id}, ensure_ascii=False))
    return path


def test_documents_carry_the_commission_the_organisation_names(
    sqlite_cli: Cli, tmp_path: Path
) -> None:
    sqlite_cli("init", check=0)
    sqlite_cli("org", "load", _organisation(tmp_path, None), check=0)
    unnamed = sqlite_cli("lead", "submit", _lead(tmp_path, "QJ-2026-1"))
    assert unnamed.code == 1 and "'commission'" in unnamed.stderr
    assert _count(sqlite_cli, "leads") == 1 and _count(sqlite_cli, "documents") == 0
    named = {"name": "曲靖市纪委监委", "abbreviation": "曲纪"}
    sqlite_cli("org", "load", _organisation(tmp_path, named), check=0)
    del sqlite_cli.env["PREFECT_API_URL"]  # no deployment to hand to: the intake runs here
    sqlite_cli("reconcile", "--grace", "0", check=0)
    with sqlite3.connect(sqlite_cli.cwd / "leadflow.db") as db:
        number, path = db.execute("SELECT number, path FROM documents").fetchone()
    assert number.startswith("曲纪交〔")
    text = pdf_text(path)
    assert "曲靖市纪委监委" in text and "昆明" not in text


def test_one_report_typed_three_ways_is_one_lead_and_an_invisible_id_is_refused(
    sqlite_cli: Cli, tmp_path: Path
) -> None:
    sqlite_cli("init", check=0)
    sqlite_cli("org", "load", EXAMPLES / "kunming.yaml", check=0)
    ids = {
        sqlite_cli("lead", "submit", _lead(tmp_path, typed), "--json", check=0).stdout
        for typed in ("QJ-1", "ＱＪ-1", "ＱＪ－１")
    }
    assert len({json.loads(x)["lead_id"] for x in ids}) == 1
    for hidden in ("QJ-1\u200b", "QJ-1\u200f"):
        refused = sqlite_cli("lead", "submit", _lead(tmp_path, hidden))
        assert refused.code == 2 and "external_id" in refused.stderr
    assert _count(sqlite_cli, "leads") == 1


def test_installing_a_policy_shows_what_it_changes_and_a_bad_one_changes_nothing(
    sqlite_cli: Cli, tmp_path: Path
) -> None:
    sqlite_cli("init", check=0)
    policy = yaml.safe_load(
        (Path(__file__).parents[2] / "models" / "config" / "policy.yaml").read_text("utf-8")
    )
    policy["deadlines"]["rectification"] = 15
    changed = tmp_path / "policy.yaml"
    changed.write_text(yaml.safe_dump(policy, allow_unicode=True), encoding="utf-8")
    ran = sqlite_cli("init", "--policy", changed, "--json", check=0)
    assert "deadlines.rectification: 20 → 15" in ran.stderr
    assert json.loads(ran.stdout)["policy_changes"] == [
        {"setting": "deadlines.rectification", "was": 20, "now": 15}
    ]
    policy["numbering"]["kinds"]["bulletin"] = policy["numbering"]["kinds"]["work_warning"]
    shared = tmp_path / "shared.yaml"
    shared.write_text(yaml.safe_dump(policy, allow_unicode=True), encoding="utf-8")
    refused = sqlite_cli("init", "--policy", shared)
    assert refused.code == 2 and "numbering.kinds" in refused.stderr
    assert "share one mark" in refused.stderr
    assert _count(sqlite_cli, "policies") == 2
