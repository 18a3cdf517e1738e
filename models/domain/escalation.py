"""Escalations of docs/rules.md §3 as plain rules over scored boards: no database, no Prefect.

- last place on the monthly board N months running (policy: 2) → work warning notice
  (工作预警通知书); a unit still last a month later has run N months again and is warned
  again;
- last place on a quarter board → interview notice (约谈通知书);
- zero on every indicator for the month (零报告) → flagged, and proposed for a
  self-directed inspection (自主研判); a unit that has not filed (未报送) is not a zero
  report.

Who is last and who reported zero is the scored board's to say (models/domain/scoring.py):
a board on which every unit has the same score has no last place, so it warns no one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol


class Standing(Protocol):
    """What the escalations read of a scored board: who is last, who reported zero."""

    @property
    def last(self) -> Sequence[str]: ...

    @property
    def zero_reports(self) -> Sequence[str]: ...


@dataclass(frozen=True)
class Decision:
    document: str  # work_warning | interview_notice | zero_report
    board: str
    unit: str
    period: str

    def as_dict(self) -> dict[str, str]:
        return self.__dict__.copy()


def last_running(boards: Sequence[Standing]) -> list[str]:
    """Units in last place on every one of these boards (an empty list of boards: none)."""
    if not boards:
        return []
    last = [set(board.last) for board in boards]
    return sorted(set.intersection(*last))


def monthly_decisions(
    months: Mapping[str, Sequence[Standing]], *, period: str, running: int
) -> list[Decision]:
    """``months[board]`` holds the boards of the last ``running`` months, oldest first,
    ending with ``period``'s."""
    decisions = []
    for board, boards in sorted(months.items()):
        if len(boards) != running:
            raise ValueError(f"{board}: {len(boards)} monthly boards given, {running} needed")
        decisions += [
            Decision("work_warning", board, unit, period) for unit in last_running(boards)
        ]
        decisions += [
            Decision("zero_report", board, unit, period) for unit in sorted(boards[-1].zero_reports)
        ]
    return decisions


def quarterly_decisions(quarters: Mapping[str, Standing], *, period: str) -> list[Decision]:
    return [
        Decision("interview_notice", board, unit, period)
        for board, standing in sorted(quarters.items())
        for unit in sorted(standing.last)
    ]


# period → unit → indicator → value; None: not filed (未报送).
Values = Mapping[str, Mapping[str, Mapping[str, int | None]]]


def value_changes(before: Mapping[str, Values], after: Mapping[str, Values]) -> list[dict]:
    """Every (board, period, unit, indicator) whose value differs between two readings."""
    changes = []
    for board in sorted(set(before) | set(after)):
        b, a = before.get(board, {}), after.get(board, {})
        for period in sorted(set(b) | set(a)):
            bp, ap = b.get(period, {}), a.get(period, {})
            for unit in sorted(set(bp) | set(ap)):
                bu, au = bp.get(unit, {}), ap.get(unit, {})
                for indicator in sorted(set(bu) | set(au)):
                    old, new = bu.get(indicator, 0), au.get(indicator, 0)
                    if old != new:
                        changes.append(
                            {
                                "board": board,
                                "period": period,
                                "unit": unit,
                                "indicator": indicator,
                                "was": old,
                                "now": new,
                            }
                        )
    return changes
