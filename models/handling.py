"""What happens to a lead after receipt (DOMAIN.md §2.2–2.8), one operation per step.

Each operation runs in the caller's transaction: the state change through the
lifecycle's one door, the rows it implies, the notice it issues and the audit events
commit together or not at all. Each is idempotent where a retry could repeat it: a
step already taken is reported, not taken twice.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import audit, documents
from models.base import utcnow
from models.database import insert_rows
from models.documents import NoticeContent
from models.errors import RuleRefused
from models.lead import (
    Assignment,
    Disposal,
    LadderStep,
    Lead,
    LeadFacts,
    Outcome,
    Rectification,
    TeamMember,
    TriageProposal,
)
from models.lifecycle import State, Step, perform, perform_many
from models.organisation import Entity, Unit, UnitKind
from models.orgview import OrgView, held
from models.policy import Policy
from models.recusal import Draw, RecusalShortfall, Subject, UnitPlan, draw_team, plan_units
from models.triage import Mode, propose
from models.workdays import Deadline, WorkCalendar

DISPOSAL_METHODS = {
    "talk_letter": "谈话函询",
    "preliminary_verification": "初步核实",
    "hold": "暂存待查",
    "close": "予以了结",
}
OUTCOMES = {
    "case_filed": "立案审查调查",
    "first_form": "第一种形态处理",
    "risk_point": "列为风险点、督促健全制度",
    "false_accusation": "查无实据、澄清正名，对诬告者批评教育",
}
MODE_TERMS = {
    "own": "自办",
    "joint": "室组地联动办理",
    "escalated": "提级办理",
    "cross": "交叉办理",
}


@dataclass(frozen=True)
class Desk:
    """Who acts, on which day, under which policy, and where documents go."""

    actor: str
    today: date
    policy: Policy
    output_dir: Path

    @property
    def calendar(self) -> WorkCalendar:
        return WorkCalendar(self.policy.calendar.extra_years)


def _lead(session: Session, lead_id: int) -> Lead:
    """The lead, read under the chain's lock: every writer queues there first, so what a
    step checks (a disposal already made, an outcome already recorded) is still true when
    it writes — a second officer's step waits, then is refused, instead of colliding."""
    audit.lock_chain(session)
    lead = session.get(Lead, lead_id, populate_existing=True)
    if lead is None:
        raise RuleRefused("lead", f"no lead with id {lead_id}")
    return lead


def _issue(
    session: Session,
    desk: Desk,
    *,
    kind: str,
    key: str,
    lead: Lead,
    content: NoticeContent,
    reason: str,
) -> documents.Issued:
    return documents.issue(
        session,
        kind=kind,
        key=key,
        content=content,
        numbering=desk.policy.numbering,
        actor=desk.actor,
        reason=reason,
        on=desk.today,
        lead_id=lead.id,
    )


def _facts(session: Session, lead: Lead) -> list[tuple[str, str]]:
    entity = session.get(Entity, lead.entity_id)
    return facts_of(lead, entity.name if entity else "")


def facts_of(lead: Any, entity_name: str) -> list[tuple[str, str]]:
    """What a notice says of its lead: ``lead`` has the lead's columns (a row will do)."""
    return [
        ("线索编号", lead.external_id),
        ("被反映人", f"{lead.subject_name}（{lead.subject_post}）"),
        ("所在单位", entity_name),
        ("反映问题", lead.summary[:500]),
    ]


# --- triage ----------------------------------------------------------------------------

_PROPOSED = (
    "lead_id",
    "level",
    "jurisdiction_unit_id",
    "proposed_mode",
    "reasons",
    "proposed_at",
    "decision_due",
)


# What triage and assignment read of a lead: the columns of :class:`LeadFacts`.
_FACTS = (
    Lead.id,
    Lead.external_id,
    Lead.subject_name,
    Lead.subject_post,
    Lead.subject_rank,
    Lead.summary,
    Lead.flags,
    Lead.domain,
    Entity.code.label("entity"),
    Entity.name.label("entity_name"),
)


# A lead as assignment reads it: its facts (:class:`LeadFacts`, the columns of ``_FACTS``)
# and where triage placed it.
_Triaged = NamedTuple(
    "_Triaged", [*LeadFacts.__annotations__.items(), ("level", str), ("jurisdiction", str)]
)


