"""Findings, not allegations (docs/rules.md §2.5): what a notice to the subject's entity
states is the finding (核查结论) the handling unit recorded with its outcome, never the
report as if it were proven; each outcome speaks in its own words — a risk point says
nothing was found, an untrue report or a false accusation clears the subject's name with
a notice of its own (澄清正名通知书), and only a named reporter of a false accusation is
criticised, never an anonymous one.
"""

from __future__ import annotations

import hashlib

from sqlalchemy.orm import Session

from models import audit
from models.documents import NoticeContent
from models.domain.errors import RuleRefused
from models.domain.people import clean_text
from models.domain.terms import CLEARING_OUTCOMES
from models.services import reporters
from models.services.desk import Desk, issue_notice, locked_lead
from models.store.lead import Lead, Outcome
from models.store.organisation import Entity

NOT_RECORDED = "核查结论未记录"  # an outcome recorded before findings were


def digest(finding: str) -> str:
    """The finding on the audit trail: its digest (the text is the outcome's own)."""
    return hashlib.sha256(finding.encode()).hexdigest()


def checked_finding(finding: str) -> str:
    """A finding as the record keeps it: text, no control character, within bounds."""
    return clean_text(finding, field="finding", source="--finding").strip()


def finding_of(session: Session, lead_id: int) -> str:
    """The lead's recorded finding, refused while there is none to state."""
    outcome = session.get(Outcome, lead_id)
    if outcome is None or not outcome.finding:
        raise RuleRefused(
            "finding",
            f"lead {lead_id}'s outcome has no finding recorded ({NOT_RECORDED}); no notice "
            "states it until one is set with `leadflow lead finding`",
        )
    return outcome.finding


def entity_facts(session: Session, lead: Lead) -> list[tuple[str, str]]:
    """What a notice to the subject's entity says of the lead: who, where, and the finding
    — not the report's own words."""
    entity = session.get_one(Entity, lead.entity_id)
    outcome = session.get(Outcome, lead.id)
    return [
        ("线索编号", lead.external_id),
        ("被反映人", f"{lead.subject_name}（{lead.subject_post}）"),
        ("所在单位", entity.name),
        ("核查结论", (outcome.finding if outcome else None) or NOT_RECORDED),
    ]


def rectification_paragraph(kind: str, finding: str) -> str:
    """What the rectification notice says was found, in its outcome's words."""
    if kind in CLEARING_OUTCOMES:
        raise RuleRefused("rectification", "a report found untrue leaves nothing to rectify")
    if kind == "risk_point":
        return (
            "经核查，反映的问题未发现违纪违法事实。核查中发现存在以下风险隐患："
            f"{finding}。请你单位健全制度、堵塞漏洞，防范类似问题发生。"
        )
    return f"经核查，你单位存在下列问题：{finding}"


def reporter_criticised(session: Session, lead_id: int, kind: str) -> bool:
    """Only a false accusation by a named reporter is criticised (对诬告者批评教育)."""
    if kind != "false_accusation":
        return False
    return reporters.named(session, lead_id)


def clear_name(session: Session, desk: Desk, lead: Lead, kind: str, finding: str) -> str:
    """澄清正名通知书 to the subject's entity, for the subject: the report was untrue (or a
    false accusation); the number issued."""
    entity = session.get_one(Entity, lead.entity_id)
    found = "系诬告陷害" if kind == "false_accusation" else "查无实据"
    issued = issue_notice(
        session,
        desk,
        kind="name_clearing_notice",
        key=f"name_clearing_notice:lead:{lead.id}",
        lead=lead,
        content=NoticeContent(
            addressee=entity.name,
            paragraphs=[
                f"经核查，反映{lead.subject_name}同志（{lead.subject_post}）的问题{found}。"
                f"核查结论：{finding}",
                f"现予以澄清正名，请向{lead.subject_name}同志本人及所在单位干部职工说明，"
                "消除不良影响，保护干部干事创业的积极性。",
            ],
            facts=entity_facts(session, lead),
        ),
        reason="澄清正名",
    )
    return issued.document.number


def set_finding(session: Session, desk: Desk, lead_id: int, *, finding: str, reason: str) -> str:
    """The finding of an outcome recorded before findings were (once: a recorded finding
    is the record, and is not rewritten)."""
    finding = checked_finding(finding)
    lead = locked_lead(session, desk, lead_id, "lead.outcome")
    outcome = session.get(Outcome, lead.id)
    if outcome is None:
        raise RuleRefused("finding", f"lead {lead_id} has no outcome recorded yet")
    if outcome.finding:
        raise RuleRefused("finding", f"lead {lead_id}'s finding is already recorded")
    outcome.finding = finding
    audit.record(
        session,
        audit.EventDraft(
            actor=desk.actor,
            action="lead.finding",
            reason=reason,
            lead_id=lead_id,
            data={"finding_sha256": digest(finding)},
        ),
    )
    return finding
