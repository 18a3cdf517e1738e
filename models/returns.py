"""Units' monthly returns (月报): the indicator values the leads' lifecycle cannot supply.

A row for the same (period, unit, indicator) replaces the earlier one (CONTRACT.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import audit
from models.base import utcnow
from models.errors import BadInput, Problem
from models.inputs import Numbered
from models.organisation import Unit
from models.policy import in_force
from models.records import MonthlyReturn
from models.schemas import ReturnRow


@dataclass(frozen=True)
class ReturnsReport:
    created: int
    replaced: int
    unchanged: int


def import_returns(
    session: Session, rows: list[Numbered[ReturnRow]], *, source: str, actor: str
) -> ReturnsReport:
    audit.lock_chain(session)
    indicators = in_force(session).indicators()
    units = dict(session.execute(select(Unit.code, Unit.id)).all())
    problems = []
    for n in rows:
        if n.item.unit not in units:
            problems.append(
                Problem(source, f"unknown unit '{n.item.unit}'", line=n.line, field="unit")
            )
        if n.item.indicator not in indicators:
            problems.append(
                Problem(
                    source,
                    f"unknown indicator '{n.item.indicator}' "
                    f"(known: {', '.join(sorted(indicators))})",
                    line=n.line,
                    field="indicator",
                )
            )
    if problems:
        raise BadInput(problems)

    existing = {
        (r.period, r.unit_id, r.indicator): r
        for r in session.scalars(
            select(MonthlyReturn).where(MonthlyReturn.period.in_({n.item.period for n in rows}))
        )
    }
    now = utcnow()
    created = replaced = unchanged = 0
    changes = []
    for n in rows:
        key = (n.item.period, units[n.item.unit], n.item.indicator)
        row = existing.get(key)
        if row is None:
            row = MonthlyReturn(
                period=key[0], unit_id=key[1], indicator=key[2], value=n.item.value, imported_at=now
            )
            session.add(row)
            existing[key] = row
            created += 1
        elif row.value != n.item.value:
            changes.append(
                {
                    "period": key[0],
                    "unit": n.item.unit,
                    "indicator": key[2],
                    "from": row.value,
                    "to": n.item.value,
                }
            )
            row.value, row.imported_at = n.item.value, now
            replaced += 1
        else:
            unchanged += 1
            continue
    if created or replaced:
        audit.record(
            session,
            audit.EventDraft(
                actor=actor,
                action="returns.import",
                reason=f"monthly returns imported from {source}",
                data={"created": created, "replaced": changes},
            ),
        )
    return ReturnsReport(created, replaced, unchanged)
