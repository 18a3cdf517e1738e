"""A colour board (多色榜) for one period, ready to show or publish (docs/rules.md §3): the
scored columns with the board's title, its indicators' labels and the units' names, and
the board JSON of docs/commands.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from models.domain.scoring import Row, ScoredBoard


@dataclass(frozen=True)
class Board:
    period: str
    name: str  # resident | county
    title: str
    indicators: dict[str, str]  # code → label, in the board's order
    scored: ScoredBoard
    names: dict[str, str]  # unit code → unit name

    def as_dict(self) -> dict[str, Any]:
        """The board JSON of docs/commands.md."""
        return {
            "period": self.period,
            "board": self.name,
            "units": [row.as_dict() for row in self.rows],
        }

    @cached_property
    def rows(self) -> list[Row]:
        """By composite rank, then unit code."""
        return self.scored.rows()

    @cached_property
    def values(self) -> dict[str, dict[str, int | None]]:
        """What was scored: unit → indicator → value (None: not filed, 未报送)."""
        return {u: self.scored.values_of(i) for i, u in enumerate(self.scored.units)}

    @property
    def last(self) -> list[str]:
        return self.scored.last

    @property
    def zero_reports(self) -> list[str]:
        return self.scored.zero_reports

    @cached_property
    def missing(self) -> dict[str, list[str]]:
        """Each unit that has not filed (未报送) some indicator: those indicators."""
        return self.scored.missing
