"""Documents (docs/rules.md §4) rendered for real and read back with poppler's tools: every
kind in the official layout with its fonts embedded; hostile lead text stays text;
numbers stay gapless under concurrency and failure."""

from __future__ import annotations

import os
import subprocess
import threading
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from models import documents
from models.documents import TITLES, NoticeContent, Table
from models.services.desk import notice_facts
from models.services.policy import in_force
from models.store.database import transaction
from models.store.lead import Lead
from models.store.records import Document
from tests.conftest import KUNMING, ROOT
from tests.integration.helpers import example_leads, receive

ON = date(2026, 10, 9)
# The first page of each kind as a PNG, for a person to look at (the README shows two).
PAGES = Path(os.environ.get("LEADFLOW_TEST_PAGES", ROOT / "output" / "test-pages"))
NOTICE_KINDS = sorted(kind for kind in TITLES if kind != "bulletin")


def poppler(*args: str | Path) -> str:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, check=True).stdout


def text_of(pdf: Path) -> str:
    return poppler("pdftotext", "-layout", pdf, "-")


def fonts_of(pdf: Path) -> list[list[str]]:
    """pdffonts' rows, split on blanks: name, type (several words), encoding, then
    embedded, subset, unicode, object and generation as the last five."""
    return [line.split() for line in poppler("pdffonts", pdf).splitlines()[2:]]


def first_page_png(pdf: Path, name: str) -> Path:
    PAGES.mkdir(parents=True, exist_ok=True)
    poppler("pdftoppm", "-png", "-r", "72", "-f", "1", "-l", "1", "-singlefile", pdf, PAGES / name)
    return PAGES / f"{name}.png"


def issue_and_render(engine: Engine, out: Path, *, kind: str, key: str, content) -> Document:  # type: ignore[no-untyped-def]
    with transaction(engine) as session:
        issued = documents.issue(
            session,
            kind=kind,
            key=key,
            content=content,
            numbering=in_force(session).numbering.of(KUNMING),
            actor="测试员",
            reason="测试",
            on=ON,
        )
    with transaction(engine) as session:
        return documents.render(session, issued.document.id, output_dir=out, actor="测试员")


@pytest.mark.parametrize("kind", NOTICE_KINDS)
def test_each_kind_is_an_official_document_with_embedded_cjk_fonts(
    org_engine: Engine, tmp_path: Path, kind: str
) -> None:
    content = NoticeContent(
        addressee="驻市教育局纪检监察组",
        paragraphs=["请你单位按照有关规定认真办理，并于规定期限内书面报告办理结果。"],
        facts=[("线索编号", "KM-2026-000123"), ("被反映人", "李四（街道办事处副主任）")],
        table=Table(headers=["月份", "综合得分"], rows=[["2026年9月", "14"]]),
    )
    doc = issue_and_render(org_engine, tmp_path, kind=kind, key=f"{kind}:T", content=content)
    assert doc.status == "issued", doc.void_reason
    pdf = Path(doc.path)
    text = "".join(text_of(pdf).split())
    for expected in (
        "昆明市纪委监委文件",  # the issuing body's mark
        f"〔{ON.year}〕1号",  # the number: year in full, serial without leading zeros
        TITLES[kind],
        "驻市教育局纪检监察组：",  # the addressee ends in a full-width colon
        "李四",
        "2026年10月9日",
        "—1—",  # the page number, "— 1 —"
    ):
        assert expected in text, (expected, text)
    assert doc.number == f"昆纪{in_force_prefix(org_engine, kind)}〔2026〕1号"
    rows = fonts_of(pdf)
    names = [row[0].split("+", 1)[1] for row in rows]
    assert rows and all(row[-5:-3] == ["yes", "yes"] for row in rows), rows  # embedded, subset
    # FangSong body text, the title and the mark in bold Song (小标宋's stand-in).
    assert {"FandolFang", "FandolSong-Bold"} <= set(names), names
    assert first_page_png(pdf, kind).stat().st_size > 1000


def in_force_prefix(engine: Engine, kind: str) -> str:
    with transaction(engine) as session:
        return in_force(session).numbering.kinds[kind]


HOSTILE = (
    '<img src="file:///etc/passwd"><a href="file:///etc/hostname">链接</a>'
    '<style>body{background:url("file:///etc/hostname")}</style>'
    "<script>alert(1)</script>{{ 7*7 }}{% for x in range(3) %}X{% endfor %}"
    '<link rel="attachment" href="file:///etc/hostname">url(http://127.0.0.1:9/x.png)'
)


