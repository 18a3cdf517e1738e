"""A lead's full audit record as a document (docs/rules.md §4, §5): every event with who,
when, what and why; each document of the lead with its number and checksum; and whether
the audit chain verifies. Built from the audit trail and the documents' records only —
the trail never holds a reporter's identity, and this content has no field for one.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date
from pathlib import Path

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import audit
from models.audit.anchors import Anchor, AnchorVerdict
from models.documents import chinese_date
from models.documents.rendering import render_pdf
from models.domain.policy import Numbering
from models.store.lead import Lead
from models.store.records import Document


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EventLine(_Frozen):
    seq: int
    at: str
    actor: str
    action: str
    reason: str
    move: str
    details: str


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


def _details(data: dict) -> str:
    # Canonical JSON, cut short: the PDF is for reading; `audit show --json` has it all.
    text = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return text if len(text) <= 160 else text[:157] + "…"


def _anchored(verdict: AnchorVerdict, latest: Anchor | None) -> str:
    """What the record says of the anchors outside the database: whether they agree with
    the chain, and the latest one in full, so that a reader can check it elsewhere."""
    if not verdict.intact:
        return f"外部锚点核验未通过：{verdict.problem}。"
    if latest is None:
        return "审计链尚未在数据库外锚定。"

    def spaced(hex_text: str) -> str:
        return " ".join(hex_text[i : i + 16] for i in range(0, len(hex_text), 16))

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
            f"当前状态：{lead.state}。以下为该线索自受理以来的全部审计事件"
            f"（{len(events)}条）及相关文书（{len(docs)}件）。",
            chain,
            _anchored(anchored, latest),
        ],
        events=[
            EventLine(
                seq=e.seq,
                at=e.at,
                actor=e.actor,
                action=e.action,
                reason=e.reason,
                move=f"{e.state_before or ''}→{e.state_after or ''}" if e.state_after else "",
                details=_details(json.loads(e.data)),
            )
            for e in events
        ],
        documents=[
            DocumentLine(
                number=d.number, title=d.title or d.kind, status=d.status, sha256=d.sha256 or ""
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
