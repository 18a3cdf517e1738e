"""Settings from the environment: ``LEADFLOW_DATABASE_URL``, ``LEADFLOW_OUTPUT_DIR``, …"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LEADFLOW_", extra="ignore")

    # Relative to the working directory, as CONTRACT.md says: the embedded default.
    database_url: str = "sqlite:///leadflow.db"
    output_dir: Path = Path("output")
    # Leads per transaction in `lead import`: large enough to amortise a commit,
    # small enough that a crash loses little work.
    import_batch_size: int = 1000
    # Who the audit trail names for commands run here; the OS user when unset.
    actor: str | None = None
    # The commission's "today" (Asia/Shanghai); set it to replay or test a given day.
    today: date | None = None
    # How `lead submit` runs the intake flow: "deployment" hands it to the `lead-intake`
    # deployment of the Prefect server at PREFECT_API_URL (a worker runs it); "local" runs
    # it in this process (reporting to that server if one is set); "auto" is deployment
    # when PREFECT_API_URL is set, else local (Prefect's embedded mode).
    intake_mode: Literal["auto", "local", "deployment"] = "auto"


def get_settings() -> Settings:
    return Settings()
