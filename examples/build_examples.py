"""Writes the example organisation (Kunming's unit system, 单元制) and example leads, deterministically.

Run: python examples/build_examples.py — the outputs are committed beside it, so a
reader sees plain YAML and JSON; this script is how they were made and can be remade.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import yaml

HERE = Path(__file__).parent

# 14 county-level commissions of Kunming, in three collaboration zones (协作片区).
COUNTIES = [
    ("C01", "五华区", "Z1", "WH"),
    ("C02", "盘龙区", "Z1", "PL"),
    ("C03", "官渡区", "Z1", "GD"),
    ("C04", "西山区", "Z1", "XS"),
    ("C05", "呈贡区", "Z1", "CG"),
    ("C06", "东川区", "Z2", "DC"),
    ("C07", "嵩明县", "Z2", "SM"),
    ("C08", "寻甸回族彝族自治县", "Z2", "XD"),
    ("C09", "禄劝彝族苗族自治县", "Z2", "LQ"),
    ("C10", "富民县", "Z2", "FM"),
    ("C11", "安宁市", "Z3", "AN"),
    ("C12", "晋宁区", "Z3", "JN"),
    ("C13", "宜良县", "Z3", "YL"),
    ("C14", "石林彝族自治县", "Z3", "SL"),
]
# Streets and townships per county: (code suffix, name).
LOCALITIES = {
    "WH": [("HUGUO", "护国街道"), ("CUIHU", "翠湖街道")],
    "PL": [("TUODONG", "拓东街道"), ("JINCHEN", "金辰街道")],
    "GD": [("JINMA", "金马街道"), ("GUANSHANG", "关上街道")],
    "XS": [("JINBI", "金碧街道"), ("MAJIE", "马街街道")],
    "CG": [("LONGCHENG", "龙城街道")],
    "DC": [("TONGDU", "铜都街道"), ("TANGDAN", "汤丹镇")],
    "SM": [("SONGYANG", "嵩阳街道")],
    "XD": [("RENDE", "仁德街道"), ("KEDU", "柯渡镇")],
    "LQ": [("PINGSHAN", "屏山街道")],
    "FM": [("YONGDING", "永定街道"), ("KUANZHUANG", "款庄镇")],
    "AN": [("LIANRAN", "连然街道")],
    "JN": [("KUNYANG", "昆阳街道")],
    "YL": [("KUANGYUAN", "匡远街道")],
    "SL": [("LUYANG", "鹿阜街道")],
}
# City departments with a resident group (派驻纪检监察组) each.
DEPARTMENTS = [
    ("EDU", "市教育局"),
    ("HEALTH", "市卫生健康委"),
    ("FIN", "市财政局"),
    ("HRSS", "市人力资源社会保障局"),
    ("LAND", "市自然资源和规划局"),
    ("HOUSING", "市住房城乡建设局"),
    ("TRANS", "市交通运输局"),
    ("AGRI", "市农业农村局"),
    ("WATER", "市水务局"),
    ("COMMERCE", "市商务局"),
    ("CULTURE", "市文化和旅游局"),
    ("MARKET", "市市场监督管理局"),
    ("ECO", "市生态环境局"),
    ("CIVIL", "市民政局"),
    ("AUDIT", "市审计局"),
    ("NDRC", "市发展和改革委员会"),
    ("INDUSTRY", "市工业和信息化局"),
    ("FOREST", "市林业和草原局"),
    ("EMERGENCY", "市应急管理局"),
    ("SASAC", "市国资委"),
    ("URBAN", "市城市管理局"),
    ("MEDINS", "市医疗保障局"),
    ("VETERANS", "市退役军人事务局"),
    ("RURAL", "市乡村振兴局"),
    ("STATS", "市统计局"),
    ("GOVSERV", "市政务服务管理局"),
    ("SPORT", "市体育局"),
    ("PORT", "市口岸办"),
]
OFFICE_NAMES = ["第一", "第二", "第三", "第四", "第五", "第六", "第七"]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段漕钱汤尹黎易常武乔贺赖龚文"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏飞云峰建国志宏晓东海波斌宇浩凯林婷雪梅琳"
EXPERTISE = ["discipline", "audit", "finance", "development_reform", "land", "engineering", "law"]


def organisation() -> dict:
    rng = random.Random(2019)
    zones = [
        {"code": "ZC", "name": "市直片区"},
        {"code": "Z1", "name": "主城片区"},
        {"code": "Z2", "name": "东北片区"},
        {"code": "Z3", "name": "西南片区"},
    ]
    units = [{"code": "D1", "name": "党风政风监督室", "kind": "coordinating_office", "zone": "ZC"}]
    units += [
        {"code": f"O{i + 1}", "name": f"{n}监督检查室", "kind": "inspection_office", "zone": "ZC"}
        for i, n in enumerate(OFFICE_NAMES)
    ]
    for i, (_code, name) in enumerate(DEPARTMENTS):
        units.append(
            {
                "code": f"R{i + 1:02d}",
                "name": f"驻{name}纪检监察组",
                "kind": "resident_group",
                "office": f"O{i // 4 + 1}",
                "zone": "ZC",
            }
        )
    for code, name, zone, _ in COUNTIES:
        units.append(
            {"code": code, "name": f"{name}纪委监委", "kind": "county_commission", "zone": zone}
        )
    townships = []
    for code, _, zone, abbr in COUNTIES:
        sub, street = LOCALITIES[abbr][0]
        townships.append(
            {
                "code": f"T-{abbr}-{sub}",
                "name": f"{street}纪工委",
                "kind": "township_commission",
                "parent": code,
                "zone": zone,
            }
        )
    units += townships
    # 7 unit groups of 1 inspection office + 4 resident groups + 2 county commissions (Kunming's unit system).
    unit_groups = [
        {
            "code": f"G{i + 1}",
            "name": f"{OFFICE_NAMES[i]}监督单元组",
            "members": [
                f"O{i + 1}",
                *[f"R{4 * i + k + 1:02d}" for k in range(4)],
                COUNTIES[2 * i][0],
                COUNTIES[2 * i + 1][0],
            ],
        }
        for i in range(7)
    ]
    entities = [
        {"code": f"E-{code}", "name": name, "supervised_by": f"R{i + 1:02d}", "zone": "ZC"}
        for i, (code, name) in enumerate(DEPARTMENTS)
    ]
    for code, county, zone, abbr in COUNTIES:
        for sub, street in LOCALITIES[abbr]:
            entities.append(
                {
                    "code": f"E-{abbr}-{sub}",
                    "name": f"{county}{street}",
                    "county": code,
                    "supervised_by": code,
                    "zone": zone,
                }
            )
    entities += [
        {
            "code": "E-GD-MARKET",
            "name": "官渡区市场服务中心",
            "county": "C03",
            "supervised_by": "C03",
            "zone": "Z1",
            # The market supervision bureau's resident group: the 组 of its joint handling.
            "resident_group": "R12",
        },
        {
            "code": "E-FM-GOV",
            "name": "富民县人民政府",
            "county": "C10",
            "supervised_by": "C10",
            "zone": "Z2",
        },
        {
            "code": "E-SM-GOVSERV",
            "name": "嵩明县政务服务中心",
            "county": "C07",
            "supervised_by": "C07",
            "zone": "Z2",
        },
    ]
    people = []
    homes = [
        u["code"]
        for u in units
        if u["kind"]
        in ("inspection_office", "resident_group", "county_commission", "coordinating_office")
    ]
    used: set[str] = set()
    for n in range(107):  # 储备“人才”107名
        while True:
            name = rng.choice(SURNAMES) + "".join(
                rng.choice(GIVEN) for _ in range(rng.choice((1, 2)))
            )
            if name not in used:
                used.add(name)
                break
        person = {"code": f"P{n + 1:03d}", "name": name}
        if n >= 92:  # 对外抽调: experts from the audit, finance and development-reform systems
            dept, skill = [("AUDIT", "audit"), ("FIN", "finance"), ("NDRC", "development_reform")][
                n % 3
            ]
            person |= {
                "home_unit": f"R{[c for c, _ in DEPARTMENTS].index(dept) + 1:02d}",
                "home_entity": f"E-{dept}",
                "expertise": [skill],
            }
        else:
            person |= {
                "home_unit": homes[n % len(homes)],
                "expertise": sorted(
                    set(rng.sample(EXPERTISE, rng.choice((1, 2)))) | {"discipline"}
                ),
            }
        people.append(person)
    relations = [
        {"person": "P004", "subject": "刘某", "entity": "E-GD-MARKET", "relation": "配偶的兄弟"},
        {"person": "P017", "subject": "孙某", "entity": "E-FM-GOV", "relation": "同学"},
        {"person": "P033", "subject": "钱某", "relation": "原同事"},
    ]
    designations = [
        {"unit": "R24", "label": "驻市脱贫攻坚巩固提升工作分指挥部牵头单位纪检组"},
        {"unit": "C06", "label": "脱贫摘帽县"},
        {"unit": "C08", "label": "脱贫摘帽县"},
        {"unit": "C09", "label": "脱贫摘帽县"},
    ]
    return {
        "commission": {"name": "昆明市纪委监委", "abbreviation": "昆纪"},
        "zones": zones,
        "units": units,
        "unit_groups": unit_groups,
        "entities": entities,
        "people": people,
        "relations": relations,
        "designations": designations,
    }


SEED_LEADS = [
    # Kunming: 金碧街道 zero reports, window staff playing games, found by a unit-group inspection.
    {
        "external_id": "KM-2026-000101",
        "received_at": "2026-01-15T09:30:00+08:00",
        "source": "unit_group_inspection",
        "channel": "internal",
        "subject": {
            "name": "何某",
            "post": "街道便民服务中心窗口工作人员",
            "rank": "general",
            "entity": "E-XS-JINBI",
        },
        "domain": "four_winds",
        "summary": "“零报告”街道突击检查发现两名窗口工作人员上班时间在电脑上玩游戏，见到检查组仍照玩不误。",
        "amount_yuan": 0,
        "flags": [],
    },
    # The market service centre's rent fraud — merchants report, many merchants,
    # a large amount, years of accounts: complex and large, handled jointly.
    {
        "external_id": "KM-2026-000102",
        "received_at": "2026-03-02T14:05:00+08:00",
        "source": "public_report",
        "channel": "letter",
        "reporter": {"name": "张三", "phone": "13800000000", "anonymous": False},
        "subject": {
            "name": "刘某",
            "post": "区市场服务中心职工",
            "rank": "general",
            "entity": "E-GD-MARKET",
        },
        "domain": "market_supervision",
        "summary": "商户举报市场服务中心职工刘某利用职务便利违规收取、骗取商户租金，涉及商户多、金额大。",
        "amount_yuan": 1280000,
        "flags": ["complex", "large_amount", "long_span"],
    },
    # Kunming: the stalled 16-mu warehouse demolition — a county-level subject, city jurisdiction.
    {
        "external_id": "KM-2026-000103",
        "received_at": "2026-04-10T08:50:00+08:00",
        "source": "unit_group_inspection",
        "channel": "internal",
        "subject": {
            "name": "孙某",
            "post": "县人民政府副县长",
            "rank": "county",
            "entity": "E-FM-GOV",
        },
        "domain": "land",
        "summary": "“大棚房”专项监督检查发现一宗占地16亩的仓库拆除工作推而不动，存在“村看乡、乡看县”情况。",
        "amount_yuan": 0,
        "flags": ["mass_interest", "local_recusal"],
    },
    # The malicious report against window staff.
    {
        "external_id": "KM-2026-000104",
        "received_at": "2026-05-06T16:20:00+08:00",
        "source": "public_report",
        "channel": "phone",
        "reporter": {"name": "李某", "phone": "13900000001", "anonymous": False},
        "subject": {
            "name": "周某",
            "post": "政务服务中心窗口工作人员",
            "rank": "general",
            "entity": "E-SM-GOVSERV",
        },
        "domain": "service_conduct",
        "summary": "多次举报窗口工作人员服务态度恶劣、刁难办事群众。",
        "amount_yuan": 0,
        "flags": [],
    },
]

SOURCES = [
    "public_report",
    "resident_group",
    "unit_group_inspection",
    "inspection_tour",
    "audit_transfer",
    "big_data",
    "higher_assignment",
]
CHANNELS = {"public_report": ["letter", "visit", "phone", "online"]}
RANKS = ["prefecture", "county", "section", "general", "village"]
FLAGS = [
    "mass_interest",
    "complex",
    "large_amount",
    "long_span",
    "local_recusal",
    "public_reaction",
]
TOPICS = [
    ("poverty_alleviation", "扶贫项目资金被挪用于修建村委会办公楼", 350000),
    ("four_winds", "公车私用，周末驾驶公务车辆外出旅游", 0),
    ("four_winds", "违规收受管理服务对象赠送的高档烟酒", 12000),
    ("land", "违规审批集体土地建设私人别墅", 800000),
    ("education_health", "学校食堂采购中吃拿卡要，收受供应商回扣", 56000),
    ("education_health", "医院药品采购收受回扣", 230000),
    ("social_security", "违规为亲属办理低保、冒领养老金", 42000),
    ("ecology", "对辖区非法采砂问题监管不力、充当保护伞", 0),
    ("four_winds", "上班时间炒股、玩手机游戏，群众办事无人应答", 0),
    ("market_supervision", "执法过程中收受监管对象物品", 3000),
]
RANK_POSTS = {
    "prefecture": "市直部门主要负责人",
    "county": "县（区）政府副职",
    "section": "乡镇（街道）党委书记",
    "general": "窗口工作人员",
    "village": "村党总支书记",
}


def leads(org: dict) -> list[dict]:
    rng = random.Random(2026)
    county_entities = [e for e in org["entities"] if "county" in e]
    city_entities = [e for e in org["entities"] if "county" not in e]
    out = list(SEED_LEADS)
    for n in range(36):
        source = SOURCES[n % len(SOURCES)]
        rank = RANKS[n % len(RANKS)]
        domain, summary, amount = TOPICS[n % len(TOPICS)]
        entity = rng.choice(city_entities if rank == "prefecture" else county_entities)
        lead = {
            "external_id": f"KM-2026-{n + 200:06d}",
            "received_at": f"2026-{n % 9 + 1:02d}-{n % 27 + 1:02d}T{9 + n % 8:02d}:{n % 60:02d}:00+08:00",
            "source": source,
            "channel": rng.choice(CHANNELS.get(source, ["internal"])),
            "subject": {
                "name": rng.choice(SURNAMES) + "某",
                "post": RANK_POSTS[rank],
                "rank": rank,
                "entity": entity["code"],
            },
            "domain": domain,
            "summary": f"反映{entity['name']}{RANK_POSTS[rank]}{summary}。",
            "amount_yuan": amount,
            "flags": [FLAGS[n % len(FLAGS)]]
            + ([FLAGS[(n + 2) % len(FLAGS)]] if n % 3 == 0 else []),
        }
        if source == "public_report":
            lead["reporter"] = (
                {"anonymous": True}
                if n % 2
                else {
                    "name": rng.choice(SURNAMES) + rng.choice(GIVEN),
                    "phone": f"139{n:08d}",
                    "anonymous": False,
                }
            )
        out.append(lead)
    return out


def main() -> None:
    org = organisation()
    (HERE / "kunming.yaml").write_text(
        "# The example organisation: Kunming's commission and its unit system (单元制) — a coordinating\n"
        "# office, 7 inspection offices with 28 resident groups, 14 county commissions, 7 unit groups\n"
        "# of 1 office + 4 resident groups + 2 county commissions, zones, entities, a talent pool.\n"
        + yaml.safe_dump(org, allow_unicode=True, sort_keys=False, width=120),
        encoding="utf-8",
    )
    items = leads(org)
    (HERE / "leads.jsonl").write_text(
        "".join(json.dumps(lead, ensure_ascii=False) + "\n" for lead in items), encoding="utf-8"
    )
    (HERE / "lead.json").write_text(
        json.dumps(SEED_LEADS[1], ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )


if __name__ == "__main__":
    main()
