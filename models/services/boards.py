"""A colour board (多色榜, docs/rules.md §3) of the system of record: the indicators of
`models.store.indicators` scored by the rules of `models.domain.scoring`, for a month, a
quarter or a range of months. A board holds the units of its kinds, or those its policy
lists, and counts the leads of every domain, or of those its policy names.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models.domain.board import Board
from models.domain.errors import RuleRefused
from models.domain.policy import Board as BoardSpec
from models.domain.policy import Policy
from models.domain.scoring import months_of, score_columns
from models.store.indicator_sources import return_only
from models.store.indicators import DataCheck, PeriodSums, data_checks, indicator_sums
from models.store.organisation import Designation, Unit
from models.store.records import MonthlyReturn


class Member(NamedTuple):
    code: str
    name: str
    id: int


# A board's lead domains as a key (None: every domain): boards of one scope share a read.
Scope = tuple[str, ...] | None


def _scope(spec: BoardSpec) -> Scope:
    return None if spec.domains is None else tuple(sorted(spec.domains))


def members(session: Session, policy: Policy) -> dict[str, list[Member]]:
    """Each board's units by code: every unit of its kinds, or the ones its policy lists —
    each of which must be one of them (a board is not quietly smaller than its policy)."""
    kinds = {name: {kind.value for kind in spec.unit_kinds} for name, spec in policy.boards.items()}
    every_kind = sorted(set().union(*kinds.values()))
    # Plain tuples sorted here: the database's collation may differ (PostgreSQL's locale).
    units = sorted(
        map(
            tuple,
            session.connection().execute(
                select(Unit.code, Unit.name, Unit.kind, Unit.id).where(Unit.kind.in_(every_kind))
            ),
        )
    )
    found: dict[str, list[Member]] = {}
    for name, spec in policy.boards.items():
        mine = [
            Member(code, unit_name, id_)
            for code, unit_name, kind, id_ in units
            if kind in kinds[name]
        ]
        if spec.units is not None:
            listed = set(spec.units)
            unknown = ", ".join(sorted(listed - {m.code for m in mine}))
            if unknown:
                of_kinds = ", ".join(sorted(kinds[name]))
                raise RuleRefused(
                    "board_units",
                    f"the policy's {name} board lists {unknown}: the organisation has "
                    f"no unit of the board's kinds ({of_kinds}) with that code",
                )
            mine = [m for m in mine if m.code in listed]
        found[name] = mine
    return found


def _sums(
    session: Session, policy: Policy, months: list[list[str]]
) -> dict[Scope, list[PeriodSums]]:
    """One aggregation per scope of lead domains (one in all, unless the boards differ),
    of every indicator its boards need, for every period."""
    wanted: dict[Scope, dict[str, None]] = {}
    for spec in policy.boards.values():
        wanted.setdefault(_scope(spec), {}).update(dict.fromkeys(spec.indicators))
    return {
        scope: indicator_sums(session, months, list(indicators), scope)
        for scope, indicators in wanted.items()
    }


def load_many(
    session: Session, policy: Policy, *, periods: Sequence[str]
) -> dict[str, dict[str, Board]]:
    """Score every board for each of ``periods`` (months, quarters or ranges of months):
    the organisation read once, one aggregation for all the periods and boards of a scope."""
    on_board = members(session, policy)
    yellow = set(
        session.scalars(
            select(Unit.code)
            .join(Designation, Designation.unit_id == Unit.id)
            .where(Designation.kind == "yellow")
        )
    )
    sums = _sums(session, policy, [months_of(period) for period in periods])
    scored: dict[str, dict[str, Board]] = {}
    for p, period in enumerate(periods):
        scored[period] = {}
        for name, spec in policy.boards.items():
            mine, found = on_board[name], sums[_scope(spec)][p]
            ids = [m.id for m in mine]
            board = score_columns(
                {code: found.column(code, ids) for code in spec.indicators},
                units=[m.code for m in mine],
                indicators=list(spec.indicators),
                yellow=yellow,
                scoring=policy.scoring,
            )
            names = {m.code: m.name for m in mine}
            scored[period][name] = Board(
                period, name, spec.title, dict(spec.indicators), board, names
            )
    return scored


def load_all(session: Session, policy: Policy, *, period: str) -> dict[str, Board]:
    """Score every board for ``period``."""
    return load_many(session, policy, periods=[period])[period]


def load(session: Session, policy: Policy, *, period: str, name: str) -> Board:
    """Score board ``name`` for ``period``."""
    return load_all(session, policy, period=period)[name]


def not_filed(session: Session, policy: Policy, month: str) -> dict[str, list[str]]:
    """Each board's units, by code, that have not filed every return-only indicator of
    the board for ``month``: one count per unit that filed, not the board's values."""
    on_board = members(session, policy)
    found: dict[str, list[str]] = {}
    for name, spec in policy.boards.items():
        wanted = [code for code in spec.indicators if return_only(code)]
        if not wanted:
            found[name] = []
            continue
        counts = dict(
            session.execute(
                select(MonthlyReturn.unit_id, func.count())
                .where(MonthlyReturn.period == month, MonthlyReturn.indicator.in_(wanted))
                .group_by(MonthlyReturn.unit_id)
            )
            .tuples()
            .all()
        )
        found[name] = [m.code for m in on_board[name] if counts.get(m.id, 0) < len(wanted)]
    return found


def board_data_checks(session: Session, policy: Policy, months: list[str]) -> list[DataCheck]:
    """The data checks of the boards' units: each return that differs from what the
    lifecycle shows of its board's lead domains (one read per scope of domains)."""
    on_board = members(session, policy)
    codes: dict[Scope, set[str]] = {}
    for name, spec in policy.boards.items():
        codes.setdefault(_scope(spec), set()).update(m.code for m in on_board[name])
    found = [
        check
        for scope, mine in codes.items()
        for check in data_checks(session, months, domains=scope)
        if check.unit in mine
    ]
    return sorted(found, key=lambda c: (c.month, c.unit, c.indicator))
