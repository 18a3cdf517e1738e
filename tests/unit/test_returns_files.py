"""The units' monthly returns as offices send them (docs/commands.md, "Returns files"):
CSV in UTF-8 (with or without a byte-order mark) or GB18030/GBK, or an .xlsx workbook;
whole numbers in digits only; a period, unit and indicator once a file; every problem
at its line and field, and no problem quoting the value it found."""

from __future__ import annotations

import zipfile
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest

from models.domain.errors import BadInput, Problem
from models.inputs.readers import read_returns
from models.inputs.schemas import RETURN_MAX

HEADER = "period,unit,indicator,value"


def problems(path: Path, encoding: str | None = None) -> list[Problem]:
    with pytest.raises(BadInput) as refused:
        read_returns(path, encoding=encoding)
    return refused.value.problems


def csv_file(tmp_path: Path, *rows: str, encoding: str = "utf-8", header: str = HEADER) -> Path:
    path = tmp_path / "returns.csv"
    path.write_bytes("\r\n".join([header, *rows, ""]).encode(encoding))
    return path


def workbook(tmp_path: Path, *rows: list[object], name: str = "returns.xlsx") -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    path = tmp_path / name
    book.save(path)
    return path


def values(path: Path, encoding: str | None = None) -> list[tuple[int, str, str, str, int]]:
    return [
        (n.line, n.item.period, n.item.unit, n.item.indicator, n.item.value)
        for n in read_returns(path, encoding=encoding)
    ]


# --- encodings ----------------------------------------------------------------------


def test_utf8_with_or_without_a_byte_order_mark(tmp_path: Path) -> None:
    for encoding in ("utf-8", "utf-8-sig"):
        path = csv_file(tmp_path, "2026-09,R03,leads_received,4", encoding=encoding)
        assert values(path) == [(2, "2026-09", "R03", "leads_received", 4)], encoding
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")


def test_a_gbk_file_with_an_office_templates_chinese_header(tmp_path: Path) -> None:
    """What Excel saves as CSV on a Chinese Windows machine: GBK, which is not UTF-8."""
    path = csv_file(
        tmp_path,
        "2026-09,R03,leads_received,4",
        "2026-08,R03,leads_received,0",
        encoding="gbk",
        header="期间,单位,指标,数值",
    )
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")
    assert values(path) == [
        (2, "2026-09", "R03", "leads_received", 4),
        (3, "2026-08", "R03", "leads_received", 0),
    ]
    # The other names a template may use, in another order, in GB18030.
    path = csv_file(tmp_path, "R03,2026-09,leads_received,4", encoding="gb18030", header=(
        "单位,月份,指标,数量"
    ))  # fmt: skip
    assert values(path) == [(2, "2026-09", "R03", "leads_received", 4)]


def test_a_file_in_neither_encoding_names_what_was_tried(tmp_path: Path) -> None:
    path = tmp_path / "returns.csv"
    path.write_bytes(HEADER.encode() + b"\n2026-09,R03,leads_received,4\xff\n")
    [problem] = problems(path)
    assert problem.source == str(path)
    assert "UTF-8" in problem.reason and "GB18030" in problem.reason
    assert "--encoding" in problem.reason


def test_encoding_named(tmp_path: Path) -> None:
    """Excel's "Unicode text" is UTF-16, which is only read when named."""
    path = csv_file(tmp_path, "2026-09,R03,leads_received,4", encoding="utf-16", header=(
        "期间,单位,指标,数值"
    ))  # fmt: skip
    assert "UTF-8" in problems(path)[0].reason
    assert values(path, encoding="utf-16") == [(2, "2026-09", "R03", "leads_received", 4)]
    [problem] = problems(path, encoding="gbk")  # UTF-16 bytes are not GBK
    assert problem.source == str(path) and "gbk" in problem.reason
    for name in ("no-such-encoding", "base64", "rot13"):
        [problem] = problems(path, encoding=name)
        assert problem.source == "--encoding", name


# --- workbooks ----------------------------------------------------------------------


