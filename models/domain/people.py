"""People and their roles (docs/permissions.md): who acts, in which units, and under
which name the record keeps them.

A role is the commission's (委领导, 案管, 信访室, 审计, 系统管理员) or a unit's (承办人,
单位负责人): a unit's role holds for the leads of that unit only. Two persons are no
one's: the single operator of a database without users (every role, the OS user's
name) and the system that scheduled runs act as.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from enum import StrEnum

from models.domain.errors import BadInput, Problem


class Role(StrEnum):
    officer = "officer"
    unit_head = "unit_head"
    leader = "leader"
    case_manager = "case_manager"
    custodian = "custodian"
    auditor = "auditor"
    admin = "admin"

    @property
    def chinese(self) -> str:
        return ROLE_NAMES[self]

    @property
    def of_a_unit(self) -> bool:
        """A unit's role (承办人, 单位负责人) holds only for that unit's leads."""
        return self in (Role.officer, Role.unit_head)


ROLE_NAMES = {
    Role.officer: "承办人",
    Role.unit_head: "单位负责人",
    Role.leader: "委领导",
    Role.case_manager: "案管",
    Role.custodian: "信访室",
    Role.auditor: "审计",
    Role.admin: "系统管理员",
}


@dataclass(frozen=True, order=True)
class Grant:
    """A role held: a unit's role names its unit; a commission's role names none."""

    role: Role
    unit: str | None = None

    def __str__(self) -> str:
        return f"{self.role.value}@{self.unit}" if self.unit else self.role.value


class Kind(StrEnum):
    user = "user"
    operator = "operator"  # a database without users: the OS user, with every role
    system = "system"  # scheduled runs and the workers


@dataclass(frozen=True)
class Person:
    """Who acts: a user with their grants, the single operator, or the system. ``via`` is
    where the act came from (the OS user on the command line, the client's address on
    the API), recorded beside the person."""

    username: str
    name: str
    grants: frozenset[Grant]
    kind: Kind = Kind.user
    via: str = ""

    @property
    def actor(self) -> str:
        """The audit trail's actor: a user with where they acted from; else the name."""
        if self.kind is not Kind.user:
            return self.name
        return f"{self.username}（{self.name}）{' ' + self.via if self.via else ''}"[:100]

    @property
    def every_role(self) -> bool:
        return self.kind is not Kind.user

    def holds(self, role: Role) -> bool:
        return self.every_role or any(g.role is role for g in self.grants)

    def names(self, who: str) -> bool:
        """Whether ``who`` (as typed after ``--by``) names this person."""
        return who.strip() in (self.username, self.name, self.actor)


ALL_ROLES = frozenset(Grant(role) for role in Role)


def operator(name: str, *, via: str = "") -> Person:
    return Person(name, name, ALL_ROLES, Kind.operator, via)


def system(name: str = "system") -> Person:
    return Person("system", name, ALL_ROLES, Kind.system)


# Bounds of the text a person types into the record (an actor, a reason, a name).
TEXT_LIMITS = {
    "actor": 100,
    "name": 100,
    "username": 32,
    "reason": 2000,
    "by": 100,
    "finding": 2000,
}


def clean_text(value: str, *, field: str, source: str = "input") -> str:
    """``value`` if it is text a record may keep: not blank, no control character (a
    newline would forge a line of a table), within its field's bound."""
    limit = TEXT_LIMITS.get(field, 200)
    bad = next((c for c in value if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp")), None)
    if bad is not None:
        why = f"contains a control character (U+{ord(bad):04X})"
    elif not value.strip():
        why = "is empty"
    elif len(value) > limit:
        why = f"is longer than {limit} characters"
    else:
        return value
    raise BadInput([Problem(source, f"the {field} {why}", field=field)])
