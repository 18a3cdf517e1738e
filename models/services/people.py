"""People, their roles and tokens (docs/permissions.md): added, given tokens, revoked —
each change an audit event — and a token turned back into the person it was given to.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence

from argon2 import PasswordHasher
from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from models import audit
from models.domain.errors import BadInput, Problem, RuleRefused
from models.domain.people import Grant, Kind, Person, Role, clean_text
from models.services.access import permit
from models.store.base import utcnow
from models.store.organisation import Unit
from models.store.people import ApiToken, User, UserRole

# argon2-cffi's defaults are Argon2id with RFC 9106's low-memory parameters.
_HASHER = PasswordHasher()
MIN_PASSWORD = 12


def any_users(session: Session) -> bool:
    return bool(session.scalar(select(exists().where(User.id.is_not(None)))))


def add(
    session: Session,
    by: Person,
    *,
    username: str,
    name: str,
    unit: str,
    roles: Sequence[str],
    password: str,
) -> Person:
    """A person with their roles; a unit's role holds in their home unit."""
    permit(session, by, "people.manage")
    grants = _grants(session, username=username, name=name, unit=unit, roles=roles)
    if by.kind is Kind.operator and Grant(Role.admin) not in grants:
        # Once a user exists the single operator is gone: someone must manage people.
        raise BadInput([Problem("--role", "the first user must hold the admin role", field="role")])
    if len(password) < MIN_PASSWORD:
        raise BadInput([Problem("password", f"shorter than {MIN_PASSWORD} characters")])
    audit.lock_chain(session)
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise RuleRefused("people", f"a user named '{username}' exists already")
    user = User(
        username=username,
        name=name,
        home_unit=unit,
        password_hash=_HASHER.hash(password),
        created_at=utcnow(),
    )
    session.add(user)
    session.flush()
    session.add_all(UserRole(user_id=user.id, role=g.role.value, unit=g.unit or "") for g in grants)
    _record(session, by, "people.add", f"{username}（{name}）", [str(g) for g in sorted(grants)])
    return Person(username, name, frozenset(grants))


def _grants(
    session: Session, *, username: str, name: str, unit: str, roles: Sequence[str]
) -> set[Grant]:
    problems = []
    if not (username.isascii() and username.replace("-", "").replace("_", "").isalnum()):
        problems.append(Problem("USERNAME", "letters, digits, - and _ only", field="username"))
    clean_text(username, field="username", source="USERNAME")
    clean_text(name, field="name", source="--name")
    grants = {_grant(given, unit, problems) for given in roles}
    if not roles:
        problems.append(Problem("--role", "at least one role", field="role"))
    units = {unit} | {g.unit for g in grants if g is not None and g.unit}
    known = set(session.scalars(select(Unit.code).where(Unit.code.in_(units))))
    problems += [
        Problem("--unit", f"no unit with code '{u}'", field="unit") for u in sorted(units - known)
    ]
    if problems:
        raise BadInput(problems)
    return {g for g in grants if g is not None}


def _grant(given: str, home: str, problems: list[Problem]) -> Grant | None:
    """``officer`` (in the home unit), ``officer@R04`` (in R04) or ``leader``."""
    role, _, unit = given.partition("@")
    if role not in Role.__members__:
        problems.append(
            Problem("--role", f"'{role}' is not a role ({', '.join(Role)})", field="role")
        )
        return None
    if Role(role).of_a_unit:
        return Grant(Role(role), unit or home)
    if unit:
        problems.append(
            Problem("--role", f"'{role}' is the commission's, not a unit's", field="role")
        )
        return None
    return Grant(Role(role))


def issue_token(session: Session, by: Person, username: str) -> str:
    """A new API token for ``username``: returned once, kept as its digest."""
    permit(session, by, "people.manage")
    user = _active(session, username)
    token = secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, digest=digest(token), created_at=utcnow()))
    _record(session, by, "people.token", username, [])
    return token


def revoke(session: Session, by: Person, username: str) -> int:
    """Every token of ``username`` revoked, and the person disabled; how many tokens."""
    permit(session, by, "people.manage")
    user = _active(session, username)
    tokens = session.scalars(
        select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
    ).all()
    for token in tokens:
        token.revoked_at = utcnow()
    user.active = False
    _record(session, by, "people.revoke", username, [])
    return len(tokens)


def _active(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username, User.active))
    if user is None:
        raise BadInput([Problem("USERNAME", f"no active user '{username}'", field="username")])
    return user


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def by_token(session: Session, token: str, *, via: str) -> Person | None:
    """The person a live token was given to; None for an unknown or revoked one."""
    user = session.scalar(
        select(User)
        .join(ApiToken, ApiToken.user_id == User.id)
        .where(ApiToken.digest == digest(token), ApiToken.revoked_at.is_(None), User.active)
    )
    return None if user is None else _person(session, user, via)


def _person(session: Session, user: User, via: str) -> Person:
    rows = session.execute(select(UserRole.role, UserRole.unit).where(UserRole.user_id == user.id))
    grants = frozenset(Grant(Role(role), unit or None) for role, unit in rows)
    return Person(user.username, user.name, grants, via=via)


def _record(session: Session, by: Person, action: str, whom: str, grants: list[str]) -> None:
    audit.record(
        session,
        audit.EventDraft(
            actor=by.actor, action=action, reason=whom, data={"user": whom, "grants": grants}
        ),
    )
