"""What must hold before a commission's existing database is upgraded (docs/operations.md,
"Upgrading"): external ids arrive in one form now (NFKC, nothing invisible), so ids stored
before that which are one id once normalised would be two leads for one report; the
upgrade is refused, naming them, until the commission has resolved them.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import Engine, inspect, text

from models.domain.errors import RuleRefused
from models.domain.identifiers import one_form


def colliding_ids(engine: Engine) -> list[list[tuple[int, str]]]:
    """Groups of stored leads whose external ids are one id once normalised."""
    if not inspect(engine).has_table("leads"):
        return []
    groups: dict[str, list[tuple[int, str]]] = defaultdict(list)
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT id, external_id FROM leads ORDER BY id"))
        for lead_id, external_id in rows:
            groups[one_form(external_id)].append((lead_id, external_id))
    return [group for group in groups.values() if len(group) > 1]


def check_before_upgrade(engine: Engine) -> None:
    """Refuse the upgrade while stored external ids collide once normalised."""
    collisions = colliding_ids(engine)
    if not collisions:
        return
    listed = "; ".join(
        ", ".join(f"lead {lead_id} {external_id!a}" for lead_id, external_id in group)
        for group in collisions[:20]
    )
    raise RuleRefused(
        "external_id",
        f"{len(collisions)} group(s) of leads have external ids that are one id once "
        f"normalised (NFKC, invisible characters removed): {listed}. Resolve them before "
        "upgrading (docs/operations.md, 'Upgrading')",
    )
