"""The lead's lifecycle (DOMAIN.md §2): states and moves declared once, and the one door.

Every state change goes through :func:`perform_many` (:func:`perform` for one move),
which in one transaction
1. takes the audit chain's lock (so writers queue in one order and cannot deadlock),
2. checks each move is in :data:`MOVES` for the lead's current state,
3. updates the leads with an optimistic version check — ``UPDATE … WHERE version = v``:
   of two writers that read the same version, the second gets :class:`Conflict`,
4. appends the audit events.

A batch of a thousand leads and one lead go through the same door (ARCHITECTURE.md
principle 6); the batch only costs a thousand times fewer statements.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, NamedTuple

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from models import audit
from models.base import utcnow
from models.database import update_rows
from models.errors import Conflict, NotFound, RuleRefused
from models.lead import Lead


class State(StrEnum):
    received = "received"  # 受理
    triaged = "triaged"  # 分析研判
    in_handling = "in_handling"  # 办理中
    on_hold = "on_hold"  # 暂存待查
    disposed = "disposed"  # 已处置
    rectifying = "rectifying"  # 整改中
    escalated = "escalated"  # 督办
    closed = "closed"  # 办结


@dataclass(frozen=True)
class Move:
    name: str
    source: State
    target: State
    term: str


S = State
# The diagram of DOMAIN.md §2, one row a move. `close_disposed` is ours: a lead whose
# outcome needs no rectification (a case filed, a false accusation cleared) is closed
# straight from `disposed` rather than through an empty rectification.
MOVES: tuple[Move, ...] = (
    Move("triage", S.received, S.triaged, "分析研判"),
    Move("assign", S.triaged, S.in_handling, "交办"),
    Move("close_at_triage", S.triaged, S.closed, "予以了结"),
    Move("hold", S.in_handling, S.on_hold, "暂存待查"),
    Move("dispose", S.in_handling, S.disposed, "处置"),
    Move("dispose_held", S.on_hold, S.disposed, "暂存后处置"),
    Move("order_rectification", S.disposed, S.rectifying, "限期整改"),
    Move("close_disposed", S.disposed, S.closed, "办结"),
    Move("strike_off", S.rectifying, S.closed, "销号"),
    Move("escalate", S.rectifying, S.escalated, "督办"),
    Move("resume_rectification", S.escalated, S.rectifying, "督办后继续整改"),
    Move("close_escalated", S.escalated, S.closed, "督办后办结"),
)
MOVES_BY_NAME: dict[str, Move] = {m.name: m for m in MOVES}
INITIAL = S.received


def check_move(current: State | str, name: str) -> Move:
    """The move, if the lifecycle allows it from ``current``; else the rule that refuses it."""
    move = MOVES_BY_NAME.get(name)
    if move is None:
        raise RuleRefused("lifecycle", f"there is no move '{name}'")
    if move.source != current:
        allowed = ", ".join(m.name for m in MOVES if m.source == current) or "none: it is final"
        raise RuleRefused(
            "lifecycle",
            f"move '{name}' goes from '{move.source}' to '{move.target}', but the lead is "
            f"'{current}' (moves from '{current}': {allowed})",
        )
    return move


class Moved(NamedTuple):  # a tuple: a batch makes one a move, a frozen dataclass costs 6×
    lead_id: int
    move: Move
    version: int
    audit_seq: int


@dataclass(slots=True)  # not frozen, as audit.EventDraft and for the same reason
class Step:
    """One move asked of the door: ``expected_version`` is the version the actor saw
    (without it, the version read under the chain's lock); ``changes`` are further
    columns of the lead set by the same UPDATE (e.g. the handling mode decided at triage)."""

    lead_id: int
    move: str
    reason: str
    expected_version: int | None = None
    changes: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)


# The state and version of each lead this transaction has itself written (registered or
# moved), so that its next move need not read them back; forgotten when the transaction
# (or a savepoint in it) ends. The guarded UPDATE still checks them against the row.
_WRITTEN = "leadflow.leads_written"


def remember(session: Session, leads: Mapping[int, tuple[str, int]]) -> None:
    """Note the state and version this transaction has just written for ``leads``."""
    session.info.setdefault(_WRITTEN, {}).update(leads)


@event.listens_for(Session, "after_transaction_end")
def _forget_written(session: Session, _transaction: Any) -> None:
    session.info.pop(_WRITTEN, None)


def perform(
    session: Session,
    *,
    lead_id: int,
    move: str,
    actor: str,
    reason: str,
    expected_version: int | None = None,
    changes: dict[str, Any] | None = None,
    data: dict[str, Any] | None = None,
) -> Moved:
    """Perform one move in the session's transaction; the caller commits."""
    step = Step(lead_id, move, reason, expected_version, changes or {}, data or {})
    return perform_many(session, [step], actor=actor)[0]


def perform_many(session: Session, steps: Sequence[Step], *, actor: str) -> list[Moved]:
    """Perform the moves in order (several may move one lead), as a set: one read of the
    leads, one guarded UPDATE per set of columns, the audit events appended together.

    Every move is checked against the lifecycle before anything is written, so a refused
    move leaves the transaction as it found it.
    """
    audit.lock_chain(session)
    written = session.info.get(_WRITTEN, {})
    ids = {s.lead_id for s in steps}
    read = {lead_id: written[lead_id] for lead_id in ids if lead_id in written}
    if unread := ids - read.keys():
        read |= {
            lead_id: (state, version)
            for lead_id, state, version in session.execute(
                select(Lead.id, Lead.state, Lead.version).where(Lead.id.in_(unread))
            )
        }
    current = dict(read)
    values: dict[int, dict[str, Any]] = {}
    drafts: list[audit.EventDraft] = []
    moved: list[tuple[int, Move, int]] = []
    for step in steps:
        if step.lead_id not in current:
            raise NotFound(f"no lead with id {step.lead_id}")
        state, version = current[step.lead_id]
        # A stale view is reported as such first: what the actor decided on is no longer true.
        if step.expected_version is not None and step.expected_version != version:
            raise Conflict(
                f"lead {step.lead_id} was changed by someone else (you saw version "
                f"{step.expected_version}, it is now version {version}, state '{state}'); "
                "reload and decide again"
            )
        rule = check_move(state, step.move)
        version += 1
        target = str(rule.target)  # the value, as a plain str (intake._insert says why)
        current[step.lead_id] = (target, version)
        lead = values.setdefault(step.lead_id, {})
        if rule.target == State.closed:
            lead["closed_at"] = utcnow()
        lead |= step.changes | {"state": target, "version": version}
        drafts.append(
            audit.EventDraft(
                actor=actor,
                action=f"lead.{rule.name}",
                reason=step.reason,
                lead_id=step.lead_id,
                state_before=str(rule.source),
                state_after=target,
                data={"move": rule.name, "term": rule.term, "version": version, **step.data},
            )
        )
        moved.append((step.lead_id, rule, version))
    _update(session, read, values)
    remember(session, {lead_id: current[lead_id] for lead_id in values})
    last = audit.append(session, drafts)
    first = last - len(drafts) + 1
    return [Moved(i, m, v, first + n) for n, (i, m, v) in enumerate(moved)]


def _update(
    session: Session, read: dict[int, tuple[str, int]], values: dict[int, dict[str, Any]]
) -> None:
    """Each lead's new columns, guarded by the version read: ``UPDATE … WHERE version = v``.
    Of two writers that read the same version, the second gets :class:`Conflict`."""
    groups: dict[tuple[str, ...], list[tuple[Any, ...]]] = defaultdict(list)
    for lead_id, columns in values.items():
        names = tuple(columns)
        groups[names].append((*columns.values(), lead_id, read[lead_id][1]))
    for names, rows in groups.items():
        if update_rows(session, Lead.__table__, names, ("id", "version"), rows) != len(rows):
            which = ", ".join(str(r[-2]) for r in rows[:5])
            raise Conflict(f"lead {which} was changed by someone else while this move was made")
