"""The issuing commission (docs/rules.md §1): its full name, which heads every document it
issues, and its abbreviation, which starts every document number. Both come from the
organisation file; nothing in the product names a real commission by default. The
characters they may hold are few, because a document's number names its file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# CJK ideographs and Latin letters only: no separator, dot or space can reach a path.
_MARK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fffA-Za-z]{1,8}")
_NAME = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fffA-Za-z0-9（）()·]{2,40}")


def check_mark(text: str, *, longest: int = 8) -> str:
    """An abbreviation or a document kind's mark: 1 to ``longest`` Chinese characters or
    Latin letters (ValueError otherwise, naming what is allowed)."""
    if not _MARK.fullmatch(text) or len(text) > longest:
        raise ValueError(f"must be 1 to {longest} Chinese characters or Latin letters")
    return text


def check_name(text: str) -> str:
    """A commission's full name: 2 to 40 Chinese characters, letters, digits, brackets."""
    if not _NAME.fullmatch(text):
        raise ValueError("must be 2 to 40 Chinese characters, letters, digits or brackets")
    return text


@dataclass(frozen=True)
class Commission:
    name: str  # e.g. 曲靖市纪委监委
    abbreviation: str  # e.g. 曲纪, as in 曲纪预〔2026〕3号
