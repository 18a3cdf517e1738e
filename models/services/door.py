"""The one door of the lead's lifecycle (docs/rules.md §2; the table is models/domain/lifecycle.py).

Every state change goes through :func:`perform_many` (:func:`perform` for one move),
which in one transaction
1. takes the audit chain's lock (so writers queue in one order and cannot deadlock),
2. checks each move is in :data:`MOVES` for the lead's current state and, for a guarded
   move, that its guards hold over the records they read (:class:`Facts`),
3. updates the leads with an optimistic version check — ``UPDATE … WHERE version = v``:
   of two writers that read the same version, the second gets :class:`Conflict`,
4. appends the audit events.

A batch of a thousand leads and one lead go through the same door (docs/architecture.md
principle 6); the batch only costs a thousand times fewer statements. Only a guarded move
reads more than the leads' state and version. An act that records without moving the
lead (an outcome, a rectification's report) is checked here too, by :func:`admit`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from models import audit
from models.domain.errors import Conflict, NotFound
from models.domain.lifecycle import (
    ACTS_BY_NAME,
    DISPOSAL,
    MOVES_BY_NAME,
    OUTCOME,
    PROPOSAL,
    RECTIFICATION,
    Facts,
    Guard,
    Move,
    State,
    check_act,
    check_guards,
    check_move,
    reads_of,
)
from models.store.base import utcnow
from models.store.database import update_rows
from models.store.lead import Disposal, Lead, Outcome, Rectification, TriageProposal


class Moved(NamedTuple):  # a tuple: a batch makes one a move, and a tuple is built cheapest
    lead_id: int
    move: Move
    version: int
    audit_seq: int


@dataclass(slots=True)  # not frozen, as audit.EventDraft and for the same reason
class Step:
    """One move asked of the door: ``expected_version`` is the version the actor saw
    (without it, the version read under the chain's lock); ``changes`` are further
    columns of the lead set by the same UPDATE (e.g. the handling mode decided at triage)."""

    lead_id: int
    move: str
    reason: str
    expected_version: int | None = None
    changes: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)


# The state and version of each lead this transaction has itself written (registered or
# moved), so that its next move need not read them back; forgotten when the transaction
# (or a savepoint in it) ends. The guarded UPDATE still checks them against the row.
_WRITTEN = "leadflow.leads_written"


def remember(session: Session, leads: Mapping[int, tuple[str, int]]) -> None:
    """Note the state and version this transaction has just written for ``leads``."""
    session.info.setdefault(_WRITTEN, {}).update(leads)


@event.listens_for(Session, "after_transaction_end")
def _forget_written(session: Session, _transaction: Any) -> None:
    session.info.pop(_WRITTEN, None)


def perform(
    session: Session,
    *,
    lead_id: int,
    move: str,
    actor: str,
    reason: str,
    expected_version: int | None = None,
    changes: dict[str, Any] | None = None,
    data: dict[str, Any] | None = None,
) -> Moved:
    """Perform one move in the session's transaction; the caller commits."""
    step = Step(lead_id, move, reason, expected_version, changes or {}, data or {})
    return perform_many(session, [step], actor=actor)[0]


def perform_many(session: Session, steps: Sequence[Step], *, actor: str) -> list[Moved]:
    """Perform the moves in order (several may move one lead), as a set: one read of the
    leads, one guarded UPDATE per set of columns, the audit events appended together.

    Every move is checked against the lifecycle, and a guarded move against its guards,
    before anything is written, so a refused move leaves the transaction as it found it.
    """
    audit.lock_chain(session)
    read = _read_leads(session, {s.lead_id for s in steps})
    current = dict(read)
    values: dict[int, dict[str, Any]] = {}
    drafts: list[audit.EventDraft] = []
    moved: list[tuple[int, Move, int]] = []
    records: dict[int, dict[str, Any]] | None = None  # read at the first guarded move
    for step in steps:
        if step.lead_id not in current:
            raise NotFound(f"no lead with id {step.lead_id}")
        state, version = current[step.lead_id]
        # A stale view is reported as such first: what the actor decided on is no longer true.
        if step.expected_version is not None and step.expected_version != version:
            raise Conflict(
                f"lead {step.lead_id} was changed by someone else (you saw version "
                f"{step.expected_version}, it is now version {version}, state '{state}'); "
                "reload and decide again"
            )
        rule = check_move(state, step.move)
        if rule.guards:
            if records is None:
                records = _guarded_records(session, steps)
            check_guards(rule.guards, Facts(step.lead_id, State(state), **records[step.lead_id]))
        version += 1
        target = str(rule.target)  # the value, as a plain str (intake._NewLeads says why)
        current[step.lead_id] = (target, version)
        lead = values.setdefault(step.lead_id, {})
        if rule.target == State.closed:
            lead["closed_at"] = utcnow()
        lead |= step.changes | {"state": target, "version": version}
        drafts.append(
            audit.EventDraft(
                actor=actor,
                action=f"lead.{rule.name}",
                reason=step.reason,
                lead_id=step.lead_id,
                state_before=str(rule.source),
                state_after=target,
                data={"move": rule.name, "term": rule.term, "version": version, **step.data},
            )
        )
        moved.append((step.lead_id, rule, version))
    _update(session, read, values)
    remember(session, {lead_id: current[lead_id] for lead_id in values})
    last = audit.append(session, drafts)
    first = last - len(drafts) + 1
    return [Moved(i, m, v, first + n) for n, (i, m, v) in enumerate(moved)]


def _read_leads(session: Session, ids: set[int]) -> dict[int, tuple[str, int]]:
    """Each lead's state and version: as this transaction wrote them, else from the table."""
    written = session.info.get(_WRITTEN, {})
    read = {lead_id: written[lead_id] for lead_id in ids if lead_id in written}
    if unread := ids - read.keys():
        read |= {
            lead_id: (state, version)
            for lead_id, state, version in session.execute(
                select(Lead.id, Lead.state, Lead.version).where(Lead.id.in_(unread))
            )
        }
    return read


def _update(
    session: Session, read: dict[int, tuple[str, int]], values: dict[int, dict[str, Any]]
) -> None:
    """Each lead's new columns, guarded by the version read: ``UPDATE … WHERE version = v``.
    Of two writers that read the same version, the second gets :class:`Conflict`."""
    groups: dict[tuple[str, ...], list[tuple[Any, ...]]] = defaultdict(list)
    for lead_id, columns in values.items():
        names = tuple(columns)
        groups[names].append((*columns.values(), lead_id, read[lead_id][1]))
    for names, rows in groups.items():
        if update_rows(session, Lead.__table__, names, ("id", "version"), rows) != len(rows):
            which = ", ".join(str(r[-2]) for r in rows[:5])
            raise Conflict(f"lead {which} was changed by someone else while this move was made")


def admit(session: Session, lead: Lead, act: str) -> Facts:
    """Check an act that records without moving the lead (``ACTS`` of the lifecycle):
    the facts its guards read, or the rule that refuses it. ``lead`` is read under the
    chain's lock (desk.locked_lead), so what is checked still holds when the act writes."""
    records = _records(session, [lead.id], reads_of(ACTS_BY_NAME[act].guards))
    facts = Facts(lead.id, State(lead.state), **records[lead.id])
    check_act(act, facts)
    return facts


def _guarded_records(session: Session, steps: Sequence[Step]) -> dict[int, dict[str, Any]]:
    """The records the guards of the batch's guarded moves read, for those moves' leads."""
    ids: set[int] = set()
    guards: list[Guard] = []
    for step in steps:
        move = MOVES_BY_NAME.get(step.move)
        if move is not None and move.guards:
            ids.add(step.lead_id)
            guards += move.guards
    return _records(session, ids, reads_of(guards))


def _records(
    session: Session, ids: Collection[int], reads: frozenset[str]
) -> dict[int, dict[str, Any]]:
    """Each lead's :class:`Facts` fields from the records in ``reads``, one query a record;
    what the session holds unflushed is flushed first (autoflush), so an act's own rows
    of this transaction count."""
    found: dict[int, dict[str, Any]] = {lead_id: {} for lead_id in ids}
    for record in sorted(reads):
        _READERS[record](session, found)
    return found


def _read_disposals(session: Session, found: dict[int, dict[str, Any]]) -> None:
    query = select(Disposal.lead_id, Disposal.method).where(Disposal.lead_id.in_(list(found)))
    for lead_id, method in session.execute(query):
        found[lead_id]["disposal"] = method


def _read_outcomes(session: Session, found: dict[int, dict[str, Any]]) -> None:
    for lead_id in session.scalars(select(Outcome.lead_id).where(Outcome.lead_id.in_(list(found)))):
        found[lead_id]["outcome"] = True


def _read_rectifications(session: Session, found: dict[int, dict[str, Any]]) -> None:
    r = Rectification
    query = (
        select(r.lead_id, r.id, r.reported_at, r.verified_at, r.struck_off_at)
        .where(r.lead_id.in_(list(found)))
        .order_by(r.id)
    )
    for lead_id, rectification, reported, verified, struck_off in session.execute(query):
        facts = found[lead_id]
        facts["verified"] = verified is not None  # the latest rectification's, in id order
        if struck_off is None and "open_rectification" not in facts:
            facts |= {"open_rectification": rectification, "reported": reported is not None}


def _read_proposals(session: Session, found: dict[int, dict[str, Any]]) -> None:
    p = TriageProposal
    query = select(p.lead_id, p.decided_mode, p.decided_by).where(p.lead_id.in_(list(found)))
    for lead_id, decided, decided_by in session.execute(query):
        found[lead_id] |= {"proposed": True, "decided": decided, "decided_by": decided_by}


_READERS: dict[str, Callable[[Session, dict[int, dict[str, Any]]], None]] = {
    PROPOSAL: _read_proposals,
    DISPOSAL: _read_disposals,
    OUTCOME: _read_outcomes,
    RECTIFICATION: _read_rectifications,
}
