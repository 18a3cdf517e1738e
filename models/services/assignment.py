"""Assignment (交办, docs/rules.md §2.2–2.3): a triaged lead given to its units in the
decided handling mode, under recusal — the lead unit and co-units, and for joint or cross
handling a team drawn from the talent pool with its leader — with the assignment notice.
A batch is planned first and written together: its rows, its moves through the one door,
its notices numbered in one allocation; where recusal leaves too few, the lead is sent
back up for escalated handling instead.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from models import audit, documents
from models.documents import NoticeContent
from models.domain.errors import RuleRefused
from models.domain.lifecycle import State
from models.domain.orgview import OrgView
from models.domain.policy import Policy
from models.domain.recusal import Draw, RecusalShortfall, Subject, UnitPlan, draw_team, plan_units
from models.domain.terms import MODE_TERMS
from models.domain.triage import Mode
from models.services.desk import Desk, facts_of
from models.services.door import Step, perform_many
from models.store.base import utcnow
from models.store.database import insert_rows
from models.store.lead import (
    Assignment,
    Lead,
    TeamMember,
    TriageProposal,
)
from models.store.organisation import Entity, Unit
from models.store.orgview import held

# What triage and assignment read of a lead: the columns of :class:`LeadFacts`.
FACT_COLUMNS = (
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


class Triaged(NamedTuple):
    """A lead as assignment reads it: its facts, then where triage placed it. The facts are
    :class:`LeadFacts`' fields in the same order, since a row of ``FACT_COLUMNS`` (or a
    ``LeadFacts``) followed by the level and jurisdiction is made into one by position."""

    id: int
    external_id: str
    subject_name: str
    subject_post: str
    subject_rank: str
    summary: str
    flags: list[str]
    domain: str
    entity: str
    entity_name: str
    level: str
    jurisdiction: str


@dataclass(frozen=True)
class Order:
    """交办: a lead to assign in a mode, on whose authority."""

    lead_id: int
    mode: Mode
    authorised_by: str
    # A lead already in handling, handed anew once a 协作申请 is granted.
    again: bool = False


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
    again = session.get_one(Lead, lead_id).state == State.in_handling
    order = Order(lead_id, mode, authorised_by, again)
    return assign_many(session, desk, [order], org=org).get(lead_id)


def assign_many(
    session: Session,
    desk: Desk,
    orders: Sequence[Order],
    *,
    org: OrgView | None = None,
    triaged: Mapping[int, Triaged] | None = None,
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
                select(*FACT_COLUMNS, TriageProposal.level, Unit.code.label("jurisdiction"))
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
    for lead_id, problem in shortfalls.items():
        recusal_shortfall(session, desk, lead_id, problem)
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
            units=(units.lead_unit, *units.co_units) if order.mode == Mode.joint else (),
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
    _forget_earlier_units(session, [p.order.lead_id for p in plans if p.order.again])
    for plan in plans:
        lead_id, draw = plan.order.lead_id, plan.draw
        roles = [(plan.units.lead_unit, "lead")] + [(u, "co") for u in plan.units.co_units]
        assignments += [(lead_id, org.units[c].id, r, now) for c, r in roles]
        if draw is not None:
            members += [
                (lead_id, org.people[code].id, code == draw.leader, now) for code in draw.team
            ]
        steps.append(_assign_step(org, plan))
        notices.append(_assignment_notice(org, plan, desk.policy))
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
        numbering=desk.numbering,
        actor=desk.actor,
        reason="交办",
        on=desk.today,
    )


def _forget_earlier_units(session: Session, lead_ids: list[int]) -> None:
    """A lead handed anew drops the units and team it had (its trail keeps them)."""
    if lead_ids:
        session.execute(delete(Assignment).where(Assignment.lead_id.in_(lead_ids)))
        session.execute(delete(TeamMember).where(TeamMember.lead_id.in_(lead_ids)))


def _assign_step(org: OrgView, plan: _Plan) -> Step:
    """The lead's move into handling (``assign``), with its units and draw on the record."""
    mode, draw = plan.order.mode, plan.draw
    lead_unit = org.units[plan.units.lead_unit]
    referred = plan.units.referred
    move = "close_at_triage" if referred else "reassign" if plan.order.again else "assign"
    return Step(
        plan.order.lead_id,
        move,
        reason=(
            f"{MODE_TERMS[mode]}（{plan.order.authorised_by}）"  # own handling: no one approves
            if plan.order.authorised_by == "依干部管理权限"
            else f"{MODE_TERMS[mode]}，经{plan.order.authorised_by}批准"
        )
        + ("，报送上级纪委监委" if referred else ""),
        # 提级办理 moves jurisdiction itself up a level; other modes keep it.
        changes={"handling_mode": str(mode), "lead_unit_id": lead_unit.id}
        | ({"jurisdiction_unit_id": lead_unit.id} if mode == Mode.escalated else {}),
        data={
            "units": plan.units.as_dict(),
            "draw": draw.as_dict() if draw else None,
            "authorised_by": plan.order.authorised_by,
        },
    )


def _assignment_notice(org: OrgView, plan: _Plan, policy: Policy) -> documents.Request:
    """交办通知书 to the lead unit; a joint handling notice when a team was drawn."""
    if plan.units.referred:
        return _referral_letter(org, plan, policy)
    kind = "joint_handling_notice" if plan.draw else "assignment_notice"
    again = f":{plan.order.mode}" if plan.order.again else ""  # a second notice, keyed apart
    return documents.Request(
        kind=kind,
        key=f"{kind}:lead:{plan.order.lead_id}{again}",
        title=NOTICE_TITLES[plan.order.mode],
        content=NoticeContent(
            addressee=org.units[plan.units.lead_unit].name,
            paragraphs=_assignment_paragraphs(org, plan),
            facts=facts_of(plan.lead, plan.lead.entity_name),
        ),
        lead_id=plan.order.lead_id,
    )


def _referral_letter(org: OrgView, plan: _Plan, policy: Policy) -> documents.Request:
    """报送函: a lead beyond the commission, referred up by its coordinating office."""
    office = org.units[plan.units.lead_unit].name
    return documents.Request(
        kind="referral_letter",
        key=f"referral_letter:lead:{plan.order.lead_id}",
        content=NoticeContent(
            addressee=policy.notices.higher_commission,
            paragraphs=[
                "经研判，下列问题线索需提级办理，超出本级管辖范围，"
                f"经{plan.order.authorised_by}批准，现予报送，请审处。",
                f"本级联系单位：{office}。",
            ],
            facts=facts_of(plan.lead, plan.lead.entity_name),
        ),
        lead_id=plan.order.lead_id,
    )


# Each mode's notice is titled as it is handled.
NOTICE_TITLES = {
    Mode.own: "问题线索交办通知书",
    Mode.joint: "联合办理通知书",
    Mode.escalated: "提级办理通知书",
    Mode.cross: "交叉办理通知书",
}


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
    proposal = session.get_one(TriageProposal, lead_id, populate_existing=True)
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