def test_a_workbooks_first_sheet_rows_numbered_as_in_the_sheet(tmp_path: Path) -> None:
    path = workbook(
        tmp_path,
        ["period", "unit", "indicator", "value"],
        ["2026-09", "R03", "leads_received", 4],
        [],  # a blank row keeps its number
        ["2026-09", "R04", "leads_received", 5.0],  # a numeric cell Excel keeps as 5.0
        [datetime(2026, 8, 1), "R03", "leads_received", "7"],  # typed 2026-09, made a date
        ["2026-09", 101, "leads_received", 0, None, None],  # a unit code Excel made a number
    )
    assert values(path) == [
        (2, "2026-09", "R03", "leads_received", 4),
        (4, "2026-09", "R04", "leads_received", 5),
        (5, "2026-08", "R03", "leads_received", 7),
        (6, "2026-09", "101", "leads_received", 0),
    ]


def test_a_workbook_with_the_chinese_header_and_a_second_sheet(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    first = book.active
    assert first is not None
    first.append(["期间", "单位", "指标", "数值"])
    first.append(["2026-09", "R03", "leads_received", 3])
    book.create_sheet("notes").append(["anything", "at", "all"])
    path = tmp_path / "月报.xlsx"
    book.save(path)
    assert values(path) == [(2, "2026-09", "R03", "leads_received", 3)]


def test_workbook_cells_that_are_not_whole_numbers(tmp_path: Path) -> None:
    path = workbook(
        tmp_path,
        ["period", "unit", "indicator", "value"],
        ["2026-09", "R03", "leads_received", "5.0"],  # text, not a number
        ["2026-09", "R04", "leads_received", 5.5],
        ["2026-09", "R05", "leads_received", True],
        ["2026-09", "R06", "leads_received", -2],
        [datetime(2026, 8, 2), "R07", "leads_received", 1],  # a day, not a month
        ["2026-09", "R08", "leads_received", 1e20],
        ["2026-09", "R09", date(2026, 1, 1), 1],
    )
    assert [(p.line, p.field) for p in problems(path)] == [
        (2, "value"),
        (3, "value"),
        (4, "value"),
        (5, "value"),
        (6, "period"),
        (7, "value"),
        (8, "indicator"),
    ]


def test_what_is_no_workbook_is_refused_with_a_reason(tmp_path: Path) -> None:
    damaged = tmp_path / "damaged.xlsx"
    damaged.write_bytes(b"PK\x03\x04 this is no archive")
    other_zip = tmp_path / "other.xlsx"
    with zipfile.ZipFile(other_zip, "w") as archive:
        archive.writestr("readme.txt", "not a workbook")
    for path in (damaged, other_zip):
        [problem] = problems(path)
        assert (problem.source, problem.reason) == (
            str(path),
            "is not an .xlsx workbook that can be read",
        )
    old = tmp_path / "returns.xls"
    old.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512))
    [problem] = problems(old)
    assert ".xls" in problem.reason and "save it as .xlsx" in problem.reason
    book = workbook(tmp_path, ["period", "unit", "indicator", "value"])
    [problem] = problems(book, encoding="gbk")
    assert problem.source == "--encoding"


# --- values and periods -------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["1_000", "5.0", "+3", "-1", "1 000", "1,000", "5e3", "0x10", "٣", "", "四"]
)
def test_a_value_is_digits_and_nothing_else(tmp_path: Path, text: str) -> None:
    row = f'2026-09,R04,leads_received,"{text}"'
    path = csv_file(tmp_path, "2026-09,R03,leads_received,4", row)
    [problem] = problems(path)
    assert (problem.line, problem.field) == (3, "value")
    assert "integer" in problem.reason


@pytest.mark.parametrize(
    ("text", "value"),
    [("0", 0), ("007", 7), (" 12 ", 12), (str(RETURN_MAX), RETURN_MAX), ("４２", 42)],
)
def test_values_accepted(tmp_path: Path, text: str, value: int) -> None:
    """Full-width digits, as a Chinese input method types them, read as digits."""
    path = csv_file(tmp_path, f"2026-09,R03,leads_received,{text}")
    assert values(path)[0][-1] == value


