"""The monthly bulletin's content (通报, docs/rules.md §3): what it says of the month — how
many units, how many leads, how the boards score (in the policy's colours and points), who
is last on each board, who is warned, who reported zero, who has not filed (未报送), whose
figures disagree — and the boards, the year to date and the month-by-month chart it
carries as annexes.
"""

from __future__ import annotations

from models.documents.bulletin import BulletinContent, Legend, period_label, sheet, trend_sheet
from models.domain.board import Board
from models.domain.policy import Policy
from models.domain.terms import numeral
from models.services.escalations.run import RunReport
from models.store.organisation import Unit


def bulletin_content(
    policy: Policy,
    by_month: dict[str, dict[str, Board]],
    ytd: dict[str, Board],
    year_months: list[str],
    report: RunReport,
    warned: list[Unit],
    units: dict[str, Unit],
) -> BulletinContent:
    """``by_month[board][month]``: each board of the year so far; ``ytd[board]``: the year
    to date; ``warned``: the units this run warns."""
    period = report.period
    return BulletinContent(
        addressee=policy.notices.bulletin_addressee,
        paragraphs=_paragraphs(policy, by_month, ytd, report, warned, units),
        legend=Legend(
            red_max_rank=numeral(policy.scoring.red_max_rank),
            points={colour: n for colour, n in policy.scoring.points.items()},
        ),
        sheets=[sheet(by_month[name][period], ytd[name]) for name in by_month],
        trend_sheets=[trend_sheet([by_month[name][m] for m in year_months]) for name in by_month],
        data_checks=[
            [units[c["unit"]].name, c["indicator"], str(c["derived"]), str(c["returned"])]
            for c in report.data_checks
        ],
    )


def _paragraphs(
    policy: Policy,
    by_month: dict[str, dict[str, Board]],
    ytd: dict[str, Board],
    report: RunReport,
    warned: list[Unit],
    units: dict[str, Unit],
) -> list[str]:
    period, notices, scoring = report.period, policy.notices, policy.scoring
    label = period_label(period)
    month_boards = [by_month[name][period] for name in by_month]
    received = sum(v.get("leads_received") or 0 for b in month_boards for v in b.values.values())
    points = scoring.points
    paragraphs = [
        f"现将{label}{notices.bulletin_scope}问题线索处置工作情况通报如下。",
        f"{label}，参评单位{sum(len(b.rows) for b in month_boards)}个，"
        f"共受理问题线索{received}件。各单位按单项指标排名计分："
        f"前{numeral(scoring.red_max_rank)}名为红色（计{points['red']}分），"
        f"排名最后为白色（计{points['white']}分），其余为蓝色（计{points['blue']}分）；"
        "各单位数值相同的指标不分先后，均为蓝色；未报送月报的指标排名最后，为白色。"
        "黄色为指定单位，不影响计分。"
        f"{label}和{period_label(ytd[next(iter(ytd))].period)}综合排名情况见附件。",
    ]
    for board in month_boards:
        last = "、".join(board.names[u] for u in board.last)
        paragraphs.append(f"{board.title}综合排名末位：{last or '无'}。")
    if warned:
        paragraphs.append(
            f"连续{policy.escalation.work_warning_after_last_months}个月综合排名末位、"
            "予以工作预警的单位：" + "、".join(unit.name for unit in warned) + "。"
        )
    if report.zero_reports:
        paragraphs.append(
            "以下单位本月各项指标均为零（零报告），建议开展自主研判和自主监督检查："
            + "、".join(units[z["unit"]].name for z in report.zero_reports)
            + "。"
        )
    if report.missing:
        named = dict.fromkeys(units[m["unit"]].name for m in report.missing)
        paragraphs.append(
            "以下单位未按期报送本月月报（未报送），未报送的指标不计数值、排名最后："
            + "、".join(named)
            + "。"
        )
    if report.data_checks:
        paragraphs.append(
            "部分单位月报数据与线索台账不一致，已以月报数据计分，请核实（见附件数据核对表）。"
        )
    return paragraphs
