"""Whether a text names a reporter (docs/rules.md §5): the name and the phone found as
people type them into a summary — spaced, full-width, split by dashes — and nothing
found where there is nothing to look for; quotations re-quoted from an amended text."""

from __future__ import annotations

import pytest

from models.domain.disclosure import Screen, folded, requoted

WANG = Screen.of("王五", "13700000000")


@pytest.mark.parametrize(
    "text",
    [
        "举报人王五反映",
        "举报人王 五反映",  # a space typed inside the name
        "举报人王\u3000五反映",  # an ideographic space
        "电话13700000000",
        "电话１３７００００００００",  # full-width digits
        "电话１３７ ００００ ００００",
        "电话137-0000-0000",
        "电话１３７－００００－００００",  # a full-width hyphen
        "电话(137)0000.0000",
        "电话137—0000—0000",
        "电话+86 137 0000 0000",
    ],
)
def test_the_name_and_the_phone_are_found_as_people_type_them(text: str) -> None:
    assert WANG is not None and WANG.finds(text)


@pytest.mark.parametrize(
    "text",
    ["举报人王某反映", "王六", "电话1370000000", "2026年3月2日收到1370000元", "五王", ""],
)
def test_what_does_not_name_them_is_not_found(text: str) -> None:
    assert WANG is not None and not WANG.finds(text)


def test_a_phone_with_its_country_code_is_found_without_it_and_with_it() -> None:
    screen = Screen.of(None, "+86 137-0000-0000")
    assert screen is not None and screen.name is None
    assert screen.finds("电话13700000000") and screen.finds("电话008613700000000")


def test_nothing_to_look_for_is_no_screen() -> None:
    assert Screen.of(None, None) is None
    assert Screen.of("王", None) is None  # one character would be found anywhere
    assert Screen.of("", "110") is None  # too short a number: dates and amounts hold it
    one_char = Screen.of("王", "13700000000")
    assert one_char is not None and one_char.name is None and one_char.finds("13700000000")


def test_folding_is_nfkc_without_white_space() -> None:
    assert folded("１３７ －\tＡ\n王") == "137-A王"


def test_each_quotation_is_requoted_whole_or_cut_the_same() -> None:
    old, new = "举报人王五反映：某某违规收礼。", "群众反映：某某违规收礼。"
    assert requoted(f"经核查，你单位存在下列问题：{old}", old, new) == (
        f"经核查，你单位存在下列问题：{new}"
    )
    assert requoted(f"风险隐患：{old}请你单位健全制度。", old, new) == (
        f"风险隐患：{new}请你单位健全制度。"
    )
    long_old, long_new = "王五" + "甲" * 400, "乙" * 500
    cut = f"存在下列问题：{long_old[:300]}"
    assert requoted(cut, long_old, long_new) == f"存在下列问题：{long_new[:300]}"
    # A cut is only ever a text's tail, and never shorter than ordinary words could match.
    assert requoted(f"{long_old[:300]}。", long_old, long_new) == f"{long_old[:300]}。"
    assert requoted("存在下列问题：王五甲", long_old, long_new) == "存在下列问题：王五甲"
    assert requoted("请办理。", old, new) == "请办理。"
