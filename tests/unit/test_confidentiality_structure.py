"""Confidentiality by structure (docs/rules.md §5): the reporters' table is read in one place
— `models.services.reporters.reveal`, which records every read in the audit trail — and written in
one (intake); the document screen (`models.documents.holding`) compares a document with it and
answers only whether the reporter is named. No other module can reach a reporter's identity,
because none imports it."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ALLOWED = {
    "models/store/lead.py",
    "models/services/intake.py",
    "models/services/reporters.py",
    "models/documents/holding.py",
}


def test_only_intake_and_the_audited_reveal_touch_the_reporters_table() -> None:
    touching = set()
    for path in [
        *ROOT.glob("models/**/*.py"),
        *ROOT.glob("flows/**/*.py"),
        *ROOT.glob("leadflow/**/*.py"),
    ]:
        if "migrations" in path.parts:  # they create the table and read no row of it
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
        imported = {
            alias.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) for alias in n.names
        }
        sql = "reporters" in {
            n.value
            for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str)
        }
        if "Reporter" in names | imported or sql:
            touching.add(str(path.relative_to(ROOT)))
    assert touching == ALLOWED