def test_hostile_lead_text_is_printed_as_text_and_nothing_is_fetched(
    org_engine: Engine, tmp_path: Path
) -> None:
    lead = example_leads()[0]
    lead = lead.model_copy(update={"external_id": "T-HOSTILE", "summary": HOSTILE})
    lead_id = receive(org_engine, lead)
    with transaction(org_engine) as session:  # the notice carries the lead's summary
        facts = notice_facts(session, session.get(Lead, lead_id))
    doc = issue_and_render(
        org_engine,
        tmp_path,
        kind="assignment_notice",
        key="assignment_notice:T-HOSTILE",
        content=NoticeContent(addressee="某单位", paragraphs=["请办理。"], facts=facts),
    )
    assert doc.status == "issued", doc.void_reason
    pdf = Path(doc.path)
    text = "".join(text_of(pdf).split())
    for literal in ("<img", "file:///etc/passwd", "<script>", "{{7*7}}", "{%forxinrange(3)%}"):
        assert literal in text, literal
    assert "49" not in text and "XXX" not in text  # no template ran
    assert Path("/etc/hostname").read_text().strip() not in text.replace("file:///etc/hostname", "")
    assert len(poppler("pdfimages", "-list", pdf).splitlines()) == 2  # the header, no image
    assert "0 embedded files" in poppler("pdfdetach", "-list", pdf)


def test_two_concurrent_issues_of_one_kind_get_consecutive_numbers(
    org_engine: Engine, tmp_path: Path
) -> None:
    barrier = threading.Barrier(2)
    done: list[Document] = []
    errors: list[BaseException] = []

    def one(n: int) -> None:
        try:
            barrier.wait()
            content = NoticeContent(addressee=f"单位{n}", paragraphs=["请办理。"])
            done.append(
                issue_and_render(
                    org_engine, tmp_path, kind="urging_notice", key=f"urging:{n}", content=content
                )
            )
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(n,)) for n in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert sorted(d.serial for d in done) == [1, 2]
    assert all(d.status == "issued" and Path(d.path).is_file() for d in done)


def test_a_render_that_fails_leaves_its_number_void_with_the_reason(
    org_engine: Engine, tmp_path: Path
) -> None:
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the output folder should be")
    content = NoticeContent(addressee="某单位", paragraphs=["请办理。"])
    failed = issue_and_render(
        org_engine, blocked, kind="supervision_notice", key="sup:1", content=content
    )
    assert failed.status == "void" and "blocked" in failed.void_reason
    after = issue_and_render(
        org_engine, tmp_path, kind="supervision_notice", key="sup:2", content=content
    )
    assert (failed.serial, after.serial, after.status) == (1, 2, "issued")
    with transaction(org_engine) as session:
        rows = session.execute(
            select(Document.serial, Document.status).where(Document.kind == "supervision_notice")
        ).all()
    assert sorted(rows) == [(1, "void"), (2, "issued")]  # every number accounted for


def test_rendering_is_deterministic_so_checksums_can_be_verified(tmp_path: Path) -> None:
    from models.documents.rendering import render_pdf

    context = {
        "title": TITLES["work_warning"],
        "number": "昆纪预〔2026〕3号",
        "issuer_name": "昆明市纪委监委",
        "date": "2026年10月9日",
        **NoticeContent(addressee="某单位", paragraphs=["请办理。"]).model_dump(),
    }
    first, second = render_pdf("notice.html.j2", context), render_pdf("notice.html.j2", context)
    assert first == second and first.startswith(b"%PDF")


def test_stylesheets_parsed_once_render_as_if_linked() -> None:
    """Each template's stylesheets are parsed once and handed to WeasyPrint: the PDF is the
    same, byte for byte, as the one WeasyPrint makes from the HTML linking them itself."""
    from models.documents import rendering

    templates = sorted(p.name for p in rendering.TEMPLATES.glob("*.html.j2"))
    for template in templates:
        for name in rendering.stylesheets_of(template):
            assert (rendering.TEMPLATES / name).is_file(), (template, name)
        source = (rendering.TEMPLATES / template).read_text(encoding="utf-8")
        for tag in ("<link", "<style"):  # a sheet in the HTML would be parsed anew each time
            assert tag not in source, f"{template} has a {tag}> of its own"
    context = {
        "title": TITLES["work_warning"],
        "number": "昆纪预〔2026〕3号",
        "issuer_name": "昆明市纪委监委",
        "date": "2026年10月9日",
        **NoticeContent(addressee="某单位", paragraphs=["请办理。"]).model_dump(),
    }
    html = rendering.render_html("notice.html.j2", context)
    links = "".join(
        f'<link rel="stylesheet" href="{name}">' for name in rendering.DEFAULT_STYLESHEETS
    )
    linked = html.replace("</head>", f"{links}</head>", 1)
    assert linked != html
    document = rendering.weasyprint().HTML(
        string=linked,
        base_url=str(rendering.TEMPLATES),
        url_fetcher=rendering.assets_only_fetcher_class()(),
    )
    expected = document.write_pdf(font_config=rendering.fonts(), uncompressed_pdf=False)
    assert rendering.render_pdf("notice.html.j2", context) == expected
    unstyled = document.__class__(
        string=html,
        base_url=str(rendering.TEMPLATES),
        url_fetcher=rendering.assets_only_fetcher_class()(),
    ).write_pdf(font_config=rendering.fonts(), uncompressed_pdf=False)
    assert unstyled != expected  # the stylesheet does change the document
