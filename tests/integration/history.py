"""A scripted history of monthly returns for the Kunming organisation (tests only).

Every unit files a return every month with values 5–7 on each indicator of its board,
except one "laggard" per board and month, which files nothing. A laggard is then the
lowest on every indicator of its board — white everywhere, the lowest composite score,
alone in last place — and everyone else is red or blue. Over a quarter, the unit with
the most laggard months is alone in last place (at most 7 a month against at least 15
for the units that filed every month, 10 for those missing one).
"""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.conftest import EXAMPLES

LAGGARDS = {
    "resident": {
        "2026-03": "R01",
        "2026-04": "R05",
        "2026-05": "R05",
        "2026-06": "R10",
        "2026-07": "R10",
        "2026-08": "R10",
        "2026-09": "R20",
    },
    "county": {
        "2026-03": "C01",
        "2026-04": "C07",
        "2026-05": "C03",
        "2026-06": "C03",
        "2026-07": "C05",
        "2026-08": "C05",
        "2026-09": "C12",
    },
}
# Worked out by hand from LAGGARDS: last two months running → a work warning for the
# second month; the quarter's laggard with the most months → an interview notice.
WORK_WARNINGS = {
    "2026-04": set(),
    "2026-05": {"R05"},
    "2026-06": {"C03"},
    "2026-07": {"R10"},
    "2026-08": {"R10", "C05"},
    "2026-09": set(),
}
INTERVIEWS = {"2026-Q2": {"R05", "C03"}, "2026-Q3": {"R10", "C05"}}

INDICATORS = {
    "resident": ["leads_received", "leads_closed", "persons_educated", "persons_accountable"],
    "county": [
        "leads_received",
        "leads_disposed",
        "persons_educated",
        "persons_accountable",
        "party_sanctions",
        "government_sanctions",
        "direct_investigations",
        "principal_duty_failures",
        "supervisory_duty_failures",
        "public_exposures",
    ],
}
KINDS = {"resident": {"resident_group", "inspection_office"}, "county": {"county_commission"}}


def board_units() -> dict[str, list[str]]:
    units = yaml.safe_load((EXAMPLES / "kunming.yaml").read_text(encoding="utf-8"))["units"]
    return {
        board: sorted(u["code"] for u in units if u["kind"] in kinds)
        for board, kinds in KINDS.items()
    }


def write_returns(path: Path, months: list[str] | None = None) -> Path:
    lines = ["period,unit,indicator,value"]
    for board, units in board_units().items():
        for month, laggard in sorted(LAGGARDS[board].items()):
            if months is not None and month not in months:
                continue
            number = int(month[5:])
            for i, unit in enumerate(units):
                if unit == laggard:
                    continue
                for k, indicator in enumerate(INDICATORS[board]):
                    lines.append(f"{month},{unit},{indicator},{5 + (i + number + k) % 3}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
