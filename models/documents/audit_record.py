"""A lead's full audit record as a document (docs/rules.md §4, §5): every event with who,
when, what and why; each document of the lead with its number and checksum; and whether
the audit chain verifies. Built from the audit trail and the documents' records only —
the trail never holds a reporter's identity, and this content has no field for one.

Laid out for a reviewer, in Chinese: a timeline of the events, each with its local time
to the minute (Asia/Shanghai), the act and the state it moved the lead from and to by
their Chinese names (:mod:`models.domain.terms`), who and why, and its details as
``项目：内容`` pairs — codes put into their Chinese terms, units and people named. The
codes themselves stay in the trail and in ``leadflow audit show --json``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import audit
from models.audit.anchors import Anchor, AnchorVerdict
from models.documents.content import TITLES, chinese_date
from models.documents.rendering import render_pdf
from models.domain import terms
from models.domain.policy import Numbering
from models.domain.triage import REASONS
from models.store.lead import Lead
from models.store.organisation import Entity, Person, Unit
from models.store.periods import SHANGHAI
from models.store.records import Document


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EventLine(_Frozen):
    seq: int
    at: str  # local time to the minute: 2026-09-03 10:15
    actor: str
    action: str  # the act's Chinese name
    reason: str
    move: str  # the states before → after, in Chinese; empty when the act moves nothing
    details: list[str]  # 项目：内容, one pair each


class DocumentLine(_Frozen):
    number: str
    title: str
    status: str
    sha256: str


class AuditRecordContent(_Frozen):
    addressee: str
    paragraphs: list[str]
    events: list[EventLine]
    documents: list[DocumentLine]


DOCUMENT_STATUSES = {"pending": "待印发", "issued": "已印发", "void": "已作废", "held": "暂缓印发"}
# The label of each detail an event records, by its path (``draw.excluded``) or its key;
# a key with no label shows as recorded.
FIELDS = {
    "kind": "类别",  # a document's kind or an outcome's: named for each below
    "source": "来源",
    "channel": "渠道",
    "anonymous": "匿名",
    "domain": "领域",
    "entity": "所在单位",
    "external_id": "线索编号",
    "flags": "情形",
    "rank": "职级",
    "received_at": "收到时间",
    "jurisdiction_unit": "管辖单位",
    "level": "管辖层级",
    "needs_decision": "须委领导决定",
    "proposed_mode": "建议办理方式",
    "decided_mode": "决定办理方式",
    "now_proposed": "现建议办理方式",
    "reasons": "理由",
    "decision_due": "研判期限",
    "recorded_by": "录入人",
    "authorised_by": "批准",
    "units.mode": "办理方式",
    "units.lead_unit": "承办单位",
    "units.co_units": "协办单位",
    "units.excluded": "回避单位",
    "units.referred": "报送上级",
    "units.seed": "单位抽取种子",
    "draw.needed": "所需专长",
    "draw.pool": "人才库",
    "draw.team": "工作组",
    "draw.leader": "组长",
    "draw.excluded": "回避人员",
    "draw.seed": "人员抽取种子",
    "method": "处置方式",
    "reply_due": "答复期限",
    "later_than_a_month_after_receipt": "受理逾一个月",
    "deadline": "整改期限",
    "rectification": "整改序号",
    "passed": "回头看通过",
    "form": "处理形态",
    "persons_educated": "批评教育（人）",
    "persons_accountable": "问责（人）",
    "party_sanctions": "党纪处分（人）",
    "government_sanctions": "政务处分（人）",
    "finding_sha256": "核查结论校验值",
    "number": "文号",
    "path": "文件",
    "sha256": "校验值",
    "chain_intact": "审计链完整",
    "request": "申请序号",
    "reporter_on_record": "在案举报人信息",
    "field": "修改字段",
    "fields": "涉及字段",
    "documents": "相关文书",
    "old_sha256": "原内容校验值",
    "new_sha256": "新内容校验值",
    "flow_run": "流程",
    "act": "操作",
    "answer": "答复",
    "replayed_on": "补录日期",
}
ORDER = {key: n for n, key in enumerate(FIELDS)}  # details are listed in the labels' order
# Mechanics a reviewer reads elsewhere: the move and its term are the row's own columns.
HIDDEN = frozenset({"move", "term", "version", "key"})
# The details whose values are codes of the domain, each with its Chinese terms.
VALUE_TERMS: dict[str, dict[str, str]] = {
    "source": terms.SOURCES,
    "channel": terms.CHANNELS,
    "domain": terms.DOMAINS,
    "rank": terms.RANKS,
    "level": terms.LEVELS,
    "flags": REASONS,
    "proposed_mode": terms.MODE_TERMS,
    "decided_mode": terms.MODE_TERMS,
    "now_proposed": terms.MODE_TERMS,
    "units.mode": terms.MODE_TERMS,
    "method": terms.DISPOSAL_METHODS,
    "draw.needed": terms.EXPERTISE,
}
# The details that name units, entities or people by code: shown by name.
NAMED = frozenset(
    {"entity", "jurisdiction_unit", "units.lead_unit", "units.co_units", "draw.team", "draw.leader"}
)
LONGEST_LIST = 8  # a longer list shows its first items and how many there are


def local_minute(moment: str | datetime) -> str:
    """An instant as the commission reads it: Asia/Shanghai, to the minute (2026-09-03 10:15)."""
    at = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    return at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def spaced(hex_text: str) -> str:
    """A digest in groups of 16, so that a line breaks between groups, never inside one."""
    return " ".join(hex_text[i : i + 16] for i in range(0, len(hex_text), 16))


def _listed(items: list[str]) -> str:
    shown = "、".join(items[:LONGEST_LIST])
    return shown if len(items) <= LONGEST_LIST else f"{shown}等{len(items)}项"


def _value(path: str, value: Any, names: dict[str, str], kinds: dict[str, str]) -> str:
    """One detail's value in words: its Chinese term, a unit's or person's name, a date."""
    key = path.rsplit(".", 1)[-1]
    if isinstance(value, bool):
        return "是" if value else "否"
    if key == "path" and isinstance(value, str):  # a document's file: its name, not the server's
        return Path(value).name
    if isinstance(value, dict) and "due" in value:  # a deadline: its day and length
        days = f"，{value['working_days']}个工作日" if value.get("working_days") else ""
        return f"{value['due']}{days}{'，暂定' if value.get('provisional') else ''}"
    if isinstance(value, list) and value and isinstance(value[0], dict):  # who was excluded
        return "；".join(
            f"{names.get(str(x.get('candidate')), x.get('candidate'))}（{x.get('reason')}）"
            for x in value
        )
    if isinstance(value, list):
        if path == "draw.pool":
            return f"{len(value)}人"
        return _listed([_value(path, item, names, kinds) for item in value])
    words = VALUE_TERMS.get(path, VALUE_TERMS.get(key, kinds if key == "kind" else {}))
    text = str(value)
    if path in NAMED or key in NAMED:
        return names.get(text, text)
    if key.endswith("sha256"):
        return spaced(text)
    if key == "received_at":
        return local_minute(text)
    if key == "form":
        return f"第{terms.numeral(int(value))}种形态"
    return words.get(text, text)


