"""What a command or a flow needs to act: the database, and the desk (who, when, policy)."""

from __future__ import annotations

import getpass
from datetime import date

from sqlalchemy import Engine

from models.config.settings import get_settings
from models.services.desk import Desk, local_today
from models.services.policy import in_force
from models.store.database import engine_for, transaction


def engine() -> Engine:
    return engine_for(get_settings().database_url)


def actor() -> str:
    try:
        return get_settings().actor or getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def desk(*, today: date | None = None, who: str | None = None) -> Desk:
    with transaction(engine()) as session:
        policy = in_force(session)
    settings = get_settings()
    return Desk(
        actor=who or actor(),
        today=today or settings.today or local_today(),
        policy=policy,
        output_dir=settings.output_dir.resolve(),
    )
