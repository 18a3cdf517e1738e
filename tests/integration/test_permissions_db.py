"""The permission matrix through the services, on SQLite and PostgreSQL: every act of
docs/permissions.md by every role, in its units and outside them — allowed where the
table says (a rule may still refuse it), else refused as not permitted or as an unknown
lead, and every refusal on the audit trail with who, what and the lead."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from models.audit import AuditEvent
from models.config.policy import default_policy
from models.domain.errors import LeadFlowError, NotPermitted, OutOfScope
from models.domain.people import Grant, Person, Role
from models.domain.permissions import ACTS
from models.domain.triage import Mode
from models.inputs.readers import read_organisation
from models.services import (
    access,
    disposal,
    organisation,
    outbox,
    people,
    rectification,
    reporter_requests,
    reporters,
    returns,
    runtime,
)
from models.services.desk import Desk
from models.services.escalations import monthly
from models.services.intake import Arrival
from models.services.policy import install
from models.services.triage import decide
from models.store.lead import Lead
from models.store.organisation import Entity, Unit
from tests.conftest import EXAMPLES, KUNMING, on_day
from tests.integration.helpers import example_leads, receive

Perform = Callable[[Session, Person, int, Path], Any]


def _desk(who: Person, out: Path) -> Desk:
    return on_day(Desk(who, date(2026, 10, 15), default_policy(), out, KUNMING))


def _org() -> Any:
    return read_organisation(EXAMPLES / "kunming.yaml")


PERFORM: dict[str, Perform] = {
    "lead.read": lambda s, p, i, o: access.find_lead(s, p, str(i), "lead.read"),
    "lead.register": lambda s, p, i, o: outbox.arrive(
        s, Arrival(example_leads()[1], "matrix"), by=p
    ),
    "lead.decide": lambda s, p, i, o: decide(
        s, _desk(p, o), i, mode=Mode.joint, by=None, reason="研判"
    ),
    "lead.dispose": lambda s, p, i, o: disposal.dispose(
        s, _desk(p, o), i, method="talk_letter", reason="r"
    ),
    "lead.outcome": lambda s, p, i, o: disposal.record_outcome(
        s, _desk(p, o), i, kind="first_form", reason="r", finding="f", form=1
    ),
    "lead.rectify": lambda s, p, i, o: rectification.order_rectification(
        s, _desk(p, o), i, reason="r"
    ),
    "lead.report": lambda s, p, i, o: rectification.report_rectification(
        s, _desk(p, o), i, reason="r"
    ),
    "lead.follow_up": lambda s, p, i, o: rectification.follow_up(
        s, _desk(p, o), i, passed=True, reason="r"
    ),
    "lead.close": lambda s, p, i, o: disposal.close(s, _desk(p, o), i, reason="r"),
    "reporter.read": lambda s, p, i, o: reporters.reveal(s, str(i), by=p, reason="核实"),
    "reporter.request": lambda s, p, i, o: reporter_requests.ask(s, p, str(i), reason="核实"),
    "audit.export": lambda s, p, i, o: access.find_lead(s, p, str(i), "audit.export"),
    "returns.import": lambda s, p, i, o: returns.import_returns(s, [], source="r.csv", by=p),
    "escalation.run": lambda s, p, i, o: monthly(s, _desk(p, o), "2026-09"),
    "org.load": lambda s, p, i, o: organisation.load(
        s, _org()[0], source="kunming.yaml", locate=_org()[1], by=p
    ),
    "policy.install": lambda s, p, i, o: install(s, default_policy(), by=p),
    "people.manage": lambda s, p, i, o: people.add(
        s, p, username="newcomer", name="新人", unit="R03", roles=["officer"], password="x" * 12
    ),
}
# The acts whose command checks the gate before it starts a flow or reads the chain, and
# 予以了结 of a lead awaiting its decision (the end-to-end tests close a triaged lead).
for _act, _about in ACTS.items():
    PERFORM.setdefault(
        _act,
        lambda s, p, i, o, a=_act, lead=_about.about_a_lead: access.permit(
            s, p, a, i if lead else None
        ),
    )


def _people(inside: str, outside: str) -> list[tuple[str, Person, bool]]:
    """Each role held in the lead's unit and, for a unit's role, in another unit."""
    found = []
    for role in Role:
        unit = inside if role.of_a_unit else None
        found.append(
            (
                f"{role.value} in scope",
                Person(f"u-{role.value}", "某", frozenset({Grant(role, unit)})),
                True,
            )
        )
        if role.of_a_unit:
            who = Person(f"x-{role.value}", "某", frozenset({Grant(role, outside)}))
            found.append((f"{role.value} of {outside}", who, False))
    return found


def _expected(act: str, person: Person, in_scope: bool) -> str:
    (grant,) = person.grants
    if grant.role not in ACTS[act].roles:
        return "not_permitted"
    if ACTS[act].about_a_lead and grant.role.of_a_unit and not in_scope:
        return "out_of_scope"
    return "allowed"


class _Undo(Exception):
    """Leaves an allowed attempt uncommitted: every case starts from the same records."""


def _attempt(engine: Engine, perform: Perform, who: Person, lead_id: int, out: Path) -> str:
    try:
        with runtime.work(engine) as session:
            perform(session, who, lead_id, out)
            raise _Undo
    except NotPermitted:
        return "not_permitted"
    except OutOfScope:
        return "out_of_scope"
    except (_Undo, LeadFlowError):  # allowed; a lifecycle rule may still have answered
        return "allowed"


def _refusals(engine: Engine) -> list[AuditEvent]:
    with engine.connect() as c:
        return list(
            c.execute(
                select(AuditEvent)
                .where(AuditEvent.action == access.REFUSED)
                .order_by(AuditEvent.seq)
            )
        )


@pytest.mark.slow
def test_every_act_by_every_role_in_and_out_of_scope(org_engine: Engine, tmp_path: Path) -> None:
    lead_id = receive(org_engine, example_leads()[0])
    with org_engine.connect() as c:
        inside = c.scalar(
            select(Unit.code)
            .join(Entity, Entity.supervised_by_id == Unit.id)
            .join(Lead, Lead.entity_id == Entity.id)
            .where(Lead.id == lead_id)
        )
        outside = c.scalar(
            select(Unit.code).where(Unit.code != inside, Unit.kind == "resident_group")
        )
    assert inside and outside
    wrong, cases, refused = [], 0, 0
    for act, perform in PERFORM.items():
        for label, who, in_scope in _people(inside, outside):
            before = len(_refusals(org_engine))
            got = _attempt(org_engine, perform, who, lead_id, tmp_path)
            want = _expected(act, who, in_scope)
            cases += 1
            if got != want:
                wrong.append(f"{act} by {label}: {got}, the table says {want}")
                continue
            events = _refusals(org_engine)
            if want == "allowed":
                if len(events) != before:
                    wrong.append(f"{act} by {label}: allowed, yet a refusal was recorded")
                continue
            refused += 1
            if len(events) != before + 1:
                wrong.append(f"{act} by {label}: refused but not recorded")
                continue
            last = events[-1]
            data = json.loads(last.data)
            if (last.actor, data["act"], data["answer"]) != (who.actor, act, want):
                wrong.append(f"{act} by {label}: recorded as {last.actor} {data}")
            if want == "out_of_scope" and last.lead_id != lead_id:
                wrong.append(f"{act} by {label}: the refusal does not name the lead")
    assert not wrong, "\n".join(wrong)
    assert cases == len(ACTS) * 9 and refused > cases // 2
    with org_engine.connect() as c:
        assert c.scalar(select(func.count()).select_from(Lead)) == 1  # nothing allowed was kept
