"""The monthly and quarterly runs of DOMAIN.md §3 on the system of record.

Monthly, for the month just ended: both colour boards; a work warning notice to each
unit last N months running; zero reports flagged for a self-directed inspection; the
bulletin with the month's boards, the year-to-date boards beside them and each unit's
composite score month by month. Quarterly, for the quarter just ended: the quarter
boards; an interview notice to each unit in last place; each unit group's quarterly
report and the coordinating office's consolidated report to the leaders.

A run is one transaction: its documents (numbered, pending their PDFs), its record
(the board values it read and what it decided) and its audit events commit together.
Documents are keyed by (kind, unit, period), the run by (kind, period): a second run
issues nothing and lists what the first issued. If the data of the period changed
since, the rerun reports each changed value — and still issues nothing on its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import audit, boards, documents
from models.base import utcnow
from models.bulletin import BulletinContent, period_label, sheet, trend_sheet
from models.documents import NoticeContent, Table
from models.errors import BadInput, Problem, RuleRefused
from models.escalation import Decision, monthly_decisions, quarterly_decisions, value_changes
from models.handling import Desk
from models.indicators import data_checks, month_start, next_month, previous_month
from models.organisation import Unit, UnitGroup
from models.records import Document, EscalationRun
from models.scoring import months_of

MONTHLY_KINDS = ("bulletin", "work_warning")
QUARTERLY_KINDS = ("interview_notice", "quarterly_report", "consolidated_report")
COORDINATING_OFFICE = "市纪委监委党风政风监督室"


@dataclass
class RunReport:
    """What a run did: CONTRACT.md's escalation JSON, plus the flags and checks it raised."""

    period: str
    kind: str
    issued: list[int] = field(default_factory=list)  # document ids
    already_issued: list[int] = field(default_factory=list)
    zero_reports: list[dict[str, str]] = field(default_factory=list)
    data_checks: list[dict[str, Any]] = field(default_factory=list)
    data_changed: list[dict[str, Any]] = field(default_factory=list)
    boards: list[boards.Board] = field(default_factory=list)

    def as_dict(self, session: Session) -> dict[str, Any]:
        return {
            "period": self.period,
            "kind": self.kind,
            "issued": describe(session, self.issued),
            "already_issued": describe(session, self.already_issued),
            "zero_reports": self.zero_reports,
            "data_checks": self.data_checks,
            "data_changed": self.data_changed,
        }


def describe(session: Session, document_ids: list[int]) -> list[dict[str, Any]]:
    rows = session.execute(
        select(Document, Unit.code)
        .outerjoin(Unit, Unit.id == Document.unit_id)
        .where(Document.id.in_(document_ids))
        .order_by(Document.kind, Document.serial)
    ).all()
    return [
        {
            "document": doc.kind,
            "unit": code or (doc.key.split(":")[1] if doc.kind == "quarterly_report" else None),
            "number": doc.number,
            "pdf": doc.path,
            "status": doc.status,
        }
        for doc, code in rows
    ]


def _ended(period: str, months: list[str], today: date) -> None:
    if month_start(next_month(months[-1])).date() > today:
        raise RuleRefused(
            "period_closed", f"{period} has not ended on {today}: a run counts a closed period"
        )


def _period(period: str, *, quarter: bool) -> list[str]:
    months = months_of(period)
    is_quarter, is_month = "-Q" in period, ".." not in period and len(months) == 1
    if (quarter and is_quarter) or (not quarter and is_month):
        return months
    wanted = "a quarter such as 2026-Q3" if quarter else "a month such as 2026-09"
    raise BadInput([Problem("--period", f"'{period}' is not {wanted}")])


def _units(session: Session) -> dict[str, Unit]:
    return {unit.code: unit for unit in session.scalars(select(Unit))}


