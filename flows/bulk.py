"""Bulk intake: many leads through the same rules as one (receipt, de-duplication,
triage, assignment), a transaction per batch, all inside one flow run. Notices are
numbered and recorded in each batch and rendered afterwards (`leadflow docs render`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import prefect.runtime
from prefect import flow
from sqlalchemy import Engine

from models.domain.errors import Problem
from models.inputs.readers import Numbered, read_jsonl
from models.inputs.schemas import LeadIn
from models.services import intake, runtime
from models.services.desk import Desk
from models.services.triage import triage_many
from models.store import collector
from models.store.database import checkpointing, transaction


@dataclass
class ImportReport:
    registered: int = 0
    duplicates: int = 0
    rejected: list[Problem] = field(default_factory=list)


def batches(
    items: Iterator[Numbered[LeadIn] | Problem], size: int, source: str
) -> Iterator[tuple[list[intake.Arrival], list[Problem], int]]:
    arrivals: list[intake.Arrival] = []
    problems: list[Problem] = []
    lines = 0
    for item in items:
        lines += 1
        if isinstance(item, Problem):
            problems.append(item)
        else:
            arrivals.append(intake.Arrival(item.item, source, item.line))
        if len(arrivals) >= size:
            yield arrivals, problems, lines
            arrivals, problems, lines = [], [], 0
    if arrivals or problems or lines:
        yield arrivals, problems, lines


def _named() -> str:
    """The run's name: the file it imports (its name alone)."""
    return f"import {Path(str(prefect.runtime.flow_run.parameters.get('path'))).name}"


@flow(name="lead-import", flow_run_name=_named)
def lead_import(
    path: str, batch_size: int = 1000, progress: Callable[[int], None] | None = None
) -> ImportReport:
    engine, desk = runtime.engine(), runtime.desk()
    report = ImportReport()
    reading = batches(read_jsonl(Path(path), LeadIn), batch_size, path)
    with checkpointing(engine) as committed, collector.frozen():
        while True:
            # Paused for a batch's reading as well: its leads live until they are registered.
            with collector.paused():
                batch = next(reading, None)
                if batch is None:
                    break
                arrivals, problems, lines = batch
                if arrivals:
                    problems = _register(engine, desk, arrivals, problems, report)
                    committed()
                # Gone before the collector resumes (the reader holds the list too), or a
                # young collection walks the batch's leads and promotes them, and the
                # promotions bring on full collections (see BENCHMARKS.md on the collector).
                arrivals.clear()
            report.rejected.extend(problems)
            if progress:
                progress(lines)
    return report


def _register(
    engine: Engine,
    desk: Desk,
    arrivals: list[intake.Arrival],
    problems: list[Problem],
    report: ImportReport,
) -> list[Problem]:
    """One batch received, triaged and assigned in one transaction; its problems in line
    order, the reader's and receipt's together."""
    with transaction(engine) as session:
        result = intake.register(session, arrivals, actor=desk.actor)
        triage_many(session, desk, list(result.registered), registered=result.registered)
    report.registered += sum(not r.duplicate for r in result.receipts)
    report.duplicates += sum(r.duplicate for r in result.receipts)
    return sorted(problems + result.problems, key=lambda p: p.line or 0)
