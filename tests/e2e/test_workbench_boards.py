"""The colour boards (多色榜) in process, on the example returns with September's monthly
escalation run as the demo runs it: the coloured board with the year to date and trends,
the units that have not filed, the escalation's documents, the bulletin served only while
its file matches the trail — and the boards closed to a role without board.read."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from leadflow.web import create_app
from models.audit import AuditEvent
from models.domain.people import system
from models.inputs.readers import read_returns
from models.services import returns
from models.store.database import make_engine, transaction
from models.store.records import Document
from tests.conftest import EXAMPLES
from tests.e2e.api_world import REPORTER, World
from tests.e2e.workbench_client import sign_in


def _returns_imported(world: World) -> None:
    """July to September's returns (examples/returns.csv), as `leadflow stats import`."""
    with transaction(make_engine(world.url)) as session:
        rows = read_returns(EXAMPLES / "returns.csv")
        returns.import_returns(session, rows, source="returns.csv", by=system("setup"))


def _september_run(world: World, monkeypatch: pytest.MonkeyPatch) -> Document:
    """`leadflow escalate monthly --period 2026-09` without a server: its documents
    numbered and rendered; the bulletin it issued."""
    from flows.escalation import monthly_escalation

    monkeypatch.setenv("LEADFLOW_TODAY", "2026-11-22")  # September has ended, its returns due
    ran = monthly_escalation.fn("2026-09")
    assert [d["document"] for d in ran["issued"]] == ["bulletin"]
    with transaction(make_engine(world.url)) as session:
        return session.scalars(select(Document).where(Document.kind == "bulletin")).one()


def test_the_month_board_in_colour_and_its_bulletin(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    _returns_imported(world)
    bulletin = _september_run(world, monkeypatch)
    client = TestClient(create_app())
    sign_in(client, "leader")
    shown = client.get("/boards")  # the latest month with returns: September
    assert shown.status_code == 200
    html = shown.text
    assert '<table class="board">' in html and "2026年9月" in html and "2026年1—9月" in html
    cells = re.findall(r'<td class="num (red|blue|white)">', html)
    assert {"red", "blue", "white"} <= set(cells)
    assert len(cells) == 35 * 4  # the resident board: 35 units, four indicators each
    assert '<th scope="row" class="yellow">' in html and "（黄）" in html  # a designated unit
    assert re.search(r"[↑↓→] (升\d+位|降\d+位|持平)", html)
    assert "近3个月排名（2026年7月、2026年8月、2026年9月）" in html
    assert "本年累计得分" in html and "末位" in html
    assert re.search(r"红 单项前.+名，计\d+分", html)  # the legend
    assert "零报告，建议开展自主研判" in html  # the run's flag, from its record
    assert "<td>通报</td><td></td><td>昆纪通〔2026〕1号</td><td>已印发</td>" in html
    assert '<a href="/boards/bulletin.pdf?period=2026-09">' in html
    county = client.get("/boards?period=2026-09&board=county").text
    assert "五华区纪委监委" in county
    assert "<li>晋宁区纪委监委：直查直办(件)" in county  # not filed, listed
    assert '<td class="num white">未报送 白</td>' in county  # and last on its column
    august = client.get("/boards?period=2026-08&board=county")
    assert august.status_code == 200 and "2026年8月的通报尚未印发" in august.text
    assert all(REPORTER[0] not in page for page in (html, county, august.text))

    served = client.get("/boards/bulletin.pdf?period=2026-09")
    assert served.status_code == 200 and served.headers["content-type"] == "application/pdf"
    assert hashlib.sha256(served.content).hexdigest() == bulletin.sha256
    assert client.get("/boards/bulletin.pdf?period=2026-08").status_code == 404
    Path(str(bulletin.path)).write_bytes(served.content + b"%")  # altered after its issue
    altered = client.get("/boards/bulletin.pdf?period=2026-09")
    assert altered.status_code == 404 and "校验值不符" in altered.text


def test_a_bad_choice_is_named_and_an_officer_is_refused(world: World) -> None:
    _returns_imported(world)
    client = TestClient(create_app())
    sign_in(client, "auditor")
    assert "2026年9月" in client.get("/boards?board=county").text
    for asked, field in (("period=2026-13", "月份"), ("board=nothing", "榜单")):
        bad = client.get(f"/boards?{asked}")
        assert bad.status_code == 422 and field in bad.text and "Traceback" not in bad.text
    assert client.get("/boards/bulletin.pdf?period=09-2026").status_code == 422
    sign_in(client, "officer")
    assert client.get("/boards").status_code == 403
    assert client.get("/boards/bulletin.pdf?period=2026-09").status_code == 403
    with transaction(make_engine(world.url)) as session:
        refused = session.scalars(
            select(AuditEvent.data).where(AuditEvent.action == "access.refused")
        ).all()
    assert [json.loads(d)["act"] for d in refused] == ["board.read", "board.read"]
