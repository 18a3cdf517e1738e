"""Upgrading a commission's existing database: the commission's name moves from the policy
in force into the organisation, and external ids that are one id once normalised are
named and the upgrade refused until they are resolved."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from models.config.policy import default_policy
from models.domain.errors import RuleRefused
from models.services.organisation import commission_of
from models.services.upgrades import check_before_upgrade
from models.store import migrate
from models.store.database import make_engine, transaction


def _at_0007(url: str, *, numbering: dict[str, str] | None) -> sa.Engine:
    """A database as revision 0007 left it, its policy in force naming the commission
    the way policies did then."""
    engine = make_engine(url)
    migrate.upgrade(engine, "0007")
    body = default_policy().model_dump(mode="json")
    body["numbering"] = {**body["numbering"], **(numbering or {})}
    for key in [k for k, v in body["numbering"].items() if v is None]:
        del body["numbering"][key]
    with engine.begin() as connection:
        connection.execute(
            sa.text("INSERT INTO policies (sha256, body, loaded_at) VALUES ('x', :b, :t)"),
            {"b": json.dumps(body, ensure_ascii=False), "t": "2026-01-01 00:00:00"},
        )
    return engine


def test_the_commission_named_by_the_policy_in_force_is_carried_into_the_organisation(
    db_url: str,
) -> None:
    engine = _at_0007(db_url, numbering={"issuer": "曲纪", "issuer_name": "曲靖市纪委监委"})
    migrate.upgrade(engine)
    with transaction(engine) as session:
        commission = commission_of(session)
    assert commission is not None
    assert (commission.name, commission.abbreviation) == ("曲靖市纪委监委", "曲纪")


def test_a_database_whose_policy_named_no_commission_has_none_after_the_upgrade(
    db_url: str,
) -> None:
    engine = _at_0007(db_url, numbering=None)
    migrate.upgrade(engine)
    with transaction(engine) as session:
        assert commission_of(session) is None


def _lead(connection: sa.Connection, lead_id: int, external_id: str) -> None:
    connection.execute(
        sa.text(
            "INSERT INTO leads (id, external_id, received_at, registered_at, source, channel,"
            " domain, summary, amount_yuan, flags, subject_name, subject_post, subject_rank,"
            " entity_id, state, version) VALUES (:id, :x, '2026-01-01 00:00:00',"
            " '2026-01-01 00:00:00', 'public_report', 'letter', 'land', 's', 0, '[]', 'n',"
            " 'p', 'section', 1, 'received', 1)"
        ),
        {"id": lead_id, "x": external_id},
    )


def test_external_ids_one_once_normalised_are_named_and_the_upgrade_refused(
    db_url: str,
) -> None:
    engine = _at_0007(db_url, numbering=None)
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO units (id, code, name, kind)"
                " VALUES (1, 'C1', 'u', 'county_commission')"
            )
        )
        connection.execute(
            sa.text(
                "INSERT INTO entities (id, code, name, supervised_by_id) VALUES (1, 'E', 'e', 1)"
            )
        )
        for lead_id, external_id in [(1, "QJ-1"), (2, "ＱＪ-1"), (3, "QJ-1\u200b"), (4, "QJ-2")]:
            _lead(connection, lead_id, external_id)
    with pytest.raises(RuleRefused) as refused:
        check_before_upgrade(engine)
    message = str(refused.value)
    assert "1 group(s)" in message
    assert all(f"lead {n} " in message for n in (1, 2, 3)) and "lead 4 " not in message
    assert not migrate.is_current(engine)  # nothing was upgraded
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE leads SET external_id = 'QJ-1-b' WHERE id = 2"))
        connection.execute(sa.text("UPDATE leads SET external_id = 'QJ-1-c' WHERE id = 3"))
    check_before_upgrade(engine)  # resolved: the upgrade goes on
    migrate.upgrade(engine)
    assert migrate.is_current(engine)
