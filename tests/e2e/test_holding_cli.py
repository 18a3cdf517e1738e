"""A reporter typed into a lead's own text never leaves in a notice (docs/rules.md §5), as a
user meets it on the command line: `lead submit` ends normally with the assignment notice
held and says which field to rewrite and how; the rectification notice that states a
finding naming the reporter is held too; no PDF is written, `docs verify` and the
reconciler leave held notices alone; a role that may not amend is refused (exit 3,
recorded); `lead amend` then issues both under their numbers. No output, audit record or
PDF carries the reporter's name or phone, in any form they were typed in."""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import subprocess
from pathlib import Path

from tests.conftest import EXAMPLES, NAMED_REPORTER, Cli, Ran, _typed, summary_naming_reporter
from tests.e2e.test_people_cli import _add, _as, _refusals

NAME, PHONE = NAMED_REPORTER
FINDING = f"经核实，举报人{NAME}反映的窗口工作人员上班时间玩游戏问题属实"
AMENDED_FINDING = "经核实，窗口工作人员上班时间玩游戏问题属实"


def _lead_file(tmp_path: Path) -> tuple[Path, str]:
    """KM-2026-000101 (own handling: assigned at once) as a public report whose summary
    names its reporter, full-width and spaced; the file and the summary's plain words."""
    lead = json.loads((EXAMPLES / "leads.jsonl").read_text(encoding="utf-8").splitlines()[0])
    plain = lead["summary"]
    lead |= {
        "external_id": "KM-2026-900101",
        "source": "public_report",
        "channel": "letter",
        "reporter": {"name": NAME, "phone": PHONE, "anonymous": False},
        "summary": summary_naming_reporter(plain),
    }
    path = tmp_path / "named.json"
    path.write_text(json.dumps(lead, ensure_ascii=False), encoding="utf-8")
    return path, plain


def _no_reporter(*texts: str) -> None:
    for text in texts:
        for identity in NAMED_REPORTER:
            assert not _typed(identity).search(text), (identity, text[:300])


def _pdf_text(path: str) -> str:
    done = subprocess.run(["pdftotext", path, "-"], capture_output=True, text=True, check=True)
    return "".join(done.stdout.split())


class Session:
    """The CLI, keeping every output it printed to be scanned at the end."""

    def __init__(self, cli: Cli) -> None:
        self.cli = cli
        self.printed: list[str] = []

    def __call__(self, *args: str | Path, check: int, token: str | None = None) -> Ran:
        ran = (_as(self.cli, token) if token else self.cli)(*args, check=check)
        self.printed += [ran.stdout, ran.stderr]
        return ran