def triage(
    session: Session, desk: Desk, lead_id: int, *, org: OrgView | None = None
) -> TriageProposal:
    """分析研判 of one lead (:func:`triage_many` of one), its proposal returned."""
    triage_many(session, desk, [lead_id], org=org)
    return session.get_one(TriageProposal, lead_id)


def triage_many(
    session: Session,
    desk: Desk,
    lead_ids: Sequence[int],
    *,
    org: OrgView | None = None,
    registered: Mapping[int, LeadFacts] | None = None,
) -> None:
    """分析研判: for each lead, jurisdiction, the proposed mode and its reasons. Own handling
    is assigned at once; anything else waits for a commission leader's decision. A lead
    already triaged is left as it was (a retry changes nothing).

    ``registered``: leads this transaction has just registered (and not triaged since),
    as registering them wrote them; they are not read back.
    """
    audit.lock_chain(session)
    found: dict[int, Any] = dict(registered or {})
    unread = set(lead_ids) - found.keys()
    done = set(
        session.scalars(select(TriageProposal.lead_id).where(TriageProposal.lead_id.in_(unread)))
        if unread
        else ()
    )
    if unread - done:
        found |= {
            row.id: row
            for row in session.execute(
                select(*_FACTS)
                .join(Entity, Entity.id == Lead.entity_id)
                .where(Lead.id.in_(unread - done))
            )
        }
    org = org or held(session)
    decision_due = desk.calendar.add_working_days(desk.today, desk.policy.deadlines.leader_decision)
    now = utcnow()
    proposals: list[tuple[Any, ...]] = []
    steps: list[Step] = []
    own: list[Order] = []
    triaged: dict[int, _Triaged] = {}
    for lead_id in dict.fromkeys(lead_ids):
        if lead_id in done:
            continue
        if lead_id not in found:
            raise RuleRefused("lead", f"no lead with id {lead_id}")
        lead = found[lead_id]
        proposal = propose(
            org,
            entity=lead.entity,
            rank=lead.subject_rank,
            flags=lead.flags,
            rules=desk.policy.jurisdiction,
        )
        unit = org.units[proposal.jurisdiction_unit]
        mode = str(proposal.mode)  # the value, as a plain str (intake._insert says why)
        due = decision_due if proposal.needs_decision else None
        proposals.append(
            (
                lead_id,
                proposal.level,
                unit.id,
                mode,
                list(proposal.reasons),
                now,
                due.due if due else None,
            )
        )
        steps.append(
            Step(
                lead_id,
                "triage",
                reason="集体排查: " + ("；".join(proposal.reasons) or "依干部管理权限自办"),
                changes={"jurisdiction_unit_id": unit.id},
                data={
                    "level": proposal.level,
                    "jurisdiction_unit": unit.code,
                    "proposed_mode": mode,
                    "reasons": list(proposal.reasons),
                    "needs_decision": proposal.needs_decision,
                    "decision_due": due.as_dict() if due else None,
                },
            )
        )
        if not proposal.needs_decision:
            own.append(Order(lead_id, Mode.own, "依干部管理权限"))
            triaged[lead_id] = _Triaged(*lead, proposal.level, unit.code)
    if not steps:
        return
    insert_rows(session, TriageProposal.__table__, _PROPOSED, proposals)
    assign_many(session, desk, own, org=org, triaged=triaged, moved=steps)


def decide(
    session: Session, desk: Desk, lead_id: int, *, mode: Mode, by: str, reason: str
) -> RecusalShortfall | None:
    """委领导分析研判: the leader's decision on the proposal, then the assignment.

    Returns the shortfall when recusal left too few to assign in that mode: the decision
    and the shortfall are both on the record, and escalated handling is proposed anew.
    """
    proposal = session.get(TriageProposal, lead_id, populate_existing=True)
    if proposal is None:
        raise RuleRefused("decision", f"lead {lead_id} has not been triaged: nothing to decide")
    if proposal.decided_mode is not None:
        if proposal.decided_mode == mode.value:
            return None  # the same decision given twice (a retry): nothing new
        raise RuleRefused(
            "decision",
            f"lead {lead_id} was already decided ({proposal.decided_mode}) by "
            f"{proposal.decided_by}",
        )
    proposal.decided_mode, proposal.decided_by, proposal.decided_at = mode.value, by, utcnow()
    audit.record(
        session,
        audit.EventDraft(
            actor=by,
            action="lead.decide",
            reason=reason,
            lead_id=lead_id,
            data={
                "proposed_mode": proposal.proposed_mode,
                "decided_mode": mode.value,
                "recorded_by": desk.actor,
            },
        ),
    )
    return assign_under_recusal(session, desk, lead_id, mode=mode, authorised_by=by)


