"""Hostile and malformed input, fuzzed (issue 6): whatever bytes arrive as a lead's JSON,
an organisation's YAML or a returns CSV, the reader either accepts them or refuses them
with BadInput naming the file, the reason and — where there is one — the line; it never
raises anything else (which would reach the user as a traceback)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.errors import BadInput
from models.inputs import read_lead, read_organisation, read_returns

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
    """Runs after the three above (file order): how many of each were accepted or refused."""
    assert set(TALLY) == {"json", "yaml", "csv"}, "run with the fuzzing tests before it"
    for kind, tally in sorted(TALLY.items()):
        assert tally["refused"] > 0
        figure(
            f"{kind}: {tally['accepted'] + tally['refused']} cases, {tally['refused']} "
            f"refused with a reason, {tally['accepted']} accepted, 0 other errors"
        )
