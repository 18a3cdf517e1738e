"""The official layout of GB/T 9704-2012, measured on the real PDF with pdftotext -bbox:
the body on the standard's grid (28 characters a line, 22 lines a page, the type area
37 mm from the top and 28 mm from the left), the date four characters in from the right
with the issuing body centred on it, page numbers "— N —" at the outer side, and a seal
block that never stands on a page of its own."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from models.documents import TITLES, NoticeContent
from models.documents.rendering import render_pdf

MM = 72 / 25.4
LEFT, TOP = 28 * MM, 37 * MM  # the type area's edges, in points
RIGHT, BOTTOM = 210 * MM - 26 * MM, 297 * MM - 35 * MM
PITCH = 156 * MM / 28  # one character of the grid: 15.79 pt
SENTENCE = "经研判现将下列问题线索交由你单位办理请严格落实回避规定。"  # 28 characters
WORD = re.compile(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="[\d.]+">([^<]*)<')


def notice(tmp_path: Path, paragraphs: list[str], **facts: str) -> Path:
    content = NoticeContent(
        addressee="驻市教育局纪检监察组", paragraphs=paragraphs, facts=list(facts.items())
    )
    context = {
        "title": TITLES["joint_handling_notice"],
        "number": "昆纪协〔2026〕1号",
        "issuer_name": "昆明市纪委监委",
        "date": "2026年10月9日",
        **content.model_dump(),
    }
    path = tmp_path / f"notice-{len(paragraphs)}-{len(facts)}.pdf"
    path.write_bytes(render_pdf("notice.html.j2", context))
    return path


def words(pdf: Path) -> list[list[tuple[float, float, float, str]]]:
    """Each page's words: xMin, yMin, xMax, text."""
    out = subprocess.run(
        ["pdftotext", "-bbox", pdf, "-"], capture_output=True, text=True, check=True
    ).stdout
    return [
        [(float(a), float(b), float(c), t) for a, b, c, t in WORD.findall(page)]
        for page in out.split("<page ")[1:]
    ]


def test_the_body_is_28_characters_a_line_and_22_lines_a_page(tmp_path: Path) -> None:
    pdf = notice(tmp_path, [SENTENCE * 3] * 12)
    second = words(pdf)[1]  # a page of body text only
    body = [w for w in second if w[1] < BOTTOM]
    assert len(body) == 22, [t for *_, t in body]
    # Every full line holds 28 characters, the first of a paragraph 26 after its indent.
    for x, _, x_max, text in body:
        if x_max > RIGHT - PITCH:  # a full line, not a paragraph's last
            assert len(text) == (28 if abs(x - LEFT) < 0.5 else 26), (x, text)
            assert x_max <= RIGHT + 0.5, x_max
        assert abs(x - LEFT) < 0.5 or abs(x - (LEFT + 2 * PITCH)) < 0.5, x  # 首行缩进二字
    # The first line on the type area's top: its glyphs 6.5 pt under it (half the leading).
    assert abs(body[0][1] - (TOP + (28.95 - 16) / 2)) < 0.5, body[0]
    assert abs((body[-1][1] - body[0][1]) / 21 - 28.95) < 0.05  # 22 lines fill 225 mm


def test_the_date_sits_four_characters_in_and_the_issuer_is_centred_on_it(
    tmp_path: Path,
) -> None:
    last = words(notice(tmp_path, [SENTENCE]))[-1]
    found = {t: (x, x_max) for x, _, x_max, t in last}
    date, signature, seal = found["2026年10月9日"], found["昆明市纪委监委"], found["（印章）"]
    assert abs(date[1] - (RIGHT - 4 * 16)) < 1, date  # 右空四字
    centre = (date[0] + date[1]) / 2
    for block in (signature, seal):
        assert abs((block[0] + block[1]) / 2 - centre) < 1, (block, date)


def test_page_numbers_stand_at_the_outer_side(tmp_path: Path) -> None:
    pdf = notice(tmp_path, [SENTENCE * 3] * 12)
    for n, page in enumerate(words(pdf)[:2], 1):
        number = [(x, y, x_max) for x, y, x_max, t in page if y > BOTTOM and t in ("—", str(n))]
        assert len(number) == 3, page  # — N —
        left, right = min(x for x, _, _ in number), max(x_max for _, _, x_max in number)
        if n % 2:  # odd pages: one character (14 pt) in from the right
            assert abs(right - (RIGHT - 14)) < 1, right
        else:  # even pages: one character in from the left
            assert abs(left - (LEFT + 14)) < 1, left
        assert abs(number[0][1] - (BOTTOM + 7 * MM)) < 1.5  # 7 mm under the type area


@pytest.mark.parametrize("facts", [False, True], ids=["paragraphs", "facts table"])
def test_the_seal_block_never_stands_alone_on_a_page(tmp_path: Path, facts: bool) -> None:
    """Bodies from one page to a little over: wherever the seal block would spill onto a
    page of its own, the body's last lines (or its last table row) go with it."""
    table = {"线索编号": "KM-2026-000102", "反映问题": SENTENCE * 3} if facts else {}
    spilled = 0
    for sentences in range(6, 19):
        paragraphs = [SENTENCE * 3] * (sentences // 3) + [SENTENCE] * (sentences % 3)
        pages = words(notice(tmp_path, paragraphs, **table))
        closing = {"（印章）", "昆明市纪委监委", "2026年10月9日"}
        for n, page in enumerate(pages, 1):
            rest = [t for _, y, _, t in page if y < BOTTOM and t not in closing]
            assert rest, f"{sentences} sentences: page {n} holds the seal block alone"
        spilled += len(pages) > 1 and "（印章）" in {t for *_, t in pages[-1]}
    assert spilled  # some body lengths did push the block over