@dataclass(frozen=True)
class Order:
    """交办: a lead to assign in a mode, on whose authority."""

    lead_id: int
    mode: Mode
    authorised_by: str


@dataclass(frozen=True)
class _Plan:
    order: Order
    lead: Any  # the lead's row: the columns the notice and the draw need
    units: UnitPlan
    draw: Draw | None


def assign_under_recusal(
    session: Session,
    desk: Desk,
    lead_id: int,
    *,
    mode: Mode,
    authorised_by: str,
    org: OrgView | None = None,
) -> RecusalShortfall | None:
    """Assign one lead (:func:`assign_many` of one); its recusal shortfall, if any."""
    order = Order(lead_id, mode, authorised_by)
    return assign_many(session, desk, [order], org=org).get(lead_id)


def assign_many(
    session: Session,
    desk: Desk,
    orders: Sequence[Order],
    *,
    org: OrgView | None = None,
    triaged: Mapping[int, _Triaged] | None = None,
    moved: Sequence[Step] = (),
) -> dict[int, RecusalShortfall]:
    """交办 under recusal: units (and for joint or cross handling a team), with the notice.

    Every lead is planned before anything is written. Where recusal leaves too few, that
    is recorded and escalated handling proposed instead, while everything before it in
    the transaction (the triage, the decision) stands; those shortfalls are returned.
    ``triaged``: leads this transaction has just triaged, as triage saw them (not read back).
    ``moved``: triage's moves, not yet performed, that go before the assignments. When
    nothing comes between them, they are performed with the assignments' own moves, so a
    lead triaged and assigned is updated once; a shortfall's record must follow its
    lead's triage, so with a shortfall they are performed first.
    """
    if not orders:
        if moved:
            perform_many(session, moved, actor=desk.actor)
        return {}
    audit.lock_chain(session)
    org = org or held(session)
    rows: dict[int, Any] = dict(triaged or {})
    if unread := {o.lead_id for o in orders} - rows.keys():
        rows |= {
            row.id: row
            for row in session.execute(
                select(*_FACTS, TriageProposal.level, Unit.code.label("jurisdiction"))
                .join(Entity, Entity.id == Lead.entity_id)
                .join(TriageProposal, TriageProposal.lead_id == Lead.id)
                .join(Unit, Unit.id == TriageProposal.jurisdiction_unit_id)
                .where(Lead.id.in_(unread))
            )
        }
    plans: list[_Plan] = []
    shortfalls: dict[int, RecusalShortfall] = {}
    for order in orders:
        if order.lead_id not in rows:
            raise RuleRefused("assignment", f"lead {order.lead_id} has not been triaged")
        try:
            plans.append(_plan(org, desk.policy, order, rows[order.lead_id]))
        except RecusalShortfall as shortfall:
            shortfalls[order.lead_id] = shortfall
    if moved and (shortfalls or not plans):
        perform_many(session, moved, actor=desk.actor)
        moved = ()
    for lead_id, shortfall in shortfalls.items():
        recusal_shortfall(session, desk, lead_id, shortfall)
    if plans:
        _assign(session, desk, org, plans, moved)
    return shortfalls


def needed_expertise(policy: Policy, flags: Sequence[str], domain: str) -> list[str]:
    team = policy.team
    needed = list(team.always)
    for flag in flags:
        needed += team.by_flag.get(flag, [])
    needed += team.by_domain.get(domain, [])
    return list(dict.fromkeys(needed))


def _plan(org: OrgView, policy: Policy, order: Order, lead: Any) -> _Plan:
    """Which units and people, under recusal (raises :class:`RecusalShortfall`)."""
    subject = Subject(lead.subject_name, lead.entity, "local_recusal" in lead.flags)
    seed = secrets.randbits(62)  # recorded with the draw, so anyone can redo it
    units = plan_units(
        org,
        subject,
        mode=order.mode,
        level=lead.level,
        jurisdiction_unit=lead.jurisdiction,
        seed=seed,
    )
    draw = None
    if order.mode in (Mode.joint, Mode.cross):
        draw = draw_team(
            org,
            subject,
            needed=needed_expertise(policy, lead.flags, lead.domain),
            size=policy.team.size,
            cross=order.mode == Mode.cross,
            seed=seed,
        )
    return _Plan(order, lead, units, draw)


