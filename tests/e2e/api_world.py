"""A database with the example organisation, one person of each role and their tokens,
and the example lead (whose reporter is on record), for the API's tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from models.config.policy import default_policy
from models.domain.people import system
from models.inputs.readers import read_organisation
from models.services import organisation, people
from models.services.policy import install
from models.store import migrate
from models.store.database import make_engine, transaction
from tests.conftest import EXAMPLES

REPORTER = ("张三", "13800000000")  # examples/lead.json's reporter
PEOPLE = {
    "admin": ("王敏", "D1", ["admin"]),
    "case_manager": ("钱莉", "D1", ["case_manager"]),
    "officer": ("赵磊", "C03", ["officer"]),  # the example lead's entity is supervised by C03
    "clerk": ("孙强", "R01", ["officer"]),  # an officer of another unit
    "leader": ("杨正晓", "D1", ["leader"]),
    "custodian": ("孙慧", "D1", ["custodian"]),
    "auditor": ("周审", "D1", ["auditor"]),
}


@dataclass
class World:
    url: str
    tokens: dict[str, str]


def make_world(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> World:
    url = f"sqlite:///{tmp_path / 'api.db'}"
    for key, value in {
        "LEADFLOW_DATABASE_URL": url,
        "LEADFLOW_OUTPUT_DIR": str(tmp_path / "output"),
        "LEADFLOW_HOME": str(tmp_path / "home"),
        "LEADFLOW_INTAKE_MODE": "local",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    engine = make_engine(url)
    migrate.upgrade(engine)
    first = system("setup")
    tokens = {}
    with transaction(engine) as session:
        install(session, default_policy(), by=first)
        org, locate = read_organisation(EXAMPLES / "kunming.yaml")
        organisation.load(session, org, source="kunming.yaml", locate=locate, by=first)
        for username, (name, unit, roles) in PEOPLE.items():
            people.add(
                session, first, username=username, name=name, unit=unit, roles=roles,
                password="a long enough password",
            )  # fmt: skip
            tokens[username] = people.issue_token(session, first, username)
    engine.dispose()
    return World(url, tokens)
