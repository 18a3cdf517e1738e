"""The lifecycle as a lead's page draws it: a box for every state, an arrow for every
move, the current state filled, the moves open from it drawn strong, and a description
in words for those who do not see the drawing."""

from __future__ import annotations

import re

from leadflow.web.workbench.lifecycle import HEIGHT, WIDTH, drawing
from models.domain.lifecycle import MOVES, State
from models.domain.terms import STATES


def test_every_state_and_move_is_drawn_inside_the_picture() -> None:
    drawn = drawing("disposed", {"received", "triaged", "in_handling", "disposed"})
    assert sorted(b.label for b in drawn.boxes) == sorted(STATES[s] for s in State)
    assert [b.label for b in drawn.boxes if b.current] == ["已处置"]
    assert {b.label for b in drawn.boxes if b.visited} == {"受理", "分析研判", "办理中", "已处置"}
    assert len(drawn.arrows) == len(MOVES)
    opened = sorted(a.term for a in drawn.arrows if a.open_now)
    assert opened == sorted(m.term for m in MOVES if m.source == "disposed")
    for box in drawn.boxes:  # no two boxes overlap, each inside the picture
        assert box.x >= 0 and box.x + WIDTH <= drawn.width
        assert box.y >= 0 and box.y + HEIGHT <= drawn.height
    assert len({(b.x, b.y) for b in drawn.boxes}) == len(drawn.boxes)
    for arrow in drawn.arrows:
        numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", arrow.path)]
        xs, ys = numbers[0::2], numbers[1::2]
        assert all(0 <= x <= drawn.width for x in xs), arrow
        assert all(0 <= y <= drawn.height for y in ys), arrow


def test_the_description_says_where_the_lead_stands_and_may_go() -> None:
    drawn = drawing("rectifying", {"received", "rectifying"})
    assert "当前状态为“整改中”" in drawn.title
    assert drawn.description == "当前状态：整改中。曾经过：受理。可转入：督办、办结。"
    assert drawing("closed", {"closed"}).description.endswith("已是最终状态。")