def _rerun(
    session: Session,
    desk: Desk,
    report: RunReport,
    previous: EscalationRun,
    values: dict,
    kinds: tuple,
) -> RunReport:
    report.already_issued = list(
        session.scalars(
            select(Document.id)
            .where(Document.period == report.period, Document.kind.in_(kinds))
            .order_by(Document.id)
        )
    )
    report.data_changed = value_changes(previous.values, values)
    report.zero_reports = [
        {"board": d["board"], "unit": d["unit"]}
        for d in previous.decisions
        if d["document"] == "zero_report"
    ]
    if report.data_changed:
        audit.record(
            session,
            audit.EventDraft(
                actor=desk.actor,
                action=f"escalation.{report.kind}.data_changed",
                reason=f"{report.period}: data changed since its run; nothing issued again",
                data={"period": report.period, "changes": report.data_changed[:200]},
            ),
        )
    return report


def _issue(
    session: Session,
    desk: Desk,
    *,
    kind: str,
    key: str,
    content: Any,
    period: str,
    reason: str,
    unit: Unit | None = None,
    title: str | None = None,
) -> int:
    issued = documents.issue(
        session,
        kind=kind,
        key=key,
        content=content,
        numbering=desk.policy.numbering,
        actor=desk.actor,
        reason=reason,
        on=desk.today,
        unit_id=unit.id if unit else None,
        period=period,
        title=title,
    )
    return issued.document.id


def _record(
    session: Session, desk: Desk, report: RunReport, values: dict, decisions: list[Decision]
) -> None:
    session.add(
        EscalationRun(
            kind=report.kind,
            period=report.period,
            values=values,
            decisions=[d.as_dict() for d in decisions],
            run_at=utcnow(),
        )
    )
    for decision in decisions:
        if decision.document == "zero_report":
            audit.record(
                session,
                audit.EventDraft(
                    actor=desk.actor,
                    action="escalation.zero_report",
                    reason="零报告：建议开展自主研判、自主监督检查",
                    unit=decision.unit,
                    data=decision.as_dict(),
                ),
            )
    audit.record(
        session,
        audit.EventDraft(
            actor=desk.actor,
            action=f"escalation.{report.kind}",
            reason=f"{period_label(report.period)} {report.kind} run",
            data={
                "period": report.period,
                "decisions": [d.as_dict() for d in decisions],
                "documents": report.issued,
            },
        ),
    )


# --- monthly ---------------------------------------------------------------------------


def running_window(period: str, running: int) -> list[str]:
    """The ``running`` months ending with ``period``, oldest first."""
    window = [period]
    while len(window) < running:
        window.insert(0, previous_month(window[0]))
    return window


def monthly(session: Session, desk: Desk, period: str) -> RunReport:
    months = _period(period, quarter=False)
    _ended(period, months, desk.today)
    audit.lock_chain(session)  # one run at a time: the second waits, then sees the first
    policy = desk.policy
    running = policy.escalation.work_warning_after_last_months
    window = running_window(period, running)
    year_months = months_of(f"{period[:4]}-01..{period}")
    names = list(policy.boards)
    scored = boards.load_many(session, policy, periods=window)
    values = {name: {m: scored[m][name].values for m in window} for name in names}
    report = RunReport(period, "monthly", boards=[scored[period][n] for n in names])
    previous = session.scalar(
        select(EscalationRun).where(EscalationRun.kind == "monthly", EscalationRun.period == period)
    )
    if previous is not None:
        return _rerun(session, desk, report, previous, values, MONTHLY_KINDS)
    # The bulletin's month-by-month chart needs the rest of the year (a first run only).
    ytd_period = f"{year_months[0]}..{period}"
    scored |= boards.load_many(
        session, policy, periods=[*(m for m in year_months if m not in scored), ytd_period]
    )
    ytd = scored.pop(ytd_period)
    by_month = {name: {m: scored[m][name] for m in sorted(scored)} for name in names}

    decisions = monthly_decisions(
        {name: [by_month[name][m] for m in window] for name in names},
        period=period,
        running=running,
    )
    report.zero_reports = [
        {"board": d.board, "unit": d.unit} for d in decisions if d.document == "zero_report"
    ]
    report.data_checks = [c.as_dict() for c in data_checks(session, [period])]
    units = _units(session)
    warned = [d for d in decisions if d.document == "work_warning"]
    report.issued.append(
        _issue(
            session,
            desk,
            kind="bulletin",
            key=f"bulletin:{policy.numbering.issuer}:{period}",
            content=_bulletin(by_month, ytd, year_months, report, warned, units, running),
            period=period,
            reason=f"{period_label(period)}多色榜通报",
            title=f"关于{period_label(period)}问题线索处置工作情况的通报",
        )
    )
    for decision in warned:
        unit = units[decision.unit]
        board = by_month[decision.board]
        scores = [next(r for r in board[m].rows if r.unit == unit.code) for m in window]
        report.issued.append(
            _issue(
                session,
                desk,
                kind="work_warning",
                key=f"work_warning:{unit.code}:{period}",
                content=NoticeContent(
                    addressee=unit.name,
                    paragraphs=[
                        f"经统计，你单位在{board[period].title}问题线索处置工作“多色榜”中，"
                        f"{'、'.join(period_label(m) for m in window)}连续{running}个月"
                        "综合排名末位。",
                        "根据市纪委监委“多色榜”通报制度，现对你单位予以工作预警。请你单位"
                        "认真分析原因，压实工作责任，于收到本通知书之日起15个工作日内将"
                        f"整改措施书面报送{COORDINATING_OFFICE}。",
                    ],
                    table=Table(
                        headers=["月份", "综合得分", "综合排名", "参评单位数"],
                        rows=[
                            [period_label(m), str(r.score), str(r.rank), str(len(board[m].rows))]
                            for m, r in zip(window, scores, strict=True)
                        ],
                    ),
                ),
                period=period,
                unit=unit,
                reason=f"连续{running}个月综合排名末位",
            )
        )
    _record(session, desk, report, values, decisions)
    return report


