"""A document with a character no installed font draws is never issued: the check reads
what WeasyPrint drew, the document is voided by the usual void path (its number accounted
for), the documents after it stay pending, and the message names the characters by code
point and the packages to install, with no other text of the lead."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from models import documents
from models.documents import NoticeContent, glyphs, rendering
from models.domain.policy import Numbering
from models.store.database import transaction
from models.store.records import Document

# CJK Unified Ideographs Extension G: in no font this project installs (Noto CJK stops
# before it), as a rare character of a person's name may be.
RARE = "\U00030000"
NUMBERING = Numbering(
    issuer="昆纪", issuer_name="昆明市纪委监委", kinds={"supervision_notice": "督"}
)


def test_a_document_all_drawn_passes_and_one_missing_glyph_is_named() -> None:
    assert rendering.html_to_pdf("<p>问题线索交办通知书 KM-2026-000102</p>").startswith(b"%PDF")
    with pytest.raises(glyphs.MissingGlyphs) as raised:
        rendering.html_to_pdf(f"<p>请核实张{RARE}同志的问题。</p>")
    assert raised.value.characters == (RARE,)
    assert raised.value.missing_faces == ()  # every face the templates name is installed
    assert raised.value.exit_code == 69
    message = str(raised.value)
    assert "U+30000" in message and RARE in message
    assert "核实" not in message and "张" not in message  # no other text of the lead


def test_the_message_names_ten_characters_in_code_point_order_and_the_packages() -> None:
    text = "问题线索交办通知书某某同志违规收受礼金"
    message = glyphs.describe(sorted(set(text)), ["Noto Serif CJK SC", "FandolFang"])
    listed = message.split(": ", 1)[1].split(" and ")[0].split(", ")
    assert len(listed) == glyphs.SHOWN
    assert [entry.split()[0] for entry in listed] == [
        f"U+{ord(c):04X}" for c in sorted(set(text))[: glyphs.SHOWN]
    ]
    assert f"and {len(set(text)) - glyphs.SHOWN} more" in message
    assert "sudo apt-get install -y fonts-noto-cjk texlive-lang-chinese" in message
    assert text not in message  # in code point order, never spelling out the text


def test_the_templates_faces_are_found_and_each_draws_here() -> None:
    faces = rendering.named_faces()
    assert {"FandolFang", "FandolSong", "Noto Serif CJK SC"} <= set(faces)
    assert set(faces) <= set(glyphs.PACKAGES)  # each face has its package for the message
    assert all(rendering.face_draws(face) for face in faces)
    assert not rendering.face_draws("No Such Face LeadFlow")


def test_a_notice_no_font_draws_is_void_and_the_next_stay_pending(
    org_engine: Engine, tmp_path: Path
) -> None:
    undrawable = NoticeContent(addressee="某单位", paragraphs=[f"请核实张{RARE}同志的问题。"])
    first = _pending(org_engine, "sup:1", undrawable)
    with transaction(org_engine) as session:
        failed = documents.render(session, first, output_dir=tmp_path, actor="测试员")
    assert failed.status == "void" and failed.path is None and failed.sha256 is None
    assert documents.undrawn(failed)
    assert "U+30000" in (failed.void_reason or "") and "核实" not in (failed.void_reason or "")
    assert not list(tmp_path.rglob("*.pdf"))
    with pytest.raises(documents.NotIssued) as raised:
        documents.raise_if_undrawn([failed])
    assert raised.value.exit_code == 69 and failed.number in str(raised.value)

    # Two more pending, the first undrawable: rendering stops there, the last stays pending.
    plain = NoticeContent(addressee="某单位", paragraphs=["请办理。"])
    ids = [
        _pending(org_engine, key, content)
        for key, content in (("sup:2", undrawable), ("sup:3", plain))
    ]
    rendered = documents.render_pending(org_engine, output_dir=tmp_path, actor="测试员")
    assert [(d.id, d.status) for d in rendered] == [(ids[0], "void")]
    rendered = documents.render_pending(org_engine, output_dir=tmp_path, actor="测试员")
    assert [(d.id, d.status) for d in rendered] == [(ids[1], "issued")]
    with transaction(org_engine) as session:
        rows = session.execute(
            select(Document.serial, Document.status).where(Document.kind == "supervision_notice")
        ).all()
    assert sorted(rows) == [(1, "void"), (2, "void"), (3, "issued")]  # no gap
    with transaction(org_engine) as session:
        assert documents.verify_files(session) == (1, [])


def _pending(engine: Engine, key: str, content: NoticeContent) -> int:
    """A supervision notice issued and left pending: its id."""
    with transaction(engine) as session:
        issued = documents.issue(
            session,
            kind="supervision_notice",
            key=key,
            content=content,
            numbering=NUMBERING,
            actor="测试员",
            reason="测试",
            on=date(2026, 10, 9),
        )
        return issued.document.id
