"""Recusal (回避, docs/rules.md §2.3) and the draws made under it.

The rules, for every assignment:
- a unit whose territory or daily supervision holds the subject's entity (its
  supervising unit, its county commission and the township commissions under it) does
  not handle a lead that calls for local recusal, nor one handled across zones;
- a cross-handling unit, and every member of a cross-inspection team, comes from
  outside the subject's zone (人地两疏, as in Kunming's unit system);
- nobody is drawn who works in the subject's entity or belongs to one of the units
  above, who has declared a relation with the subject, or who has left the pool.

Draws are random and seeded. Everything a draw depended on — the seed, the pool and
every excluded candidate with its reason — is returned, so the audit event can carry
it and anyone can redo the draw. When recusal leaves too few, the draw refuses
(:class:`RecusalShortfall`); it never relaxes a rule.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from models.domain.errors import RuleRefused
from models.domain.orgview import OrgView, PersonView
from models.domain.triage import Mode, coordinating_office, liaison_office
from models.domain.units import UnitKind


class RecusalShortfall(RuleRefused):
    def __init__(self, message: str) -> None:
        super().__init__("recusal", message)


@dataclass(frozen=True)
class Subject:
    name: str
    entity: str
    local_recusal: bool = False


@dataclass(frozen=True)
class Exclusion:
    candidate: str
    reason: str


def unit_conflict(org: OrgView, unit: str, subject: Subject, *, cross: bool) -> str | None:
    entity = org.entities[subject.entity]
    if (cross or subject.local_recusal) and unit in org.locality(entity):
        return "本地单位回避: its territory or supervision holds the subject's entity"
    if cross and (org.units[unit].zone is None or org.units[unit].zone == entity.zone):
        return "交叉办理须跨片区: same zone as the subject's entity"
    return None


def person_conflict(
    org: OrgView, person: PersonView, subject: Subject, *, cross: bool
) -> str | None:
    entity = org.entities[subject.entity]
    if not person.active:
        return "removed from the talent pool (清理退库)"
    if person.home_entity == subject.entity:
        return "works in the subject's entity"
    if (cross or subject.local_recusal) and person.home_unit in org.locality(entity):
        return f"home unit {person.home_unit} holds the subject's locality (人地两疏)"
    for r in org.relations:
        if (
            r.person == person.code
            and r.subject == subject.name
            and r.entity in (None, entity.code)
        ):
            return f"declared relation with the subject: {r.relation}"
    if cross:
        zone = org.units[person.home_unit].zone
        if zone is None or zone == entity.zone:
            return "cross-inspection team members come from outside the subject's zone"
    return None


@dataclass(frozen=True)
class UnitPlan:
    mode: Mode
    lead_unit: str
    co_units: tuple[str, ...]
    excluded: tuple[Exclusion, ...]
    seed: int
    # 提级 beyond the commission: the lead is referred up (报送上级) by ``lead_unit``, not kept.
    referred: bool = False

    def as_dict(self) -> dict[str, object]:
        return {
            "mode": self.mode.value,
            "referred": self.referred,
            "lead_unit": self.lead_unit,
            "co_units": list(self.co_units),
            "excluded": [e.__dict__ for e in self.excluded],
            "seed": self.seed,
        }


def plan_units(
    org: OrgView, subject: Subject, *, mode: Mode, level: str, jurisdiction_unit: str, seed: int
) -> UnitPlan:
    """Which units handle the lead in ``mode``, every rule above applied."""
    entity = org.entities[subject.entity]
    excluded: list[Exclusion] = []

    def allowed(unit: str, *, cross: bool = False) -> bool:
        reason = unit_conflict(org, unit, subject, cross=cross)
        if reason:
            excluded.append(Exclusion(unit, reason))
        return reason is None

    if mode == Mode.own:
        if not allowed(jurisdiction_unit):
            raise RecusalShortfall(
                f"{jurisdiction_unit} may not handle this lead itself (local recusal): "
                "choose joint, escalated or cross handling"
            )
        return UnitPlan(mode, jurisdiction_unit, (), tuple(excluded), seed)

    if mode == Mode.escalated:
        # 提级办理: one level up. A county's lead comes to the city's office; a lead the
        # commission itself holds goes beyond it: its coordinating office refers it up.
        if level != "county":
            return UnitPlan(mode, coordinating_office(org), (), (), seed, referred=True)
        lead = liaison_office(org, entity.county or entity.supervised_by)
        if not allowed(lead):
            raise RecusalShortfall(f"the higher-level unit {lead} is itself local to the subject")
        return UnitPlan(mode, lead, (), tuple(excluded), seed)

    if mode == Mode.joint:
        # 室组地联动: the inspection office, a resident group, and the locality.
        anchor = entity.county or entity.supervised_by
        office = liaison_office(org, anchor)
        # The resident group is the entity's own: its supervisor, or the group of its field.
        supervisor = entity.supervised_by
        is_group = org.units[supervisor].kind == UnitKind.resident_group
        group = supervisor if is_group else entity.resident_group
        co = [u for u in (group, entity.county) if u and u != office]
        if not allowed(office):
            raise RecusalShortfall(f"the inspection office {office} is local to the subject")
        return UnitPlan(mode, office, tuple(u for u in co if allowed(u)), tuple(excluded), seed)

    # Cross handling: a unit of the same kind as the one with jurisdiction, from another zone.
    kind = org.units[jurisdiction_unit].kind
    pool = [u.code for u in org.of_kind(kind)]
    eligible = [u for u in pool if allowed(u, cross=True)]
    if not eligible:
        raise RecusalShortfall(f"no {kind.value} outside the subject's zone and locality")
    lead = random.Random(seed).choice(eligible)
    return UnitPlan(mode, lead, (), tuple(excluded), seed)


@dataclass(frozen=True)
class Draw:
    seed: int
    needed: tuple[str, ...]
    pool: tuple[str, ...]
    excluded: tuple[Exclusion, ...]
    team: tuple[str, ...]
    leader: str

    def as_dict(self) -> dict[str, object]:
        return {
            "seed": self.seed,
            "needed": list(self.needed),
            "pool": list(self.pool),
            "excluded": [e.__dict__ for e in self.excluded],
            "team": list(self.team),
            "leader": self.leader,
        }


def draw_team(
    org: OrgView,
    subject: Subject,
    *,
    needed: list[str],
    size: int,
    cross: bool,
    seed: int,
    units: tuple[str, ...] = (),
) -> Draw:
    """一事一抽调, 一事一授权: a team of ``size`` with every needed expertise, and its leader;
    drawn first from the people of the handling ``units`` (a joint team is theirs), then
    from the whole pool for what they cannot supply."""
    pool = tuple(sorted(org.people))
    excluded: list[Exclusion] = []
    eligible: list[PersonView] = []
    for code in pool:
        person = org.people[code]
        reason = person_conflict(org, person, subject, cross=cross)
        if reason:
            excluded.append(Exclusion(code, reason))
        else:
            eligible.append(person)
    rng = random.Random(seed)
    wanted = tuple(dict.fromkeys(needed))
    own = [p for p in eligible if p.home_unit in units]
    team: list[str] = []
    for skill in wanted:
        if any(skill in org.people[c].expertise for c in team):
            continue
        holders = [p.code for p in own if skill in p.expertise and p.code not in team] or [
            p.code for p in eligible if skill in p.expertise and p.code not in team
        ]
        if not holders:
            raise RecusalShortfall(f"no eligible person with expertise '{skill}' after recusal")
        team.append(rng.choice(holders))
    rest = [p.code for p in eligible if p.code not in team]
    if len(team) + len(rest) < size:
        raise RecusalShortfall(
            f"recusal leaves {len(team) + len(rest)} eligible people; the team needs {size}"
        )
    ours = [c for c in rest if org.people[c].home_unit in units]
    team += rng.sample(ours, min(len(ours), max(0, size - len(team))))
    team += rng.sample([c for c in rest if c not in team], max(0, size - len(team)))
    leader = next((c for c in team if "discipline" in org.people[c].expertise), team[0])
    return Draw(seed, wanted, pool, tuple(excluded), tuple(team), leader)
