"""The audit record (`leadflow audit export`) laid out for a reviewer, checked on the real
PDF: a timeline in Chinese — acts and states by their Chinese names, local times to the
minute, details as 项目：内容 pairs with units and people named — that holds a lead's
nine events on two pages (the raw JSON in a one-letter column took four) and twenty-three
on three (it took ten)."""

from __future__ import annotations

import re
import subprocess
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from models import audit
from models.audit.anchors import AnchorVerdict
from models.documents import audit_record
from models.domain.policy import Numbering
from models.store.database import transaction
from models.store.lead import Lead
from tests.conftest import KUNMING
from tests.integration.helpers import example_leads, receive

PDF_PATH = "/var/lib/leadflow/output/2026/joint_handling_notice/昆纪协〔2026〕1号.pdf"
DIGEST = "d5126bcd3ccfd5ecfbf08faf62a8e0f72b4e03a53b9b3d3d24707b4bb0b8772b"
# A joint handling's draw as the trail records it: a pool of 107, three excluded.
DRAW = {
    "excluded": [
        {"candidate": "P004", "reason": "declared relation with the subject: 配偶的兄弟"},
        {"candidate": "P039", "reason": "home unit C03 holds the subject's locality (人地两疏)"},
        {"candidate": "P089", "reason": "home unit C03 holds the subject's locality (人地两疏)"},
    ],
    "leader": "P001",
    "needed": ["discipline", "audit", "finance"],
    "pool": [f"P{n:03d}" for n in range(1, 108)],
    "seed": 3200304859836312935,
    "team": ["P001", "P083", "P029", "P092"],
}


def _event(action: str, reason: str, data: dict[str, Any], moved: str = "", actor: str = "测试员"):  # type: ignore[no-untyped-def]
    before, _, after = moved.partition(">")
    return audit.EventDraft(
        actor=actor,
        action=action,
        reason=reason,
        data=data,
        state_before=before or None,
        state_after=after or None,
    )


def _document(kind: str, number: str, reason: str) -> list[audit.EventDraft]:
    key = {"key": f"{kind}:lead", "kind": kind, "number": number}
    issued = {"kind": kind, "number": number, "path": PDF_PATH, "sha256": DIGEST}
    return [_event("document.allocate", reason, key), _event("document.issue", number, issued)]


def nine_events() -> list[audit.EventDraft]:
    """After the receipt: the eight events a jointly handled lead gathers up to its disposal."""
    due = {"due": "2026-03-09", "provisional": False, "uncovered_years": [], "working_days": 5}
    triage = {
        "decision_due": due,
        "jurisdiction_unit": "C03",
        "level": "county",
        "needs_decision": True,
        "proposed_mode": "joint",
        "reasons": ["案情复杂", "涉案金额较大", "时间跨度较长"],
        **{"move": "triage", "term": "分析研判", "version": 2},
    }
    units = {"co_units": ["R05", "C03"], "excluded": [], "lead_unit": "O2", "mode": "joint"}
    assign = {"authorised_by": "杨正晓", "draw": DRAW, "units": units | {"seed": 7}}
    return [
        _event("lead.triage", "集体排查：案情复杂；涉案金额较大", triage, "received>triaged"),
        _event("lead.decide", "同意联合办理", {"decided_mode": "joint"}, actor="杨正晓"),
        _event("lead.assign", "室组地联动办理，经杨正晓批准", assign, "triaged>in_handling"),
        *_document("joint_handling_notice", "昆纪协〔2026〕1号", "交办"),
        _event("reporter.read", "核实举报人身份", {"reporter_on_record": True}),
        _event(
            "lead.dispose",
            "初步核实",
            {"method": "preliminary_verification"},
            "in_handling>disposed",
        ),
        _event(
            "audit.export",
            "审计记录导出",
            {"path": PDF_PATH, "sha256": DIGEST, "chain_intact": True},
        ),
    ]


def fourteen_more() -> list[audit.EventDraft]:
    """Outcome, rectification, two reports and follow-ups, striking off, and a reporter
    request granted and read: a lead's whole life."""
    deadline = {
        "due": "2026-06-15",
        "provisional": False,
        "uncovered_years": [],
        "working_days": 10,
    }
    outcome = {"kind": "first_form", "form": 1, "persons_educated": 2, "finding_sha256": DIGEST}
    return [
        _event("lead.outcome", "第一种形态处理：两名窗口工作人员批评教育", outcome),
        _event(
            "lead.order_rectification",
            "限期整改",
            {"deadline": deadline, "rectification": 1},
            "disposed>rectifying",
        ),
        *_document("rectification_notice", "昆纪改〔2026〕1号", "限期整改"),
        _event("rectification.report", "街道报送整改情况", {"rectification": 1}),
        _event("rectification.follow_up", "回头看未到位", {"rectification": 1, "passed": False}),
        _event("rectification.report", "再次报送", {"rectification": 1}),
        _event("rectification.follow_up", "回头看已整改到位", {"rectification": 1, "passed": True}),
        _event("lead.strike_off", "销号：回头看已整改到位", {}, "rectifying>closed"),
        _event("reporter.request", "核实举报人身份", {"request": 1}),
        _event("reporter.grant", "同意查阅", {"request": 1}),
        _event("reporter.read", "核实举报人身份", {"reporter_on_record": True, "request": 1}),
        _event(
            "audit.export",
            "审计记录导出",
            {"path": PDF_PATH, "sha256": DIGEST, "chain_intact": True},
        ),
        _event("lead.amend", "更正所在单位", {"field": "summary", "documents": []}),
    ]


