"""Triage and recusal as plain rules, on the Kunming example and on random organisations."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.config.policy import default_policy
from models.domain.orgview import EntityView, OrgView, PersonView, RelationView, UnitView
from models.domain.recusal import RecusalShortfall, Subject, draw_team, plan_units
from models.domain.triage import Mode, propose
from models.domain.units import UnitKind
from models.inputs.readers import read_organisation
from models.services.organisation import view_of
from tests.conftest import EXAMPLES

KUNMING = view_of(read_organisation(EXAMPLES / "kunming.yaml")[0])
RULES = default_policy().jurisdiction


@pytest.mark.parametrize(
    ("entity", "rank", "flags", "level", "unit", "mode"),
    [
        ("E-XS-JINBI", "general", [], "county", "C04", Mode.own),  # 西山区 handles its street
        ("E-FM-GOV", "county", [], "city", "O5", Mode.own),  # 富民县's 县处级: the city's office
        ("E-EDU", "section", [], "county", "R01", Mode.own),  # a city department: its group
        ("E-EDU", "prefecture", [], "province", "D1", Mode.escalated),  # referred up
        ("E-GD-MARKET", "general", ["complex", "large_amount"], "county", "C03", Mode.joint),
        ("E-XS-JINBI", "general", ["public_reaction"], "county", "C04", Mode.escalated),
        ("E-FM-GOV", "county", ["local_recusal"], "city", "O5", Mode.cross),
    ],
)
def test_proposals(entity, rank, flags, level, unit, mode) -> None:
    proposal = propose(KUNMING, entity=entity, rank=rank, flags=flags, rules=RULES)
    assert (proposal.level, proposal.jurisdiction_unit, proposal.mode) == (level, unit, mode)
    assert proposal.needs_decision == (mode != Mode.own)
    assert len(proposal.reasons) == len(flags) + (level == "province")


def test_joint_handling_is_office_group_and_locality() -> None:
    plan = plan_units(
        KUNMING,
        Subject("刘某", "E-GD-MARKET"),
        mode=Mode.joint,
        level="county",
        jurisdiction_unit="C03",
        seed=1,
    )
    assert plan.lead_unit == "O2" and plan.co_units[-1] == "C03"
    assert KUNMING.units[plan.co_units[0]].kind == UnitKind.resident_group


def test_local_recusal_drops_the_locality_and_says_why() -> None:
    plan = plan_units(
        KUNMING,
        Subject("刘某", "E-GD-MARKET", local_recusal=True),
        mode=Mode.joint,
        level="county",
        jurisdiction_unit="C03",
        seed=1,
    )
    assert "C03" not in plan.co_units
    assert [e.candidate for e in plan.excluded] == ["C03"]
    with pytest.raises(RecusalShortfall):
        plan_units(
            KUNMING,
            Subject("x", "E-GD-MARKET", True),
            mode=Mode.own,
            level="county",
            jurisdiction_unit="C03",
            seed=1,
        )


def test_cross_handling_comes_from_another_zone() -> None:
    for seed in range(20):
        plan = plan_units(
            KUNMING,
            Subject("孙某", "E-FM-GOV"),
            mode=Mode.cross,
            level="county",
            jurisdiction_unit="C10",
            seed=seed,
        )
        assert KUNMING.units[plan.lead_unit].zone != "Z2"


def test_declared_relations_and_locality_exclude_people() -> None:
    draw = draw_team(
        KUNMING,
        Subject("刘某", "E-GD-MARKET"),
        needed=["discipline", "finance"],
        size=4,
        cross=False,
        seed=42,
    )
    reasons = {e.candidate: e.reason for e in draw.excluded}
    assert "P004" in reasons and "declared relation" in reasons["P004"]
    assert all(KUNMING.people[p].home_unit != "C03" for p in draw.team)
    assert len(draw.team) == 4 and draw.leader in draw.team
    assert any("finance" in KUNMING.people[p].expertise for p in draw.team)


def test_too_few_people_is_refused_never_relaxed() -> None:
    with pytest.raises(RecusalShortfall, match="needs 500"):
        draw_team(KUNMING, Subject("x", "E-EDU"), needed=[], size=500, cross=False, seed=1)
    with pytest.raises(RecusalShortfall, match="expertise 'astrology'"):
        draw_team(KUNMING, Subject("x", "E-EDU"), needed=["astrology"], size=2, cross=False, seed=1)


# --- the property: over random organisations and leads, no draw breaks a rule -------------

ZONES = ["Z1", "Z2", "Z3"]
SKILLS = ["discipline", "audit", "finance", "land"]


@st.composite
def organisations(draw: st.DrawFn) -> OrgView:
    n_counties = draw(st.integers(1, 6))
    units = {
        "D1": UnitView("D1", UnitKind.coordinating_office),
        "O1": UnitView("O1", UnitKind.inspection_office, "Z1"),
    }
    for i in range(n_counties):
        code = f"C{i}"
        units[code] = UnitView(code, UnitKind.county_commission, draw(st.sampled_from(ZONES)))
        if draw(st.booleans()):
            units[f"T{i}"] = UnitView(
                f"T{i}", UnitKind.township_commission, units[code].zone, parent=code
            )
    for i in range(draw(st.integers(1, 4))):
        units[f"R{i}"] = UnitView(f"R{i}", UnitKind.resident_group, "ZC", office="O1")
    entities = {}
    for i in range(draw(st.integers(1, 6))):
        county = f"C{draw(st.integers(0, n_counties - 1))}"
        entities[f"E{i}"] = EntityView(f"E{i}", county, county, units[county].zone)
    homes = sorted(units)
    people = {}
    for i in range(draw(st.integers(0, 40))):
        people[f"P{i:02d}"] = PersonView(
            f"P{i:02d}",
            draw(st.sampled_from(homes)),
            draw(st.none() | st.sampled_from(sorted(entities))),
            frozenset(draw(st.lists(st.sampled_from(SKILLS), max_size=2))),
            draw(st.booleans()) or i % 3 > 0,
        )
    relations = (
        tuple(
            RelationView(p, "被反映人", draw(st.none() | st.sampled_from(sorted(entities))), "亲属")
            for p in draw(st.lists(st.sampled_from(sorted(people)), max_size=5, unique=True))
        )
        if people
        else ()
    )
    return OrgView(units, entities, people, relations, {"G1": tuple(sorted(units))})


@settings(max_examples=300, deadline=None)
@given(
    org=organisations(),
    data=st.data(),
    cross=st.booleans(),
    local=st.booleans(),
    seed=st.integers(0, 2**63),
    size=st.integers(1, 6),
    needed=st.lists(st.sampled_from(SKILLS), max_size=2),
)
def test_no_draw_ever_breaks_a_recusal_rule(org, data, cross, local, seed, size, needed) -> None:
    entity = org.entities[data.draw(st.sampled_from(sorted(org.entities)))]
    subject = Subject("被反映人", entity.code, local_recusal=local)
    local_units = {entity.supervised_by, entity.county} | {
        u.code for u in org.units.values() if u.parent == entity.county
    }
    try:
        draw = draw_team(org, subject, needed=needed, size=size, cross=cross, seed=seed)
    except RecusalShortfall:
        draw = None
    if draw is not None:
        # The team is the size asked, or larger only when the needed expertise takes more.
        assert len(set(draw.team)) == len(draw.team) == max(size, len(draw.team))
        assert len(draw.team) <= max(size, len(set(needed))) and draw.leader in draw.team
        assert set(needed) <= {s for p in draw.team for s in org.people[p].expertise}
        for code in draw.team:
            person = org.people[code]
            assert person.active
            assert person.home_entity != entity.code
            if cross or local:  # the locality's people join a joint team unless barred
                assert person.home_unit not in local_units
            assert not any(
                r.person == code and r.entity in (None, entity.code) for r in org.relations
            )
            if cross:
                assert org.units[person.home_unit].zone not in (None, entity.zone)
        again = draw_team(org, subject, needed=needed, size=size, cross=cross, seed=seed)
        assert again == draw  # the same seed is the same draw
        assert {e.candidate for e in draw.excluded}.isdisjoint(draw.team)
    try:
        plan = plan_units(
            org,
            subject,
            mode=Mode.cross,
            level="county",
            jurisdiction_unit=entity.county,
            seed=seed,
        )
    except RecusalShortfall:
        return
    assert plan.lead_unit not in local_units
    assert org.units[plan.lead_unit].zone not in (None, entity.zone)
    assert plan == plan_units(
        org, subject, mode=Mode.cross, level="county", jurisdiction_unit=entity.county, seed=seed
    )
