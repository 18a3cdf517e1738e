"""A colour board (多色榜) of the system of record: the indicators of `models.indicators`
scored by the rules of `models.scoring`, for a month, a quarter or a range of months.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.indicators import board_values
from models.organisation import Designation, Unit
from models.policy import Policy
from models.scoring import Row, months_of, score_board


@dataclass(frozen=True)
class Board:
    period: str
    name: str  # resident | county
    title: str
    indicators: dict[str, str]  # code → label, in the board's order
    rows: list[Row]  # by composite rank, then unit code
    names: dict[str, str]  # unit code → unit name
    values: dict[str, dict[str, int]]  # what was scored: unit → indicator → value

    def as_dict(self) -> dict[str, Any]:
        """The board JSON of CONTRACT.md."""
        return {
            "period": self.period,
            "board": self.name,
            "units": [row.as_dict() for row in self.rows],
        }

    @property
    def last(self) -> list[str]:
        return [row.unit for row in self.rows if row.last]

    @property
    def zero_reports(self) -> list[str]:
        return [row.unit for row in self.rows if row.zero_report]


def load_all(session: Session, policy: Policy, *, period: str) -> dict[str, Board]:
    """Score every board for ``period`` (a month, a quarter or a range of months), from
    one aggregation for all of them."""
    specs = policy.boards
    kinds = {name: [kind.value for kind in spec.unit_kinds] for name, spec in specs.items()}
    every_kind = sorted({kind for found in kinds.values() for kind in found})
    every_indicator = list(
        dict.fromkeys(code for spec in specs.values() for code in spec.indicators)
    )
    units = session.execute(
        select(Unit.code, Unit.name, Unit.kind).where(Unit.kind.in_(every_kind))
    ).all()
    yellow = set(
        session.scalars(
            select(Unit.code)
            .join(Designation, Designation.unit_id == Unit.id)
            .where(Designation.kind == "yellow")
        )
    )
    values = board_values(
        session, months_of(period), unit_kinds=every_kind, indicators=every_indicator
    )
    scored = {}
    for name, spec in specs.items():
        indicators = list(spec.indicators)
        names = {code: unit_name for code, unit_name, kind in units if kind in kinds[name]}
        mine = {code: {k: values.get(code, {}).get(k, 0) for k in indicators} for code in names}
        rows = score_board(
            mine, units=list(names), indicators=indicators, yellow=yellow, scoring=policy.scoring
        )
        scored[name] = Board(period, name, spec.title, dict(spec.indicators), rows, names, mine)
    return scored


def load(session: Session, policy: Policy, *, period: str, name: str) -> Board:
    """Score board ``name`` for ``period``."""
    return load_all(session, policy, period=period)[name]