def exported(engine: Engine, tmp_path: Path, drafts: list[audit.EventDraft]) -> tuple[Path, int]:
    """The lead KM-2026-000102 received with ``drafts`` after its receipt, its record
    exported; the PDF and how many events it holds."""
    lead = next(x for x in example_leads() if x.external_id == "KM-2026-000102")
    lead_id = receive(engine, lead)
    with transaction(engine) as session:
        for draft in drafts:
            draft.lead_id = lead_id
            audit.record(session, draft)
    with transaction(engine) as session:
        path, _ = audit_record.export(
            session,
            session.get_one(Lead, lead_id),
            numbering=Numbering(issuer=KUNMING.abbreviation, issuer_name=KUNMING.name, kinds={}),
            output_dir=tmp_path,
            actor="测试员",
            on=date(2026, 10, 9),
            anchored=AnchorVerdict(0, True),
            latest=None,
        )
        held = len(audit.events_for_lead(session, lead_id)) - 1  # less the export itself
    return path, held


def pages(pdf: Path) -> int:
    info = subprocess.run(["pdfinfo", pdf], capture_output=True, text=True, check=True).stdout
    return int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))  # type: ignore[union-attr]


def text_of(pdf: Path) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", pdf, "-"], capture_output=True, text=True, check=True
    ).stdout


def test_nine_events_on_two_pages_in_chinese(org_engine: Engine, tmp_path: Path) -> None:
    pdf, held = exported(org_engine, tmp_path, nine_events())
    assert held == 9 and pages(pdf) <= 2, pages(pdf)
    text = text_of(pdf)
    flat = "".join(text.split())
    for words in (
        "受理：信访举报（来信）",  # the receipt's reason, in Chinese whatever was recorded
        "分析研判→办理中",  # the states a move went between, by their Chinese names
        "办理中→已处置",
        "交办",
        "查阅举报人信息",
        "建议办理方式：室组地联动办理",
        "研判期限：2026-03-09，5个工作日",
        "承办单位：第二监督检查室",  # units and people by name, not by code
        "组长：罗峰",
        "人才库：107人",  # a pool of 107 counted, not listed
        "处置方式：初步核实",
        "来源：信访举报",
        "渠道：来信",
    ):
        assert words in flat, words
    for code in (
        "lead.",
        "document.",
        "in_handling",
        "public_report",
        "letter",
        "P083",
        "O2",
        "_mode",
    ):
        assert code not in flat, code
    # Local times to the minute: no ISO 'T', no seconds, no microseconds, no offset.
    assert re.search(r"20\d\d-\d\d-\d\d \d\d:\d\d(?!:)", text)
    assert not re.search(r"\d\d:\d\d:\d\d|T\d\d:|\+00:00", text)
    assert max(len(line) for line in text.splitlines()) < 200  # nothing a letter a line


def test_twenty_three_events_on_three_pages(org_engine: Engine, tmp_path: Path) -> None:
    pdf, held = exported(org_engine, tmp_path, nine_events() + fourteen_more())
    assert held == 23 and pages(pdf) <= 3, pages(pdf)
    flat = "".join(text_of(pdf).split())
    for words in ("已处置→整改中", "整改期限：2026-06-15，10个工作日", "销号", "回头看通过：否"):
        assert words in flat, words
    assert "（印章）" in flat and "昆明市纪委监委" in flat


def test_a_receipt_recorded_in_english_reads_in_chinese() -> None:
    """Events recorded before receipts were worded in Chinese keep their text in the
    trail; people read it in Chinese, and any other reason exactly as recorded."""
    data = {"source": "unit_group_inspection", "channel": "internal"}
    legacy = "受理: unit_group_inspection via internal"
    assert (
        audit_record.reason_text("lead.receive", legacy, data) == "受理：单元组监督检查（内部移送）"
    )
    assert audit_record.reason_text("lead.receive", "受理: 其他", data) == "受理: 其他"
    assert audit_record.reason_text("lead.triage", legacy, data) == legacy
    names = {"O2": "第二监督检查室"}
    assert audit_record.details(
        "lead.assign", {"units": {"lead_unit": "O2", "co_units": []}}, names
    ) == ["承办单位：第二监督检查室"]
    assert audit_record.local_minute("2026-09-03T02:15:59.123456+00:00") == "2026-09-03 10:15"
