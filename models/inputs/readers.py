"""Reading input files into schemas, with every problem placed at its file, line and field.

Nothing here touches the database: a file is read and validated whole (or, for
line-oriented files, line by line) before anything is written. One lead comes as JSON,
a bulk import as JSON Lines, the units' returns as CSV; those readers are here. The
YAML readers (:mod:`models.inputs.yaml_files`) and what every file shares
(:mod:`models.inputs.files`) are imported from here too.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from models.domain.errors import BadInput, Problem
from models.inputs.files import (
    MAX_LINE_BYTES,
    Numbered,
    check_readable,
    read_text,
    unreadable,
    validation_problems,
)
from models.inputs.schemas import LeadIn, ReturnRow
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


RETURNS_HEADER = ["period", "unit", "indicator", "value"]


def read_returns(path: Path) -> list[Numbered[ReturnRow]]:
    """The units' monthly returns, a CSV file with the header ``RETURNS_HEADER``: every
    row, or every problem of the file at once."""
    source = str(path)
    text = read_text(path)
    reader = csv.reader(io.StringIO(text, newline=""))
    problems: list[Problem] = []
    rows: list[Numbered[ReturnRow]] = []
    try:
        header = next(reader, None)
        if header is None or [h.strip() for h in header] != RETURNS_HEADER:
            raise BadInput(
                [Problem(source, f"the header must be {','.join(RETURNS_HEADER)}", line=1)]
            )
        for record in reader:
            number = reader.line_num
            if not record or all(not cell.strip() for cell in record):
                continue
            if len(record) != len(RETURNS_HEADER):
                problems.append(
                    Problem(source, f"expected 4 values, found {len(record)}", line=number)
                )
                continue
            values = dict(zip(RETURNS_HEADER, (cell.strip() for cell in record), strict=True))
            try:
                rows.append(Numbered(number, ReturnRow.model_validate(values)))
            except ValidationError as exc:
                problems.extend(validation_problems(source, exc, line=number))
    except csv.Error as exc:
        problems.append(Problem(source, f"not valid CSV: {exc}", line=reader.line_num))
    if problems:
        raise BadInput(problems)
    return rows
