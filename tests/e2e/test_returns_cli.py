"""`leadflow stats import` end to end, with files as offices send them: a GBK CSV with
the template's Chinese header, an .xlsx workbook, and a bad file that changes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest

from models.services.clock import real_today
from models.store.database import make_engine
from models.store.periods import next_month
from tests.conftest import EXAMPLES, Cli, snapshot


@pytest.fixture
def ready(cli: Cli) -> Cli:
    cli("init", check=0)
    cli("org", "load", EXAMPLES / "kunming.yaml", check=0)
    return cli


def test_stats_import_as_offices_send_files(ready: Cli, tmp_path: Path, db_url: str) -> None:
    bad = tmp_path / "bad.csv"
    future = next_month(real_today().strftime("%Y-%m"))
    bad.write_bytes(
        "期间,单位,指标,数值\r\n"
        "2026-09,R03,leads_received,4\r\n"
        "2026-09,R04,leads_received,1_234\r\n"  # line 3: not digits alone
        "2026-09,R03,leads_received,5\r\n"  # line 4: repeats line 2
        f"{future},R05,leads_received,8\r\n".encode("gbk")  # a month not yet begun
    )
    engine = make_engine(db_url)
    before = snapshot(engine)
    ran = ready("stats", "import", bad, check=2)
    assert ran.stdout == "" and "Traceback" not in ran.stderr
    assert f"{bad}:3: field 'value': " in ran.stderr
    assert f"{bad}:4: repeats line 2: the same period, unit and indicator" in ran.stderr
    assert "1_234" not in ran.stderr
    assert snapshot(engine) == before
    bad.write_bytes(f"period,unit,indicator,value\n{future},R05,leads_received,8\n".encode())
    ran = ready("stats", "import", bad, check=2)
    assert f"{bad}:2: field 'period': must be a month from" in ran.stderr
    assert future not in ran.stderr
    ran = ready("stats", "import", bad, "--encoding", "no-such-encoding", check=2)
    assert "--encoding: names no text encoding" in ran.stderr
    assert snapshot(engine) == before

    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes("期间,单位,指标,数值\r\n2026-09,R03,leads_received,4\r\n".encode("gbk"))
    done = json.loads(ready("stats", "import", gbk, "--json", check=0).stdout)
    assert (done["created"], done["replaced"], done["unchanged"]) == (1, 0, 0)

    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["period", "unit", "indicator", "value"])
    sheet.append(["2026-09", "R03", "leads_received", 6.0])  # replaces the CSV's 4
    sheet.append(["2026-09", "R04", "leads_received", 2])
    workbook = tmp_path / "returns.xlsx"
    book.save(workbook)
    done = json.loads(ready("stats", "import", workbook, "--json", check=0).stdout)
    assert (done["created"], done["replaced"], done["unchanged"]) == (1, 1, 0)
    engine.dispose()
