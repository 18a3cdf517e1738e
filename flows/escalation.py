"""The monthly and quarterly escalations (docs/rules.md §3).

Every day from the 1st, the monthly deployment checks the month just ended, and once its
returns are due (the 3rd working day by default) or every unit has filed them, runs it:
the coordinating office scores every unit on the colour boards, warns the units last the
policy's number of months running (two by default), flags the zero reports, lists the
units that have not filed, and publishes the bulletin. A check that finds the month run,
or its returns still awaited, reads no board and issues nothing. On the
1st of January, April, July and October, for the quarter just ended: the units last on
a quarter board are called to an interview, and the unit groups' quarterly reports and
the consolidated report go to the leaders. Each board is also published as a Prefect
table artifact.

Running either twice for the same period issues nothing twice: the run and each of its
documents are keyed in the system of record (docs/architecture.md principle 3).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date
from typing import Any

import prefect.runtime
from prefect import flow, task
from prefect.artifacts import create_table_artifact
from prefect.context import FlowRunContext
from sqlalchemy import Engine

from models import documents
from models.domain.board import Board
from models.domain.errors import LeadFlowError
from models.services import anchoring, escalations, runtime
from models.store.database import transaction
from models.store.periods import previous_month

log = logging.getLogger(__name__)


def _board_artifact(board: Board, kind: str) -> None:
    rows = [
        {
            "unit": row.unit,
            "name": board.names[row.unit],
            **{
                f"{board.indicators[k]}": f"{'未报送' if c.missing else c.value} ({c.color})"
                for k, c in row.cells.items()
            },
            "score": row.score,
            "rank": row.rank,
            "yellow": "yes" if row.yellow else "",
            "last": "LAST" if row.last else "",
        }
        for row in board.rows
    ]
    create_table_artifact(
        key=f"{kind}-board-{board.name}-{board.period}".lower().replace("_", "-"),
        table=rows,
        description=f"{board.title} 多色榜 {board.period}",
    )


@task
def render(document_ids: list[int]) -> None:
    desk = runtime.desk()
    rendered = documents.render_each(
        runtime.engine(), document_ids, output_dir=desk.output_dir, actor=desk.actor
    )
    documents.raise_if_undrawn(rendered)  # the run stands; a document no font draws is void


def _run(kind: str, period: str, on: date | None) -> dict[str, Any]:
    engine, desk = runtime.engine(), runtime.desk(today=on)
    step = escalations.monthly if kind == "monthly" else escalations.quarterly
    with transaction(engine) as session:
        report = step(session, desk, period)
    # Run without Prefect (no server), the boards are in the report and rendering is a call.
    in_a_run = FlowRunContext.get() is not None
    for board in report.boards if in_a_run else ():
        _board_artifact(board, kind)
    # Renders what this run issued, and what an earlier run left pending (a crash).
    (render if in_a_run else render.fn)(report.issued + report.already_issued)
    with transaction(engine) as session:
        done = report.as_dict(session)
    return {**done, "anchor": _anchored(engine)}


def _anchored(engine: Engine) -> int | None:
    """Every run ends by anchoring the chain's head; a run is not undone when it cannot
    (no key, or the chain no longer matching its anchors, which `audit verify` names)."""
    try:
        return anchoring.anchor(engine).n
    except (LeadFlowError, OSError, ValueError) as exc:
        log.warning("the audit chain's head was not anchored: %s", exc)
        return None


def last_month(today: date) -> str:
    return previous_month(f"{today.year}-{today.month:02d}")


def last_quarter(today: date) -> str:
    quarter = (today.month - 1) // 3  # the quarter just ended: 0 means Q4 of last year
    return f"{today.year - 1}-Q4" if quarter == 0 else f"{today.year}-Q{quarter}"


def _named(kind: str) -> Callable[[], str]:
    """The run's name: its kind and the period it was asked for, else the one just ended."""

    def name() -> str:
        asked = prefect.runtime.flow_run.parameters.get("period")
        return f"{kind} escalation {asked or 'of the period just ended'}"

    return name


def _waiting(period: str, on: date | None) -> dict[str, Any] | None:
    """The scheduled check's answer when ``period`` is not to run today; None to run it."""
    engine, desk = runtime.engine(), runtime.desk(today=on)
    with transaction(engine) as session:
        reason = escalations.not_yet(session, desk, period)
    if reason is None:
        return None
    log.info("monthly escalation of %s not run: %s", period, reason)
    return {"period": period, "kind": "monthly", "ran": False, "reason": reason}


@flow(name="monthly-escalation", flow_run_name=_named("monthly"))
def monthly_escalation(
    period: str | None = None, on: date | None = None, scheduled: bool = False
) -> dict[str, Any]:
    """The month's boards, bulletin, work warnings and zero-report flags. ``scheduled``
    (the deployment's daily check): the month is run once, when its returns are in or
    due, and left alone before and after; asked for, a month not ready is refused."""
    month = period or last_month(on or runtime.desk().today)
    if scheduled and (waiting := _waiting(month, on)) is not None:
        return waiting
    return _run("monthly", month, on)


@flow(name="quarterly-escalation", flow_run_name=_named("quarterly"))
def quarterly_escalation(period: str | None = None, on: date | None = None) -> dict[str, Any]:
    """The quarter's boards, interview notices and quarterly reports."""
    return _run("quarterly", period or last_quarter(on or runtime.desk().today), on)
