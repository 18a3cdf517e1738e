"""The audit chain's head signed and kept outside the database, and checked against it
(docs/rules.md §5): on demand (`leadflow audit anchor`), after every escalation run and
on the daily schedule (prefect.yaml). The key and the file are where the settings put
them; `leadflow init` makes the key.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Connection, Engine

from models.audit import anchors
from models.audit.anchors import Anchor, AnchorVerdict
from models.config.settings import anchor_paths, get_settings
from models.domain.errors import RuleRefused


def make_key() -> Path | None:
    """The signing key, created if missing (mode 0600); its path when created."""
    key, _ = anchor_paths(get_settings())
    return key if anchors.ensure_key(key) else None


def anchor(engine: Engine) -> Anchor:
    """Sign the head now, once the anchors already written still hold."""
    key, path = anchor_paths(get_settings())
    if not key.exists():
        raise RuleRefused("audit", f"no anchor signing key at {key}: run `leadflow init`")
    with engine.connect() as connection:
        verdict = check(connection)
        if not verdict.intact:
            raise RuleRefused("audit", f"not anchored: {verdict.problem}")
        return anchors.sign_head(connection, key_path=key, path=path)


def check(connection: Connection) -> AnchorVerdict:
    """Every anchor written, against the chain as it stands."""
    key, path = anchor_paths(get_settings())
    found, damaged = anchors.read(path)
    if damaged is not None:
        return damaged
    if not found:
        return AnchorVerdict(0, True)
    if not key.exists():
        return AnchorVerdict(len(found), False, problem=f"no anchor key at {key} to check with")
    return anchors.check(connection, found, anchors.public_key(key))


def latest() -> Anchor | None:
    found, _ = anchors.read(anchor_paths(get_settings())[1])
    return found[-1] if found else None
