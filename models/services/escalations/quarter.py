"""The quarterly run (docs/rules.md §3, §8), for a quarter just ended: the quarter boards,
an interview notice (约谈通知书) to each unit in last place, each unit group's quarterly
report to the coordinating office, and the office's consolidated report to the
commission's leaders. The bodies the documents name are the organisation's units and the
policy's wording of the commission and its leaders.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.documents import NoticeContent, Table
from models.documents.bulletin import period_label
from models.domain.board import Board
from models.domain.escalation import quarterly_decisions
from models.services.boards import load_all
from models.services.desk import Desk, issue_notice
from models.services.escalations.run import (
    RunReport,
    last_place_notice,
    office_addressee,
    opened,
    record,
    rerun,
    units_by_code,
)
from models.store.organisation import Unit, UnitGroup

QUARTERLY_KINDS = ("interview_notice", "quarterly_report", "consolidated_report")


def quarterly(session: Session, desk: Desk, period: str) -> RunReport:
    """The quarterly run of ``period``; a second run issues nothing and lists the first's."""
    previous = opened(session, desk, "quarterly", period)
    quarter = load_all(session, desk.policy, period=period)
    values = {name: {period: board.values} for name, board in quarter.items()}
    report = RunReport(period, "quarterly", boards=list(quarter.values()))
    if previous is not None:
        return rerun(session, desk, report, previous, values, QUARTERLY_KINDS)
    decisions = quarterly_decisions(quarter, period=period)
    units = units_by_code(session)
    for decision in decisions:
        _interview(session, desk, report, units[decision.unit], quarter[decision.board])
    lines = _lines(quarter, {d.unit for d in decisions})
    office = office_addressee(session, desk)
    groups = session.scalars(select(UnitGroup).order_by(UnitGroup.code)).all()
    summary = [_group_report(session, desk, report, group, lines, office) for group in groups]
    last_names = "、".join(units[d.unit].name for d in decisions) or "无"
    _consolidated(session, desk, report, summary, last_names)
    record(session, desk, report, values, decisions)
    return report


def _interview(session: Session, desk: Desk, report: RunReport, unit: Unit, board: Board) -> None:
    """约谈通知书: last on a quarter board; the unit's head is interviewed by the leaders."""
    notices = desk.policy.notices
    row = next(r for r in board.rows if r.unit == unit.code)
    last_place_notice(
        session,
        desk,
        report,
        unit,
        kind="interview_notice",
        paragraphs=[
            f"经统计，你单位在{period_label(report.period)}{board.title}问题线索处置工作"
            f"“多色榜”中综合得分{row.score}分，在{len(board.rows)}个参评单位中综合排名末位。",
            f"经{notices.leaders}同意，由{notices.commission}领导约谈你单位主要负责人。"
            "请你单位主要负责人按时参加，并就排名末位的原因及整改措施作出说明。约谈时间、"
            "地点另行通知。",
        ],
        reason="季度综合排名末位，约谈单位主要负责人",
    )


def _lines(quarter: dict[str, Board], interviewed: set[str]) -> dict[str, list[str]]:
    """Each unit's line in its group's report, but its name: received, handled (closed on
    the resident board, disposed on the county board), score, rank of how many, interview."""
    lines = {}
    for board in quarter.values():
        for row in board.rows:
            values_of = board.values[row.unit]
            lines[row.unit] = [
                str(values_of.get("leads_received", 0)),
                str(values_of.get("leads_closed", values_of.get("leads_disposed", 0))),
                str(row.score),
                f"{row.rank}/{len(board.rows)}",
                "约谈" if row.unit in interviewed else "",
            ]
    return lines


def _group_report(
    session: Session,
    desk: Desk,
    report: RunReport,
    group: UnitGroup,
    lines: dict[str, list[str]],
    office: str,
) -> list[str]:
    """A unit group's quarterly report to the coordinating office; its line of the summary."""
    label = period_label(report.period)
    members = sorted((m for m in group.members if m.code in lines), key=lambda u: u.code)
    table_rows = [[member.name, *lines[member.code]] for member in members]
    received = sum(int(r[1]) for r in table_rows)
    handled = sum(int(r[2]) for r in table_rows)
    issued = issue_notice(
        session,
        desk,
        kind="quarterly_report",
        key=f"quarterly_report:{group.code}:{report.period}",
        content=NoticeContent(
            addressee=office,
            paragraphs=[
                f"{group.name}{label}共有成员单位{len(members)}个，受理问题线索"
                f"{received}件，处置办结{handled}件。各成员单位多色榜得分及排名如下。",
            ],
            table=Table(
                headers=["单位", "受理(件)", "办结(件)", "综合得分", "排名", "约谈"],
                rows=table_rows,
            ),
        ),
        period=report.period,
        reason=f"{group.name}{label}工作报告",
        title=f"{group.name}{label}工作报告",
    )
    report.issued.append(issued.document.id)
    return [group.name, str(len(members)), str(received), str(handled)]


def _consolidated(
    session: Session, desk: Desk, report: RunReport, summary: list[list[str]], last_names: str
) -> None:
    """The coordinating office's consolidated report to the leaders."""
    label, policy = period_label(report.period), desk.policy
    issued = issue_notice(
        session,
        desk,
        kind="consolidated_report",
        key=f"consolidated_report:{desk.numbering.issuer}:{report.period}",
        content=NoticeContent(
            addressee=policy.notices.leaders,
            paragraphs=[
                f"{label}，{len(summary)}个监督单元组报送了季度工作报告，汇总如下。",
                f"季度综合排名末位、拟由{policy.notices.leaders}约谈主要负责人的单位：{last_names}。",
            ],
            table=Table(headers=["监督单元组", "成员单位", "受理(件)", "办结(件)"], rows=summary),
        ),
        period=report.period,
        reason=f"{label}综合报告",
        title=f"{label}问题线索处置工作综合报告",
    )
    report.issued.append(issued.document.id)