def _assign(
    session: Session, desk: Desk, org: OrgView, plans: list[_Plan], moved: Sequence[Step]
) -> None:
    """The planned assignments written: units, teams, the moves (after ``moved``) and
    the notices."""
    now = utcnow()
    assignments: list[tuple[Any, ...]] = []
    members: list[tuple[Any, ...]] = []
    steps: list[Step] = list(moved)
    notices: list[documents.Request] = []
    for plan in plans:
        lead_id, mode, draw = plan.order.lead_id, plan.order.mode, plan.draw
        lead_unit = org.units[plan.units.lead_unit]
        roles = [(plan.units.lead_unit, "lead")] + [(u, "co") for u in plan.units.co_units]
        assignments += [(lead_id, org.units[c].id, r, now) for c, r in roles]
        members += [
            (lead_id, org.people[code].id, code == draw.leader, now)
            for code in (draw.team if draw else ())
        ]
        steps.append(
            Step(
                lead_id,
                "assign",
                reason=f"{MODE_TERMS[mode]}，经{plan.order.authorised_by}批准",
                # 提级办理 moves jurisdiction itself up a level; other modes keep it.
                changes={"handling_mode": str(mode), "lead_unit_id": lead_unit.id}
                | ({"jurisdiction_unit_id": lead_unit.id} if mode == Mode.escalated else {}),
                data={
                    "units": plan.units.as_dict(),
                    "draw": draw.as_dict() if draw else None,
                    "authorised_by": plan.order.authorised_by,
                },
            )
        )
        kind = "joint_handling_notice" if draw else "assignment_notice"
        notices.append(
            documents.Request(
                kind=kind,
                key=f"{kind}:lead:{lead_id}",
                content=NoticeContent(
                    addressee=lead_unit.name,
                    paragraphs=_assignment_paragraphs(org, plan),
                    facts=facts_of(plan.lead, plan.lead.entity_name),
                ),
                lead_id=lead_id,
            )
        )
    insert_rows(
        session, Assignment.__table__, ("lead_id", "unit_id", "role", "assigned_at"), assignments
    )
    insert_rows(
        session, TeamMember.__table__, ("lead_id", "person_id", "leader", "drawn_at"), members
    )
    perform_many(session, steps, actor=desk.actor)
    documents.issue_many(
        session,
        notices,
        numbering=desk.policy.numbering,
        actor=desk.actor,
        reason="交办",
        on=desk.today,
    )


def _assignment_paragraphs(org: OrgView, plan: _Plan) -> list[str]:
    mode, draw = plan.order.mode, plan.draw
    paragraphs = [
        f"经研判，现将下列问题线索交由{org.units[plan.units.lead_unit].name}牵头，"
        f"以{MODE_TERMS[mode.value]}方式办理。"
    ]
    if plan.units.co_units:
        co = "、".join(org.units[u].name for u in plan.units.co_units)
        paragraphs.append(f"协办单位：{co}。")
    if draw is not None:
        person = {code: p.name for code, p in org.people.items()}
        paragraphs.append(
            "按照“一事一抽调”原则，从监督人才库抽取工作组成员："
            + "、".join(person[c] for c in draw.team)
            + f"。按照“一事一授权”原则，授权{person[draw.leader]}为本次任务组长，"
            f"授权人：{plan.order.authorised_by}。"
        )
    paragraphs.append("请严格落实回避规定，依规依纪依法办理，并按时报告办理情况。")
    return paragraphs


def recusal_shortfall(
    session: Session, desk: Desk, lead_id: int, problem: RecusalShortfall
) -> None:
    """Recusal left too few: say so and escalate to a leader — never relax the rule."""
    proposal = session.get(TriageProposal, lead_id, populate_existing=True)
    proposal.proposed_mode = Mode.escalated.value
    proposal.decided_mode = proposal.decided_by = proposal.decided_at = None
    proposal.reasons = [*proposal.reasons, f"回避后力量不足：{problem}"]
    audit.record(
        session,
        audit.EventDraft(
            actor=desk.actor,
            action="lead.recusal_shortfall",
            reason=str(problem),
            lead_id=lead_id,
            data={"now_proposed": Mode.escalated.value},
        ),
    )


