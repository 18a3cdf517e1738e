"""Policy is data (ARCHITECTURE.md principle 4): the configurable values of DOMAIN.md,
validated, with defaults from ``models/policy.yaml``.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date
from importlib.resources import files
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import audit
from models.base import utcnow
from models.organisation import UnitKind
from models.records import PolicyRecord


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


class LadderStep(_Strict):
    step: Literal["reminder", "urging", "supervision", "accountability"]
    offset: int


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


def default_policy() -> Policy:
    text = files("models").joinpath("policy.yaml").read_text(encoding="utf-8")
    return Policy.model_validate(yaml.safe_load(text))


def read_policy(path: Path) -> Policy:
    from models.inputs import read_yaml_model  # inputs imports schemas; keep policy light

    return read_yaml_model(path, Policy)


def install(session: Session, policy: Policy, *, actor: str) -> bool:
    """Make ``policy`` the one in force (an audited decision); False when it already is."""
    audit.lock_chain(session)
    digest = policy.digest()
    current = session.scalar(select(PolicyRecord).order_by(PolicyRecord.id.desc()).limit(1))
    if current is not None and current.sha256 == digest:
        return False
    existing = session.scalar(select(PolicyRecord).where(PolicyRecord.sha256 == digest))
    if existing is not None:
        # Re-installing an older policy: a new row so "newest is in force" stays true.
        session.delete(existing)
        session.flush()
    session.add(
        PolicyRecord(sha256=digest, body=policy.model_dump(mode="json"), loaded_at=utcnow())
    )
    audit.record(
        session,
        audit.EventDraft(
            actor=actor, action="policy.install", reason="policy in force", data={"sha256": digest}
        ),
    )
    return True


def in_force(session: Session) -> Policy:
    body = session.scalar(select(PolicyRecord.body).order_by(PolicyRecord.id.desc()).limit(1))
    return default_policy() if body is None else Policy.model_validate(body)
