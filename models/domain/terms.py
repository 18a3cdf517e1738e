"""The Chinese words notices and audit reasons use for the domain's codes (docs/rules.md
§2): a disposal method, an outcome, a handling mode, a lead's source, channel and state,
an audited act, and a small count written out. Codes stay English in the data; these
tables are the one place each is put into Chinese, so a notice, the trail that records it
and the audit record a reviewer reads use the same term.
"""

from __future__ import annotations

from models.domain.lifecycle import MOVES_BY_NAME

DISPOSAL_METHODS = {
    "talk_letter": "谈话函询",
    "preliminary_verification": "初步核实",
    "hold": "暂存待查",
    "close": "予以了结",
}
OUTCOMES = {
    "case_filed": "立案审查调查",
    "first_form": "第一种形态处理",
    "risk_point": "未发现问题，列为风险点、督促健全制度",
    "untrue_report": "查无实据，予以了结",
    "false_accusation": "诬告陷害，澄清正名",
}
# The outcomes that find no problem: nothing to rectify, and the subject may be cleared.
CLEARING_OUTCOMES = ("untrue_report", "false_accusation")
MODE_TERMS = {
    "own": "自办",
    "joint": "室组地联动办理",
    "escalated": "提级办理",
    "cross": "交叉办理",
}
# Where a lead came from (来源) and how it reached the commission (渠道).
SOURCES = {
    "public_report": "信访举报",
    "resident_group": "派驻机构日常监督",
    "unit_group_inspection": "单元组监督检查",
    "inspection_tour": "巡视巡察",
    "audit_transfer": "审计移送",
    "big_data": "大数据筛查",
    "higher_assignment": "上级交办",
}
CHANNELS = {
    "letter": "来信",
    "visit": "来访",
    "phone": "来电",
    "online": "网络举报",
    "internal": "内部移送",
}
# The lead's states (docs/rules.md §2), as the lifecycle's diagram names them.
STATES = {
    "received": "受理",
    "triaged": "分析研判",
    "in_handling": "办理中",
    "on_hold": "暂存待查",
    "disposed": "已处置",
    "rectifying": "整改中",
    "escalated": "督办",
    "closed": "办结",
}
# The subject's cadre level (干部管理权限) and the level of the unit with jurisdiction.
RANKS = {
    "prefecture": "厅局级",
    "county": "县处级",
    "section": "乡科级",
    "general": "一般干部",
    "village": "村（社区）干部",
}
LEVELS = {"province": "省级", "city": "市级", "county": "县级"}
# The fields a lead's allegation falls in, and the expertise a task team is drawn for.
DOMAINS = {
    "land": "土地",
    "market_supervision": "市场监管",
    "social_security": "社会保障",
    "education_health": "教育医疗",
    "ecology": "生态环保",
    "service_conduct": "服务作风",
    "four_winds": "“四风”问题",
    "poverty_alleviation": "乡村振兴",
}
EXPERTISE = {
    "discipline": "执纪审查",
    "audit": "审计",
    "finance": "财务",
    "land": "国土",
    "law": "法律",
    "engineering": "工程建设",
    "development_reform": "发展改革",
}
# The acts the audit trail records, as a reviewer reads them; a lead's moves are named by
# the lifecycle's own terms (:func:`action_term`).
ACTIONS = {
    "lead.receive": "受理",
    "lead.decide": "委领导决定",
    "lead.outcome": "处理结果",
    "lead.finding": "核查结论",
    "lead.amend": "修改线索信息",
    "lead.recusal_shortfall": "回避后力量不足",
    "lead.resume_refused": "拒绝恢复流程",
    "document.allocate": "文书编号",
    "document.issue": "文书印发",
    "document.void": "文书作废",
    "document.hold": "文书暂缓印发",
    "rectification.report": "整改报告",
    "rectification.follow_up": "回头看",
    "reporter.read": "查阅举报人信息",
    "reporter.request": "申请查阅举报人信息",
    "reporter.grant": "批准查阅举报人信息",
    "reporter.refuse": "不予批准查阅举报人信息",
    "audit.export": "导出审计记录",
    "ledger.export": "导出台账",
    "people.sign_in": "签入工作台",
    "people.sign_out": "签出工作台",
    "access.refused": "越权操作被拒绝",
    # The acts outside a lead's handling, named for the review of the whole trail.
    "lead.apply": "协作申请",
    "audit.verify": "核验审计链",
    "escalation.monthly": "月度多色榜通报",
    "escalation.quarterly": "季度约谈与报告",
    "escalation.zero_report": "零报告提示",
    "escalation.monthly.data_changed": "月度数据变动",
    "escalation.quarterly.data_changed": "季度数据变动",
    "interview.held": "记录约谈情况",
    "returns.import": "导入月度报表",
    "policy.install": "载入政策",
    "org.load": "载入组织架构",
    "people.add": "添加人员",
    "people.token": "发放令牌",
    "people.revoke": "停用人员",
}


DIGITS = "零一二三四五六七八九"


def numeral(count: int) -> str:
    """A count in Chinese numerals as notices write them (3 → 三, 12 → 十二, 20 → 二十);
    Arabic figures from 100 on."""
    if not 0 <= count < 100:
        return str(count)
    tens, units = divmod(count, 10)
    if tens == 0:
        return DIGITS[units]
    return f"{DIGITS[tens] if tens > 1 else ''}十{DIGITS[units] if units else ''}"


def action_term(action: str) -> str:
    """The Chinese name of an audited act: ``lead.assign`` → 交办; an act without one
    keeps its code, so nothing recorded is hidden."""
    if action in ACTIONS:
        return ACTIONS[action]
    kind, _, name = action.partition(".")
    move = MOVES_BY_NAME.get(name) if kind == "lead" else None
    return move.term if move else action


def receipt_reason(source: str, channel: str) -> str:
    """Why a lead was registered, in the words of its source and channel: 受理：信访举报（来信）."""
    return f"受理：{SOURCES.get(source, source)}（{CHANNELS.get(channel, channel)}）"