# --- disposal and outcome --------------------------------------------------------------


def dispose(session: Session, desk: Desk, lead_id: int, *, method: str, reason: str) -> Disposal:
    """处置: one of the four methods, with its clock."""
    if method not in DISPOSAL_METHODS:
        raise RuleRefused("disposal", f"unknown method '{method}' ({', '.join(DISPOSAL_METHODS)})")
    lead = _lead(session, lead_id)
    existing = session.get(Disposal, lead_id)
    if existing is not None and lead.state != State.on_hold:
        raise RuleRefused("disposal", f"lead {lead_id} was already disposed ({existing.method})")
    deadlines = desk.policy.deadlines
    late = (
        desk.today
        > (lead.received_at + timedelta(days=deadlines.disposal_proposal_calendar_days)).date()
    )
    due: Deadline | None = None
    if method == "talk_letter":
        due = desk.calendar.add_working_days(desk.today, deadlines.letter_inquiry_reply)
    if existing is None:
        existing = Disposal(
            lead_id=lead_id,
            method=method,
            decided_at=utcnow(),
            decided_by=desk.actor,
            due_on=due.due if due else None,
        )
        session.add(existing)
    else:
        existing.method, existing.decided_at = method, utcnow()
        existing.due_on = due.due if due else None
    move = {"hold": "hold"}.get(
        method, "dispose_held" if lead.state == State.on_hold else "dispose"
    )
    perform(
        session,
        lead_id=lead_id,
        move=move,
        actor=desk.actor,
        reason=f"{DISPOSAL_METHODS[method]}：{reason}",
        data={
            "method": method,
            "reply_due": due.as_dict() if due else None,
            "later_than_a_month_after_receipt": late,
        },
    )
    if method == "close":
        perform(
            session,
            lead_id=lead_id,
            move="close_disposed",
            actor=desk.actor,
            reason=f"予以了结：{reason}",
        )
    return existing


def record_outcome(
    session: Session,
    desk: Desk,
    lead_id: int,
    *,
    kind: str,
    reason: str,
    form: int | None = None,
    educated: int = 0,
    accountable: int = 0,
    party_sanctions: int = 0,
    government_sanctions: int = 0,
) -> Outcome:
    """The outcome of DOMAIN.md §2.5 and the people handled, counted on the boards."""
    if kind not in OUTCOMES:
        raise RuleRefused("outcome", f"unknown outcome '{kind}' ({', '.join(OUTCOMES)})")
    if form is not None and not 1 <= form <= 4:
        raise RuleRefused("outcome", "the forms of handling (四种形态) are 1 to 4")
    lead = _lead(session, lead_id)
    if lead.state != State.disposed:
        raise RuleRefused(
            "outcome", f"an outcome follows disposal; lead {lead_id} is '{lead.state}'"
        )
    if session.get(Outcome, lead_id) is not None:
        raise RuleRefused("outcome", f"lead {lead_id} already has its outcome")
    outcome = Outcome(
        lead_id=lead_id,
        kind=kind,
        form=form or (1 if kind == "first_form" else None),
        persons_educated=educated,
        persons_accountable=accountable,
        party_sanctions=party_sanctions,
        government_sanctions=government_sanctions,
        decided_at=utcnow(),
    )
    session.add(outcome)
    data: dict[str, Any] = {
        "kind": kind,
        "form": outcome.form,
        "persons_educated": educated,
        "persons_accountable": accountable,
        "party_sanctions": party_sanctions,
        "government_sanctions": government_sanctions,
    }
    if kind == "false_accusation":
        data |= {"subject_name_cleared": True, "reporter_criticised": True}
    audit.record(
        session,
        audit.EventDraft(
            actor=desk.actor,
            action="lead.outcome",
            reason=f"{OUTCOMES[kind]}：{reason}",
            lead_id=lead_id,
            data=data,
        ),
    )
    return outcome


def close(session: Session, desk: Desk, lead_id: int, *, reason: str) -> None:
    """办结 of a lead that needs no rectification (from triage: 予以了结)."""
    lead = _lead(session, lead_id)
    move = "close_at_triage" if lead.state == State.triaged else "close_disposed"
    if move == "close_disposed" and session.get(Outcome, lead_id) is None:
        raise RuleRefused("closure", "a disposed lead is closed with its outcome recorded first")
    perform(session, lead_id=lead_id, move=move, actor=desk.actor, reason=reason)


