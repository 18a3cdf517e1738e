"""Reading input files into schemas, with every problem placed at its file, line and field.

Nothing here touches the database: a file is read and validated whole (or, for
line-oriented files, line by line) before anything is written. One lead comes as JSON,
a bulk import as JSON Lines, the units' returns as CSV or an .xlsx workbook (whose
sheet :mod:`models.inputs.workbooks` reads); those readers are here. The YAML readers
(:mod:`models.inputs.yaml_files`) and what every file shares (:mod:`models.inputs.files`)
are imported from here too.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import date, datetime, time
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from models.domain.errors import BadInput, Problem
from models.inputs.files import (
    MAX_LINE_BYTES,
    Numbered,
    check_encoding,
    check_readable,
    decode,
    read_bytes,
    read_text,
    unreadable,
    validation_problems,
)
from models.inputs.schemas import LeadIn, ReturnRow
from models.inputs.workbooks import OLE_MAGIC, ZIP_MAGIC, sheet_records
from models.inputs.yaml_files import compose, line_in, read_organisation, read_yaml_model

__all__ = [
    "Numbered",
    "check_readable",
    "read_jsonl",
    "read_lead",
    "read_organisation",
    "read_returns",
    "read_yaml_model",
]

M = TypeVar("M", bound=BaseModel)


def read_lead(path: Path) -> LeadIn:
    """One lead, a JSON file."""
    source = str(path)
    text = read_text(path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadInput([Problem(source, f"not valid JSON: {exc.msg}", line=exc.lineno)]) from None
    except RecursionError:
        raise BadInput([Problem(source, "nested too deeply to read")]) from None
    try:
        return LeadIn.model_validate(data)
    except ValidationError as exc:
        try:  # JSON is YAML: its node tree gives each field's line
            node = compose(text, source)
        except BadInput:
            node = None
        raise BadInput(validation_problems(source, exc, lambda loc: line_in(node, loc))) from None


def read_jsonl(path: Path, schema: type[M]) -> Iterator[Numbered[M] | Problem]:
    """Each line parsed and validated on its own: a good item or the problem with it.

    A line is first validated straight from its bytes (pydantic parses the JSON itself,
    in Rust, faster than through ``json.loads``); a line that fails is read
    again the careful way, which words the problem and accepts what ``json.loads`` does
    (other encodings than UTF-8, a lone surrogate escaped), so the fast way changes
    nothing but the time (tests/unit/test_fuzz_inputs.py holds the two to each other).
    """
    source = str(path)
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise unreadable(path, exc) from None
    fast = schema.model_validate_json
    with handle:
        for number, raw in enumerate(handle, start=1):
            if len(raw) > MAX_LINE_BYTES:
                yield Problem(source, f"line longer than {MAX_LINE_BYTES} bytes", line=number)
                continue
            try:
                item = fast(raw)
            except ValidationError:
                if raw.strip():
                    yield _read_carefully(source, number, raw, schema)
                continue
            yield Numbered(number, item)


def _read_carefully(source: str, number: int, raw: bytes, schema: type[M]) -> Numbered[M] | Problem:
    """A line through ``json.loads`` and the schema: the item, or the first problem (one
    a line is enough to find and fix it)."""
    try:
        data = json.loads(raw)
    except UnicodeDecodeError:
        return Problem(source, "not UTF-8 text", line=number)
    except json.JSONDecodeError as exc:
        return Problem(source, f"not valid JSON: {exc.msg}", line=number)
    except RecursionError:
        return Problem(source, "nested too deeply to read", line=number)
    try:
        return Numbered(number, schema.model_validate(data))
    except ValidationError as exc:
        return validation_problems(source, exc, line=number)[0]


RETURNS_HEADER = ("period", "unit", "indicator", "value")
# The column names an office's own template may carry instead, in Chinese.
HEADER_ALIASES = {
    "期间": "period",
    "月份": "period",
    "单位": "unit",
    "指标": "indicator",
    "数值": "value",
    "数量": "value",
}
HEADER_RULE = (
    "the header must name the columns period, unit, indicator and value, once each "
    "(or in Chinese 期间 or 月份, 单位, 指标, 数值 or 数量)"
)
# Full-width forms (U+FF01-U+FF5E, as a Chinese input method types them) and the
# ideographic space are read as their ASCII forms; nothing else is folded (NFKC would
# also make '①' or '²' a digit).
_ASCII_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}

# A row's line (in a workbook, its row number) and its cells as read.
Record = tuple[int, list[object]]


def read_returns(path: Path, *, encoding: str | None = None) -> list[Numbered[ReturnRow]]:
    """The units' monthly returns: a CSV file (UTF-8 or GB18030 unless ``encoding`` names
    another) or an .xlsx workbook's first sheet, under a header naming the columns of
    ``RETURNS_HEADER``. Every row, or every problem of the file at once; a period, unit
    and indicator given twice is one of them. No problem quotes a value."""
    source = str(path)
    if encoding is not None:
        check_encoding(encoding)
    raw = read_bytes(path)
    if raw.startswith(OLE_MAGIC):
        reason = "is an Excel 97-2003 workbook (.xls): save it as .xlsx or as CSV"
        raise BadInput([Problem(source, reason)])
    if raw.startswith(ZIP_MAGIC) or path.suffix.lower() == ".xlsx":
        if encoding is not None:
            raise BadInput([Problem("--encoding", "is for CSV files; a workbook names its own")])
        records = sheet_records(source, raw)
    else:
        records = _csv_records(source, decode(source, raw, encoding))
    return _returns_rows(source, records)


def _csv_records(source: str, text: str) -> Iterator[Record | Problem]:
    """The CSV's records, each with the line it ends on; a record that is not CSV ends them."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        for record in reader:
            yield reader.line_num, list(record)
    except csv.Error as exc:
        yield Problem(source, f"not valid CSV: {exc}", line=reader.line_num)


