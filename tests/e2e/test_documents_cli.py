"""Documents through the command line: `docs verify` finds a changed or missing PDF,
`lead reporter` is the one audited way to a reporter's identity, and `audit export`
renders a lead's whole record — with no reporter in any file."""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, Cli
from tests.e2e.test_seed_stories import assert_no_reporter_anywhere, pdf_text
from tests.integration.test_documents_db import first_page_png


@pytest.fixture
def rendered(sqlite_cli: Cli) -> Cli:
    sqlite_cli("init", check=0)
    sqlite_cli("org", "load", EXAMPLES / "kunming.yaml", check=0)
    sqlite_cli("lead", "import", EXAMPLES / "leads.jsonl", check=0)
    sqlite_cli("docs", "render", check=0)
    return sqlite_cli


def test_docs_verify_names_a_changed_and_a_missing_pdf(rendered: Cli, tmp_path: Path) -> None:
    clean = json.loads(rendered("docs", "verify", "--json", check=0).stdout)
    assert clean["checked"] >= 2 and clean["problems"] == []
    database = sqlite3.connect(tmp_path / "leadflow.db")
    (changed, changed_path), (missing, missing_path) = database.execute(
        "SELECT number, path FROM documents WHERE status = 'issued' ORDER BY id LIMIT 2"
    ).fetchall()
    with open(changed_path, "ab") as handle:
        handle.write(b"%")
    Path(missing_path).unlink()
    ran = rendered("docs", "verify", "--json", check=1)
    problems = {p["number"]: p["problem"] for p in json.loads(ran.stdout)["problems"]}
    assert problems.keys() == {changed, missing}
    assert problems[changed].startswith("changed") and problems[missing] == "missing"
    assert changed in ran.stderr and "2 problem(s)" in ran.stderr

    # A forger who rewrites the record to match the changed file is still caught: the
    # checksum the hash-chained audit trail recorded at issue is the reference.
    forged = hashlib.sha256(Path(changed_path).read_bytes()).hexdigest()
    database.execute("UPDATE documents SET sha256 = ? WHERE number = ?", (forged, changed))
    database.commit()
    database.close()
    ran = rendered("docs", "verify", "--json", check=1)
    problems = {p["number"]: p["problem"] for p in json.loads(ran.stdout)["problems"]}
    assert "audit trail" in problems[changed]


def test_reading_a_reporter_is_audited_and_no_document_carries_one(
    rendered: Cli, tmp_path: Path
) -> None:
    assert rendered("lead", "reporter", "KM-2026-000102", "--reason", " ").code == 2
    read = json.loads(
        rendered(
            "lead", "reporter", "KM-2026-000102", "--reason", "核实举报人身份", "--json", check=0
        ).stdout
    )
    assert read["reporter"] == {"name": "张三", "phone": "13800000000", "anonymous": False}
    trail = json.loads(rendered("audit", "show", "KM-2026-000102", "--json", check=0).stdout)
    reads = [e for e in trail["events"] if e["action"] == "reporter.read"]
    assert [(e["actor"], e["reason"]) for e in reads] == [("测试员", "核实举报人身份")]
    assert "张三" not in json.dumps(trail, ensure_ascii=False)

    exported = json.loads(rendered("audit", "export", "KM-2026-000102", "--json", check=0).stdout)
    text = pdf_text(exported["pdf"])
    for words in ("问题线索审计记录", "KM-2026-000102", "查阅举报人信息", "核实举报人身份"):
        assert words in text, words
    assert "reporter.read" not in text and "lead.receive" not in text  # Chinese, not codes
    assert "审计链完整" in text
    assert first_page_png(Path(exported["pdf"]), "audit_record").stat().st_size > 1000
    trail = json.loads(rendered("audit", "show", "KM-2026-000102", "--json", check=0).stdout)
    assert trail["events"][-1]["action"] == "audit.export"
    assert trail["events"][-1]["data"]["sha256"] == exported["sha256"]
    assert_no_reporter_anywhere(tmp_path / "output")


def test_audit_show_reads_in_chinese(rendered: Cli) -> None:
    """`audit show` for people: sources, channels, acts and states in Chinese, Beijing time
    to the minute; own handling reads 自办（依干部管理权限）; --json keeps the codes."""
    shown = rendered("audit", "show", "KM-2026-000102", check=0).stderr
    assert "受理：信访举报（来信）" in shown and "[→ 受理]" in shown, shown
    assert "[受理 → 分析研判]" in shown
    for code in ("public_report", "via letter", "lead.receive", "received", "Z "):
        assert code not in shown, code
    assert re.search(r"  20\d\d-\d\d-\d\d \d\d:\d\d  ", shown)
    own = rendered("audit", "show", "KM-2026-000101", check=0).stderr
    assert "交办  [分析研判 → 办理中]  自办（依干部管理权限）" in own, own
    assert "经依干部管理权限批准" not in own
    trail = json.loads(rendered("audit", "show", "KM-2026-000102", "--json", check=0).stdout)
    receipt = trail["events"][0]
    assert (receipt["action"], receipt["state_after"]) == ("lead.receive", "received")
    assert (
        receipt["data"]["source"] == "public_report"
        and receipt["reason"] == "受理：信访举报（来信）"
    )