# --- rectification ---------------------------------------------------------------------


def order_rectification(
    session: Session, desk: Desk, lead_id: int, *, reason: str, days: int | None = None
) -> Rectification:
    """限期整改: a notice to the entity with a deadline in working days."""
    lead = _lead(session, lead_id)
    if session.get(Outcome, lead_id) is None:
        raise RuleRefused("rectification", "record the outcome before ordering rectification")
    deadline = desk.calendar.add_working_days(
        desk.today, days or desk.policy.deadlines.rectification
    )
    rectification = Rectification(
        lead_id=lead_id,
        entity_id=lead.entity_id,
        deadline=deadline.due,
        deadline_provisional=deadline.provisional,
    )
    session.add(rectification)
    session.flush()
    perform(
        session,
        lead_id=lead_id,
        move="order_rectification",
        actor=desk.actor,
        reason=reason,
        data={"deadline": deadline.as_dict(), "rectification": rectification.id},
    )
    entity = session.get(Entity, lead.entity_id)
    issued = _issue(
        session,
        desk,
        kind="rectification_notice",
        key=f"rectification_notice:lead:{lead_id}",
        lead=lead,
        content=NoticeContent(
            addressee=entity.name,
            paragraphs=[
                f"经核查，你单位存在下列问题：{lead.summary[:300]}",
                f"请于{documents.chinese_date(deadline.due)}前（{deadline.working_days}个工作日）"
                "完成整改，并书面报告整改情况。逾期未整改的，将依规督办、问责。",
            ],
            facts=_facts(session, lead),
            provisional=deadline.provisional,
        ),
        reason="限期整改",
    )
    rectification.notice_document_id = issued.document.id
    return rectification


def _open_rectification(session: Session, lead_id: int) -> Rectification:
    found = session.scalars(
        select(Rectification).where(
            Rectification.lead_id == lead_id, Rectification.struck_off_at.is_(None)
        )
    ).first()
    if found is None:
        raise RuleRefused("rectification", f"lead {lead_id} has no open rectification")
    return found


def report_rectification(session: Session, desk: Desk, lead_id: int, *, reason: str) -> None:
    """The entity reports its rectification; a follow-up check must verify it."""
    rectification = _open_rectification(session, lead_id)
    rectification.reported_at = utcnow()
    audit.record(
        session,
        audit.EventDraft(
            actor=desk.actor,
            action="rectification.report",
            reason=reason,
            lead_id=lead_id,
            data={"rectification": rectification.id},
        ),
    )


def follow_up(session: Session, desk: Desk, lead_id: int, *, passed: bool, reason: str) -> None:
    """回头看: verification; only a verified rectification is struck off (销号) and closed."""
    lead = _lead(session, lead_id)
    rectification = _open_rectification(session, lead_id)
    if rectification.reported_at is None:
        raise RuleRefused("rectification", "the entity has not reported its rectification yet")
    audit.record(
        session,
        audit.EventDraft(
            actor=desk.actor,
            action="rectification.follow_up",
            reason=reason,
            lead_id=lead_id,
            data={"rectification": rectification.id, "passed": passed},
        ),
    )
    if not passed:
        rectification.follow_up_failures += 1
        rectification.reported_at = None
        return
    now = utcnow()
    rectification.verified_at = rectification.struck_off_at = now
    move = "strike_off" if lead.state == State.rectifying else "close_escalated"
    perform(session, lead_id=lead_id, move=move, actor=desk.actor, reason=f"销号：{reason}")


# --- the daily sweep: the overdue ladder -----------------------------------------------

LADDER_KINDS = {
    "reminder": "reminder_notice",
    "urging": "urging_notice",
    "supervision": "supervision_notice",
    "accountability": "accountability_proposal",
}
LADDER_TEXT = {
    "reminder": "整改期限将至，请抓紧落实整改并按时报告。",
    "urging": "整改期限已过，你单位尚未报告整改情况。请立即整改并报告。",
    "supervision": "整改逾期未完成，现由党风政风监督室挂牌督办，请限期整改到位。",
    "accountability": (
        "整改严重逾期，督办后仍未整改到位。建议对责任单位及有关责任人员启动问责程序。"
    ),
}


@dataclass(frozen=True)
class SweepStep:
    lead_id: int
    step: str
    number: str | None