def _bulletin(
    by_month: dict[str, dict[str, boards.Board]],
    ytd: dict[str, boards.Board],
    year_months: list[str],
    report: RunReport,
    warned: list[Decision],
    units: dict[str, Unit],
    running: int,
) -> BulletinContent:
    period = report.period
    label = period_label(period)
    month_boards = [by_month[name][period] for name in by_month]
    received = sum(v.get("leads_received", 0) for b in month_boards for v in b.values.values())
    paragraphs = [
        f"现将{label}全市纪检监察机关问题线索处置工作情况通报如下。",
        f"{label}，参评单位{sum(len(b.rows) for b in month_boards)}个，"
        f"共受理问题线索{received}件。各单位按单项指标排名计分：前三名为红色（计5分），"
        "排名最后为白色（计1分），其余为蓝色（计3分）；黄色为指定单位，不影响计分。"
        f"{label}和{period_label(ytd[next(iter(ytd))].period)}综合排名情况见附件。",
    ]
    for board in month_boards:
        last = "、".join(board.names[u] for u in board.last)
        paragraphs.append(f"{board.title}综合排名末位：{last or '无'}。")
    if warned:
        paragraphs.append(
            f"连续{running}个月综合排名末位、予以工作预警的单位："
            + "、".join(units[d.unit].name for d in warned)
            + "。"
        )
    if report.zero_reports:
        paragraphs.append(
            "以下单位本月各项指标均为零（零报告），建议开展自主研判和自主监督检查："
            + "、".join(units[z["unit"]].name for z in report.zero_reports)
            + "。"
        )
    if report.data_checks:
        paragraphs.append(
            "部分单位月报数据与线索台账不一致，已以月报数据计分，请核实（见附件数据核对表）。"
        )
    return BulletinContent(
        addressee="各派驻纪检监察组，各监督检查室，各县（市、区）纪委监委",
        paragraphs=paragraphs,
        sheets=[sheet(by_month[name][period], ytd[name]) for name in by_month],
        trend_sheets=[trend_sheet([by_month[name][m] for m in year_months]) for name in by_month],
        data_checks=[
            [units[c["unit"]].name, c["indicator"], str(c["derived"]), str(c["returned"])]
            for c in report.data_checks
        ],
    )


# --- quarterly -------------------------------------------------------------------------


