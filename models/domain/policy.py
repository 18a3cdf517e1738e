"""Policy is data (docs/architecture.md principle 4): the configurable values of docs/rules.md,
validated, with defaults from ``models/config/policy.yaml``. Every figure and name a notice
states comes from here or from the organisation, never from the code that words it. A
field added later has a default equal to the value it replaced, so a policy stored before
it (validated strictly, extra fields forbidden) still loads and says what it said.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from models.domain.units import UnitKind


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Board(_Strict):
    title: str
    unit_kinds: list[UnitKind]
    indicators: dict[str, str]


class Scoring(_Strict):
    red_max_rank: int = Field(ge=1)
    points: dict[Literal["red", "blue", "white"], int]


class Escalation(_Strict):
    work_warning_after_last_months: int = Field(ge=1)
    interview_on_quarter_last: bool


class Deadlines(_Strict):
    leader_decision: int = Field(ge=1)
    letter_inquiry_reply: int = Field(ge=1)
    disposal_proposal_calendar_days: int = Field(ge=1)
    rectification: int = Field(ge=1)
    # 工作预警: the warned unit reports its measures within this many working days.
    work_warning_reply: int = Field(default=15, ge=1)


# What each rung's notice says where the policy does not word it; ``{office}`` stands for
# the coordinating office (党风政风监督室) as the organisation names it.
LADDER_NOTICES = {
    "reminder": "整改期限将至，请抓紧落实整改并按时报告。",
    "urging": "整改期限已过，你单位尚未报告整改情况。请立即整改并报告。",
    "supervision": "整改逾期未完成，现由{office}挂牌督办，请限期整改到位。",
    "accountability": (
        "整改严重逾期，督办后仍未整改到位。建议对责任单位及有关责任人员启动问责程序。"
    ),
}


class LadderStep(_Strict):
    step: Literal["reminder", "urging", "supervision", "accountability"]
    offset: int
    notice: str = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _default_notice(cls, data: Any) -> Any:
        if isinstance(data, dict) and "notice" not in data and data.get("step") in LADDER_NOTICES:
            return {**data, "notice": LADDER_NOTICES[data["step"]]}
        return data

    @field_validator("notice")
    @classmethod
    def _names_only_the_office(cls, notice: str) -> str:
        try:
            notice.format(office="")
        except (KeyError, IndexError, ValueError) as problem:
            raise ValueError(f"a rung's notice may name only {{office}}: {problem!r}") from None
        return notice

    def worded(self, office: str) -> str:
        """The rung's notice paragraph, naming the coordinating office."""
        return self.notice.format(office=office)


class Jurisdiction(_Strict):
    province: list[str] = ["prefecture"]
    city: list[str]
    county: list[str]

    def level(self, rank: str) -> str:
        for level in ("province", "city", "county"):
            if rank in getattr(self, level):
                return level
        raise ValueError(f"no jurisdiction level handles rank '{rank}'")


class Team(_Strict):
    size: int = Field(default=4, ge=1, le=50)
    always: list[str] = ["discipline"]
    by_flag: dict[str, list[str]] = {}
    by_domain: dict[str, list[str]] = {}


class Numbering(_Strict):
    issuer: str
    issuer_name: str = "昆明市纪委监委"
    kinds: dict[str, str]


class Notices(_Strict):
    """How notices name the bodies they speak of (docs/rules.md §4), the commission's own
    wording; units are named as the organisation names them."""

    commission: str = "市纪委监委"  # the commission, as its notices name it in a sentence
    leaders: str = "委领导"  # the commission's leaders, who receive proposals and reports
    bulletin_scope: str = "全市纪检监察机关"  # whose work the monthly bulletin reports
    bulletin_addressee: str = "各派驻纪检监察组，各监督检查室，各县（市、区）纪委监委"


class CalendarYear(_Strict):
    holidays: list[date] = Field(default_factory=list)
    workdays: list[date] = Field(default_factory=list)


class Calendar(_Strict):
    extra_years: dict[int, CalendarYear]


class Policy(_Strict):
    boards: dict[Literal["resident", "county"], Board]
    scoring: Scoring
    escalation: Escalation
    deadlines: Deadlines
    overdue_ladder: list[LadderStep]
    jurisdiction: Jurisdiction
    team: Team = Team()
    numbering: Numbering
    notices: Notices = Notices()
    calendar: Calendar

    @model_validator(mode="after")
    def _ladder_in_order(self) -> Policy:
        offsets = [s.offset for s in self.overdue_ladder]
        if offsets != sorted(offsets):
            raise ValueError("overdue_ladder steps must be in order of their offsets")
        return self

    def indicators(self) -> set[str]:
        return {code for board in self.boards.values() for code in board.indicators}

    def digest(self) -> str:
        body = json.dumps(self.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(body.encode()).hexdigest()
