"""The lifecycle (docs/rules.md §2) drawn for a lead's page: a box for each state of
models/domain/lifecycle.py and an arrow for each move, the lead's current state filled,
the states it has been in outlined, the moves open from where it stands drawn strong.
Plain geometry for an inline SVG — no script, no style attribute."""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass

from models.domain.lifecycle import MOVES, Move, State
from models.domain.terms import STATES

WIDTH, HEIGHT = 104, 40  # a state's box
COLUMN, ROW = 136, 104  # from one box's corner to the next one's
LEFT, TOP = 12, 72  # room above the first row for the arrows that pass over it
# Where each state stands: the main line from receipt to closure, with the two side
# states (held, supervised) beneath the states they leave.
PLACES: dict[State, tuple[int, int]] = {
    State.received: (0, 0),
    State.triaged: (1, 0),
    State.in_handling: (2, 0),
    State.disposed: (3, 0),
    State.rectifying: (4, 0),
    State.closed: (5, 0),
    State.on_hold: (2, 1),
    State.escalated: (4, 1),
}
SIDE_BY_SIDE = 12  # how far apart a move and its way back are drawn


@dataclass(frozen=True)
class Box:
    x: int
    y: int
    label: str
    current: bool
    visited: bool


@dataclass(frozen=True)
class Arrow:
    path: str  # the SVG path's ``d``
    term: str
    open_now: bool  # a move from the lead's current state


@dataclass(frozen=True)
class Drawing:
    width: int
    height: int
    boxes: list[Box]
    arrows: list[Arrow]
    title: str
    description: str


def corner(state: State) -> tuple[int, int]:
    column, row = PLACES[state]
    return LEFT + column * COLUMN, TOP + row * ROW


def centre(state: State) -> tuple[float, float]:
    x, y = corner(state)
    return x + WIDTH / 2, y + HEIGHT / 2


def _edge(state: State, towards: tuple[float, float], shift: tuple[float, float]) -> str:
    """Where the line from the box's centre (moved by ``shift``) towards a point leaves it."""
    cx, cy = centre(state)
    cx, cy = cx + shift[0], cy + shift[1]
    dx, dy = towards[0] - cx, towards[1] - cy
    scale = min(
        (WIDTH / 2) / abs(dx) if dx else math.inf, (HEIGHT / 2) / abs(dy) if dy else math.inf
    )
    return f"{cx + dx * scale:.0f},{cy + dy * scale:.0f}"


def _straight(move: Move, back: bool) -> str:
    """A straight arrow; a move with a way back is drawn beside it, each on its own side."""
    (sx, sy), (tx, ty) = centre(move.source), centre(move.target)
    length = math.hypot(tx - sx, ty - sy)
    side = SIDE_BY_SIDE / 2 if back else 0.0
    shift = (-(ty - sy) / length * side, (tx - sx) / length * side)
    start = _edge(move.source, (tx + shift[0], ty + shift[1]), shift)
    end = _edge(move.target, (sx + shift[0], sy + shift[1]), shift)
    return f"M{start} L{end}"


def _over(move: Move) -> str:
    """An arrow over the boxes between, from the top of one box to the top of another."""
    (sx, sy), (tx, _) = corner(move.source), corner(move.target)
    span = PLACES[move.target][0] - PLACES[move.source][0]
    rise = 24 + 10 * span
    start_x, end_x = sx + WIDTH * 0.5, tx + WIDTH * (0.25 if span > 2 else 0.6)
    return (
        f"M{start_x:.0f},{sy} C{start_x:.0f},{sy - rise} {end_x:.0f},{sy - rise} {end_x:.0f},{sy}"
    )


def _loop(move: Move) -> str:
    """A move that stays in its state (a 协作申请 granted): a loop on the box's top."""
    x, y = corner(move.source)
    return f"M{x + 66},{y} C{x + 72},{y - 26} {x + 100},{y - 26} {x + 92},{y}"


def _path(move: Move) -> str:
    if move.source == move.target:
        return _loop(move)
    (column, row), (to_column, to_row) = PLACES[move.source], PLACES[move.target]
    if row == to_row and abs(to_column - column) > 1:
        return _over(move)
    back = any(m.source == move.target and m.target == move.source for m in MOVES)
    return _straight(move, back)


def drawing(current: str, visited: Collection[str]) -> Drawing:
    """The lifecycle with ``current`` filled and the states in ``visited`` outlined."""
    boxes = [
        Box(*corner(state), STATES[state], state == current, state in visited) for state in PLACES
    ]
    arrows = [Arrow(_path(m), m.term, m.source == current) for m in MOVES]
    targets = {m.target for m in MOVES if m.source == current != m.target}
    onward = [STATES[s] for s in State if s in targets]  # in the lifecycle's order
    been = [STATES[s] for s in PLACES if s in visited and s != current]
    name = STATES.get(current, current)
    description = f"当前状态：{name}。" + (f"曾经过：{'、'.join(been)}。" if been else "")
    description += f"可转入：{'、'.join(onward)}。" if onward else "已是最终状态。"
    columns = max(c for c, _ in PLACES.values()) + 1
    rows = max(r for _, r in PLACES.values()) + 1
    return Drawing(
        width=LEFT * 2 + (columns - 1) * COLUMN + WIDTH,
        height=TOP + (rows - 1) * ROW + HEIGHT + 12,
        boxes=boxes,
        arrows=arrows,
        title=f"线索生命周期图：当前状态为“{name}”",
        description=description,
    )