def test_a_value_above_the_bound(tmp_path: Path) -> None:
    path = csv_file(
        tmp_path,
        f"2026-09,R03,leads_received,{RETURN_MAX + 1}",
        "2026-09,R04,leads_received," + "9" * 5000,
    )
    assert [(p.line, p.field) for p in problems(path)] == [(2, "value"), (3, "value")]


@pytest.mark.parametrize("text", ["2026-9", "2026/09", "202609", "2026-13", "2026-00", "26-09"])
def test_a_period_is_a_month(tmp_path: Path, text: str) -> None:
    path = csv_file(tmp_path, f"{text},R03,leads_received,4")
    [problem] = problems(path)
    assert (problem.line, problem.field) == (2, "period")
    assert "2026-09" in problem.reason  # the form expected


def test_full_width_period_and_unit(tmp_path: Path) -> None:
    path = csv_file(tmp_path, "２０２６－０９,Ｒ０３,leads_received,4")
    assert values(path) == [(2, "2026-09", "R03", "leads_received", 4)]


# --- the file as a whole ------------------------------------------------------------


def test_a_repeated_row_names_both_lines(tmp_path: Path) -> None:
    path = csv_file(
        tmp_path,
        "2026-09,R03,leads_received,4",
        "2026-09,R03,leads_closed,4",
        "",
        "2026-08,R03,leads_received,4",
        "2026-09,R03,leads_received,5",  # line 6 repeats line 2
        "2026-09,R03,leads_closed,1",  # line 7 repeats line 3
    )
    found = problems(path)
    assert [(p.line, p.field, p.reason) for p in found] == [
        (6, None, "repeats line 2: the same period, unit and indicator"),
        (7, None, "repeats line 3: the same period, unit and indicator"),
    ]
    assert str(found[0]) == (
        f"{path}:6: repeats line 2: the same period, unit and indicator"
    )  # fmt: skip


def test_every_problem_at_once_in_line_order(tmp_path: Path) -> None:
    path = csv_file(
        tmp_path,
        "2026-09,R03,leads_received,4",
        "2026-09,R03,leads_received,4",
        "2026-9,R03,leads_received,x",
        "2026-09,R03",
    )
    assert [(p.line, p.field) for p in problems(path)] == [
        (3, None),
        (4, "period"),
        (4, "value"),
        (5, None),
    ]


def test_no_problem_quotes_the_value_it_found(tmp_path: Path) -> None:
    """A value may be sensitive: each problem names the place and what is expected."""
    secrets = ["7_654_321", "98.76", "+4321", "８７６５．４", "2031-13", "1999/07", "4_4_4"]
    rows = [
        "7_654_321,R03,leads_received,1",
        "2026-09,R03,leads_received,98.76",
        "2026-09,R04,leads_received,+4321",
        "2026-09,R05,leads_received,８７６５．４",
        "2031-13,R06,leads_received,1",
        "1999/07,R07,leads_received,4_4_4",
    ]
    found = problems(csv_file(tmp_path, *rows))
    book = workbook(
        tmp_path,
        ["period", "unit", "indicator", "value"],
        ["2026-09", "R03", "leads_received", 98.76],
        ["2026-09", "R04", "leads_received", "+4321"],
        ["2031-13", "R05", "leads_received", "7_654_321"],
        [datetime(1999, 7, 15), "R05", "leads_received", 1],
    )
    found += problems(book)
    assert len(found) == 12
    shown = "\n".join(str(p) for p in found)
    for secret in [*secrets, "8765.4", "1999-07"]:
        assert secret not in shown, secret


def test_nothing_but_a_header_is_an_empty_file_of_returns(tmp_path: Path) -> None:
    assert values(csv_file(tmp_path)) == []
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    [problem] = problems(empty)
    assert problem.line == 1 and "header" in problem.reason
