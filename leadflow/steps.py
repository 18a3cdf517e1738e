"""A handling step as every shell takes it — the command line, the workbench's forms:
the lead found as the person may see it, the step in one transaction, then its notices
rendered; and, after a leader's decision, the intake run waiting for it resumed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from models import documents
from models.domain.people import Person
from models.services import access, runtime
from models.services.desk import Desk
from models.store.database import transaction
from models.store.lead import Lead, TriageProposal

Step = Callable[[Any, Desk, int], Any]


@dataclass(frozen=True)
class Taken:
    lead_id: int
    state: str
    version: int
    rendered: list[Any]  # the lead's documents rendered after the step


def take(person: Person, lead_ref: str, act: str, step: Step) -> Taken:
    """``step`` on the lead ``lead_ref`` names, as ``person``, then its notices rendered."""
    desk = runtime.desk(who=person)
    with runtime.work() as session:
        lead_id = access.find_lead(session, person, lead_ref, act).id
        step(session, desk, lead_id)
    rendered = documents.render_pending(
        runtime.engine(), output_dir=desk.output_dir, actor=desk.actor, lead_id=lead_id
    )
    with transaction(runtime.engine()) as session:
        lead = session.get_one(Lead, lead_id)
        return Taken(lead_id, lead.state, lead.version, rendered)


def resume_decided(lead_id: int) -> str | None:
    """The intake run waiting for this lead's decision, resumed with the decision's key
    alone (the decision is recorded already); its id, or None if none was waiting."""
    from leadflow import prefect_runs

    with transaction(runtime.engine()) as session:
        proposal = session.get_one(TriageProposal, lead_id)
        waiting, key = proposal.waiting_flow_run, proposal.decision_key
    if key and prefect_runs.resume_waiting_run(waiting, key):
        return waiting
    return None
