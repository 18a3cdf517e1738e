"""Creating and upgrading the schema with Alembic, on the engine LeadFlow uses.

Whether a database is current is asked by every command, so it is answered without
Alembic (whose import costs a one-off command a fifth of a second): the revision the
database records against the newest migration's, the files being named by revision
(a unit test holds that to what Alembic itself reads)."""

from __future__ import annotations

import re
from importlib.resources import files
from typing import TYPE_CHECKING

from sqlalchemy import Engine, inspect, text

if TYPE_CHECKING:
    from alembic.config import Config

VERSIONS = files("models.store").joinpath("migrations", "versions")
_REVISION_FILE = re.compile(r"^(\d{4})_\w+\.py$")


def head() -> str:
    """The newest migration's revision: the highest numbered file's."""
    return max(
        found.group(1)
        for entry in VERSIONS.iterdir()
        if (found := _REVISION_FILE.match(entry.name))
    )


def _config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(files("models.store").joinpath("migrations")))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    from alembic import command

    config = _config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def is_current(engine: Engine) -> bool:
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return False
        recorded = set(connection.scalars(text("SELECT version_num FROM alembic_version")))
    return recorded == {head()}


def revision(engine: Engine, message: str) -> None:
    """For developers: autogenerate a revision against an up-to-date database."""
    from alembic import command

    config = _config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.revision(config, message=message, autogenerate=True)