def _returns_rows(source: str, records: Iterator[Record | Problem]) -> list[Numbered[ReturnRow]]:
    """The first record is the header; each one after it a row, or its problems."""
    problems: list[Problem] = []
    rows: list[Numbered[ReturnRow]] = []
    columns: list[str] | None = None
    for record in records:
        if isinstance(record, Problem):
            problems.append(record)
        elif columns is None:
            columns = _columns(source, *record)
        elif not all(_blank(cell) for cell in record[1]):
            read = _return_row(source, columns, *record)
            if isinstance(read, Numbered):
                rows.append(read)
            else:
                problems.extend(read)
    if columns is None and not problems:
        problems.append(Problem(source, HEADER_RULE, line=1))
    problems.extend(_repeats(source, rows))
    if problems:
        raise BadInput(sorted(problems, key=lambda p: p.line or 0))
    return rows


def _columns(source: str, line: int, cells: list[object]) -> list[str]:
    """The field each column holds, from the header; a header that is not one refuses the
    file (nothing after it can be read)."""
    names = [_ascii_width("" if cell is None else str(cell)).strip() for cell in cells]
    columns = [HEADER_ALIASES.get(name, name.lower()) for name in names]
    if sorted(columns) != sorted(RETURNS_HEADER):
        raise BadInput([Problem(source, HEADER_RULE, line=line)])
    return columns


def _return_row(
    source: str, columns: list[str], line: int, cells: list[object]
) -> Numbered[ReturnRow] | list[Problem]:
    """One row of the returns, or its problems, each at its field."""
    if len(cells) != len(columns):
        return [Problem(source, f"expected {len(columns)} values, found {len(cells)}", line=line)]
    values: dict[str, str] = {}
    problems: list[Problem] = []
    for field, cell in zip(columns, cells, strict=True):
        try:
            values[field] = _ascii_width(_cell_text(field, cell)).strip()
        except ValueError as exc:
            problems.append(Problem(source, str(exc), line=line, field=field))
    if problems:
        return problems
    try:
        return Numbered(line, ReturnRow.model_validate(values))
    except ValidationError as exc:
        return validation_problems(source, exc, line=line)


def _repeats(source: str, rows: list[Numbered[ReturnRow]]) -> list[Problem]:
    """A row for a period, unit and indicator an earlier row of the file gave: which
    value was meant cannot be told, so neither is taken."""
    first: dict[tuple[str, str, str], int] = {}
    problems = []
    for n in rows:
        key = (n.item.period, n.item.unit, n.item.indicator)
        if key in first:
            reason = f"repeats line {first[key]}: the same period, unit and indicator"
            problems.append(Problem(source, reason, line=n.line))
        else:
            first[key] = n.line
    return problems


def _ascii_width(text: str) -> str:
    return text.translate(_ASCII_WIDTH)


def _blank(cell: object) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


def _cell_text(field: str, cell: object) -> str:
    """A cell as the text a CSV would hold. A numeric cell holding a whole number is its
    digits (a workbook may keep 5 as 5.0; text '5.0' is not one); a date cell in the
    period column, on the 1st at midnight, is its month (what a spreadsheet makes of a
    typed 2026-09). ValueError: why the cell cannot be read, without its value."""
    if cell is None:
        return ""
    if isinstance(cell, str):
        return cell
    if isinstance(cell, bool):
        raise ValueError("must be text or a number, not a TRUE/FALSE cell")
    if isinstance(cell, int):
        return str(cell)
    if isinstance(cell, float):
        return str(int(cell)) if cell.is_integer() else repr(cell)  # the schema refuses it
    if isinstance(cell, date) and field == "period":
        if cell.day == 1 and (not isinstance(cell, datetime) or cell.time() == time()):
            return f"{cell.year:04d}-{cell.month:02d}"
        raise ValueError("must be a month such as 2026-09, not a date with a day")
    raise ValueError("must be text or a number, not a date or time cell")
