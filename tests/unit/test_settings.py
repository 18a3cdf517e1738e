"""Settings come from the environment as it is when asked, though read only when it changed."""

from __future__ import annotations

import pytest

from models.config.settings import get_settings


def test_settings_follow_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEADFLOW_ACTOR", "甲")
    first = get_settings()
    assert first.actor == "甲"
    assert get_settings() is first  # nothing changed: not read again
    monkeypatch.setenv("LEADFLOW_ACTOR", "乙")
    assert get_settings().actor == "乙"
    monkeypatch.delenv("LEADFLOW_ACTOR")
    monkeypatch.setenv("leadflow_actor", "丙")  # pydantic-settings ignores the case
    assert get_settings().actor == "丙"
    monkeypatch.setenv("LEADFLOW_IMPORT_BATCH_SIZE", "17")
    assert (get_settings().actor, get_settings().import_batch_size) == ("丙", 17)
    before = get_settings()
    monkeypatch.setenv("UNRELATED_VARIABLE", "x")
    assert get_settings() is before  # another program's variable: not read again


def test_settings_cannot_be_changed_in_place() -> None:
    settings = get_settings()
    with pytest.raises(ValueError):
        settings.actor = "someone"  # type: ignore[misc]
