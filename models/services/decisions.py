"""The leader's decision and the run that waits for it (docs/rules.md §2.3).

The decision is recorded through LeadFlow first; the waiting Prefect run is then resumed
with the decision's key alone. A run resumed any other way — from Prefect's own UI with
a decision typed there, or a stale run resumed after the lead was decided through
another — finds no matching key: it acts on nothing, and the refusal is recorded.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from models import audit
from models.store.lead import TriageProposal


def refuse_resume(session: Session, lead_id: int, key: str, *, run: str, actor: str) -> str | None:
    """None when ``key`` is the lead's recorded decision and ``run`` the run that waits
    for it; else why the resume is refused, recorded on the lead's trail."""
    proposal = session.get_one(TriageProposal, lead_id)
    if proposal.decision_key is None:
        why = "尚无记录在案的领导决定（决定须经 LeadFlow 记录）"
    elif key != proposal.decision_key:
        why = "所给决定与记录在案的决定不符"
    elif proposal.waiting_flow_run != run:
        why = "该流程不是等待此决定的流程"
    else:
        return None
    audit.record(
        session,
        audit.EventDraft(
            actor=actor,
            action="lead.resume_refused",
            reason=f"等待中的受理流程被恢复，未予执行：{why}",
            lead_id=lead_id,
            data={"flow_run": run},
        ),
    )
    return why
