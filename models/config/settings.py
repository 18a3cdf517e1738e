"""Settings from the environment: ``LEADFLOW_DATABASE_URL``, ``LEADFLOW_OUTPUT_DIR``, …"""

from __future__ import annotations

import os
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LEADFLOW_", extra="ignore", frozen=True)

    # Relative to the working directory, as docs/commands.md says: the embedded default.
    database_url: str = "sqlite:///leadflow.db"
    output_dir: Path = Path("output")
    # Where the local stack (`leadflow up`) keeps its state, its Prefect server's home
    # and database, and its logs.
    home: Path = Path(".leadflow")
    # Leads per transaction in `lead import`: large enough to amortise a commit,
    # small enough that a crash loses little work.
    import_batch_size: int = 1000
    # Who the audit trail names for commands run while the database has no users (the
    # single operator; the OS user when unset) and for the system's runs ("system").
    actor: str | None = None
    # Once users exist, the command line acts as the person this API token was given to.
    token: SecretStr | None = None
    # The commission's "today" (Asia/Shanghai); set it to replay or test a given day.
    today: date | None = None
    # How `lead submit` runs the intake flow: "deployment" hands it to the `lead-intake`
    # deployment of the Prefect server at PREFECT_API_URL (a worker runs it); "local" runs
    # it in this process (reporting to that server if one is set); "auto" is deployment
    # when PREFECT_API_URL is set, else local (Prefect's embedded mode).
    intake_mode: Literal["auto", "local", "deployment"] = "auto"
    # The key that signs the audit chain's head, made by `leadflow init` (mode 0600), and
    # the append-only file of signed heads: by default under the LeadFlow home, in a
    # directory of their own; point them elsewhere to keep them from the database's
    # writers (docs/operations.md, "The audit anchors").
    anchor_key: Path | None = None
    anchors: Path | None = None
    # How long `leadflow reconcile` leaves a handed-on lead to its run before handing it
    # on again (a run started longer ago is taken for one whose worker died).
    reconcile_grace_seconds: float = 60.0


def anchor_paths(settings: Settings) -> tuple[Path, Path]:
    """The signing key and the anchors' file, where the settings put them."""
    key = settings.anchor_key or settings.home / "audit-key" / "anchor-signing.pem"
    return key, settings.anchors or settings.home / "audit-anchors" / "anchors.jsonl"


def get_settings() -> Settings:
    """The settings the environment gives now. Read again only when a ``LEADFLOW_``
    variable has changed (a test or a command may set one): reading them is not free,
    and one lead's intake flow asks many times."""
    return _settings(
        tuple(sorted((k, v) for k, v in os.environ.items() if k.upper().startswith("LEADFLOW_")))
    )


@lru_cache(maxsize=8)
def _settings(_environment: tuple[tuple[str, str], ...]) -> Settings:
    return Settings()
