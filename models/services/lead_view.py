"""A lead's page (线索详情) as its reader may see it: what the lead says (never its reporter),
where it stands in the lifecycle, who handles it on whose authority (一事一授权), its
deadlines counted in working days, its documents, its audit events in Chinese with their
check, and the acts the reader may take now. Read-only: every act goes through the same
services as the command line; the issued PDF is served only if its bytes still match the
checksum its audit event recorded.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import audit, documents
from models.documents import audit_record
from models.domain.errors import NotFound
from models.domain.lifecycle import ACTS_BY_NAME, MOVES_BY_NAME, NOT_YET_DISPOSED, Facts, State
from models.domain.people import Person
from models.domain.permissions import ACTS, Answer, judge
from models.domain.workdays import WorkCalendar
from models.services import ledger, verifying
from models.services.access import find_lead, lead_units
from models.services.policy import in_force
from models.services.reporter_requests import live_grant
from models.store.lead import (
    Assignment,
    Disposal,
    Lead,
    Outcome,
    Rectification,
    TeamMember,
    TriageProposal,
)
from models.store.organisation import Entity, Unit
from models.store.organisation import Person as StaffMember
from models.store.records import Document

# The moves that hand a lead to its units, each recording who authorised it.
HANDED = ("lead.assign", "lead.reassign")


@dataclass(frozen=True)
class DeadlineLine:
    what: str  # the deadline's Chinese name
    due: date
    left: int  # working days from today to the due day; negative: overdue by that many
    provisional: bool  # counted on a year the official calendar does not cover yet


@dataclass(frozen=True)
class Member:
    name: str
    leader: bool  # the task's leader (组长), authorised for this task alone


@dataclass(frozen=True)
class Team:
    mode: str | None
    lead_unit: str | None  # units by their names
    jurisdiction_unit: str | None
    co_units: list[str]
    members: list[Member]
    proposed_mode: str | None
    awaiting_decision: bool  # a proposal (triage's or an application) awaits a leader
    decided_by: str | None
    decided_at: datetime | None
    authorised_by: str | None  # as the hand-over recorded it (授权人)
    authorised_at: datetime | None


@dataclass(frozen=True)
class DocumentRow:
    number: str
    title: str
    status: str  # pending, issued, void or held
    status_text: str
    sha256: str
    issued_at: datetime
    held_fields: list[str]  # the lead's fields that carry the reporter into a held one
    undrawn: bool  # voided because no installed font draws some character of it


@dataclass(frozen=True)
class LeadPage:
    lead_id: int
    record: dict[str, Any]  # as ledger.record_of gives it: texts naming the reporter withheld
    entity: str
    team: Team
    deadlines: list[DeadlineLine]
    documents: list[DocumentRow]
    timeline: list[audit_record.EventLine]
    lead_check: verifying.LeadCheck
    last_check: verifying.LastCheck | None
    visited: frozenset[str]  # the states the lead has been in
    offered: frozenset[str]  # the forms of the acts the reader may take now


def lead_page(session: Session, person: Person, ref: str, *, today: date) -> LeadPage:
    """The lead named ``ref`` as ``person`` may read it (another unit's: as unknown)."""
    record = ledger.record_of(session, person, ref, today=today, withhold_from_all=True)
    lead = session.get_one(Lead, record["id"])
    events = audit.events_for_lead(session, lead.id)
    facts = _facts(session, lead)
    visited = {e.state_after for e in events if e.state_after}
    return LeadPage(
        lead_id=lead.id,
        record=record,
        entity=session.scalar(select(Entity.name).where(Entity.id == lead.entity_id)) or "",
        team=_team(session, lead, events),
        deadlines=_deadlines(session, lead, facts, today),
        documents=_documents(session, lead.id),
        timeline=_timeline(session, lead.id, events),
        lead_check=verifying.check_lead(session, lead.id),
        last_check=verifying.last_check(session),
        visited=frozenset(visited | {lead.state.value}),
        offered=_offered(session, person, lead, facts),
    )


def _facts(session: Session, lead: Lead) -> Facts:
    """What the lifecycle's guards read of the lead, from its records."""
    disposal = session.get(Disposal, lead.id)
    rectifications = session.scalars(
        select(Rectification).where(Rectification.lead_id == lead.id).order_by(Rectification.id)
    ).all()
    open_one = next((r for r in rectifications if r.struck_off_at is None), None)
    proposal = session.get(TriageProposal, lead.id)
    return Facts(
        lead=lead.id,
        state=lead.state,
        disposal=disposal.method if disposal else None,
        outcome=session.get(Outcome, lead.id) is not None,
        open_rectification=open_one.id if open_one else None,
        reported=bool(open_one and open_one.reported_at),
        verified=bool(rectifications and rectifications[-1].verified_at),
        proposed=proposal is not None,
        decided=proposal.decided_mode if proposal else None,
        decided_by=proposal.decided_by if proposal else None,
    )


def _team(session: Session, lead: Lead, events: list[audit.AuditEvent]) -> Team:
    """The units and the drawn team, and on whose decision and authority they act."""
    wanted = {lead.lead_unit_id, lead.jurisdiction_unit_id} - {None}
    rows = session.execute(select(Unit.id, Unit.name).where(Unit.id.in_(wanted)))
    units: dict[int, str] = {unit_id: name for unit_id, name in rows}
    co_units = session.scalars(
        select(Unit.name)
        .join(Assignment, Assignment.unit_id == Unit.id)
        .where(Assignment.lead_id == lead.id, Assignment.role != "lead")
        .order_by(Unit.code)
    ).all()
    members = session.execute(
        select(StaffMember.name, TeamMember.leader)
        .join(TeamMember, TeamMember.person_id == StaffMember.id)
        .where(TeamMember.lead_id == lead.id)
        .order_by(TeamMember.leader.desc(), StaffMember.code)
    ).all()
    handed = next((e for e in reversed(events) if e.action in HANDED), None)
    authorised = json.loads(handed.data).get("authorised_by") if handed else None
    proposal = session.get(TriageProposal, lead.id)
    return Team(
        mode=lead.handling_mode,
        lead_unit=units.get(lead.lead_unit_id) if lead.lead_unit_id else None,
        jurisdiction_unit=units.get(lead.jurisdiction_unit_id)
        if lead.jurisdiction_unit_id
        else None,
        co_units=list(co_units),
        members=[Member(name, bool(leader)) for name, leader in members],
        proposed_mode=proposal.proposed_mode if proposal else None,
        awaiting_decision=_awaiting(lead, proposal),
        decided_by=proposal.decided_by if proposal else None,
        decided_at=proposal.decided_at if proposal else None,
        authorised_by=authorised,
        authorised_at=datetime.fromisoformat(handed.at) if handed else None,
    )


def _awaiting(lead: Lead, proposal: TriageProposal | None) -> bool:
    """Whether a leader's decision is awaited: triage's proposal, or a unit's application."""
    if proposal is None or proposal.decided_mode is not None:
        return False
    return lead.state == State.triaged or (
        lead.state == State.in_handling and proposal.decision_due is not None
    )


def _deadlines(session: Session, lead: Lead, facts: Facts, today: date) -> list[DeadlineLine]:
    """The deadlines running now, each with the working days left on the official calendar."""
    calendar = WorkCalendar(in_force(session).calendar.extra_years)
    running: list[tuple[str, date, bool]] = []
    proposal = session.get(TriageProposal, lead.id)
    if proposal is not None and proposal.decision_due and _awaiting(lead, proposal):
        running.append(("委领导研判期限", proposal.decision_due, False))
    disposal = session.get(Disposal, lead.id)
    replying = lead.state == State.disposed and not facts.outcome  # a letter's reply awaited
    if disposal is not None and disposal.due_on and replying:
        running.append(("谈话函询答复期限", disposal.due_on, False))
    if facts.open_rectification is not None:
        open_one = session.get_one(Rectification, facts.open_rectification)
        running.append(("整改期限", open_one.deadline, open_one.deadline_provisional))
        if open_one.renewed_deadline:
            running.append(("督办后整改期限", open_one.renewed_deadline, False))
    return [
        DeadlineLine(what, due, calendar.working_days_between(today, due), provisional)
        for what, due, provisional in running
    ]


def _documents(session: Session, lead_id: int) -> list[DocumentRow]:
    found = session.scalars(
        select(Document).where(Document.lead_id == lead_id).order_by(Document.id)
    ).all()
    return [
        DocumentRow(
            number=d.number,
            title=d.title or documents.TITLES.get(d.kind, d.kind),
            status=d.status,
            status_text=audit_record.DOCUMENT_STATUSES.get(d.status, d.status),
            sha256=d.sha256 or "",
            issued_at=d.issued_at,
            held_fields=documents.held_fields(d),
            undrawn=documents.undrawn(d),
        )
        for d in found
    ]


def _timeline(
    session: Session, lead_id: int, events: list[audit.AuditEvent]
) -> list[audit_record.EventLine]:
    """The lead's events in Chinese, as the audit record prints them; a reason or detail
    that names the reporter is withheld, as the lead's own texts are on these pages."""
    lines = audit_record.event_lines(session, events)
    screen = documents.screen_of(session, lead_id)
    if screen is None:
        return lines

    def shown(text: str) -> str:
        return ledger.WITHHELD if screen.finds(text) else text

    return [
        line.model_copy(
            update={"reason": shown(line.reason), "details": [shown(d) for d in line.details]}
        )
        for line in lines
    ]


def _offered(session: Session, person: Person, lead: Lead, facts: Facts) -> frozenset[str]:
    """The forms that make sense for ``person`` now: the permission table for the lead's
    units, then the lifecycle's state and guards. The services check both again."""
    units = lead_units(session, lead.id)

    def allowed(act: str) -> bool:
        return judge(person, ACTS[act], units) is Answer.allowed

    state = lead.state
    offers = {
        "dispose": allowed("lead.dispose")
        and state in (State.in_handling, State.on_hold)
        and NOT_YET_DISPOSED.holds(facts),
        "outcome": allowed("lead.outcome") and _holds("record_outcome", facts),
        "rectify": allowed("lead.rectify") and _may_move("order_rectification", facts),
        "report": allowed("lead.report")
        and facts.open_rectification is not None
        and not facts.reported,
        "follow-up": allowed("lead.follow_up") and _holds("follow_up", facts),
        "close": allowed("lead.close") and _may_move("close_disposed", facts),
        "apply": allowed("lead.apply")
        and state == State.in_handling
        and not _awaiting(lead, session.get(TriageProposal, lead.id)),
        "reporter-request": allowed("reporter.request") and state != State.closed,
        "reporter": allowed("reporter.read")
        or live_grant(session, person, str(lead.id)) is not None,
    }
    return frozenset(form for form, offered in offers.items() if offered)


def _holds(act: str, facts: Facts) -> bool:
    return all(guard.holds(facts) for guard in ACTS_BY_NAME[act].guards)


def _may_move(name: str, facts: Facts) -> bool:
    move = MOVES_BY_NAME[name]
    return move.source == facts.state and all(guard.holds(facts) for guard in move.guards)


# --- an issued document's file ---------------------------------------------------------


@dataclass(frozen=True)
class DocumentFile:
    number: str
    kind: str
    year: int
    serial: int
    lead_external_id: str
    pdf: bytes | None  # None: not served, for ``refused``
    refused: str | None  # why not, in Chinese


def document_file(session: Session, person: Person, ref: str, number: str) -> DocumentFile:
    """An issued document's PDF, if its bytes still match the checksum its ``document.issue``
    audit event recorded — the hash-chained trail, not the documents table, which could be
    edited along with the file; else why it is refused."""
    lead = find_lead(session, person, ref, "lead.read")
    document = session.scalar(
        select(Document).where(Document.lead_id == lead.id, Document.number == number)
    )
    if document is None:
        raise NotFound(f"lead {lead.id} has no document '{number}'")
    pdf, refused = None, _unissued(document)
    if refused is None:
        pdf, refused = _checked_file(session, document)
    return DocumentFile(
        document.number, document.kind, document.year, document.serial, lead.external_id,
        pdf, refused,
    )  # fmt: skip


def _unissued(document: Document) -> str | None:
    if document.status == "issued":
        return None
    status = audit_record.DOCUMENT_STATUSES.get(document.status, document.status)
    return f"文书{document.number}的状态为“{status}”，没有可提供的文件。"


def _checked_file(session: Session, document: Document) -> tuple[bytes | None, str | None]:
    """The file's bytes, read once and checked: what is served is what was hashed."""
    checked = documents.read_checked(session, document)
    number = document.number
    if checked.problem == "record":
        return None, f"文书{number}的登记与审计记录不符，未予提供。"
    if checked.problem == "missing":
        return None, f"文书{number}的文件缺失，未予提供。"
    if checked.problem == "changed":
        return None, (
            f"文书{number}的文件已被改动：其SHA-256校验值{checked.found}"
            f"与审计记录中的{checked.recorded}不符，未予提供。"
        )
    return checked.pdf, None
