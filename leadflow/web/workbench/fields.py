"""A form's fields read as the record keeps them: a reason on one line, bounded, never
empty; a whole number within its bounds — each refused with the field named in Chinese,
before anything is changed."""

from __future__ import annotations

import re

from models.domain.errors import BadInput, Problem
from models.domain.people import TEXT_LIMITS, clean_text

_LINE_BREAKS = re.compile(r"\s*[\r\n]+\s*")


def refused(field: str, label: str, why: str) -> BadInput:
    return BadInput([Problem(field, why, field=f"{label}（{field}）")])


def reasoned(value: str, field: str = "reason", label: str = "理由") -> str:
    """A reason for the audit trail: a textarea's lines joined (the trail keeps one line)."""
    text = _LINE_BREAKS.sub("；", value.strip())
    if not text:
        raise refused(field, label, "必填：请写明理由，它将记入审计记录")
    limit = TEXT_LIMITS["reason"]
    if len(text) > limit:
        raise refused(field, label, f"不得超过{limit}字")
    try:
        return clean_text(text, field="reason", source=field)
    except BadInput:
        raise refused(field, label, "含有不能记入审计记录的控制字符") from None


def whole(value: str, field: str, label: str, low: int, high: int) -> int:
    """A whole number from ``low`` to ``high``."""
    text = value.strip()
    if not text.isascii() or not text.isdigit() or not low <= int(text) <= high:
        raise refused(field, label, f"应为{low}至{high}之间的整数")
    return int(text)
