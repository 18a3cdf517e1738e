"""The audit anchors on the command line: `init` makes the key, `audit anchor` and every
escalation run sign the head, and after the chain and its head are rewritten behind the
guards `audit verify` exits 1 naming the anchor; the exported record says so too."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from models.store.database import make_engine
from tests.conftest import EXAMPLES, Cli
from tests.integration.test_anchors_db import guards_dropped_then_restored, rewrite_without


@pytest.mark.slow
def test_a_rewritten_chain_is_named_by_verify_and_on_the_record(
    sqlite_cli: Cli, tmp_path: Path
) -> None:
    cli = sqlite_cli
    assert "signing key made" in cli("init", check=0).stderr
    key = tmp_path / ".leadflow" / "audit-key" / "anchor-signing.pem"
    assert key.stat().st_mode & 0o777 == 0o600
    cli("org", "load", EXAMPLES / "kunming.yaml", check=0)
    lead = cli("lead", "submit", EXAMPLES / "lead.json", check=0).stdout.strip()
    first = json.loads(cli("audit", "anchor", "--json", check=0).stdout)
    cli("lead", "import", EXAMPLES / "leads.jsonl", check=0)
    monthly = ("escalate", "monthly", "--period", "2026-09", "--on", "2026-10-12", "--json")
    assert json.loads(cli(*monthly, check=0).stdout)["anchor"] == 2
    verified = json.loads(cli("audit", "verify", "--json", check=0).stdout)
    assert (verified["intact"], verified["anchors"], verified["anchor"]) == (True, 2, None)

    engine = make_engine(cli.env["LEADFLOW_DATABASE_URL"])
    with guards_dropped_then_restored(engine) as connection:
        rewrite_without(connection, first["seq"] + 2)
    engine.dispose()
    broken = cli("audit", "verify", "--json", check=1)
    found = json.loads(broken.stdout)
    assert (found["intact"], found["anchor"], found["first_bad_event"]) == (
        False,
        2,
        first["seq"] + 1,
    )
    assert "the chain no longer matches anchor 2" in broken.stderr
    assert "not anchored" in cli("audit", "anchor", check=1).stderr

    pdf = json.loads(cli("audit", "export", lead, "--json", check=0).stdout)["pdf"]
    text = subprocess.run(["pdftotext", pdf, "-"], capture_output=True, text=True).stdout
    assert "外部锚点核验未通过" in text.replace("\n", "")