def quarterly(session: Session, desk: Desk, period: str) -> RunReport:
    months = _period(period, quarter=True)
    _ended(period, months, desk.today)
    audit.lock_chain(session)
    policy = desk.policy
    quarter = boards.load_all(session, policy, period=period)
    values = {name: {period: board.values} for name, board in quarter.items()}
    report = RunReport(period, "quarterly", boards=list(quarter.values()))
    previous = session.scalar(
        select(EscalationRun).where(
            EscalationRun.kind == "quarterly", EscalationRun.period == period
        )
    )
    if previous is not None:
        return _rerun(session, desk, report, previous, values, QUARTERLY_KINDS)

    decisions = quarterly_decisions(quarter, period=period)
    units = _units(session)
    label = period_label(period)
    for decision in decisions:
        unit = units[decision.unit]
        board = quarter[decision.board]
        row = next(r for r in board.rows if r.unit == unit.code)
        report.issued.append(
            _issue(
                session,
                desk,
                kind="interview_notice",
                key=f"interview_notice:{unit.code}:{period}",
                content=NoticeContent(
                    addressee=unit.name,
                    paragraphs=[
                        f"经统计，你单位在{label}{board.title}问题线索处置工作“多色榜”中"
                        f"综合得分{row.score}分，在{len(board.rows)}个参评单位中综合排名末位。",
                        "经委领导同意，由市纪委监委领导约谈你单位主要负责人。请你单位主要"
                        "负责人按时参加，并就排名末位的原因及整改措施作出说明。约谈时间、"
                        "地点另行通知。",
                    ],
                ),
                period=period,
                unit=unit,
                reason="季度综合排名末位，约谈单位主要负责人",
            )
        )
    rows = {row.unit: (name, row) for name, b in quarter.items() for row in b.rows}
    interviewed = {d.unit for d in decisions}
    summary_rows = []
    groups = session.scalars(select(UnitGroup).order_by(UnitGroup.code)).all()
    for group in groups:
        members = sorted((m for m in group.members if m.code in rows), key=lambda u: u.code)
        table_rows = []
        for member in members:
            name, row = rows[member.code]
            values_of = quarter[name].values[member.code]
            table_rows.append(
                [
                    member.name,
                    str(values_of.get("leads_received", 0)),
                    str(values_of.get("leads_closed", values_of.get("leads_disposed", 0))),
                    str(row.score),
                    f"{row.rank}/{len(quarter[name].rows)}",
                    "约谈" if member.code in interviewed else "",
                ]
            )
        received = sum(int(r[1]) for r in table_rows)
        handled = sum(int(r[2]) for r in table_rows)
        summary_rows.append([group.name, str(len(members)), str(received), str(handled)])
        report.issued.append(
            _issue(
                session,
                desk,
                kind="quarterly_report",
                key=f"quarterly_report:{group.code}:{period}",
                content=NoticeContent(
                    addressee=COORDINATING_OFFICE,
                    paragraphs=[
                        f"{group.name}{label}共有成员单位{len(members)}个，受理问题线索"
                        f"{received}件，处置办结{handled}件。各成员单位多色榜得分及排名如下。",
                    ],
                    table=Table(
                        headers=["单位", "受理(件)", "办结(件)", "综合得分", "排名", "约谈"],
                        rows=table_rows,
                    ),
                ),
                period=period,
                reason=f"{group.name}{label}工作报告",
                title=f"{group.name}{label}工作报告",
            )
        )
    last_names = "、".join(units[d.unit].name for d in decisions) or "无"
    report.issued.append(
        _issue(
            session,
            desk,
            kind="consolidated_report",
            key=f"consolidated_report:{policy.numbering.issuer}:{period}",
            content=NoticeContent(
                addressee="委领导",
                paragraphs=[
                    f"{label}，{len(groups)}个监督单元组报送了季度工作报告，汇总如下。",
                    f"季度综合排名末位、拟由委领导约谈主要负责人的单位：{last_names}。",
                ],
                table=Table(
                    headers=["监督单元组", "成员单位", "受理(件)", "办结(件)"], rows=summary_rows
                ),
            ),
            period=period,
            reason=f"{label}综合报告",
            title=f"{label}问题线索处置工作综合报告",
        )
    )
    _record(session, desk, report, values, decisions)
    return report
