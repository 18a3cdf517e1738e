"""An external id in one form (docs/rules.md §2, receipt): offices type ids on Chinese
keyboards and paste them from other systems, so ``ＱＪ-1``, ``QJ-1`` and ``QJ-1`` with a
zero-width space must not become three leads for one report.
"""

from __future__ import annotations

import unicodedata

# Controls, format characters (zero-width spaces, direction marks and overrides), private
# use, unassigned code points, surrogates and separators: nothing an id may hold.
INVISIBLE = frozenset({"Cc", "Cf", "Co", "Cn", "Cs", "Zs", "Zl", "Zp"})


def folded(external_id: str) -> str:
    """NFKC: full-width letters and digits as their ASCII forms."""
    return unicodedata.normalize("NFKC", external_id)


def first_invisible(text: str) -> str | None:
    """The first character of ``text`` an id may not hold, or None."""
    return next((c for c in text if unicodedata.category(c) in INVISIBLE), None)


def one_form(external_id: str) -> str:
    """The id as it would arrive now: folded, invisible characters left out (to find ids
    stored before arrivals were checked that now stand for one)."""
    return "".join(c for c in folded(external_id) if unicodedata.category(c) not in INVISIBLE)
