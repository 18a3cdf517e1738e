"""The Chinese words notices and audit reasons use for the domain's codes (docs/rules.md
§2): a disposal method, an outcome, a handling mode, and a small count written out. Codes
stay English in the data; these tables are the one place each is put into Chinese, so a
notice and the trail that records it use the same term.
"""

from __future__ import annotations

DISPOSAL_METHODS = {
    "talk_letter": "谈话函询",
    "preliminary_verification": "初步核实",
    "hold": "暂存待查",
    "close": "予以了结",
}
OUTCOMES = {
    "case_filed": "立案审查调查",
    "first_form": "第一种形态处理",
    "risk_point": "列为风险点、督促健全制度",
    "false_accusation": "查无实据、澄清正名，对诬告者批评教育",
}
MODE_TERMS = {
    "own": "自办",
    "joint": "室组地联动办理",
    "escalated": "提级办理",
    "cross": "交叉办理",
}


DIGITS = "零一二三四五六七八九"


def numeral(count: int) -> str:
    """A count in Chinese numerals as notices write them (3 → 三, 12 → 十二, 20 → 二十);
    Arabic figures from 100 on."""
    if not 0 <= count < 100:
        return str(count)
    tens, units = divmod(count, 10)
    if tens == 0:
        return DIGITS[units]
    return f"{DIGITS[tens] if tens > 1 else ''}十{DIGITS[units] if units else ''}"
