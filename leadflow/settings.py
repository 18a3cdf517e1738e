"""Settings from the environment: ``LEADFLOW_DATABASE_URL``, ``LEADFLOW_OUTPUT_DIR``, …"""

from __future__ import annotations

from pathlib import Path

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


def get_settings() -> Settings:
    return Settings()
