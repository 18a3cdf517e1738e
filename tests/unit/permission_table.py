"""The permission table as docs/permissions.md writes it: one row an act, one column a role."""

from __future__ import annotations

from models.domain.people import Role
from models.domain.permissions import ACTS


def markdown() -> str:
    roles = list(Role)
    header = " | ".join(f"{r.value}<br>{r.chinese}" for r in roles)
    lines = [f"| act | 中文 | {header} | commands and routes |", "|" + "---|" * (len(roles) + 3)]
    for act in ACTS.values():
        cells = [
            ("own units" if act.about_a_lead and r.of_a_unit else "yes") if r in act.roles else "—"
            for r in roles
        ]
        where = ", ".join(f"`{w}`" for w in act.where)
        lines.append(f"| `{act.name}` | {act.chinese} | {' | '.join(cells)} | {where} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown())