def _pairs(data: dict[str, Any], prefix: str = "") -> Iterable[tuple[str, Any]]:
    """Each detail with its path, nested records flattened (``draw`` → ``draw.team``)."""
    for key, value in data.items():
        path = f"{prefix}{key}"
        if key in HIDDEN or value is None:
            continue
        if isinstance(value, dict) and "due" not in value:
            yield from _pairs(value, f"{path}.")
        else:
            yield path, value


def _known(path: str) -> str | None:
    """The label's key of a detail: its path if labelled, else its own key if labelled."""
    key = path.rsplit(".", 1)[-1]
    return path if path in FIELDS else key if key in FIELDS else None


def details(action: str, data: dict[str, Any], names: dict[str, str]) -> list[str]:
    """An event's details as ``项目：内容`` lines, in the labels' order (what, then how,
    then the record's mechanics), unlabelled ones last; an empty list says nothing."""
    document = action.startswith("document.")
    kinds = TITLES if document else terms.OUTCOMES
    pairs = [(p, v) for p, v in _pairs(data) if v != []]
    pairs.sort(key=lambda pair: ORDER.get(_known(pair[0]) or "", len(ORDER)))
    lines = []
    for path, value in pairs:
        known = _known(path)
        label = FIELDS[known] if known else path
        if path.rsplit(".", 1)[-1] == "kind":
            label = "文书" if document else "处理结果"
        lines.append(f"{label}：{_value(path, value, names, kinds)}")
    return lines


def _codes(data: Any) -> set[str]:
    """Every string an event's data holds: the candidates for a unit's or person's name."""
    if isinstance(data, dict):
        return set().union(*(_codes(v) for v in data.values())) if data else set()
    if isinstance(data, list):
        return set().union(*(_codes(v) for v in data)) if data else set()
    return {data} if isinstance(data, str) and len(data) <= 64 else set()


def org_names(session: Session, codes: set[str]) -> dict[str, str]:
    """The name of each unit, entity and person among ``codes``."""
    names: dict[str, str] = {}
    for table in (Unit, Entity, Person):
        rows = session.execute(select(table.code, table.name).where(table.code.in_(codes)))
        names.update({code: name for code, name in rows})
    return names


