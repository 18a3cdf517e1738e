"""A colour board (多色榜, docs/rules.md §3) of the system of record: the indicators of
`models.store.indicators` scored by the rules of `models.domain.scoring`, for a month, a
quarter or a range of months.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.domain.board import Board
from models.domain.policy import Policy
from models.domain.scoring import months_of, score_columns
from models.store.indicators import column, indicator_sums
from models.store.organisation import Designation, Unit


def load_many(
    session: Session, policy: Policy, *, periods: Sequence[str]
) -> dict[str, dict[str, Board]]:
    """Score every board for each of ``periods`` (months, quarters or ranges of months):
    the organisation read once, one aggregation for all the periods and boards."""
    specs = policy.boards
    kinds = {name: {kind.value for kind in spec.unit_kinds} for name, spec in specs.items()}
    every_kind = sorted(set().union(*kinds.values()))
    every_indicator = list(
        dict.fromkeys(code for spec in specs.values() for code in spec.indicators)
    )
    # Plain tuples sorted here: the database's collation may differ (PostgreSQL's locale).
    units = sorted(
        map(
            tuple,
            session.connection().execute(
                select(Unit.code, Unit.name, Unit.kind, Unit.id).where(Unit.kind.in_(every_kind))
            ),
        )
    )
    members = {name: [unit for unit in units if unit[2] in kinds[name]] for name in specs}
    names = {name: {code: unit_name for code, unit_name, *_ in members[name]} for name in specs}
    ids = {name: [unit[3] for unit in members[name]] for name in specs}
    yellow = set(
        session.scalars(
            select(Unit.code)
            .join(Designation, Designation.unit_id == Unit.id)
            .where(Designation.kind == "yellow")
        )
    )
    scored: dict[str, dict[str, Board]] = {}
    every_sums = indicator_sums(session, [months_of(period) for period in periods], every_indicator)
    for period, sums in zip(periods, every_sums, strict=True):
        scored[period] = {}
        for name, spec in specs.items():
            board = score_columns(
                {code: column(sums[code], ids[name]) for code in spec.indicators},
                units=list(names[name]),
                indicators=list(spec.indicators),
                yellow=yellow,
                scoring=policy.scoring,
            )
            scored[period][name] = Board(
                period, name, spec.title, dict(spec.indicators), board, names[name]
            )
    return scored


def load_all(session: Session, policy: Policy, *, period: str) -> dict[str, Board]:
    """Score every board for ``period``."""
    return load_many(session, policy, periods=[period])[period]


def load(session: Session, policy: Policy, *, period: str, name: str) -> Board:
    """Score board ``name`` for ``period``."""
    return load_all(session, policy, period=period)[name]
