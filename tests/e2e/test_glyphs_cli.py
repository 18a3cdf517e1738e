"""With the CJK fonts gone (fontconfig shown only DejaVu), no document is issued as a page
of empty boxes: the command exits 69 naming the missing characters and the packages,
the document is void (its number accounted for), the rest stay pending, no PDF is
written, and `docs verify` and `audit verify` raise no alarm. With the fonts back, the
pending documents are issued and the numbers run without a gap."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, Cli, _cli_env, _lead_contents

DEJAVU = Path("/usr/share/fonts/truetype/dejavu")
pytestmark = pytest.mark.skipif(not DEJAVU.is_dir(), reason=f"no Latin fonts at {DEJAVU}")


def latin_only_fonts(tmp_path: Path) -> Path:
    """A fontconfig file that knows DejaVu alone: no Fandol face, no Noto CJK."""
    conf = tmp_path / "latin-only" / "fonts.conf"
    conf.parent.mkdir()
    conf.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">\n'
        f"<fontconfig><dir>{DEJAVU}</dir><cachedir>{conf.parent / 'cache'}</cachedir>"
        "</fontconfig>\n",
        encoding="utf-8",
    )
    return conf


def embedded_cli(tmp_path: Path) -> Cli:
    """The CLI on an SQLite file with no Prefect server: flows run in the command, and no
    server is started for the test."""
    env = _cli_env(tmp_path, f"sqlite:///{tmp_path / 'leadflow.db'}", "")
    del env["PREFECT_API_URL"]
    return Cli(cwd=tmp_path, env=env)


@pytest.fixture
def embedded(tmp_path: Path) -> Cli:
    return embedded_cli(tmp_path)


def test_a_document_no_font_draws_is_void_never_issued(embedded: Cli, tmp_path: Path) -> None:
    embedded("init", check=0)
    embedded("org", "load", EXAMPLES / "kunming.yaml", check=0)
    embedded("lead", "import", EXAMPLES / "leads.jsonl", check=0)
    database = sqlite3.connect(tmp_path / "leadflow.db")
    pending = [n for (n,) in database.execute("SELECT number FROM documents ORDER BY id")]
    assert len(pending) >= 2
    blind = Cli(embedded.cwd, {**embedded.env, "FONTCONFIG_FILE": str(latin_only_fonts(tmp_path))})

    ran = blind("docs", "render", "--json", check=69)
    assert json.loads(ran.stdout) == {"rendered": [{"number": pending[0], "status": "void"}]}
    assert f"document {pending[0]} was not issued and is void" in ran.stderr
    assert "U+4E2D 中" in ran.stderr and "and " in ran.stderr  # at most ten named
    assert "sudo apt-get install -y fonts-noto-cjk texlive-lang-chinese" in ran.stderr
    assert "Traceback" not in ran.stderr
    leaked = [text for text in _lead_contents() if text in ran.stderr]
    assert not leaked, leaked  # the characters by code point, no lead's words
    rows = database.execute("SELECT number, status, void_reason, path FROM documents ORDER BY id")
    (number, status, reason, path), *rest = rows.fetchall()
    assert (number, status, path) == (pending[0], "void", None)
    assert reason.startswith("MissingGlyphs: no installed font draws")
    assert {r[1] for r in rest} == {"pending"}  # the same fonts would have voided them too
    assert not list((tmp_path / "output").rglob("*.pdf"))

    # A step taken meanwhile stands; its notice is void, and the command says so.
    decided = blind(
        "lead", "decide", "KM-2026-000102", "--mode", "own", "--by", "杨正晓", "--reason", "同意"
    )
    assert decided.code == 69 and "now in_handling" in decided.stderr
    assert "not issued and is void" in decided.stderr

    verified = json.loads(embedded("docs", "verify", "--json", check=0).stdout)
    assert verified == {"checked": 0, "problems": []}
    embedded("audit", "verify", check=0)

    embedded("docs", "render", check=0)  # the fonts are back: the pending are issued
    kinds = database.execute(
        "SELECT kind, group_concat(serial), group_concat(status) FROM documents GROUP BY kind"
    ).fetchall()
    for _kind, serials, _ in kinds:
        numbers = sorted(int(s) for s in serials.split(","))
        assert numbers == list(range(1, len(numbers) + 1))  # no gap
    statuses = [s for _, _, group in kinds for s in group.split(",")]
    assert statuses.count("void") == 2 and statuses.count("pending") == 0
    verified = json.loads(embedded("docs", "verify", "--json", check=0).stdout)
    assert verified["checked"] == statuses.count("issued") and verified["problems"] == []
    database.close()


def test_a_run_whose_documents_no_font_draws_says_so_and_exits_69(
    sqlite_cli: Cli, tmp_path: Path
) -> None:
    """A flow's documents too: the monthly run's bulletin is void, the command says why."""
    sqlite_cli.env["LEADFLOW_TODAY"] = "2026-11-22"
    sqlite_cli("init", check=0)
    sqlite_cli("org", "load", EXAMPLES / "kunming.yaml", check=0)
    blind = Cli(
        sqlite_cli.cwd, {**sqlite_cli.env, "FONTCONFIG_FILE": str(latin_only_fonts(tmp_path))}
    )
    ran = blind("escalate", "monthly", "--period", "2026-09", "--json")
    assert ran.code == 69 and ran.stdout == "", ran.stderr
    assert "was not issued and is void" in ran.stderr and "fonts-noto-cjk" in ran.stderr
    assert "Traceback" not in ran.stderr
    database = sqlite3.connect(tmp_path / "leadflow.db")
    statuses = {s for (s,) in database.execute("SELECT status FROM documents")}
    assert "issued" not in statuses and "void" in statuses
