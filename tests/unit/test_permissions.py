"""The permission table: docs/permissions.md is the data written out, and the rule that
reads it (roles, a unit's roles in their units only) answers as the page says."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from models.domain.errors import BadInput
from models.domain.people import Grant, Kind, Person, Role, clean_text, operator, system
from models.domain.permissions import ACTS, Answer, judge, readable_units
from tests.unit import permission_table

DOC = Path(__file__).resolve().parents[2] / "docs" / "permissions.md"


def test_the_page_is_the_table() -> None:
    assert permission_table.markdown() in DOC.read_text(encoding="utf-8")


def test_every_command_that_touches_data_is_in_the_table() -> None:
    from typer.main import get_command

    from leadflow.cli import app

    named = {w for act in ACTS.values() for w in act.where}
    root = get_command(app)
    commands = set()
    for name, command in root.commands.items():  # type: ignore[attr-defined]
        subs = getattr(command, "commands", None)
        commands |= {f"leadflow {name} {s}" for s in subs} if subs else {f"leadflow {name}"}
    # The stack's and the bench's commands act on no LeadFlow data of the database.
    shell = {"leadflow up", "leadflow down", "leadflow status", "leadflow worker", "leadflow bench"}
    shell |= {"leadflow web"}  # serves the API, whose routes are checked below
    shell |= {"leadflow doctor"}  # checks the machine: fonts, tools, services; reads no lead
    assert commands - shell <= named, sorted(commands - shell - named)


def person(*grants: Grant) -> Person:
    return Person("p", "某人", frozenset(grants))


@pytest.mark.parametrize(
    ("who", "act", "units", "answer"),
    [
        (person(Grant(Role.leader)), "lead.decide", {"R03"}, Answer.allowed),
        (person(Grant(Role.admin)), "lead.decide", {"R03"}, Answer.not_permitted),
        (person(Grant(Role.officer, "R03")), "lead.decide", {"R03"}, Answer.not_permitted),
        (person(Grant(Role.officer, "R03")), "lead.close", {"R03", "O1"}, Answer.allowed),
        (person(Grant(Role.officer, "R04")), "lead.close", {"R03"}, Answer.out_of_scope),
        (person(Grant(Role.officer, "R04")), "lead.read", {"R03"}, Answer.out_of_scope),
        (person(Grant(Role.officer, "R03")), "reporter.read", {"R03"}, Answer.not_permitted),
        (person(Grant(Role.custodian)), "reporter.read", {"R03"}, Answer.allowed),
        (person(Grant(Role.custodian)), "lead.read", {"R03"}, Answer.not_permitted),
        (person(Grant(Role.auditor)), "lead.read", {"R03"}, Answer.allowed),
        (person(Grant(Role.auditor)), "lead.close", {"R03"}, Answer.not_permitted),
        (person(Grant(Role.admin)), "org.load", set(), Answer.allowed),
        (person(Grant(Role.case_manager)), "org.load", set(), Answer.not_permitted),
        (person(), "lead.read", {"R03"}, Answer.not_permitted),
        (operator("甲"), "reporter.read", {"R03"}, Answer.allowed),
        (system(), "escalation.run", set(), Answer.allowed),
    ],
)
def test_answers(who: Person, act: str, units: set[str], answer: Answer) -> None:
    assert judge(who, ACTS[act], units) is answer


def test_readable_units() -> None:
    assert readable_units(person(Grant(Role.officer, "R03"), Grant(Role.unit_head, "R04"))) == {
        "R03",
        "R04",
    }
    assert readable_units(person(Grant(Role.officer, "R03"), Grant(Role.auditor))) is None
    assert readable_units(person(Grant(Role.custodian))) == frozenset()


def test_a_user_is_recorded_with_where_they_acted_from() -> None:
    who = Person("liming", "李明", frozenset(), Kind.user, "os:clerk")
    assert who.actor == "liming（李明） os:clerk"
    assert who.names("李明") and who.names("liming") and not who.names("刘某（被反映人）")


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("甲\n  99  2026-01-01 00:00:00Z  乙  lead.close", "control character (U+000A)"),
        ("甲\u202e乙", "control character (U+202E)"),
        ("   ", "is empty"),
        ("甲" * 101, "longer than 100"),
    ],
)
def test_text_on_the_record_is_validated(text: str, why: str) -> None:
    with pytest.raises(BadInput) as refused:
        clean_text(text, field="actor", source="LEADFLOW_ACTOR")
    assert why in str(refused.value)


def test_every_api_route_is_in_the_table() -> None:
    from leadflow.web import create_app

    named = {w for act in ACTS.values() for w in act.where}
    paths = create_app().openapi()["paths"]
    routes = {
        f"{method.upper()} {path.replace('{lead}', '{id}')}"
        for path, operations in paths.items()
        for method in operations
    }
    assert routes and routes <= named, sorted(routes - named)


def _routes(routes: list[Any]) -> Iterator[tuple[str, str]]:
    """Each (method, path) of ``routes``, through the routers included in them."""
    for route in routes:
        included = getattr(route, "include_context", None)
        if included is not None:
            yield from _routes(included.included_router.routes)
        else:
            yield from ((method, route.path) for method in getattr(route, "methods", ()))


def test_every_workbench_route_is_in_the_table() -> None:
    from leadflow.web import workbench

    named = {w for act in ACTS.values() for w in act.where}
    # Signing in and out and the stylesheet touch no lead, board or record.
    outside = {"GET /", "GET /login", "POST /login", "POST /logout", "GET /static/workbench.css"}
    routes = {
        f"{method} {path.replace('{lead}', '{id}')}"
        for method, path in _routes(workbench.router.routes)
        if method != "HEAD"
    }
    assert "GET /leads" in routes and outside <= routes
    assert routes - outside <= named, sorted(routes - outside - named)
