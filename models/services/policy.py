"""The policy in force (docs/architecture.md principle 4): installing a validated policy
is an audited decision that adds a row, and the newest row is the one in force; with no
row yet, the default policy applies.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import audit
from models.config.policy import default_policy
from models.domain.people import Person
from models.domain.policy import Change, Policy, differences
from models.services.access import permit
from models.store.base import utcnow
from models.store.records import PolicyRecord


def install(session: Session, policy: Policy, *, by: Person) -> list[Change]:
    """Make ``policy`` the one in force (an audited decision naming what it changed); what
    it changed, nothing when it already is."""
    permit(session, by, "policy.install")
    audit.lock_chain(session)
    digest = policy.digest()
    current = session.scalar(select(PolicyRecord).order_by(PolicyRecord.id.desc()).limit(1))
    if current is not None and current.sha256 == digest:
        return []
    changes = differences(None if current is None else Policy.model_validate(current.body), policy)
    existing = session.scalar(select(PolicyRecord).where(PolicyRecord.sha256 == digest))
    if existing is not None:
        # Re-installing an older policy: a new row so "newest is in force" stays true.
        session.delete(existing)
        session.flush()
    session.add(
        PolicyRecord(sha256=digest, body=policy.model_dump(mode="json"), loaded_at=utcnow())
    )
    audit.record(
        session,
        audit.EventDraft(
            actor=by.actor,
            action="policy.install",
            reason="policy in force",
            data={"sha256": digest, "changed": [path for path, _, _ in changes]},
        ),
    )
    return changes


def in_force(session: Session) -> Policy:
    body = session.scalar(select(PolicyRecord.body).order_by(PolicyRecord.id.desc()).limit(1))
    return default_policy() if body is None else Policy.model_validate(body)
