"""Pydantic schemas for everything that enters: leads (docs/commands.md "Lead JSON"), the
organisation file, units' monthly returns. Unknown fields are refused, so a typo is
reported rather than silently dropped.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from models.domain import commission, identifiers
from models.domain.units import UnitKind

# A lead's summary is free text; the cap keeps one hostile line from stalling an import.
SUMMARY_MAX_CHARS = 20_000
# How far ahead of this machine's clock a source's receipt time may be.
RECEIPT_CLOCK_SKEW = timedelta(minutes=15)


def _matching(regex: str, description: str) -> AfterValidator:
    """A pattern check whose error says what is expected — not the regular expression, and
    not the value (an error may be shown where the input's own text must not be)."""
    compiled = re.compile(regex)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise ValueError(f"must be {description}")
        return value

    return AfterValidator(check)


def _storable(value: object) -> object:
    """Text every database can hold: PostgreSQL's text refuses NUL, and a lone surrogate
    (which JSON can spell as an escape) has no UTF-8 form for any database to store.
    Checked before the string itself, whose own error about a surrogate says less."""
    if not isinstance(value, str):
        return value  # the string's own validation words that
    if "\x00" in value:
        raise ValueError("must not hold the NUL character (U+0000)")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(
            f"must not hold a lone surrogate (U+{ord(value[exc.start]):04X}), "
            "which no database can store"
        ) from None
    return value


Storable = BeforeValidator(_storable)


def _identifier(value: object) -> object:
    """An external id in one form (models.domain.identifiers): folded, and refused when it
    holds a character that would make two ids print alike."""
    if not isinstance(value, str):
        return value
    value = identifiers.folded(value)
    if (char := identifiers.first_invisible(value)) is not None:
        raise ValueError(
            f"must not hold invisible, space or direction-control characters (U+{ord(char):04X})"
        )
    return value


def _folded(value: object) -> object:
    """Full-width digits and signs as their ASCII forms, as a phone number is typed on a
    Chinese keyboard (the same folding as an external id's)."""
    return identifiers.folded(value) if isinstance(value, str) else value


Code = Annotated[
    str,
    _matching(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}", "a code of letters, digits, '_', '.', '-'"),
]
Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), Storable
]
Slug = Annotated[str, _matching(r"[a-z][a-z0-9_]{0,63}", "lower-case letters, digits and '_'")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Source(StrEnum):
    public_report = "public_report"  # 信访举报
    resident_group = "resident_group"  # 派驻监督
    unit_group_inspection = "unit_group_inspection"  # 单元组监督检查
    inspection_tour = "inspection_tour"  # 巡视巡察
    audit_transfer = "audit_transfer"  # 审计移送
    big_data = "big_data"  # 大数据筛查
    higher_assignment = "higher_assignment"  # 上级交办


class Channel(StrEnum):
    letter = "letter"
    visit = "visit"
    phone = "phone"
    online = "online"
    internal = "internal"


class Rank(StrEnum):
    """干部管理权限: the subject's cadre level, which decides jurisdiction."""

    prefecture = "prefecture"  # 厅局级
    county = "county"  # 县处级
    section = "section"  # 乡科级
    general = "general"  # 一般干部
    village = "village"  # 村(社区)干部


class Flag(StrEnum):
    """The grounds that propose joint, escalated or cross handling (docs/rules.md §2.2)."""

    mass_interest = "mass_interest"
    complex = "complex"
    large_amount = "large_amount"
    long_span = "long_span"
    local_recusal = "local_recusal"
    public_reaction = "public_reaction"


class ReporterIn(Strict):
    name: (
        Annotated[str, StringConstraints(strip_whitespace=True, max_length=100), Storable] | None
    ) = None
    phone: (
        Annotated[
            str,
            BeforeValidator(_folded),
            _matching(r"\+?[0-9][0-9\- ]{2,30}", "a telephone number"),
        ]
        | None
    ) = None
    anonymous: bool = False

    @model_validator(mode="before")
    @classmethod
    def _anonymous_keeps_no_identity(cls, data: object) -> object:
        # Whatever was sent beside the flag is dropped here, before anything (a check, a
        # message, the record) can hold it.
        if isinstance(data, dict) and data.get("anonymous") is True:
            return {"anonymous": True}
        return data

    @model_validator(mode="after")
    def _named_unless_anonymous(self) -> ReporterIn:
        if not self.anonymous and not self.name:
            raise ValueError("a reporter who is not anonymous needs a name")
        return self


class SubjectIn(Strict):
    name: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), Storable
    ]
    post: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), Storable
    ]
    rank: Rank
    entity: Code


