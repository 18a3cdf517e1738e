"""Loading the organisation and registering leads, on a real database."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from models.audit import AuditEvent, EventDraft, lock_chain, record, verify
from models.config.policy import default_policy
from models.domain.errors import BadInput
from models.domain.people import system
from models.inputs.readers import read_organisation
from models.services import intake
from models.services.organisation import load
from models.services.policy import install
from models.store import migrate, orgview
from models.store.database import make_engine, transaction
from models.store.lead import Lead, Reporter
from models.store.organisation import Entity, Person, Unit, UnitGroup
from models.store.orgview import HeldSnapshot
from tests.conftest import EXAMPLES, snapshot
from tests.integration.helpers import example_leads


def _load(engine: Engine, path: Path):
    organisation, locate = read_organisation(path)
    with transaction(engine) as session:
        return load(session, organisation, source=str(path), locate=locate, by=system("test"))


def test_org_load_is_idempotent(org_engine: Engine) -> None:
    with transaction(org_engine) as session:
        assert session.scalar(select(func.count()).select_from(Unit)) == 64
        group = session.scalar(select(UnitGroup).where(UnitGroup.code == "G1"))
        kinds = sorted(
            session.scalars(select(Unit.kind).where(Unit.id.in_([m.id for m in group.members])))
        )
    assert kinds == ["county_commission"] * 2 + ["inspection_office"] + ["resident_group"] * 4
    before = snapshot(org_engine)
    report = _load(org_engine, EXAMPLES / "kunming.yaml")
    assert not report.changed
    assert snapshot(org_engine) == before


def test_org_load_updates_what_changed(org_engine: Engine, tmp_path: Path) -> None:
    text = (EXAMPLES / "kunming.yaml").read_text(encoding="utf-8")
    changed = tmp_path / "org.yaml"
    changed.write_text(text.replace("name: 市教育局\n", "name: 市教育体育局\n", 1))
    report = _load(org_engine, changed)
    assert report.updated == {"entities": 1} and not report.created
    with transaction(org_engine) as session:
        assert session.scalar(select(Entity.name).where(Entity.code == "E-EDU")) == "市教育体育局"


@pytest.mark.parametrize(
    ("yaml_text", "line", "field", "reason"),
    [
        (
            "units:\n  - {code: R1, name: 组, kind: resident_group, office: O404}\n",
            2,
            "units[0].office",
            "unknown unit 'O404'",
        ),
        (
            "units:\n  - {code: R1, name: 组, kind: resident_group, office: C01}\n",
            2,
            "units[0].office",
            "not a inspection_office",
        ),
        (
            "entities:\n  - code: E-X\n    name: 某街道\n    supervised_by: NOPE\n",
            4,
            "entities[0].supervised_by",
            "unknown unit 'NOPE'",
        ),
        (
            "people:\n  - {code: P001, name: 某, home_unit: O1}\n"
            "  - {code: P001, name: 某, home_unit: O1}\n",
            3,
            "people[1].code",
            "appears twice",
        ),
        (
            "relations:\n  - {person: P999, subject: 某, relation: 同学}\n",
            2,
            "relations[0].person",
            "unknown person",
        ),
    ],
)
def test_bad_references_name_line_and_field_and_change_nothing(
    org_engine: Engine, tmp_path: Path, yaml_text: str, line: int, field: str, reason: str
) -> None:
    path = tmp_path / "org.yaml"
    path.write_text(yaml_text, encoding="utf-8")
    before = snapshot(org_engine)
    with pytest.raises(BadInput) as bad:
        _load(org_engine, path)
    [problem] = bad.value.problems
    assert (problem.source, problem.line, problem.field) == (str(path), line, field)
    assert reason in problem.reason
    assert snapshot(org_engine) == before


def test_the_same_external_id_is_one_lead(org_engine: Engine) -> None:
    lead = example_leads()[1]
    arrivals = [intake.Arrival(lead, "a"), intake.Arrival(lead, "b")]
    with transaction(org_engine) as session:
        first = intake.register(session, arrivals, actor="t")
    with transaction(org_engine) as session:
        again = intake.register(session, arrivals[:1], actor="t")
    ids = {r.lead_id for r in first.receipts + again.receipts}
    assert len(ids) == 1
    assert [r.duplicate for r in first.receipts + again.receipts] == [False, True, True]
    with transaction(org_engine) as session:
        assert session.scalar(select(func.count()).select_from(Lead)) == 1
        receipts = session.scalar(select(func.count()).where(AuditEvent.action == "lead.receive"))
        assert receipts == 1


def test_reporter_is_kept_apart_and_out_of_the_trail(org_engine: Engine) -> None:
    lead = example_leads()[1]
    assert lead.reporter is not None and lead.reporter.name
    with transaction(org_engine) as session:
        [receipt] = intake.register(session, [intake.Arrival(lead, "x")], actor="t").receipts
    with transaction(org_engine) as session:
        reporter = session.get(Reporter, receipt.lead_id)
        trail = " ".join(session.scalars(select(AuditEvent.data)))
    assert (reporter.name, reporter.phone) == (lead.reporter.name, lead.reporter.phone)
    assert lead.reporter.name not in trail and lead.reporter.phone not in trail
    assert "reporter" not in {c.name for c in Lead.__table__.columns}


def test_unknown_entity_is_a_problem_not_a_lead(org_engine: Engine) -> None:
    lead = example_leads()[0]
    stray = lead.model_copy(
        update={
            "external_id": "X-1",
            "subject": lead.subject.model_copy(update={"entity": "E-NONE"}),
        }
    )
    with transaction(org_engine) as session:
        result = intake.register(
            session,
            [intake.Arrival(stray, "f.jsonl", 3), intake.Arrival(lead, "f.jsonl", 4)],
            actor="t",
        )
    [problem] = result.problems
    assert (problem.line, problem.field) == (3, "subject.entity")
    assert [r.external_id for r in result.receipts] == [lead.external_id]
    with org_engine.connect() as connection:
        assert verify(connection).intact


def test_people_have_expertise_and_home(org_engine: Engine) -> None:
    with transaction(org_engine) as session:
        people = list(session.scalars(select(Person)))
    assert len(people) == 107
    assert all(p.expertise for p in people)
    assert sum(p.home_entity_id is not None for p in people) == 15


def test_a_held_snapshot_is_taken_anew_only_once_the_organisation_changed(
    org_engine: Engine, tmp_path: Path
) -> None:
    held = HeldSnapshot()
    with transaction(org_engine) as session:
        first = held.current(session)
    with transaction(org_engine) as session:  # other events, and a load that changes nothing
        record(session, EventDraft(actor="test", action="test.other", reason="not a load"))
    assert not _load(org_engine, EXAMPLES / "kunming.yaml").changed
    with transaction(org_engine) as session:
        assert held.current(session) is first

    text = (EXAMPLES / "kunming.yaml").read_text(encoding="utf-8")
    changed = tmp_path / "org.yaml"
    changed.write_text(text.replace("  - discipline\n  - engineering\n", "  - finance\n", 1))
    assert _load(org_engine, changed).updated == {"people": 1}
    with transaction(org_engine) as session:
        again = held.current(session)
        assert again is not first and again == orgview.snapshot(session)
    assert again.people["P002"].expertise == {"finance", "law"}
    with transaction(org_engine) as session:
        assert held.current(session) is again


def test_the_held_organisation_is_read_again_for_a_database_made_anew(tmp_path: Path) -> None:
    """A process holds the organisation between transactions (a worker triages lead after
    lead); a database made anew at the same address is another chain, read again, even
    with as many events as the first."""
    url = f"sqlite:///{tmp_path / 'same-address.db'}"
    changed = tmp_path / "org.yaml"
    text = (EXAMPLES / "kunming.yaml").read_text(encoding="utf-8")
    changed.write_text(text.replace("  - discipline\n  - engineering\n", "  - finance\n", 1))
    views = []
    for organisation_file in (EXAMPLES / "kunming.yaml", changed):
        (tmp_path / "same-address.db").unlink(missing_ok=True)
        engine = make_engine(url)
        migrate.upgrade(engine)
        with transaction(engine) as session:
            install(session, default_policy(), by=system("test"))
        assert _load(engine, organisation_file).changed
        with transaction(engine) as session:
            views.append(orgview.held(session))
            assert lock_chain(session)[0] == 2  # the same length both times
        with transaction(engine) as session:
            assert orgview.held(session) is views[-1]  # held, not read again
            assert views[-1] == orgview.snapshot(session)
        engine.dispose()
    assert views[0].people["P002"].expertise != views[1].people["P002"].expertise
