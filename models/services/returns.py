"""Units' monthly returns (月报): the indicator values the leads' lifecycle cannot supply.

A return for the same (period, unit, indicator) as one imported before replaces it
(docs/commands.md); within one file each is given once (the reader refuses a repeat).
A return's month lies in a window that ends with the current month, counted on the real
calendar (Asia/Shanghai), never on a day set to replay or test.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import audit
from models.domain.errors import BadInput, Problem
from models.domain.people import Person
from models.inputs.readers import Numbered
from models.inputs.schemas import ReturnRow
from models.services.access import permit
from models.services.clock import real_today
from models.services.policy import in_force
from models.store.base import utcnow
from models.store.organisation import Unit
from models.store.records import MonthlyReturn

# A return may be for a month of the ten years before the current one, or of this year up
# to the current month: a late return is taken, a year mistyped (2062, 1926) is not.
YEARS_BACK = 10


@dataclass(frozen=True)
class ReturnsReport:
    created: int
    replaced: int
    unchanged: int


def import_returns(
    session: Session,
    rows: list[Numbered[ReturnRow]],
    *,
    source: str,
    by: Person,
    today: date | None = None,
) -> ReturnsReport:
    """Check every row, then create or replace the returns, in the session's transaction;
    an import that changed something is recorded on the audit chain, each replaced value
    with what it was. ``today`` (the real one, :func:`real_today`, unless a test names
    one) ends the window of months a return may be for."""
    permit(session, by, "returns.import")
    audit.lock_chain(session)
    indicators = in_force(session).indicators()
    units = dict(session.execute(select(Unit.code, Unit.id)).tuples().all())
    _check(rows, units, indicators, source=source, today=today or real_today())
    created, changes, unchanged = _write(session, rows, units)
    if created or changes:
        audit.record(
            session,
            audit.EventDraft(
                actor=by.actor,
                action="returns.import",
                reason=f"monthly returns imported from {source}",
                data={"created": created, "replaced": changes},
            ),
        )
    return ReturnsReport(created, len(changes), unchanged)


def period_window(today: date) -> tuple[str, str]:
    """The first and the last month a return may be for, on ``today``."""
    return f"{today.year - YEARS_BACK:04d}-01", f"{today.year:04d}-{today.month:02d}"


def _check(
    rows: list[Numbered[ReturnRow]],
    units: dict[str, int],
    indicators: Collection[str],
    *,
    source: str,
    today: date,
) -> None:
    """Refuse the file, every problem placed at its line and field, if a row names a unit
    or an indicator the commission does not have, or a month outside
    :func:`period_window` (one not yet begun, or too long ago)."""
    first, last = period_window(today)
    problems = []
    for n in rows:
        if not first <= n.item.period <= last:
            reason = f"must be a month from {first} to {last} (the current month)"
            problems.append(Problem(source, reason, line=n.line, field="period"))
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


def _write(
    session: Session, rows: list[Numbered[ReturnRow]], units: dict[str, int]
) -> tuple[int, list[dict[str, object]], int]:
    """Create or replace each row's return (a later row of the same key wins): how many
    were created, what was replaced, how many were already so."""
    existing = {
        (r.period, r.unit_id, r.indicator): r
        for r in session.scalars(
            select(MonthlyReturn).where(MonthlyReturn.period.in_({n.item.period for n in rows}))
        )
    }
    now = utcnow()
    created = unchanged = 0
    changes: list[dict[str, object]] = []
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
        else:
            unchanged += 1
    return created, changes, unchanged
