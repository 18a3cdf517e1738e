"""Dates that cannot be turned against the record (docs/rules.md §7): a replayed day never
passes the real date nor precedes the lead's last act, and every event written on one
records it beside the real time."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from models.audit import AuditEvent
from models.config.policy import default_policy
from models.domain.errors import BadInput, RuleRefused
from models.domain.people import system
from models.services import clock
from models.services.desk import Desk
from models.services.disposal import dispose
from models.services.triage import triage
from models.store.database import transaction
from tests.conftest import KUNMING, on_day
from tests.integration.helpers import example_leads, receive


def _desk(tmp_path: Path, day: date) -> Desk:
    return on_day(Desk(system("测试员"), day, default_policy(), tmp_path / "out", KUNMING))


def _lead(engine: Engine, tmp_path: Path) -> int:
    """KM-2026-000101, received 2026-01-15, triaged on the 20th (own handling)."""
    lead = next(x for x in example_leads() if x.external_id == "KM-2026-000101")
    lead_id = receive(engine, lead)
    with transaction(engine) as session:
        triage(session, _desk(tmp_path, date(2026, 1, 20)), lead_id)
    return lead_id


@pytest.mark.parametrize("day", [date(2026, 1, 10), date(2026, 1, 19)])
def test_an_act_dated_before_the_leads_last_act_is_refused(
    org_engine: Engine, tmp_path: Path, day: date
) -> None:
    lead_id = _lead(org_engine, tmp_path)
    with pytest.raises(RuleRefused) as refused, transaction(org_engine) as session:
        dispose(session, _desk(tmp_path, day), lead_id, method="talk_letter", reason="函询")
    assert refused.value.rule == "date" and "2026-01-20" in str(refused.value)


def test_an_event_on_a_replayed_day_records_it_beside_the_real_time(
    org_engine: Engine, tmp_path: Path
) -> None:
    lead_id = _lead(org_engine, tmp_path)
    with transaction(org_engine) as session:
        dispose(
            session,
            _desk(tmp_path, date(2026, 1, 21)),
            lead_id,
            method="talk_letter",
            reason="函询",
        )
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "lead.dispose")).one()
    assert json.loads(event.data)["replayed_on"] == "2026-01-21"
    assert event.at.startswith(str(clock.real_today().year))  # the real time, as ever


def test_a_replayed_day_after_the_real_date_is_refused_naming_where_it_came_from() -> None:
    ahead = clock.real_today() + timedelta(days=1)
    with pytest.raises(BadInput) as refused:
        clock.acting_day(ahead, named="LEADFLOW_TODAY")
    assert refused.value.problems[0].source == "LEADFLOW_TODAY"
    assert clock.acting_day(None, named="LEADFLOW_TODAY") == clock.real_today()
