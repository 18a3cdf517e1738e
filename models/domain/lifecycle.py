"""The lead's lifecycle (docs/rules.md §2) on one screen: its states, the moves between
them, and the condition (guard) each move and each state-bound act must meet.

A move is allowed when the lead is in the move's source state and the move's guards
hold; an act that moves nothing but depends on the lead's state and records (recording
an outcome, reporting a rectification) is allowed when its guards hold. A guard reads
:class:`Facts`, a plain record of what the store holds about one lead: the one door
(models/services/door.py) reads them for guarded moves and acts only, and checks them
here. Pure rules: no database, no Prefect.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from enum import StrEnum

from models.domain.errors import RuleRefused


class State(StrEnum):
    received = "received"  # 受理
    triaged = "triaged"  # 分析研判
    in_handling = "in_handling"  # 办理中
    on_hold = "on_hold"  # 暂存待查
    disposed = "disposed"  # 已处置
    rectifying = "rectifying"  # 整改中
    escalated = "escalated"  # 督办
    closed = "closed"  # 办结


@dataclass(frozen=True, slots=True)
class Facts:
    """What the guards read of one lead: its state and the records its handling left.
    The door fills in only the records a guard reads (see :attr:`Guard.reads`)."""

    lead: int
    state: State
    disposal: str | None = None  # the disposal method (处置方式) decided, if any
    outcome: bool = False  # the outcome of docs/rules.md §2.5 is recorded
    open_rectification: int | None = None  # the rectification (整改) not struck off yet
    reported: bool = False  # the entity has reported on that open rectification
    verified: bool = False  # the latest rectification passed its follow-up check (回头看)
    proposed: bool = False  # triage (分析研判) has made its proposal
    decided: str | None = None  # the handling mode a leader decided on the proposal
    decided_by: str | None = None


# The records a guard may read, each a table the door reads for it.
DISPOSAL, OUTCOME, RECTIFICATION, PROPOSAL = "disposal", "outcome", "rectification", "proposal"


@dataclass(frozen=True)
class Guard:
    """A condition: ``holds`` over the facts, read from the records in ``reads``; when it
    does not hold, the rule ``rule`` refuses with ``refusal``, formatted with the facts."""

    name: str
    rule: str
    refusal: str
    holds: Callable[[Facts], bool]
    reads: tuple[str, ...] = ()

    def check(self, facts: Facts) -> None:
        if not self.holds(facts):
            values = {f.name: getattr(facts, f.name) for f in fields(facts)}
            raise RuleRefused(self.rule, self.refusal.format_map(values))


NOT_YET_DISPOSED = Guard(
    "not_yet_disposed",
    "disposal",
    "lead {lead} was already disposed ({disposal})",
    lambda f: f.disposal is None or f.state == State.on_hold,  # held: decided again
    (DISPOSAL,),
)
DISPOSED = Guard(
    "disposed",
    "outcome",
    "an outcome follows disposal; lead {lead} is '{state}'",
    lambda f: f.state == State.disposed,
)
NO_OUTCOME_YET = Guard(
    "no_outcome_yet",
    "outcome",
    "lead {lead} already has its outcome",
    lambda f: not f.outcome,
    (OUTCOME,),
)
OUTCOME_RECORDED = Guard(
    "outcome_recorded",
    "rectification",
    "record the outcome before ordering rectification",
    lambda f: f.outcome,
    (OUTCOME,),
)
# 予以了结 is a disposal that closes the lead at once: there is no outcome to record.
OUTCOME_OR_CLOSED_AT_DISPOSAL = Guard(
    "outcome_or_closed_at_disposal",
    "closure",
    "a disposed lead is closed with its outcome recorded first",
    lambda f: f.outcome or f.disposal == "close",
    (OUTCOME, DISPOSAL),
)
RECTIFICATION_OPEN = Guard(
    "rectification_open",
    "rectification",
    "lead {lead} has no open rectification",
    lambda f: f.open_rectification is not None,
    (RECTIFICATION,),
)
RECTIFICATION_REPORTED = Guard(
    "rectification_reported",
    "rectification",
    "the entity has not reported its rectification yet",
    lambda f: f.reported,
    (RECTIFICATION,),
)
FOLLOW_UP_PASSED = Guard(
    "follow_up_passed",
    "rectification",
    "lead {lead} is closed only after a follow-up check verifies its rectification",
    lambda f: f.verified,
    (RECTIFICATION,),
)


PROPOSAL_MADE = Guard(
    "proposal_made",
    "decision",
    "lead {lead} has not been triaged: nothing to decide",
    lambda f: f.proposed,
    (PROPOSAL,),
)
NOT_YET_DECIDED = Guard(
    "not_yet_decided",
    "decision",
    "lead {lead} was already decided ({decided}) by {decided_by}",
    lambda f: f.decided is None,
    (PROPOSAL,),
)


@dataclass(frozen=True)
class Move:
    name: str
    source: State
    target: State
    term: str
    guards: tuple[Guard, ...] = ()


S = State
# The diagram of docs/rules.md §2, one row a move, with its guards. `close_disposed` is
# ours: a lead whose outcome needs no rectification (a case filed, a false accusation
# cleared) is closed straight from `disposed` rather than through an empty rectification.
MOVES: tuple[Move, ...] = (
    Move("triage", S.received, S.triaged, "分析研判"),
    Move("assign", S.triaged, S.in_handling, "交办"),
    # ours: a 协作申请 granted — the lead stays in handling, by the units the leader decided.
    Move("reassign", S.in_handling, S.in_handling, "协作办理"),
    Move("close_at_triage", S.triaged, S.closed, "予以了结"),
    Move("hold", S.in_handling, S.on_hold, "暂存待查"),
    Move("dispose", S.in_handling, S.disposed, "处置"),
    Move("dispose_held", S.on_hold, S.disposed, "暂存后处置"),
    Move("order_rectification", S.disposed, S.rectifying, "限期整改", (OUTCOME_RECORDED,)),
    Move("close_disposed", S.disposed, S.closed, "办结", (OUTCOME_OR_CLOSED_AT_DISPOSAL,)),
    Move("strike_off", S.rectifying, S.closed, "销号", (FOLLOW_UP_PASSED,)),
    Move("escalate", S.rectifying, S.escalated, "督办"),
    Move("resume_rectification", S.escalated, S.rectifying, "督办后继续整改"),
    Move("close_escalated", S.escalated, S.closed, "督办后办结", (FOLLOW_UP_PASSED,)),
)
MOVES_BY_NAME: dict[str, Move] = {m.name: m for m in MOVES}
INITIAL = S.received


@dataclass(frozen=True)
class Act:
    """A step that records without moving the lead, allowed only when its guards hold."""

    name: str
    term: str
    guards: tuple[Guard, ...]


# Checked in this order: the first guard that does not hold refuses the act.
ACTS: tuple[Act, ...] = (
    Act("decide", "委领导分析研判", (PROPOSAL_MADE, NOT_YET_DECIDED)),
    Act("decide_disposal", "处置", (NOT_YET_DISPOSED,)),
    Act("record_outcome", "处理结果", (DISPOSED, NO_OUTCOME_YET)),
    Act("report_rectification", "整改报告", (RECTIFICATION_OPEN,)),
    Act("follow_up", "回头看", (RECTIFICATION_OPEN, RECTIFICATION_REPORTED)),
)
ACTS_BY_NAME: dict[str, Act] = {a.name: a for a in ACTS}


def check_move(current: State | str, name: str) -> Move:
    """The move, if the lifecycle allows it from ``current``; else the rule that refuses it.
    Its guards are checked apart (:func:`check_guards`): they need the lead's records."""
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


def check_guards(guards: Iterable[Guard], facts: Facts) -> None:
    """Each guard in order; the first that does not hold refuses with its rule."""
    for guard in guards:
        guard.check(facts)


def reads_of(guards: Iterable[Guard]) -> frozenset[str]:
    """The records the guards read, all together."""
    return frozenset(record for guard in guards for record in guard.reads)


def check_act(name: str, facts: Facts) -> Act:
    """The act, if its guards hold for ``facts``; else the rule that refuses it."""
    act = ACTS_BY_NAME[name]
    check_guards(act.guards, facts)
    return act
