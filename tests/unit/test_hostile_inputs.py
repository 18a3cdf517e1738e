"""Inputs that could be turned against the record: ids that print alike, a reporter's
number in an error, an anonymous reporter's identity, a policy or an organisation whose
values would number two documents alike or form a path, a lead received in the future."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from models.config.policy import default_policy
from models.domain.commission import Commission
from models.domain.errors import BadInput
from models.domain.policy import Policy, differences
from models.inputs.readers import read_jsonl, read_lead
from models.inputs.schemas import CommissionIn, LeadIn
from tests.conftest import EXAMPLES


def _lead(**changes: object) -> dict[str, object]:
    first = json.loads((EXAMPLES / "leads.jsonl").read_text(encoding="utf-8").splitlines()[1])
    return {**first, **changes}


@pytest.mark.parametrize("typed", ["ＱＪ-1", "QJ-1", "ＱJ－１"])
def test_ids_typed_full_width_are_one_id(typed: str) -> None:
    assert LeadIn.model_validate(_lead(external_id=typed)).external_id == "QJ-1"


@pytest.mark.parametrize("hidden", ["\u200b", "\u200f", "\u202e", "\u2060", "\ufeff", "\u3000"])
def test_ids_holding_invisible_or_direction_characters_are_refused(hidden: str) -> None:
    with pytest.raises(ValidationError) as refused:
        LeadIn.model_validate(_lead(external_id=f"QJ-1{hidden}"))
    assert "invisible" in str(refused.value) or "no spaces" in str(refused.value)


def test_a_refused_phone_number_is_never_echoed(tmp_path: Path) -> None:
    reporter = {"name": "王五", "phone": "１３９１２３４５６７８x", "anonymous": False}
    path = tmp_path / "leads.jsonl"
    path.write_text(json.dumps(_lead(reporter=reporter), ensure_ascii=False) + "\n", "utf-8")
    (problem,) = [x for x in read_jsonl(path, LeadIn) if not hasattr(x, "item")]
    said = str(problem)
    assert "reporter.phone" in said and "telephone" in said
    assert "１３９１２３４５６７８" not in said and "13912345678" not in said


def test_a_phone_typed_in_full_width_digits_is_stored_in_one_form() -> None:
    reporter = {"name": "王五", "phone": "１３９１２３４５６７８", "anonymous": False}
    lead = LeadIn.model_validate(_lead(reporter=reporter))
    assert lead.reporter is not None and lead.reporter.phone == "13912345678"


def test_an_anonymous_report_keeps_no_identity() -> None:
    reporter = {"name": "王五", "phone": "13700000000", "anonymous": True}
    lead = LeadIn.model_validate(_lead(reporter=reporter))
    assert lead.reporter is not None
    assert (lead.reporter.name, lead.reporter.phone, lead.reporter.anonymous) == (None, None, True)
    assert "王五" not in lead.model_dump_json() and "13700000000" not in lead.model_dump_json()


def test_a_lead_received_in_the_future_is_refused(tmp_path: Path) -> None:
    ahead = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    path = tmp_path / "lead.json"
    path.write_text(json.dumps(_lead(received_at=ahead), ensure_ascii=False), "utf-8")
    with pytest.raises(BadInput) as refused:
        read_lead(path)
    assert "received_at" in str(refused.value) and "future" in str(refused.value)


def _policy(**numbering: object) -> dict[str, object]:
    body = default_policy().model_dump(mode="json")
    body["numbering"] = {**body["numbering"], **numbering}
    return body


def test_a_policy_giving_two_kinds_one_mark_is_refused() -> None:
    kinds = {**default_policy().numbering.kinds, "bulletin": "交"}
    with pytest.raises(ValidationError) as refused:
        Policy.model_validate(_policy(kinds=kinds))
    assert "share one mark" in str(refused.value)


@pytest.mark.parametrize("mark", ["../x", "交/", "", "a b", "交\u200b", "五个字标记"])
def test_a_kind_mark_that_could_form_a_path_is_refused(mark: str) -> None:
    kinds = {**default_policy().numbering.kinds, "bulletin": mark}
    with pytest.raises(ValidationError):
        Policy.model_validate(_policy(kinds=kinds))


@pytest.mark.parametrize("abbreviation", ["../../../../x", "昆/纪", "昆纪 ", ".", "a" * 9])
def test_a_commission_abbreviation_that_could_form_a_path_is_refused(abbreviation: str) -> None:
    with pytest.raises(ValidationError):
        CommissionIn.model_validate({"name": "曲靖市纪委监委", "abbreviation": abbreviation})


def test_the_default_policy_names_no_commission() -> None:
    text = (Path(__file__).parents[2] / "models" / "config" / "policy.yaml").read_text("utf-8")
    assert "昆明" not in text and "昆纪" not in text
    numbering = default_policy().numbering
    assert numbering.issuer is None and numbering.issuer_name is None
    made = numbering.of(Commission("曲靖市纪委监委", "曲纪"))
    assert (made.issuer, made.issuer_name) == ("曲纪", "曲靖市纪委监委")


def test_installing_a_policy_says_what_it_changes() -> None:
    was = default_policy()
    body = was.model_dump(mode="json")
    body["deadlines"]["rectification"] = 15
    body["numbering"]["kinds"]["bulletin"] = "刊"
    now = Policy.model_validate(body)
    assert differences(was, now) == [
        ("deadlines.rectification", 20, 15),
        ("numbering.kinds.bulletin", "通", "刊"),
    ]
    assert differences(now, now) == []
