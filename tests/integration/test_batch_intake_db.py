"""A batch and one lead at a time run the same rules (docs/architecture.md principle 6): the
same leads triaged and assigned both ways leave the same rows, the same notices and the
same audit events, lead by lead; and the set-based door refuses as the single one does."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import Engine, event, select, update

from leadflow.bench.synthetic import write_leads
from models import documents
from models.audit import AuditEvent, verify
from models.config.policy import default_policy
from models.domain.errors import Conflict, RuleRefused
from models.domain.people import system
from models.domain.triage import Mode, Proposal, propose
from models.inputs.readers import read_jsonl
from models.inputs.schemas import Flag, LeadIn
from models.services import intake
from models.services import triage as triage_service
from models.services.desk import Desk
from models.services.door import Step, perform, perform_many
from models.services.triage import triage, triage_many
from models.store.database import transaction
from models.store.lead import Assignment, Lead, TriageProposal
from models.store.organisation import Unit
from models.store.records import Document
from tests.conftest import EXAMPLES, KUNMING, on_day, snapshot
from tests.integration.helpers import example_leads, receive

ENTITIES = [e["code"] for e in yaml.safe_load((EXAMPLES / "kunming.yaml").read_text())["entities"]]


def _leads(tmp_path: Path, prefix: str) -> list[LeadIn]:
    path = write_leads(
        tmp_path / f"{prefix}.jsonl", count=120, entities=ENTITIES, seed=5, prefix=prefix
    )
    return [x.item for x in read_jsonl(path, LeadIn)]


def _desk(tmp_path: Path) -> Desk:
    return on_day(
        Desk(system("测试员"), date(2026, 9, 7), default_policy(), tmp_path / "out", KUNMING)
    )


def _import(
    engine: Engine, desk: Desk, leads: list[LeadIn], *, read_back: bool = False
) -> list[int]:
    """One batch, as `lead import` runs it: registered, then triaged together, from what
    registering wrote — or, with ``read_back``, from the leads read back."""
    with transaction(engine) as session:
        result = intake.register(session, [intake.Arrival(x, "t") for x in leads], actor="t")
        ids = [r.lead_id for r in result.receipts]
        if not read_back:
            triage_many(session, desk, ids, registered=result.registered)
    if read_back:  # a transaction of its own: nothing is known of the leads but their ids
        with transaction(engine) as session:
            triage_many(session, desk, ids)
    return ids


def _as_seen(engine: Engine, prefix: str) -> dict[str, Any]:
    """Everything the rules left for each lead of ``prefix``, with what differs by nature
    between two imports (ids, numbers, timestamps, the draws' random seeds) taken out."""

    def plain(text: str) -> str:
        return text.replace(prefix, "<P>")

    seen: dict[str, Any] = {}
    with transaction(engine) as session:
        units = dict(session.execute(select(Unit.id, Unit.code)).all())
        for lead in session.scalars(select(Lead).where(Lead.external_id.like(f"{prefix}%"))):
            proposal = session.get(TriageProposal, lead.id)
            events = []
            for event in session.scalars(
                select(AuditEvent).where(AuditEvent.lead_id == lead.id).order_by(AuditEvent.seq)
            ):
                data = json.loads(plain(event.data))
                data.pop("number", None)
                if "key" in data:
                    data["key"] = data["key"].replace(f"lead:{lead.id}", "lead:<id>")
                if isinstance(data.get("units"), dict):
                    data["units"].pop("seed")
                events.append(
                    (event.action, event.reason, event.state_before, event.state_after, data)
                )
            documents = [
                (
                    d.kind,
                    plain(d.key).replace(str(lead.id), "<id>"),
                    d.title,
                    d.status,
                    json.loads(plain(json.dumps(d.content, ensure_ascii=False))),
                )
                for d in session.scalars(select(Document).where(Document.lead_id == lead.id))
            ]
            seen[plain(lead.external_id)] = {
                "lead": (
                    lead.state,
                    lead.version,
                    lead.handling_mode,
                    units.get(lead.jurisdiction_unit_id),
                    units.get(lead.lead_unit_id),
                ),
                "proposal": proposal
                and (
                    proposal.level,
                    units[proposal.jurisdiction_unit_id],
                    proposal.proposed_mode,
                    proposal.reasons,
                    proposal.decision_due,
                ),
                "assignments": sorted(
                    (units[a.unit_id], a.role)
                    for a in session.scalars(
                        select(Assignment).where(Assignment.lead_id == lead.id)
                    )
                ),
                "documents": documents,
                "events": events,
            }
    return seen


@pytest.mark.parametrize("read_back", [False, True], ids=["as-registered", "read-back"])
def test_a_batch_and_one_at_a_time_leave_the_same_record(
    org_engine: Engine, tmp_path: Path, read_back: bool
) -> None:
    desk = _desk(tmp_path)
    _import(org_engine, desk, _leads(tmp_path, "BAT"), read_back=read_back)
    for lead in _leads(tmp_path, "ONE"):
        lead_id = receive(org_engine, lead, on=desk.today)
        with transaction(org_engine) as session:
            triage(session, desk, lead_id)

    batch, single = _as_seen(org_engine, "BAT"), _as_seen(org_engine, "ONE")
    assert len(batch) == 120 and batch == single
    # Both ways took each path the rules have for a new lead: some assigned at once
    # (own handling), others waiting for a leader (joint, cross, escalated).
    modes = {v["proposal"][2] for v in batch.values()}
    assert modes == {"own", "joint", "cross", "escalated"}
    assert {v["lead"][0] for v in batch.values()} == {"triaged", "in_handling"}
    with transaction(org_engine) as session:
        serials = sorted(
            session.scalars(select(Document.serial).where(Document.kind == "assignment_notice"))
        )
    assert serials == list(range(1, len(serials) + 1))  # numbered without gaps
    with org_engine.connect() as connection:
        assert verify(connection).intact


def test_a_batch_triaged_twice_changes_nothing_the_second_time(
    org_engine: Engine, tmp_path: Path
) -> None:
    desk = _desk(tmp_path)
    ids = _import(org_engine, desk, _leads(tmp_path, "TWI")[:30])
    before = snapshot(org_engine)
    with transaction(org_engine) as session:
        triage_many(session, desk, ids + ids[:3])
    assert snapshot(org_engine) == before


def test_a_refused_move_in_a_set_writes_nothing(org_engine: Engine) -> None:
    first, second = (receive(org_engine, lead) for lead in example_leads()[:2])
    before = snapshot(org_engine)
    with pytest.raises(RuleRefused, match="move 'assign'"), transaction(org_engine) as session:
        perform_many(
            session,
            [
                Step(first, "triage", "ok"),
                Step(first, "assign", "ok"),
                Step(second, "assign", "no"),
            ],
            actor="t",
        )
    assert snapshot(org_engine) == before


def test_a_set_of_moves_takes_each_lead_through_them_in_order(org_engine: Engine) -> None:
    ids = [receive(org_engine, lead) for lead in example_leads()[:3]]
    with transaction(org_engine) as session:
        moved = perform_many(
            session,
            [step for i in ids for step in (Step(i, "triage", "r"), Step(i, "assign", "r"))],
            actor="t",
        )
    assert [(m.lead_id, m.move.name, m.version) for m in moved] == [
        (i, name, version) for i in ids for name, version in (("triage", 2), ("assign", 3))
    ]
    with transaction(org_engine) as session:
        leads = session.execute(select(Lead.state, Lead.version).where(Lead.id.in_(ids))).all()
        seqs = [session.get_one(AuditEvent, m.audit_seq) for m in moved]
    assert set(leads) == {("in_handling", 3)}
    assert [(e.lead_id, e.action) for e in seqs] == [
        (m.lead_id, f"lead.{m.move.name}") for m in moved
    ]


def test_a_lead_changed_since_it_was_read_fails_the_whole_set(org_engine: Engine) -> None:
    ids = [receive(org_engine, lead) for lead in example_leads()[:2]]
    with transaction(org_engine) as session:
        perform(session, lead_id=ids[1], move="triage", actor="t", reason="r")
    before = snapshot(org_engine)
    with pytest.raises(Conflict, match="you saw version 1"), transaction(org_engine) as session:
        perform_many(
            session,
            [Step(ids[0], "triage", "r"), Step(ids[1], "assign", "r", expected_version=1)],
            actor="t",
        )
    assert snapshot(org_engine) == before


def test_a_batch_of_notices_is_numbered_in_order_and_a_known_key_takes_no_number(
    org_engine: Engine,
) -> None:
    policy = default_policy()

    def request(key: str, addressee: str) -> documents.Request:
        content = documents.NoticeContent(addressee=addressee, paragraphs=["测试"])
        return documents.Request(kind="work_warning", key=key, content=content)

    def issue(*requests: documents.Request) -> list[documents.Allocated]:
        with transaction(org_engine) as session:
            return documents.issue_many(
                session,
                list(requests),
                numbering=policy.numbering.of(KUNMING),
                actor="t",
                reason="t",
                on=date(2026, 10, 9),
            )

    def number(serial: int) -> str:
        return f"{KUNMING.abbreviation}{policy.numbering.kinds['work_warning']}〔2026〕{serial}号"

    first = issue(request("a", "甲"), request("b", "乙"), request("a", "丙"))
    assert [a.number for a in first] == [number(1), number(2), number(1)]
    assert all(a.new for a in first)
    assert first[0] == first[2]  # the same key twice in one batch: one document
    second = issue(request("b", "丁"), request("c", "戊"))
    assert second[0] == documents.Allocated("b", first[1].number, new=False)
    assert (second[1].number, second[1].new) == (number(3), True)
    with transaction(org_engine) as session:
        rows = session.execute(
            select(Document.key, Document.serial, Document.content).order_by(Document.serial)
        ).all()
    assert [(k, s, c["addressee"]) for k, s, c in rows] == [
        ("a", 1, "甲"),
        ("b", 2, "乙"),
        ("c", 3, "戊"),
    ]


def test_a_lead_changed_behind_the_doors_back_is_caught_though_its_version_was_known(
    org_engine: Engine,
) -> None:
    """The door does not read back a lead this transaction registered or moved, but its
    guarded UPDATE still holds the row to the version it remembers."""
    before = snapshot(org_engine)
    with pytest.raises(Conflict, match="changed by someone else"), transaction(org_engine) as s:
        result = intake.register(s, [intake.Arrival(example_leads()[0], "t")], actor="t")
        [lead_id] = result.registered
        s.execute(update(Lead).where(Lead.id == lead_id).values(version=Lead.version + 1))
        perform(s, lead_id=lead_id, move="triage", actor="t", reason="r")
    assert snapshot(org_engine) == before


def test_a_lead_triaged_and_assigned_in_a_batch_is_updated_once(
    org_engine: Engine, tmp_path: Path
) -> None:
    updated: list[int] = []

    def count(_conn: Any, _cursor: Any, statement: str, parameters: Any, _c: Any, many: bool):
        if statement.startswith("UPDATE leads"):  # its last two values: the id, the version
            updated.extend(p[-2] for p in (parameters if many else [parameters]))

    event.listen(org_engine, "before_cursor_execute", count)
    try:
        ids = _import(org_engine, _desk(tmp_path), _leads(tmp_path, "UPD"))
    finally:
        event.remove(org_engine, "before_cursor_execute", count)
    with transaction(org_engine) as session:
        versions = session.scalars(select(Lead.version).where(Lead.id.in_(ids))).all()
    assert 3 in versions  # some were triaged and assigned: two moves...
    assert sorted(updated) == sorted(ids)  # ...and one UPDATE each, as every other lead


def test_a_shortfall_at_triage_is_recorded_after_its_lead_s_triage(
    org_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Own handling proposed for a lead whose locality must recuse: the unit with
    # jurisdiction holds the subject's locality, so the assignment falls short.
    lead = next(x for x in example_leads() if x.flags == [Flag.local_recusal])

    def own(org: Any, **facts: Any) -> Proposal:
        proposal = propose(org, **facts)
        return Proposal(proposal.level, proposal.jurisdiction_unit, Mode.own, ())

    monkeypatch.setattr(triage_service, "propose", own)
    with transaction(org_engine) as session:
        result = intake.register(session, [intake.Arrival(lead, "t")], actor="t")
        (lead_id,) = result.registered
        triage_many(session, _desk(tmp_path), [lead_id], registered=result.registered)
    with transaction(org_engine) as session:
        actions = session.scalars(
            select(AuditEvent.action).where(AuditEvent.lead_id == lead_id).order_by(AuditEvent.seq)
        ).all()
        state = session.scalar(select(Lead.state).where(Lead.id == lead_id))
        proposed = session.get_one(TriageProposal, lead_id).proposed_mode
    assert actions == ["lead.receive", "lead.triage", "lead.recusal_shortfall"]
    assert (state, proposed) == ("triaged", "escalated")


def test_a_triaged_lead_is_its_facts_then_where_triage_placed_it() -> None:
    """Assignment reads a row of the facts' columns, level and jurisdiction by position."""
    from models.services.assignment import FACT_COLUMNS, Triaged
    from models.store.lead import LeadFacts

    assert Triaged._fields == (*LeadFacts._fields, "level", "jurisdiction")
    assert [c.key for c in FACT_COLUMNS] == list(LeadFacts._fields)
