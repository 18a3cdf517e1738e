"""The lead's lifecycle (DOMAIN.md §2): states and moves declared once, and the one door.

Every state change goes through :func:`perform`, which in one transaction
1. takes the audit chain's lock (so writers queue in one order and cannot deadlock),
2. checks the move is in :data:`MOVES` for the lead's current state,
3. updates the lead with an optimistic version check — ``UPDATE … WHERE version = v``:
   of two writers that read the same version, the second gets :class:`Conflict`,
4. appends the audit event.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from models import audit
from models.base import utcnow
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


@dataclass(frozen=True)
class Moved:
    lead_id: int
    move: Move
    version: int
    audit_seq: int


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
    """Perform one move in the session's transaction; the caller commits.

    ``expected_version`` is the version the actor saw; without it, the version read
    here under the chain's lock. ``changes`` are further columns of the lead set by
    the same UPDATE (e.g. the handling mode decided at triage).
    """
    audit.lock_chain(session)
    row = session.execute(select(Lead.state, Lead.version).where(Lead.id == lead_id)).one_or_none()
    if row is None:
        raise NotFound(f"no lead with id {lead_id}")
    state, version = row
    # A stale view is reported as such first: what the actor decided on is no longer true.
    if expected_version is not None and expected_version != version:
        raise Conflict(
            f"lead {lead_id} was changed by someone else (you saw version {expected_version}, "
            f"it is now version {version}, state '{state}'); reload and decide again"
        )
    step = check_move(state, move)
    seen = version
    if step.target == State.closed:
        changes = {"closed_at": utcnow(), **(changes or {})}
    result = session.execute(
        update(Lead)
        .where(Lead.id == lead_id, Lead.version == seen)
        .values(state=step.target, version=seen + 1, **(changes or {}))
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise Conflict(f"lead {lead_id} was changed by someone else while this move was made")
    seq = audit.record(
        session,
        audit.EventDraft(
            actor=actor,
            action=f"lead.{step.name}",
            reason=reason,
            lead_id=lead_id,
            state_before=step.source,
            state_after=step.target,
            data={"move": step.name, "term": step.term, "version": seen + 1, **(data or {})},
        ),
    )
    return Moved(lead_id=lead_id, move=step, version=seen + 1, audit_seq=seq)
