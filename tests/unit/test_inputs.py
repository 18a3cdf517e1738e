"""Reading input files: each problem placed at its file, line and field; no database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from models.domain.errors import BadInput, Problem
from models.inputs.readers import (
    check_readable,
    read_jsonl,
    read_lead,
    read_organisation,
    read_returns,
)
from models.inputs.schemas import LeadIn
from models.inputs.yaml_files import MAX_YAML_DEPTH

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def problems_of(call, *args) -> list[Problem]:
    with pytest.raises(BadInput) as bad:
        call(*args)
    return bad.value.problems


def test_examples_are_valid() -> None:
    organisation, _ = read_organisation(EXAMPLES / "kunming.yaml")
    assert len(organisation.unit_groups) == 7
    assert all(len(g.members) == 7 for g in organisation.unit_groups)
    assert len(organisation.people) >= 100
    leads = list(read_jsonl(EXAMPLES / "leads.jsonl", LeadIn))
    assert leads and not [x for x in leads if isinstance(x, Problem)]
    items = [x.item for x in leads]
    assert {i.source for i in items} == set(type(items[0].source))
    assert {i.subject.rank for i in items} == set(type(items[0].subject.rank))
    assert {f for i in items for f in i.flags} == set(type(items[1].flags[0]))
    assert read_lead(EXAMPLES / "lead.json").external_id == "KM-2026-000102"


def test_lead_field_problems_name_their_lines(tmp_path: Path) -> None:
    path = tmp_path / "lead.json"
    lead = json.loads((EXAMPLES / "lead.json").read_text())
    lead["amount_yuan"] = "lots"
    del lead["summary"]
    path.write_text(json.dumps(lead, ensure_ascii=False, indent=2))
    found = {p.field: p for p in problems_of(read_lead, path)}
    assert set(found) == {"amount_yuan", "summary"}
    lines = path.read_text().splitlines()
    assert '"amount_yuan"' in lines[found["amount_yuan"].line - 1]
    assert all(p.source == str(path) for p in found.values())


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [('{"external_id": "x",\n  "source": }', 2, "not valid JSON"), ("", 1, "not valid JSON")],
)
def test_broken_json(tmp_path: Path, text: str, line: int, reason: str) -> None:
    path = tmp_path / "lead.json"
    path.write_text(text)
    [problem] = problems_of(read_lead, path)
    assert (problem.line, reason in problem.reason) == (line, True)


def test_missing_and_undecodable_files(tmp_path: Path) -> None:
    assert "no such file" in problems_of(read_lead, tmp_path / "nope.json")[0].reason
    (tmp_path / "latin.json").write_bytes(b'{"a": "\xe9"}')
    assert "not UTF-8" in problems_of(read_lead, tmp_path / "latin.json")[0].reason


@pytest.mark.parametrize(("name", "reason"), [("nope", "no such file"), (".", "is a directory")])
def test_a_file_that_cannot_be_opened_is_refused_in_the_same_words(
    tmp_path: Path, name: str, reason: str
) -> None:
    """Every reader, and the check a command makes before its work, says the same."""
    path = tmp_path / name
    for call in (read_lead, lambda p: list(read_jsonl(p, LeadIn)), check_readable):
        [problem] = problems_of(call, path)
        assert problem.source == str(path) and reason in problem.reason, call


# Every free-text field of a lead, as a path into its JSON, and the organisation's names.
TEXT_FIELDS = ["external_id", "summary", "subject.name", "subject.post", "reporter.name"]


@pytest.mark.parametrize("field", TEXT_FIELDS)
@pytest.mark.parametrize(
    ("escape", "reason"),
    [("\\u0000", "NUL character (U+0000)"), ("\\udc80", "lone surrogate (U+DC80)")],
)
def test_text_no_database_can_store_is_refused_naming_the_field(
    tmp_path: Path, field: str, escape: str, reason: str
) -> None:
    """PostgreSQL cannot store NUL and no database a lone surrogate; both are valid JSON
    escapes, so the schema refuses them, line and field named, and keeps the other lines."""
    lead = json.loads((EXAMPLES / "lead.json").read_text())
    lead["reporter"] = {"name": "王某", "anonymous": False}
    *parents, name = field.split(".")
    holder = lead
    for part in parents:
        holder = holder[part]
    holder[name] = "X"
    line = json.dumps(lead, ensure_ascii=False).replace('"X"', f'"a{escape}b"')
    good = (EXAMPLES / "leads.jsonl").read_text().splitlines()[0]
    path = tmp_path / "leads.jsonl"
    path.write_text(f"{good}\n{line}\n")
    first, second = read_jsonl(path, LeadIn)
    assert not isinstance(first, Problem)
    assert isinstance(second, Problem)
    assert (second.line, second.field) == (2, field)
    assert reason in second.reason


def test_organisation_names_no_database_can_store_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "org.yaml"
    path.write_text(
        (EXAMPLES / "kunming.yaml")
        .read_text(encoding="utf-8")
        .replace("name: 市直片区", 'name: "市直\\0片区"', 1)
    )
    [problem] = problems_of(read_organisation, path)
    assert problem.field.endswith(".name") and "NUL character" in problem.reason


def test_jsonl_reports_each_bad_line_and_keeps_good_ones(tmp_path: Path) -> None:
    good = (EXAMPLES / "leads.jsonl").read_text().splitlines()[:3]
    path = tmp_path / "leads.jsonl"
    path.write_text("\n".join([good[0], "{broken", good[1], '{"external_id": "x"}', good[2]]))
    out = list(read_jsonl(path, LeadIn))
    bad = [x for x in out if isinstance(x, Problem)]
    assert [p.line for p in bad] == [2, 4]
    assert [x.line for x in out if not isinstance(x, Problem)] == [1, 3, 5]


def test_yaml_problems_name_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "org.yaml"
    path.write_text(
        "units:\n"
        "  - {code: O1, name: 第一监督检查室, kind: inspection_office}\n"
        "  - code: R03\n"
        "    name: 驻市教育局纪检监察组\n"
        "    kind: resident_grup\n"
    )
    [problem] = problems_of(read_organisation, path)
    assert (problem.line, problem.field) == (5, "units[1].kind")


@pytest.mark.parametrize(
    ("text", "line"),
    [("units:\n  - {code: O1\n", 3), ("units: [\n", 2), ("units:\n\t- x\n", 2)],
)
def test_broken_yaml(tmp_path: Path, text: str, line: int) -> None:
    path = tmp_path / "org.yaml"
    path.write_text(text)
    [problem] = problems_of(read_organisation, path)
    assert problem.line == line


def test_yaml_alias_bomb_is_refused_quickly(tmp_path: Path) -> None:
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    levels += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 10)]
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(levels) + "\n")
    [problem] = problems_of(read_organisation, path)
    assert "expands to more than" in problem.reason


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("units: " + "[" * 60 + "]" * 60 + "\n", 1),
        # Past the YAML parser's own limit too: refused all the same, in the same words.
        ("units: " + "[" * 5000 + "]" * 5000 + "\n", 1),
        ("units:\n" + "".join("  " * depth + "- \n" for depth in range(1, 3000)), 51),
    ],
    ids=["flow", "flow-past-the-parser-limit", "block"],
)
def test_deep_nesting_is_refused(tmp_path: Path, text: str, line: int) -> None:
    """LeadFlow's own words, naming the file and the line, whichever limit is met first."""
    path = tmp_path / "deep.yaml"
    path.write_text(text)
    [problem] = problems_of(read_organisation, path)
    reason = f"nested deeper than {MAX_YAML_DEPTH} levels"
    assert (problem.source, problem.reason, problem.line) == (str(path), reason, line)


