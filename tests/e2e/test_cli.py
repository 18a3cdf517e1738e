"""The `leadflow` command end to end, as a user runs it: real processes, real databases."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from models.store.database import make_engine
from tests.conftest import EXAMPLES, Cli, snapshot
from tests.integration.test_audit_db import TAMPERING, behind_the_guards


@pytest.fixture
def ready(cli: Cli) -> Cli:
    cli("init", check=0)
    cli("org", "load", EXAMPLES / "kunming.yaml", check=0)
    return cli


def test_the_lifecycle_through_the_command_line(ready: Cli, tmp_path: Path) -> None:
    again = ready("org", "load", EXAMPLES / "kunming.yaml", "--json", check=0)
    assert json.loads(again.stdout) == {
        "file": str(EXAMPLES / "kunming.yaml"),
        "created": {},
        "updated": {},
    }
    first = ready("lead", "submit", EXAMPLES / "lead.json", check=0)
    lead_id = first.stdout.strip()
    assert lead_id.isdigit() and "awaiting a leader's decision" in first.stderr
    second = json.loads(ready("lead", "submit", EXAMPLES / "lead.json", "--json", check=0).stdout)
    assert (second["lead_id"], second["duplicate"]) == (int(lead_id), True)
    imported = json.loads(
        ready("lead", "import", EXAMPLES / "leads.jsonl", "--json", check=0).stdout
    )
    assert (imported["registered"], imported["duplicates"], imported["rejected"]) == (39, 1, [])

    refused = ready(
        "lead", "dispose", lead_id, "--method", "talk_letter", "--reason", "函询", check=1
    )
    assert "rule 'lifecycle'" in refused.stderr and "Traceback" not in refused.stderr
    decided = json.loads(
        ready(
            "lead",
            "decide",
            "KM-2026-000102",
            "--mode",
            "joint",
            "--by",
            "杨正晓",
            "--reason",
            "同意联合办理",
            "--json",
            check=0,
        ).stdout
    )
    assert decided["state"] == "in_handling"
    [notice] = decided["notices"]
    assert notice["kind"] == "joint_handling_notice" and Path(notice["pdf"]).is_file()
    other = ready(
        "lead", "decide", lead_id, "--mode", "cross", "--by", "某", "--reason", "改", check=1
    )
    assert "rule 'decision'" in other.stderr

    shown = json.loads(ready("audit", "show", lead_id, "--json", check=0).stdout)
    actions = [e["action"] for e in shown["events"]]
    assert actions == [
        "lead.receive",
        "lead.triage",
        "lead.decide",
        "lead.assign",
        "document.allocate",
        "document.issue",
    ]
    assert [e["seq"] for e in shown["events"]] == sorted(e["seq"] for e in shown["events"])
    assert (
        shown["events"][2]["actor"] == "杨正晓" and shown["events"][2]["reason"] == "同意联合办理"
    )
    assert (shown["state"], shown["version"]) == ("in_handling", 3)
    verified = json.loads(ready("audit", "verify", "--json", check=0).stdout)
    assert verified["intact"] and verified["events"] >= 44


def test_json_mode_keeps_stdout_to_one_document(ready: Cli) -> None:
    for args in (("init",), ("lead", "import", EXAMPLES / "leads.jsonl"), ("audit", "verify")):
        ran = ready(*args, "--json", check=0)
        json.loads(ran.stdout)  # exactly one document, nothing else
        assert ran.stdout.count("\n") == 1


def test_commands_before_init_say_so(cli: Cli) -> None:
    ran = cli("audit", "verify", check=1)
    assert "leadflow init" in ran.stderr and "Traceback" not in ran.stderr


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _lead(**changes: object) -> str:
    lead = json.loads((EXAMPLES / "lead.json").read_text(encoding="utf-8"))
    for key, value in changes.items():
        if value is None:
            lead.pop(key, None)
        else:
            lead[key] = value
    return json.dumps(lead, ensure_ascii=False, indent=2)


BAD_INPUTS = {
    "lead missing a field": (
        "lead",
        "submit",
        "lead.json",
        _lead(summary=None),
        1,
        "summary",
        "Field required",
    ),
    "lead with a wrong type": (
        "lead",
        "submit",
        "lead.json",
        _lead(amount_yuan=[1]),
        '"amount_yuan"',
        "amount_yuan",
        "Decimal input",
    ),
    "lead naming an unknown entity": (
        "lead",
        "submit",
        "lead.json",
        _lead(
            external_id="KM-NEW-1",
            subject={"name": "某", "post": "主任", "rank": "section", "entity": "E-NOWHERE"},
        ),
        None,
        "subject.entity",
        "unknown entity",
    ),
    "broken JSON": (
        "lead",
        "submit",
        "lead.json",
        '{\n  "external_id": "X",\n  oops\n}',
        3,
        None,
        "not valid JSON",
    ),
    "broken YAML": ("org", "load", "org.yaml", "units:\n  - {code: O1, name: [\n", 3, None, ""),
    "organisation naming an unknown unit": (
        "org",
        "load",
        "org.yaml",
        "units:\n  - {code: R99, name: 驻某局纪检监察组, kind: resident_group, office: O77}\n",
        2,
        "units[0].office",
        "unknown unit 'O77'",
    ),
    "returns with a wrong type": (
        "stats",
        "import",
        "returns.csv",
        "period,unit,indicator,value\n2026-09,R03,leads_received,4\n2026-09,R04,leads_received,four\n",
        3,
        "value",
        "integer",
    ),
    "returns naming an unknown unit": (
        "stats",
        "import",
        "returns.csv",
        "period,unit,indicator,value\n2026-09,R03,leads_received,4\n2026-09,R404,leads_closed,1\n",
        3,
        "unit",
        "unknown unit 'R404'",
    ),
    "broken CSV": (
        "stats",
        "import",
        "returns.csv",
        "period;unit;indicator;value\n",
        1,
        None,
        "header",
    ),
    "a missing file": ("org", "load", "absent.yaml", None, None, None, "no such file"),
    "a folder for the leads": ("lead", "import", ".", None, None, None, "is a directory"),
    # Found by the fuzzing of tests/unit/test_fuzz_inputs.py; both were tracebacks.
    "lead with a control character where a date should be": (
        "lead",
        "submit",
        "lead.json",
        _lead(received_at="\x7f"),
        None,  # the line finder reads JSON as YAML, which refuses the character
        "received_at",
        "valid datetime",
    ),
    "organisation with a YAML tag it may not build": (
        "org",
        "load",
        "org.yaml",
        "units:\n  - !!python/object:os.system {code: O1}\n",
        2,
        None,
        "could not determine a constructor",
    ),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_exits_2_names_the_place_and_changes_nothing(
    ready: Cli, tmp_path: Path, db_url: str, case: str
) -> None:
    group, command, name, text, line, field, reason = BAD_INPUTS[case]
    ready("lead", "submit", EXAMPLES / "lead.json", check=0)
    path = tmp_path / name if text is None else _write(tmp_path / name, text)
    engine = make_engine(db_url)
    before = snapshot(engine)
    ran = ready(group, command, path, check=2)
    assert snapshot(engine) == before
    engine.dispose()
    assert "Traceback" not in ran.stderr and ran.stdout == ""
    if isinstance(line, str):  # the line holding this text
        line = next(n for n, t in enumerate(text.splitlines(), 1) if line in t)
    where = f"{path}:{line}" if line else str(path)
    assert where in ran.stderr, ran.stderr
    if field:
        assert f"field '{field}'" in ran.stderr, ran.stderr
    assert reason in ran.stderr, ran.stderr


def test_import_lands_good_lines_and_reports_bad_ones(ready: Cli, tmp_path: Path) -> None:
    good = (EXAMPLES / "leads.jsonl").read_text(encoding="utf-8").splitlines()
    bad_entity = json.loads(good[5])
    bad_entity["external_id"], bad_entity["subject"]["entity"] = "KM-X-1", "E-GONE"
    lines = [
        *good[:3],
        "{not json",
        *good[3:6],
        '{"external_id": "KM-X-2"}',
        json.dumps(bad_entity, ensure_ascii=False),
        *good[6:],
    ]
    path = _write(tmp_path / "leads.jsonl", "\n".join(lines) + "\n")
    ran = ready("lead", "import", path, "--json", "--batch-size", "4", check=2)
    report = json.loads(ran.stdout)
    assert report["registered"] == len(good)
    assert [(r["line"], r["field"]) for r in report["rejected"]] == [
        (4, None),
        (8, "received_at"),
        (9, "subject.entity"),
    ]
    assert f"{path}:9: field 'subject.entity'" in ran.stderr
    again = json.loads(ready("lead", "import", path, "--json", check=2).stdout)
    assert (again["registered"], again["duplicates"]) == (0, len(good))


@pytest.mark.parametrize("how", list(TAMPERING))
def test_audit_verify_names_the_event_tampered_with_behind_the_guards(
    sqlite_cli: Cli,
    tmp_path: Path,
    how: str,
    figure,  # type: ignore[no-untyped-def]
) -> None:
    sqlite_cli("init", check=0)
    sqlite_cli("org", "load", EXAMPLES / "kunming.yaml", check=0)
    sqlite_cli("lead", "import", EXAMPLES / "leads.jsonl", check=0)
    checked = json.loads(sqlite_cli("audit", "verify", "--json", check=0).stdout)["events"]
    total = checked + 1  # the check is itself recorded, as the chain's next event
    engine = make_engine(f"sqlite:///{tmp_path / 'leadflow.db'}")
    tamper, seq, words = TAMPERING[how]
    with behind_the_guards(engine) as connection:
        tamper(connection)
    engine.dispose()
    ran = sqlite_cli("audit", "verify", "--json", check=1)
    verdict = json.loads(ran.stdout)
    expected = seq if seq is not None else total - 1
    assert verdict["first_bad_event"] == expected and words in verdict["problem"]
    assert f"event {expected}" in ran.stderr
    figure(f"{how}: `audit verify` exit 1, names event {expected}: {verdict['problem']}")


def test_a_broken_database_url_is_a_sentence_not_a_traceback(sqlite_cli: Cli) -> None:
    sqlite_cli.env["LEADFLOW_DATABASE_URL"] = "postgresql://nobody@127.0.0.1:1/none"
    ran = sqlite_cli("audit", "verify")
    assert ran.code == 69 and "database cannot be used" in ran.stderr
    assert "Traceback" not in ran.stderr
