"""Who acts on the command line (docs/permissions.md, "Who acts"): while the database has
no users, the single operator — the OS user (or LEADFLOW_ACTOR), with every role; once
any user exists, the person whose token is in LEADFLOW_TOKEN, with the OS user beside
them. A missing, unknown or revoked token is a refused attempt, recorded."""

from __future__ import annotations

import getpass

from models.config.settings import get_settings
from models.domain.errors import BadInput, NotPermitted, Refusal
from models.domain.people import Kind, Person, clean_text, operator
from models.services import people
from models.store.database import engine_for, transaction

AUTHENTICATE = "authenticate"


def os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def command_line() -> Person:
    settings, via = get_settings(), f"os:{os_user()}"
    with transaction(engine_for(settings.database_url)) as session:
        if not people.any_users(session):
            return operator(_operator_name(settings.actor, via), via=via)
        if settings.token is None:
            raise _refused(via, "users exist: LEADFLOW_TOKEN must hold a token of yours")
        found = people.by_token(session, settings.token.get_secret_value(), via=via)
    if found is None:
        raise _refused(via, "LEADFLOW_TOKEN is not a live token (unknown or revoked)")
    return found


def _operator_name(declared: str | None, via: str) -> str:
    if declared is None:
        return os_user()
    try:
        return clean_text(declared, field="actor", source="LEADFLOW_ACTOR")
    except BadInput as bad:
        raise _refused(via, f"LEADFLOW_ACTOR refused: {bad.problems[0].reason}") from None


def _refused(via: str, why: str) -> NotPermitted:
    return NotPermitted(Refusal(f"unknown {via}", AUTHENTICATE, "not_permitted", why), why)


def single_operator(person: Person) -> bool:
    return person.kind is Kind.operator
