"""Confidentiality by structure (DOMAIN.md §5): the reporters' table is read in one place
— `models.reporters.reveal`, which records every read in the audit trail — and written in
one (intake). No other module can reach a reporter's identity, because none imports it."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ALLOWED = {"models/lead.py", "models/intake.py", "models/reporters.py"}


def test_only_intake_and_the_audited_reveal_touch_the_reporters_table() -> None:
    touching = set()
    for path in [*ROOT.glob("models/*.py"), *ROOT.glob("flows/*.py"), *ROOT.glob("leadflow/*.py")]:
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
