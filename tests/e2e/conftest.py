"""What the API's tests share: a world of people, leads and tokens, with the failed-token
limiter cleared around each test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from leadflow.web import guard
from models.services import runtime
from tests.e2e.api_world import World, make_world


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[World]:
    built = make_world(monkeypatch, tmp_path)
    runtime.identify_with(None)
    guard.limiter._failures.clear()
    yield built
    guard.limiter._failures.clear()
