"""The boards as people read them, through the command line: the monthly bulletin's PDF
(its attachment note, its landscape boards, its data checks, read back with poppler) and
`board show` in a narrow and a wide terminal."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from tests.conftest import Cli
from tests.e2e.test_escalation_cli import setup

# A line of pdftotext -bbox: a word, where it sits.
WORD = re.compile(
    r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>'
)


def words(pdf: str, page: int) -> list[tuple[float, float, float, str]]:
    """Each word of one page: xMin, yMin, xMax and its text."""
    out = subprocess.run(
        ["pdftotext", "-bbox", "-f", str(page), "-l", str(page), pdf, "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [(float(a), float(b), float(c), t) for a, b, c, _, t in WORD.findall(out)]


def pages(pdf: str) -> list[str]:
    """Each page's text, laid out."""
    out = subprocess.run(
        ["pdftotext", "-layout", pdf, "-"], capture_output=True, text=True, check=True
    ).stdout
    return out.split("\f")[:-1]


def page_size(pdf: str, page: int) -> tuple[float, float]:
    out = subprocess.run(
        ["pdfinfo", "-f", str(page), "-l", str(page), pdf], capture_output=True, text=True
    ).stdout
    found = re.search(rf"Page\s+{page} size:\s+([\d.]+) x ([\d.]+)", out)
    assert found, out
    return float(found.group(1)), float(found.group(2))


def test_the_bulletin_lists_its_attachments_and_lays_the_wide_board_out(
    sqlite_cli: Cli, tmp_path: Path
) -> None:
    setup(sqlite_cli, tmp_path)
    ran = json.loads(
        sqlite_cli("escalate", "monthly", "--period", "2026-09", "--json", check=0).stdout
    )
    [bulletin] = ran["issued"]
    pdf = bulletin["pdf"]
    text = pages(pdf)
    flat = "".join("".join(text).split())
    # Full-width brackets in what people read; labels, never codes.
    assert "县(市、区)" not in flat and "县（市、区）综合排名末位" in flat
    assert "leads_received" not in flat and "_" not in flat

    # 附件说明: each attachment on a line of its own, numbered, the numbers one under the
    # other, two characters in from the left (GB/T 9704 7.3.4).
    note = next(n for n, page in enumerate(text, 1) if "附件：1." in "".join(page.split()))
    lines = {t[:2]: (x, y) for x, y, _, t in words(pdf, note) if re.match(r"附件|\d\.", t)}
    (x1, y1), (x2, y2) = lines["附件"], lines["2."]
    assert abs(x1 - (79.37 + 2 * 15.78)) < 1.5, x1  # 左空二字 on the body's grid
    assert abs(x2 - (x1 + 3 * 15.78)) < 1.5, (x1, x2)  # "2." under "1.", past 附件：
    assert [lines[f"{n}."][0] for n in (3, 4)] == [x2, x2]
    assert y1 < y2 < lines["3."][1] < lines["4."][1]  # one line each

    # The county board: a landscape page, every header on two lines at most.
    county = next(n for n, page in enumerate(text, 1) if page.lstrip().startswith("附件2"))
    width, height = page_size(pdf, county)
    assert width > height, (width, height)
    found = words(pdf, county)
    period_row = next(y for _, y, _, t in found if t == "2026年9月")
    first_row = next(y for _, y, _, t in found if t.endswith("纪委监委") and y > period_row)
    heads = {round(y) for _, y, _, t in found if period_row < y < first_row} - {
        round(y) for _, y, _, t in found if t in ("单位", "排名")
    }
    assert len(heads) <= 2, sorted(heads)

    # The data checks: each indicator by its label on the unit's board.
    checks = next(page for page in text if "数据核对表（" in page)
    assert "受理问题线索(件)" in checks or "问题受理(件)" in checks


def _board(cli: Cli, columns: int, name: str) -> list[str]:
    cli.env["COLUMNS"] = str(columns)
    ran = cli("board", "show", "--period", "2026-09", "--board", name, check=0)
    assert ran.stdout == ""
    lines = [line.rstrip() for line in ran.stderr.splitlines() if line.strip()]
    return lines[next(n for n, line in enumerate(lines) if "多色榜" in line) :]  # the board


def test_board_show_fits_a_narrow_and_a_wide_terminal(sqlite_cli: Cli, tmp_path: Path) -> None:
    setup(sqlite_cli, tmp_path)
    from rich.cells import cell_len

    for columns in (80, 200):
        for name in ("resident", "county"):
            lines = _board(sqlite_cli, columns, name)
            body = "\n".join(lines)
            assert all(cell_len(line) <= columns for line in lines), (columns, name)
            # Names whole, never cut to a character and "…"; no unit codes; Chinese terms.
            assert "…" not in body and not re.search(r"\b[RC]\d\d\b", body), body
            assert "禄劝彝族苗族自治县纪委监委" in body or name == "resident"
            assert "驻市人力资源社会保障局纪检监察组" in body or name == "county"
            assert re.search(r"\d+ [红蓝白]", body) and "red" not in body and "blue" not in body
            assert "末位" in body and "2026年9月" in body
    narrow = "\n".join(_board(sqlite_cli, 80, "county"))
    assert "主体责任类失职失责(件)" in narrow  # labels whole in the narrow layout
    wide = _board(sqlite_cli, 200, "county")
    assert sum(1 for line in wide if "纪委监委" in line) == 14  # one row a county
    assert json.loads(
        sqlite_cli("board", "show", "--period", "2026-09", "--board", "county", "--json").stdout
    )["units"][0]["indicators"]["leads_received"]["color"] in ("red", "blue", "white")
