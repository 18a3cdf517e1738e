"""The kinds of unit in a commission (docs/rules.md §1), with their Chinese names: the
coordinating office that runs the boards, the inspection offices, the resident groups,
and the county and township commissions below the city.
"""

from __future__ import annotations

from enum import StrEnum


class UnitKind(StrEnum):
    coordinating_office = "coordinating_office"  # 党风政风监督室
    inspection_office = "inspection_office"  # 监督检查室 / 纪检监察室
    resident_group = "resident_group"  # 派驻纪检监察组
    county_commission = "county_commission"  # 县(市、区)纪委监委
    township_commission = "township_commission"  # 乡镇(街道)纪(工)委