def test_returns_csv(tmp_path: Path) -> None:
    path = tmp_path / "returns.csv"
    path.write_text("period,unit,indicator,value\n2026-09,R03,leads_received,4\n")
    [row] = read_returns(path)
    assert (row.line, row.item.value) == (2, 4)
    path.write_text("period,unit,value\n")
    assert problems_of(read_returns, path)[0].line == 1
    path.write_text("period,unit,indicator,value\n2026-09,R03,leads_received\n2026-9,R03,x,-1\n")
    found = problems_of(read_returns, path)
    assert [(p.line, p.field) for p in found] == [(2, None), (3, "period"), (3, "value")]
    path.write_text('period,unit,indicator,value\n"2026-09,R03,x,1\n')  # unterminated quote
    [problem] = problems_of(read_returns, path)
    assert (problem.line, problem.reason) == (2, "expected 4 values, found 1")
    path.write_text('period,unit,indicator,value\n2026-09,R03,"' + "x" * 200_000 + '",1\n')
    [problem] = problems_of(read_returns, path)
    assert problem.line == 2 and problem.reason.startswith("not valid CSV: field larger")


@pytest.mark.parametrize("field", ["reporter", "reporter_name", "phone"])
def test_no_document_content_can_carry_a_reporter(field: str) -> None:
    """Confidentiality by structure (docs/rules.md §5): the contents documents are built from
    have no field for a reporter, and refuse one."""
    from pydantic import ValidationError

    from models.documents import NoticeContent
    from models.documents.audit_record import AuditRecordContent
    from models.documents.bulletin import BulletinContent

    for model in (NoticeContent, BulletinContent, AuditRecordContent):
        assert not any("reporter" in name or "phone" in name for name in model.model_fields)
    with pytest.raises(ValidationError):
        NoticeContent(addressee="某单位", paragraphs=[], **{field: "张三"})
