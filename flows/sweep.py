"""The daily deadline sweep (docs/rules.md §2.7): every open rectification is walked up the
overdue ladder — reminder before the deadline, urging notice when it passes,
supervision by the coordinating office past a threshold, accountability proposal —
each step exactly once; and a proposal a leader has left unanswered is sent up.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import prefect.runtime
from prefect import flow

from models import documents
from models.services import runtime, sweep
from models.store.database import transaction
from models.store.periods import SHANGHAI


def _named() -> str:
    """The run's name: the day it sweeps (its scheduled day in the commission's time)."""
    asked = prefect.runtime.flow_run.parameters.get("on")
    scheduled = prefect.runtime.flow_run.scheduled_start_time
    return f"deadline sweep {asked or scheduled.astimezone(SHANGHAI).date()}"


@flow(name="deadline-sweep", flow_run_name=_named)
def deadline_sweep(on: date | None = None) -> list[dict[str, Any]]:
    engine, desk = runtime.engine(), runtime.desk(today=on)
    taken: list[sweep.SweepStep] = []
    with transaction(engine) as session:
        rectifications, proposals = sweep.due_for_sweep(session)
    for rectification_id in rectifications:
        with transaction(engine) as session:
            taken += sweep.sweep_rectification(session, desk, rectification_id)
    for lead_id in proposals:
        with transaction(engine) as session:
            step = sweep.sweep_decision(session, desk, lead_id)
            taken += [step] if step else []
    rendered = [
        document
        for lead_id in sorted({s.lead_id for s in taken})
        for document in documents.render_pending(
            engine, output_dir=desk.output_dir, actor=desk.actor, lead_id=lead_id
        )
    ]
    documents.raise_if_undrawn(rendered)  # the steps stand; a notice no font draws is void
    return [{"lead_id": s.lead_id, "step": s.step, "number": s.number} for s in taken]
