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
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from models.domain.commission import Commission, check_mark
from models.domain.units import UnitKind


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _each_once(items: list[str] | None) -> list[str] | None:
    """A board's scope names something at most once, and names something if given."""
    if items is not None and (not items or len(set(items)) != len(items)):
        raise ValueError("must name at least one, each once (leave it out for every one)")
    return items


Scope = Annotated[list[str] | None, AfterValidator(_each_once)]


class Board(_Strict):
    title: str
    unit_kinds: list[UnitKind]
    indicators: dict[str, str]
    # The lead domains the lifecycle's counts take in (扶贫, …); None: every domain.
    domains: Scope = None
    # The units on the board, by code, each of the board's kinds; None: every unit of them.
    units: Scope = None


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
    # 督办: the new deadline the supervision notice sets, in working days from its day.
    supervision_rectification: int = Field(default=10, ge=1)
    # 月报: a month's returns are due by this working day of the next month; at most the
    # 10th, so the monthly run's daily check always finds it within that month.
    monthly_returns: int = Field(default=3, ge=1, le=10)


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


Mark = Annotated[str, AfterValidator(check_mark)]
# Document kinds added since policies were first stored, with their usual marks.
ADDED_KINDS = {"name_clearing_notice": "澄", "referral_letter": "送"}


class Numbering(_Strict):
    """What a document's number and head are made of: the issuing commission (from the
    organisation) and each kind's mark (from the policy)."""

    issuer: Mark
    issuer_name: str
    kinds: dict[str, str]


class KindMarks(_Strict):
    """The policy's numbering: each document kind's mark, one kind to a mark (two kinds
    sharing one would number two documents alike)."""

    kinds: dict[str, Annotated[str, AfterValidator(lambda m: check_mark(m, longest=4))]]
    # A policy stored before the organisation named the commission carried it here; an
    # upgrade moves it into the organisation, and it is read nowhere else.
    issuer: str | None = None
    issuer_name: str | None = None

    @field_validator("kinds", mode="before")
    @classmethod
    def _kinds_added_since(cls, kinds: Any) -> Any:
        """A kind added after a policy was stored takes its usual mark, where it is free."""
        if not isinstance(kinds, dict):
            return kinds
        free = {k: m for k, m in ADDED_KINDS.items() if k not in kinds and m not in kinds.values()}
        return {**kinds, **free}

    @field_validator("kinds")
    @classmethod
    def _one_kind_a_mark(cls, kinds: dict[str, str]) -> dict[str, str]:
        seen: dict[str, str] = {}
        for kind, mark in kinds.items():
            if mark in seen:
                raise ValueError(f"kinds {seen[mark]} and {kind} share one mark")
            seen[mark] = kind
        return kinds

    def of(self, commission: Commission) -> Numbering:
        return Numbering(
            issuer=commission.abbreviation, issuer_name=commission.name, kinds=self.kinds
        )


class Notices(_Strict):
    """How notices name the bodies they speak of (docs/rules.md §4), the commission's own
    wording; units are named as the organisation names them."""

    commission: str = "市纪委监委"  # the commission, as its notices name it in a sentence
    leaders: str = "委领导"  # the commission's leaders, who receive proposals and reports
    bulletin_scope: str = "全市纪检监察机关"  # whose work the monthly bulletin reports
    bulletin_addressee: str = "各派驻纪检监察组，各监督检查室，各县（市、区）纪委监委"
    higher_commission: str = "上级纪委监委"  # to whom a lead beyond the commission is referred


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
    numbering: KindMarks
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


# A setting a policy changes: its dotted path, the value in force, the new value.
Change = tuple[str, Any, Any]


def differences(was: Policy | None, now: Policy) -> list[Change]:
    """What installing ``now`` changes: (dotted path, value in force, new value) for each
    setting that differs, lists compared whole."""
    before = _flat(was.model_dump(mode="json")) if was is not None else {}
    after = _flat(now.model_dump(mode="json"))
    return [
        (path, before.get(path), after.get(path))
        for path in sorted(before.keys() | after.keys())
        if before.get(path) != after.get(path)
    ]


def _flat(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat |= _flat(value, f"{path}.")
        else:
            flat[path] = value
    return flat
