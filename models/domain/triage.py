"""Triage (分析研判, docs/rules.md §2.2): jurisdiction by cadre level, the lead unit, and the
handling mode proposed to a commission leader, with its reasons.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from models.domain.orgview import EntityView, OrgView
from models.domain.policy import Jurisdiction
from models.domain.units import UnitKind


class Mode(StrEnum):
    own = "own"  # 自办
    joint = "joint"  # 协作办理 / 室组地联动
    escalated = "escalated"  # 提级办理
    cross = "cross"  # 交叉办理


# The grounds that call for joint, escalated or cross handling, as Tianjin's 河北区 lists
# them for its 协作申请 (docs/rules.md §2.2).
REASONS = {
    "mass_interest": "严重损害群众利益",
    "complex": "案情复杂",
    "large_amount": "涉案金额较大",
    "long_span": "时间跨度较长",
    "local_recusal": "需要本地干部回避",
    "public_reaction": "群众反映强烈、社会影响较大",
}


@dataclass(frozen=True)
class Proposal:
    level: str  # province | city | county: who has jurisdiction over the subject
    jurisdiction_unit: str
    mode: Mode
    reasons: tuple[str, ...]

    @property
    def needs_decision(self) -> bool:
        """Anything but own handling goes to a commission leader (委领导分析研判)."""
        return self.mode != Mode.own


def liaison_office(org: OrgView, unit: str) -> str:
    """The inspection office that liaises with ``unit`` (归口联系): its office, or its group's."""
    view = org.units[unit]
    if view.office:
        return view.office
    for member in org.group_of(unit):
        if org.units[member].kind == UnitKind.inspection_office:
            return member
    return coordinating_office(org)


def coordinating_office(org: OrgView) -> str:
    offices = org.of_kind(UnitKind.coordinating_office)
    if not offices:
        raise LookupError("the organisation has no coordinating office (党风政风监督室)")
    return offices[0].code


def jurisdiction_unit(org: OrgView, entity: EntityView, level: str) -> str:
    if level == "county":
        # A county commission for its territory; a city department's resident group for it.
        return entity.county or entity.supervised_by
    if level == "city":
        if entity.county is None:
            return entity.supervised_by  # the resident group stationed in the department
        return liaison_office(org, entity.county)
    return coordinating_office(org)  # province: the coordinating office refers it up


def propose(
    org: OrgView, *, entity: str, rank: str, flags: list[str], rules: Jurisdiction
) -> Proposal:
    view = org.entities[entity]
    level = rules.level(rank)
    unit = jurisdiction_unit(org, view, level)
    reasons = tuple(REASONS[f] for f in flags if f in REASONS)
    if level == "province":
        return Proposal(level, unit, Mode.escalated, ("被反映人属上级管理干部", *reasons))
    if not reasons:
        return Proposal(level, unit, Mode.own, ())
    if "local_recusal" in flags:
        mode = Mode.cross
    elif level == "county" and {"mass_interest", "public_reaction"} & set(flags):
        mode = Mode.escalated
    else:
        mode = Mode.joint
    return Proposal(level, unit, mode, reasons)
