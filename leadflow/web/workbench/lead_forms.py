"""The fields of a lead page's forms, read and checked before anything is written: every
problem named in Chinese with its field (理由（reason）), all of them at once, and the
page changes nothing. The services check every value again."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TypeVar

from starlette.datastructures import FormData

from leadflow.web.workbench.fields import reasoned, refused, whole
from leadflow.web.workbench.sessions import text
from models.domain.errors import BadInput, Problem

T = TypeVar("T")


class Fields:
    """A posted form's fields, read one by one; :meth:`checked` raises what was wrong."""

    def __init__(self, form: FormData) -> None:
        self.form = form
        self.problems: list[Problem] = []

    def _kept(self, read: Callable[[], T], otherwise: T) -> T:
        """``read()``'s value, or ``otherwise`` with its problems kept for :meth:`checked`."""
        try:
            return read()
        except BadInput as wrong:
            self.problems += wrong.problems
            return otherwise

    def written(self, name: str, label: str) -> str:
        """A required text (a reason, a finding), its lines joined as the record keeps it."""
        return self._kept(lambda: reasoned(text(self.form, name), name, label), "")

    def reason(self) -> str:
        return self.written("reason", "理由")

    def choice(self, name: str, label: str, allowed: Mapping[str, str]) -> str:
        """One of ``allowed``'s codes (its Chinese terms offered in the form)."""
        value = text(self.form, name)
        if value not in allowed:
            self.problems += refused(
                name, label, f"须从{'、'.join(allowed.values())}中选择"
            ).problems
        return value

    def number(
        self, name: str, label: str, low: int, high: int, *, optional: bool = False
    ) -> int | None:
        """A whole number from ``low`` to ``high``; blank gives None if ``optional``, else 0."""
        value = text(self.form, name).strip()
        if not value:
            return None if optional else 0
        return self._kept(lambda: whole(value, name, label, low, high), None)

    def ticked(self, name: str) -> bool:
        return bool(text(self.form, name))

    def checked(self) -> None:
        if self.problems:
            raise BadInput(self.problems)
