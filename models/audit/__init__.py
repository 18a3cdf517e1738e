"""The audit trail (docs/rules.md §5): events appended to a hash chain in the caller's
transaction (:mod:`models.audit.chain`) and the chain verified end to end
(:mod:`models.audit.verification`). Use it as ``from models import audit`` and
``audit.record(...)``. It imports only :mod:`models.store`'s base and database helpers,
so every other package can record events.
"""

from models.audit.chain import (
    GENESIS,
    REPLAYED_KEY,
    REPLAYED_ON,
    AuditEvent,
    AuditHead,
    EventDraft,
    append,
    as_dict,
    canonical_data,
    canonical_event,
    event_hash,
    events_for_lead,
    lock_chain,
    record,
)
from models.audit.verification import HALVES_FROM, Verdict, verify

__all__ = [
    "GENESIS",
    "HALVES_FROM",
    "REPLAYED_KEY",
    "REPLAYED_ON",
    "AuditEvent",
    "AuditHead",
    "EventDraft",
    "Verdict",
    "append",
    "as_dict",
    "canonical_data",
    "canonical_event",
    "event_hash",
    "events_for_lead",
    "lock_chain",
    "record",
    "verify",
]