def test_a_reporter_named_in_the_text_holds_its_notices_until_the_text_is_amended(
    sqlite_cli: Cli, tmp_path: Path
) -> None:
    run = Session(sqlite_cli)
    run("init", check=0)
    run("org", "load", EXAMPLES / "kunming.yaml", check=0)
    lead_file, plain = _lead_file(tmp_path)
    database = sqlite3.connect(tmp_path / "leadflow.db")

    # The intake ends normally (exit 0): the lead is in handling, its notice waits.
    submitted = run("lead", "submit", lead_file, "--json", check=0)
    got = json.loads(submitted.stdout)
    lead = str(got["lead_id"])
    assert got["state"] == "in_handling"
    [held] = got["held"]
    assert held["kind"] == "assignment_notice" and held["fields"] == ["summary"]
    assert f"{held['number']} is held, not issued" in submitted.stderr
    assert f"leadflow lead amend {lead} --field summary --text-file FILE" in submitted.stderr
    assert not list((tmp_path / "output").rglob("*.pdf"))
    assert json.loads(run("docs", "verify", "--json", check=0).stdout)["checked"] == 0
    passed = json.loads(run("reconcile", "--grace", "0", "--json", check=0).stdout)
    assert passed["notices_rendered"] == [] and passed["notices_held"] == []
    statuses = database.execute("SELECT status FROM documents").fetchall()
    assert statuses == [("held",)]  # the reconciler renders pending notices only

    # The finding the officer types names the reporter too: the rectification notice waits.
    run("lead", "dispose", lead, "--method", "talk_letter", "--reason", "函询", check=0)
    run(
        "lead", "outcome", lead, "--kind", "first_form", "--finding", FINDING,
        "--educated", "1", "--reason", "批评教育", check=0,
    )  # fmt: skip
    rectify = run(
        "lead", "rectify", lead, "--days", "10", "--reason", "限期整改", "--json", check=0
    )
    [rectification] = json.loads(rectify.stdout)["held"]
    assert rectification["kind"] == "rectification_notice"
    assert rectification["fields"] == ["finding"]
    assert "--field finding --text-file FILE" in rectify.stderr

    # Once people exist: an auditor may not amend (exit 3, recorded); a case manager may.
    admin = _add(sqlite_cli, "admin", "王敏", "D1", "admin").stdout.strip()
    _as_admin = _as(sqlite_cli, admin)
    _add(_as_admin, "qianli", "钱莉", "D1", "case_manager")
    _add(_as_admin, "zhoushen", "周审", "D1", "auditor")
    manager = _as_admin("user", "token", "qianli", check=0).stdout.strip()
    auditor = _as_admin("user", "token", "zhoushen", check=0).stdout.strip()
    clean = tmp_path / "clean.txt"
    clean.write_text(f"群众反映：{plain}\n", encoding="utf-8")
    amend = ("lead", "amend", lead, "--field", "summary", "--text-file", clean)
    run(*amend, "--reason", "去除举报人身份信息", check=3, token=auditor)
    refusals = [(a.split("（")[0], act, answer) for a, act, answer in _refusals(sqlite_cli)]
    assert ("zhoushen", "lead.amend", "not_permitted") in refusals
    still = tmp_path / "still.txt"
    still.write_text(f"群众（电话137 0000 0000）反映：{plain}", encoding="utf-8")
    refused = run(*amend[:-1], still, "--reason", "改写", check=2, token=manager)
    assert "still names the lead's reporter" in refused.stderr

    amended = json.loads(
        run(*amend, "--reason", "去除举报人身份信息", "--json", check=0, token=manager).stdout
    )
    assert amended["changed"] and amended["documents"] == [held["number"], rectification["number"]]
    assert [(n["number"], n["status"]) for n in amended["notices"]] == [
        (held["number"], "issued"),
        (rectification["number"], "held"),  # its finding names the reporter still
    ]
    finding_file = tmp_path / "finding.txt"
    finding_file.write_text(AMENDED_FINDING, encoding="utf-8")
    run(
        "lead", "amend", lead, "--field", "finding", "--text-file", finding_file,
        "--reason", "去除举报人身份信息", check=0, token=manager,
    )  # fmt: skip

    # Both issued under the numbers they were held with; their PDFs name no one.
    rows = database.execute("SELECT number, status, path FROM documents ORDER BY id").fetchall()
    assert [(n, s) for n, s, _ in rows] == [
        (held["number"], "issued"),
        (rectification["number"], "issued"),
    ]
    texts = [_pdf_text(path) for _, _, path in rows]
    assert "群众反映" in texts[0] and "上班时间在电脑上玩游戏" in texts[0]  # the amended text
    assert AMENDED_FINDING in texts[1]
    _no_reporter(*texts)
    verified = json.loads(run("docs", "verify", "--json", check=0, token=manager).stdout)
    assert verified == {"checked": 2, "problems": []}

    trail = run("audit", "show", lead, "--json", check=0, token=manager).stdout
    events = json.loads(trail)["events"]
    holds = [e["data"]["fields"] for e in events if e["action"] == "document.hold"]
    assert holds == [["summary"], ["finding"], ["finding"]]
    first_amend = next(e for e in events if e["action"] == "lead.amend")
    summary = summary_naming_reporter(plain)
    assert first_amend["data"]["old_sha256"] == hashlib.sha256(summary.encode()).hexdigest()
    _no_reporter(*run.printed, trail)
    assert not list(tmp_path.rglob("leadflow-error.log"))
    database.close()


def test_the_typed_forms_are_what_the_scan_looks_for() -> None:
    """The scan this test leans on finds the forms the summary types the phone in."""
    typed = _typed(PHONE)
    assert typed.search(summary_naming_reporter("")) and typed.search("137-0000-0000")
    assert not typed.search("1370000000") and not re.search(NAME, "王某")
