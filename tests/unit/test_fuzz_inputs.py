"""Hostile and malformed input, fuzzed (issue 6): whatever bytes arrive as a lead's JSON,
an organisation's YAML or a returns CSV, the reader either accepts them or refuses them
with BadInput naming the file, the reason and — where there is one — the line; it never
raises anything else (which would reach the user as a traceback)."""

from __future__ import annotations

import io
import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.domain.errors import BadInput
from models.inputs.readers import (
    Numbered,
    _read_carefully,
    read_jsonl,
    read_lead,
    read_organisation,
    read_returns,
)
from models.inputs.schemas import LeadIn

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
LEAD = json.loads((EXAMPLES / "lead.json").read_text())
CASES = 1500
FUZZ = settings(
    max_examples=CASES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
TALLY: dict[str, dict[str, int]] = {}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)


def mutated_lead(data: st.DataObject) -> dict:
    """The example lead with some fields removed, replaced or added: close to valid, so
    the fuzzing reaches the validation of each field, not just the JSON parser."""
    lead = json.loads(json.dumps(LEAD))
    for _ in range(data.draw(st.integers(1, 4))):
        target = lead
        if isinstance(lead.get("subject"), dict) and data.draw(st.booleans()):
            target = lead["subject"]
        key = data.draw(st.sampled_from([*target, "extra"]))
        action = data.draw(st.sampled_from(["drop", "replace"]))
        if action == "drop":
            target.pop(key, None)
        else:
            target[key] = data.draw(json_values)
    return lead


def attempt(kind: str, reader, text: str | bytes) -> None:  # type: ignore[no-untyped-def]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"input.{kind}"
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        tally = TALLY.setdefault(kind, {"accepted": 0, "refused": 0})
        try:
            reader(path)
        except BadInput as exc:
            assert exc.problems
            for problem in exc.problems:
                assert problem.source == str(path) and problem.reason.strip()
            tally["refused"] += 1
        else:
            tally["accepted"] += 1


@FUZZ
@given(data=st.data())
def test_lead_json_is_accepted_or_refused_with_a_reason(data: st.DataObject) -> None:
    choice = data.draw(st.sampled_from(["mutated", "value", "bytes"]))
    if choice == "mutated":
        text: str | bytes = json.dumps(mutated_lead(data), ensure_ascii=False)
    elif choice == "value":
        text = json.dumps(data.draw(json_values))
    else:
        text = data.draw(st.binary(max_size=200))
    attempt("json", read_lead, text)


# JSON number tokens as a file may spell them, for the amount: the fast reader parses
# them itself, the careful one through Python's float.
number_tokens = st.sampled_from(
    ["0", "-0", "0.0", "1e2", "1E+2", "0.1", "0.10", "0.105", "12345678901234.56",
     "99999999999999.99", "100000000000000000", "1e400", "-1", "5000.001", "NaN",
     "Infinity", "0.1000000000000000055511151231257827", "1.5e-3", "2.50"]
)  # fmt: skip
odd_text = st.sampled_from(
    ["\\ud800", "\\udfff", "\\u0000", "a\\nb", "\u2028", "\U0001f600", " 张三 ", ""]
)


@FUZZ
@given(data=st.data())
def test_a_jsonl_line_is_read_as_the_careful_way_reads_it(data: st.DataObject) -> None:
    """The fast reading of a line (pydantic's own JSON parser) accepts exactly what the
    careful one (``json.loads``, then the schema) accepts, with equal values, and where
    it refuses, the careful one's problem is what the user is told."""
    lead = mutated_lead(data) if data.draw(st.booleans()) else json.loads(json.dumps(LEAD))
    if isinstance(lead.get("amount_yuan"), int | float) or data.draw(st.booleans()):
        lead["amount_yuan"] = "AMOUNT"
    ascii_only = data.draw(st.booleans())
    text = json.dumps(lead, ensure_ascii=ascii_only)
    text = text.replace('"AMOUNT"', data.draw(number_tokens))
    if data.draw(st.booleans()):  # the subject's name (and the summary's first mention)
        name = json.dumps("刘某", ensure_ascii=ascii_only)[1:-1]
        text = text.replace(name, data.draw(odd_text), 1)
    encoding = data.draw(st.sampled_from(["utf-8", "utf-8", "utf-8-sig", "utf-16"]))
    try:
        raw = text.encode(encoding) + data.draw(st.sampled_from([b"\n", b"\r\n", b" \n", b""]))
    except UnicodeEncodeError:  # a lone surrogate: only escaped in the file
        return
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "leads.jsonl"
        path.write_bytes(raw)
        got = list(read_jsonl(path, LeadIn))
    lines = enumerate(io.BytesIO(raw), start=1)  # UTF-16 may hold a newline byte or two
    expected = [_read_carefully(str(path), n, line, LeadIn) for n, line in lines if line.strip()]
    assert got == expected
    tally = TALLY.setdefault("jsonl", {"accepted": 0, "refused": 0})
    tally["accepted" if any(isinstance(i, Numbered) for i in expected) else "refused"] += 1


yaml_text = st.text(
    alphabet=st.sampled_from(list("abc: -[]{}&*!|>'\"#\n\t,?%@`0123456789单位")), max_size=200
)


@FUZZ
@given(text=yaml_text, prefix=st.sampled_from(["", "units:\n", "units:\n  - ", "entities: "]))
def test_organisation_yaml_is_accepted_or_refused_with_a_reason(text: str, prefix: str) -> None:
    attempt("yaml", read_organisation, prefix + text)


csv_cell = st.text(
    alphabet=st.sampled_from(list('0123456789-,"\n\r RC_abcdeilnorstv')), max_size=12
)


@FUZZ
@given(rows=st.lists(st.lists(csv_cell, min_size=0, max_size=6), max_size=6), header=st.booleans())
def test_returns_csv_is_accepted_or_refused_with_a_reason(
    rows: list[list[str]], header: bool
) -> None:
    lines = (["period,unit,indicator,value"] if header else []) + [",".join(r) for r in rows]
    attempt("csv", read_returns, "\n".join(lines))


def test_fuzzing_tally(figure) -> None:  # type: ignore[no-untyped-def]
    """Runs after the fuzzing above (file order): how many of each were accepted or refused."""
    assert set(TALLY) == {"json", "jsonl", "yaml", "csv"}, "run with the fuzzing tests before it"
    for kind, tally in sorted(TALLY.items()):
        assert tally["refused"] > 0
        figure(
            f"{kind}: {tally['accepted'] + tally['refused']} cases, {tally['refused']} "
            f"refused with a reason, {tally['accepted']} accepted, 0 other errors"
        )