def sweep_rectification(session: Session, desk: Desk, rectification_id: int) -> list[SweepStep]:
    """Take every ladder step now due for one rectification, each at most once, ever."""
    audit.lock_chain(session)
    rectification = session.get(Rectification, rectification_id, populate_existing=True)
    if rectification.struck_off_at is not None or rectification.reported_at is not None:
        return []
    offset = desk.calendar.working_days_between(rectification.deadline, desk.today)
    taken = set(
        session.scalars(
            select(LadderStep.step).where(LadderStep.rectification_id == rectification_id)
        )
    )
    lead = _lead(session, rectification.lead_id)
    entity = session.get(Entity, lead.entity_id)
    out = []
    for rung in desk.policy.overdue_ladder:
        if rung.offset > offset or rung.step in taken:
            continue
        kind = LADDER_KINDS[rung.step]
        if rung.step == "supervision" and lead.state == State.rectifying:
            perform(
                session,
                lead_id=lead.id,
                move="escalate",
                actor=desk.actor,
                reason="整改逾期，党风政风监督室督办",
                data={
                    "deadline": rectification.deadline.isoformat(),
                    "overdue_working_days": offset,
                },
            )
        addressee = entity.name
        if rung.step == "accountability":  # 问责 is proposed to the coordinating office
            addressee = (
                session.scalars(
                    select(Unit.name)
                    .where(Unit.kind == UnitKind.coordinating_office.value)
                    .order_by(Unit.code)
                ).first()
                or desk.policy.numbering.issuer_name
            )
        issued = _issue(
            session,
            desk,
            kind=kind,
            key=f"{kind}:rectification:{rectification_id}",
            lead=lead,
            content=NoticeContent(
                addressee=addressee,
                paragraphs=[
                    LADDER_TEXT[rung.step],
                    f"整改期限：{documents.chinese_date(rectification.deadline)}。",
                ],
                facts=_facts(session, lead),
                provisional=rectification.deadline_provisional,
            ),
            reason=f"逾期阶梯：{rung.step}",
        )
        session.add(
            LadderStep(
                rectification_id=rectification_id,
                step=rung.step,
                taken_on=desk.today,
                document_id=issued.document.id,
            )
        )
        out.append(SweepStep(lead.id, rung.step, issued.document.number))
    return out


def sweep_decision(session: Session, desk: Desk, lead_id: int) -> SweepStep | None:
    """A proposal left unanswered past its working days goes up to the commission's leaders."""
    audit.lock_chain(session)
    proposal = session.get(TriageProposal, lead_id, populate_existing=True)
    if (
        proposal.decided_mode is not None
        or proposal.overdue_escalated_at is not None
        or proposal.decision_due is None
        or proposal.decision_due >= desk.today
    ):
        return None
    proposal.overdue_escalated_at = utcnow()
    lead = _lead(session, lead_id)
    issued = _issue(
        session,
        desk,
        kind="decision_overdue_notice",
        key=f"decision_overdue_notice:lead:{lead_id}",
        lead=lead,
        content=NoticeContent(
            addressee="委领导",
            paragraphs=[
                f"下列问题线索已提请研判（建议{MODE_TERMS[proposal.proposed_mode]}），"
                f"至{documents.chinese_date(proposal.decision_due)}尚未批示，请尽快研判决定。",
                "提请理由：" + "；".join(proposal.reasons),
            ],
            facts=_facts(session, lead),
        ),
        reason="研判逾期",
    )
    return SweepStep(lead_id, "decision_overdue", issued.document.number)


def due_for_sweep(session: Session) -> tuple[list[int], list[int]]:
    """Open rectifications and undecided proposals: what the daily sweep looks at."""
    rectifications = list(
        session.scalars(
            select(Rectification.id).where(
                Rectification.struck_off_at.is_(None), Rectification.reported_at.is_(None)
            )
        )
    )
    proposals = list(
        session.scalars(
            select(TriageProposal.lead_id).where(
                TriageProposal.decided_mode.is_(None),
                TriageProposal.overdue_escalated_at.is_(None),
                TriageProposal.decision_due.is_not(None),
            )
        )
    )
    return rectifications, proposals


def local_today(now: datetime | None = None) -> date:
    """Today in Asia/Shanghai: deadlines are counted on the commission's calendar."""
    return (now or utcnow()).astimezone(ZoneInfo("Asia/Shanghai")).date()