class LeadIn(Strict):
    external_id: Annotated[
        str,
        _matching(r"[^\s]{1,128}", "1 to 128 characters, no spaces"),
        BeforeValidator(_identifier),
        Storable,
    ]
    received_at: AwareDatetime
    source: Source
    channel: Channel
    reporter: ReporterIn | None = None
    subject: SubjectIn
    domain: Slug
    summary: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=SUMMARY_MAX_CHARS),
        Storable,
    ]
    amount_yuan: Annotated[Decimal, Field(ge=0, max_digits=16, decimal_places=2)] = Decimal(0)
    flags: list[Flag] = Field(default_factory=list, max_length=len(Flag))

    @field_validator("received_at")
    @classmethod
    def _not_ahead(cls, received: datetime) -> datetime:
        # Sources' clocks drift a little; a lead from further ahead would date its receipt
        # after every act the commission could take on it today.
        if received > datetime.now(UTC) + RECEIPT_CLOCK_SKEW:
            raise ValueError("a lead cannot be received in the future")
        return received

    @field_validator("flags")
    @classmethod
    def _flags_once(cls, flags: list[Flag]) -> list[Flag]:
        if len(set(flags)) != len(flags):
            raise ValueError("a flag is listed twice")
        return flags


class ZoneIn(Strict):
    code: Code
    name: Name


class UnitIn(Strict):
    code: Code
    name: Name
    kind: UnitKind
    office: Code | None = None
    parent: Code | None = None
    zone: Code | None = None


class UnitGroupIn(Strict):
    code: Code
    name: Name
    members: list[Code] = Field(min_length=1)


class EntityIn(Strict):
    code: Code
    name: Name
    county: Code | None = None
    supervised_by: Code
    zone: Code | None = None
    # The resident group whose field holds the entity (e.g. the market supervision bureau's
    # for a market service centre): the 组 of 室组地 joint handling. Its supervisor when
    # that is a resident group already.
    resident_group: Code | None = None


class PersonIn(Strict):
    code: Code
    name: Name
    home_unit: Code
    home_entity: Code | None = None
    expertise: list[Slug] = Field(default_factory=list)
    active: bool = True


class RelationIn(Strict):
    person: Code
    subject: Name
    entity: Code | None = None
    relation: Name


class DesignationIn(Strict):
    unit: Code
    label: Name
    kind: Slug = "yellow"


class CommissionIn(Strict):
    """The issuing commission: its name heads every document, its abbreviation starts
    every document number."""

    name: Annotated[str, AfterValidator(commission.check_name)]
    abbreviation: Annotated[str, AfterValidator(commission.check_mark)]


class OrganisationIn(Strict):
    commission: CommissionIn | None = None
    zones: list[ZoneIn] = Field(default_factory=list)
    units: list[UnitIn] = Field(default_factory=list)
    unit_groups: list[UnitGroupIn] = Field(default_factory=list)
    entities: list[EntityIn] = Field(default_factory=list)
    people: list[PersonIn] = Field(default_factory=list)
    relations: list[RelationIn] = Field(default_factory=list)
    designations: list[DesignationIn] = Field(default_factory=list)


Period = Annotated[str, _matching(r"[0-9]{4}-(0[1-9]|1[0-2])", "a month such as 2026-09")]

# The largest value a monthly return may give (docs/commands.md, "Returns CSV").
RETURN_MAX = 1_000_000
_DIGITS = re.compile(r"[0-9]+")
_WHOLE_NUMBER = (
    "must be an integer written with the digits 0-9 alone "
    "(no sign, decimal point, digit separator or space)"
)


def _whole_number(value: object) -> object:
    """A count as a return writes it: the digits 0-9 and nothing else, where ``int()``
    would also take '1_000', '+3', ' 3', '٣'; a float is refused (a workbook's numeric
    cell is turned into digits by its reader, so only text such as '5.0' reaches here)."""
    if isinstance(value, bool | float):
        raise ValueError(_WHOLE_NUMBER)
    if not isinstance(value, str):
        return value  # an int, or what the integer's own validation words
    if not _DIGITS.fullmatch(value):
        raise ValueError(_WHOLE_NUMBER)
    if len(value.lstrip("0")) > len(str(RETURN_MAX)):
        raise ValueError(f"must be at most {RETURN_MAX}")  # not parsed: it may be huge
    return int(value)


class ReturnRow(Strict):
    """One row of a units' monthly returns file: ``period,unit,indicator,value``."""

    period: Period
    unit: Code
    indicator: Slug
    value: Annotated[int, BeforeValidator(_whole_number), Field(ge=0, le=RETURN_MAX)]
