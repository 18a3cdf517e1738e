"""Signing in to the workbench (工作台): a person's password checked against its Argon2id
hash, a session opened whose cookie is kept as a digest — like an API token — with the
form token (CSRF) its forms must carry, and ended at sign-out or after
:data:`SESSION_HOURS`. A failed sign-in never says whether the name or the password was
wrong."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import audit
from models.domain.people import Person
from models.services.people import _person, digest
from models.store.base import utcnow
from models.store.people import User, WebSession

SESSION_HOURS = 8  # a working day; then the person signs in again
_HASHER = PasswordHasher()
# Checked when no such person exists, so a wrong name costs what a wrong password does.
_DECOY = _HASHER.hash("not anyone's password")


@dataclass(frozen=True)
class Opened:
    cookie: str  # the session's secret, given to the browser once
    csrf: str
    person: Person


@dataclass(frozen=True)
class Signed:
    person: Person
    csrf: str


def sign_in(session: Session, username: str, password: str, *, via: str) -> Opened | None:
    """A session for ``username`` if ``password`` is theirs and they are active; else None."""
    user = session.scalar(select(User).where(User.username == username, User.active))
    try:
        _HASHER.verify(user.password_hash if user else _DECOY, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None:
        return None
    cookie, csrf, now = secrets.token_urlsafe(32), secrets.token_urlsafe(32), utcnow()
    session.add(
        WebSession(
            user_id=user.id,
            digest=digest(cookie),
            csrf=csrf,
            started_at=now,
            expires_at=now + timedelta(hours=SESSION_HOURS),
        )
    )
    person = _person(session, user, via)
    audit.record(
        session,
        audit.EventDraft(actor=person.actor, action="people.sign_in", reason="签入工作台"),
    )
    return Opened(cookie, csrf, person)


def signed_in(session: Session, cookie: str, *, via: str) -> Signed | None:
    """The person a live session's cookie belongs to, and its form token; else None."""
    found = session.execute(
        select(WebSession, User)
        .join(User, User.id == WebSession.user_id)
        .where(
            WebSession.digest == digest(cookie),
            WebSession.ended_at.is_(None),
            WebSession.expires_at > utcnow(),
            User.active,
        )
    ).first()
    if found is None:
        return None
    web, user = found
    return Signed(_person(session, user, via), web.csrf)


def sign_out(session: Session, cookie: str) -> None:
    """The session ended, so its cookie opens nothing again."""
    web = session.scalar(
        select(WebSession).where(WebSession.digest == digest(cookie), WebSession.ended_at.is_(None))
    )
    if web is None:
        return
    web.ended_at = utcnow()
    user = session.get_one(User, web.user_id)
    audit.record(
        session,
        audit.EventDraft(
            actor=_person(session, user, "web").actor, action="people.sign_out", reason="签出工作台"
        ),
    )
