"""Whether a text names a lead's reporter (docs/rules.md §5), as people type one into a
summary: the name with spaces in it, the phone in full-width digits, spaced or split by
dashes. Both sides are folded the same way (NFKC, no white space) before they are
compared. Plain code: the caller reads the reporter and the texts, and is told yes or no
— never where, so nothing built from the answer can spell the identity out.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

# A one-character name would be found in almost any text, and matches nothing on its own.
NAME_MIN_CHARS = 2
# A shorter number would be found in dates and amounts; no phone line is that short.
PHONE_MIN_DIGITS = 7
# What people put between a phone's digits (after NFKC: full-width forms are ASCII here).
_BETWEEN = r"[-‐‑‒–—―.·・•/()]*"

# The lead's texts a document may quote, as the lead file and the outcome name them.
LEAD_TEXTS = ("summary", "finding", "subject.post", "subject.name", "external_id")
# Those an officer may rewrite (`leadflow lead amend`): the long free texts people type —
# the report's summary (反映问题) and the outcome's finding (核查结论). The subject's name
# decides recusal, the external id is the lead's key, and a post is too short a text to
# be found again, word for word, in what a notice built around it.
AMENDABLE = ("summary", "finding")
# What a hold names when no text of the lead carries the identity: the notice's own words.
NOTICE = "notice"


def folded(text: str) -> str:
    """``text`` in NFKC (full-width letters, digits and signs as ASCII) without white space."""
    return "".join(unicodedata.normalize("NFKC", text).split())


def _phones(phone: str) -> list[str]:
    """The digits a phone is written with, with and without China's country code."""
    digits = "".join(c for c in folded(phone) if c.isdigit())
    found = [digits]
    for code in ("0086", "86"):
        if digits.startswith(code) and len(digits) - len(code) >= PHONE_MIN_DIGITS:
            found.append(digits.removeprefix(code))
            break
    return [d for d in found if len(d) >= PHONE_MIN_DIGITS]


@dataclass(frozen=True)
class Screen:
    """A reporter's identity made ready to look for: the folded name, the phone as a pattern
    that lets separators stand between its digits."""

    name: str | None
    phone: re.Pattern[str] | None

    @classmethod
    def of(cls, name: str | None, phone: str | None) -> Screen | None:
        """The screen of an identity; None when there is nothing to look for."""
        folded_name = folded(name or "")
        numbers = _phones(phone or "")
        pattern = "|".join(_BETWEEN.join(map(re.escape, number)) for number in numbers)
        if len(folded_name) < NAME_MIN_CHARS and not pattern:
            return None
        return cls(
            folded_name if len(folded_name) >= NAME_MIN_CHARS else None,
            re.compile(pattern) if pattern else None,
        )

    def finds(self, text: str) -> bool:
        """Whether ``text`` names the reporter, by name or by phone."""
        seen = folded(text)
        if self.name is not None and self.name in seen:
            return True
        return self.phone is not None and self.phone.search(seen) is not None

    def finds_any(self, texts: Iterable[str]) -> bool:
        return any(self.finds(text) for text in texts)


# A quotation cut shorter than this is not taken for one: ordinary words could match it.
SHORTEST_CUT = 50


def _cut(text: str, old: str) -> int:
    """How many of ``old``'s first characters end ``text``, when a notice cut ``old`` so
    (at least SHORTEST_CUT of them, fewer than all); 0 when it did not."""
    for n in range(min(len(old) - 1, len(text)), SHORTEST_CUT - 1, -1):
        if text.endswith(old[:n]):
            return n
    return 0


def quotes(text: str, old: str) -> bool:
    """Whether ``text`` (a string a notice printed) quotes ``old``: whole, or cut to its
    first characters at the end of ``text``, as a notice cuts a long summary."""
    return bool(old) and (old in text or _cut(text, old) > 0)


def requoted(text: str, old: str, new: str) -> str:
    """``text`` with its quotations of ``old`` (:func:`quotes`) made the same quotations
    of ``new``: each whole one replaced, else a cut one replaced by ``new`` cut the same."""
    if not old:
        return text
    if old in text:
        return text.replace(old, new)
    n = _cut(text, old)
    return text[: len(text) - n] + new[:n] if n else text