def event_line(event: audit.AuditEvent, names: dict[str, str]) -> EventLine:
    """One row of the timeline: the event in Chinese, ``names`` naming its units and people."""
    data = json.loads(event.data)
    moved = event.state_after is not None
    before = terms.STATES.get(event.state_before or "", event.state_before or "")
    return EventLine(
        seq=event.seq,
        at=local_minute(event.at),
        actor=event.actor,
        action=terms.action_term(event.action),
        reason=reason_text(event.action, event.reason, data),
        move=f"{before}→{terms.STATES.get(event.state_after or '', event.state_after)}"
        if moved
        else "",
        details=details(event.action, data, names),
    )


def event_lines(session: Session, events: Sequence[audit.AuditEvent]) -> list[EventLine]:
    """The timeline's rows (the record's, a lead's page's), its units and people named."""
    names = org_names(session, set().union(*(_codes(json.loads(e.data)) for e in events)))
    return [event_line(e, names) for e in events]


def reason_text(action: str, reason: str, data: dict[str, Any]) -> str:
    """An event's reason as a person reads it: a receipt recorded before reasons were
    written in Chinese (受理: public_report via letter) reads in Chinese; every other
    reason exactly as recorded."""
    legacy = f"受理: {data.get('source')} via {data.get('channel')}"
    if action == "lead.receive" and reason == legacy:
        return terms.receipt_reason(str(data["source"]), str(data["channel"]))
    return reason


def _anchored(verdict: AnchorVerdict, latest: Anchor | None) -> str:
    """What the record says of the anchors outside the database: whether they agree with
    the chain, and the latest one in full, so that a reader can check it elsewhere."""
    if not verdict.intact:
        return f"外部锚点核验未通过：{verdict.problem}。"
    if latest is None:
        return "审计链尚未在数据库外锚定。"
    return (
        f"外部锚点核验通过（{verdict.anchors}个）。最近锚点：第{latest.n}号，{latest.at}签署，"
        f"审计链至第{latest.seq}号事件，摘要 {spaced(latest.hash)}；"
        f"公钥 {spaced(latest.key)}；签名 {spaced(latest.sig)}。"
    )


def content(
    session: Session,
    lead: Lead,
    verdict: audit.Verdict,
    anchored: AnchorVerdict,
    latest: Anchor | None,
) -> AuditRecordContent:
    events = audit.events_for_lead(session, lead.id)
    docs = session.scalars(
        select(Document).where(Document.lead_id == lead.id).order_by(Document.id)
    ).all()
    chain = (
        f"审计链完整：全部{verdict.events}条事件逐条核验通过。"
        if verdict.intact
        else f"审计链核验未通过：第{verdict.seq}号事件（{verdict.problem}）。"
    )
    return AuditRecordContent(
        addressee="案件监督管理室",
        paragraphs=[
            f"问题线索{lead.external_id}（被反映人{lead.subject_name}，{lead.subject_post}），"
            f"当前状态：{terms.STATES.get(lead.state, lead.state)}。以下为该线索自受理以来的"
            f"全部审计事件（{len(events)}条，时间为北京时间）及相关文书（{len(docs)}件）。",
            chain,
            _anchored(anchored, latest),
        ],
        events=event_lines(session, events),
        documents=[
            DocumentLine(
                number=d.number,
                title=d.title or TITLES.get(d.kind, d.kind),
                status=DOCUMENT_STATUSES.get(d.status, d.status),
                sha256=spaced(d.sha256 or ""),
            )
            for d in docs
        ],
    )


def export(
    session: Session,
    lead: Lead,
    *,
    numbering: Numbering,
    output_dir: Path,
    actor: str,
    on: date,
    anchored: AnchorVerdict,
    latest: Anchor | None,
) -> tuple[Path, str]:
    """Render the record to a PDF, with the chain's verdict and the latest anchor outside
    the database; the export itself is an audit event (path, checksum)."""
    verdict = audit.verify(session.connection())
    body = content(session, lead, verdict, anchored, latest)
    last = body.events[-1].seq if body.events else 0
    pdf = render_pdf(
        "audit_record.html.j2",
        {
            "title": "问题线索审计记录",
            "number": f"{lead.external_id}　事件至第{last}号",
            "issuer_name": numbering.issuer_name,
            "date": chinese_date(on),
            **body.model_dump(),
        },
    )
    path = output_dir / "audit" / f"{lead.external_id}-{last}.pdf"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pdf)
    sha256 = hashlib.sha256(pdf).hexdigest()
    audit.record(
        session,
        audit.EventDraft(
            actor=actor,
            action="audit.export",
            reason="审计记录导出",
            lead_id=lead.id,
            data={"path": str(path), "sha256": sha256, "chain_intact": verdict.intact},
        ),
    )
    return path, sha256
