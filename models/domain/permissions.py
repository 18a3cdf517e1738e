"""The permission table (docs/permissions.md): which role may perform which act, on which
leads. It is data: the services check every act against it before any rule or write,
for the command line, the flows and the API alike, and docs/permissions.md is this
table written out (a test holds them together).

An act about a lead is allowed to a unit's role (承办人, 单位负责人) only for the leads of
that unit — the unit that leads or shares its handling, or that has jurisdiction.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum

from models.domain.people import Person, Role

OFF, HEAD, LDR, CM, CUS, AUD, ADM = (
    Role.officer,
    Role.unit_head,
    Role.leader,
    Role.case_manager,
    Role.custodian,
    Role.auditor,
    Role.admin,
)


@dataclass(frozen=True)
class Act:
    name: str
    chinese: str
    roles: frozenset[Role]
    about_a_lead: bool
    where: tuple[str, ...]  # the commands and routes that perform it


def _act(name: str, chinese: str, roles: set[Role], lead: bool, *where: str) -> Act:
    return Act(name, chinese, frozenset(roles), lead, where)


ACTS: dict[str, Act] = {
    a.name: a
    for a in (
        _act(
            "lead.read",
            "查看线索及其审计记录",
            {OFF, HEAD, LDR, CM, AUD},
            True,
            "leadflow audit show",
            "GET /api/v1/leads",
            "GET /api/v1/leads/{id}",
            "GET /api/v1/leads/{id}/audit",
            "GET /leads",
            "GET /leads/{id}",
            "GET /leads/{id}/documents/{number}",
        ),
        _act(
            "ledger.export",
            "导出台账",
            {OFF, HEAD, LDR, CM, AUD},
            False,
            "GET /leads/export.xlsx",
            "GET /leads/export.csv",
        ),
        _act(
            "lead.register",
            "登记线索",
            {CM},
            False,
            "leadflow lead submit",
            "leadflow lead post",
            "leadflow lead import",
            "POST /api/v1/leads",
        ),
        _act(
            "lead.decide",
            "决定办理方式并授权（一事一授权）",
            {LDR},
            True,
            "leadflow lead decide",
            "GET /desk",
            "POST /desk/{id}/decide",
        ),
        _act(
            "lead.dispose",
            "处置",
            {OFF, HEAD},
            True,
            "leadflow lead dispose",
            "POST /leads/{id}/dispose",
        ),
        _act(
            "lead.apply", "协作申请", {HEAD}, True, "leadflow lead apply", "POST /leads/{id}/apply"
        ),
        _act(
            "lead.outcome",
            "记录处置结果及核查结论",
            {OFF, HEAD},
            True,
            "leadflow lead outcome",
            "leadflow lead finding",
            "POST /leads/{id}/outcome",
        ),
        _act(
            "lead.rectify",
            "限期整改",
            {OFF, HEAD},
            True,
            "leadflow lead rectify",
            "POST /leads/{id}/rectify",
        ),
        _act(
            "lead.report",
            "记录整改报告",
            {OFF, HEAD},
            True,
            "leadflow lead report",
            "POST /leads/{id}/report",
        ),
        _act(
            "lead.follow_up",
            "回头看",
            {OFF, HEAD},
            True,
            "leadflow lead follow-up",
            "POST /leads/{id}/follow-up",
        ),
        _act(
            "lead.close", "办结", {OFF, HEAD}, True, "leadflow lead close", "POST /leads/{id}/close"
        ),
        _act(
            "lead.amend",
            "修改线索文字（去除举报人身份信息）",
            {OFF, HEAD, CM},
            True,
            "leadflow lead amend",
            "POST /api/v1/leads/{id}/amend",
        ),
        _act(
            "lead.close_at_triage",
            "予以了结（待领导研判的线索）",
            {LDR},
            True,
            "leadflow lead close (a lead awaiting the decision)",
            "POST /desk/{id}/close",
        ),
        _act(
            "reporter.read",
            "查阅举报人身份",
            {CUS},
            True,
            "leadflow lead reporter",
            "POST /api/v1/leads/{id}/reporter",
            "POST /leads/{id}/reporter",
            "POST /reporter/read",
        ),
        _act(
            "reporter.request",
            "申请查阅举报人身份",
            {OFF, HEAD},
            True,
            "leadflow reporter request",
            "POST /leads/{id}/reporter-request",
        ),
        _act(
            "reporter.grant",
            "批准或拒绝查阅举报人身份的申请",
            {CUS},
            False,
            "leadflow reporter grant",
            "leadflow reporter refuse",
            "GET /reporter",
            "POST /reporter/requests/{number}/grant",
            "POST /reporter/requests/{number}/refuse",
        ),
        _act(
            "audit.export",
            "导出审计记录",
            {LDR, CM, AUD},
            True,
            "leadflow audit export",
            "GET /leads/{id}/record.pdf",
        ),
        _act(
            "audit.verify",
            "核验审计链",
            {CM, AUD},
            False,
            "leadflow audit verify",
            "GET /audit",
            "POST /audit/verify",
        ),
        _act("audit.search", "检索审计事件", {CM, AUD}, False, "GET /audit/events"),
        _act("audit.anchor", "签名锚定审计链", {CM, AUD}, False, "leadflow audit anchor"),
        _act("documents.render", "生成待出文书", {CM}, False, "leadflow docs render"),
        _act("documents.verify", "核验文书", {CM, AUD}, False, "leadflow docs verify"),
        _act("returns.import", "导入月度报表", {CM}, False, "leadflow stats import"),
        _act(
            "board.read",
            "查看多色榜",
            {LDR, CM, AUD},
            False,
            "leadflow board show",
            "GET /boards",
            "GET /boards/bulletin.pdf",
        ),
        _act(
            "escalation.run",
            "月度、季度通报与预警",
            {CM},
            False,
            "leadflow escalate monthly",
            "leadflow escalate quarterly",
        ),
        _act("sweep.run", "期限巡查", {CM}, False, "leadflow sweep"),
        _act("interview.record", "记录约谈情况", {LDR, CM}, False, "leadflow interview record"),
        _act("intake.reconcile", "补交未完成的受理", {CM, ADM}, False, "leadflow reconcile"),
        _act("org.load", "载入组织架构", {ADM}, False, "leadflow org load"),
        _act("policy.install", "更新数据库结构、载入政策", {ADM}, False, "leadflow init"),
        _act(
            "people.manage",
            "管理人员、角色和令牌",
            {ADM},
            False,
            "leadflow user add",
            "leadflow user token",
            "leadflow user revoke",
        ),
    )
}


class Answer(StrEnum):
    allowed = "allowed"
    not_permitted = "not_permitted"  # exit 3, HTTP 403
    out_of_scope = "out_of_scope"  # answered as an unknown lead: exit 2, HTTP 404


def may(person: Person, act: Act) -> bool:
    """Whether ``person`` holds a role that may perform ``act`` at all: a refusal here
    is the same whatever lead is named, so it is answered before the lead is looked up."""
    return person.every_role or any(g.role in act.roles for g in person.grants)


def judge(person: Person, act: Act, lead_units: Collection[str] = ()) -> Answer:
    """Whether ``person`` may perform ``act`` (on a lead of ``lead_units``)."""
    if not may(person, act):
        return Answer.not_permitted
    if person.every_role or not act.about_a_lead:
        return Answer.allowed
    in_scope = any(
        g.role in act.roles and (not g.role.of_a_unit or g.unit in lead_units)
        for g in person.grants
    )
    return Answer.allowed if in_scope else Answer.out_of_scope


def readable_units(person: Person) -> frozenset[str] | None:
    """The units whose leads ``person`` may read; None: every lead."""
    reads = ACTS["lead.read"].roles
    if person.every_role or any(g.role in reads and not g.role.of_a_unit for g in person.grants):
        return None
    return frozenset(g.unit for g in person.grants if g.role in reads and g.unit)
