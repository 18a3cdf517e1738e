"""What a document says, apart from how it looks (docs/rules.md §4): the title of each
kind, the content model of a notice or report, and the Chinese date. A notice's content
has no field for a reporter, so no document can carry one (docs/rules.md §5).
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict

TITLES = {
    "assignment_notice": "问题线索交办通知书",
    "joint_handling_notice": "联合办理通知书",
    "rectification_notice": "整改通知书",
    "reminder_notice": "整改期限提醒函",
    "urging_notice": "催办通知书",
    "supervision_notice": "督办通知书",
    "accountability_proposal": "问责建议书",
    "decision_overdue_notice": "研判逾期提请函",
    "work_warning": "工作预警通知书",
    "interview_notice": "约谈通知书",
    "name_clearing_notice": "澄清正名通知书",
    "referral_letter": "问题线索报送函",
    "bulletin": "通报",
    "quarterly_report": "季度工作报告",
    "consolidated_report": "季度综合报告",
}
# The kinds with a layout of their own; every other kind is a notice.
TEMPLATES = {"bulletin": "bulletin.html.j2"}


class Table(BaseModel):
    """A plain table in a notice or report: a header row and rows of text."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    headers: list[str]
    rows: list[list[str]]


class NoticeContent(BaseModel):
    """Everything a notice shows. Deliberately without any field for the reporter."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    addressee: str
    paragraphs: list[str]
    facts: list[tuple[str, str]] = []
    table: Table | None = None
    provisional: bool = False


def chinese_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"
