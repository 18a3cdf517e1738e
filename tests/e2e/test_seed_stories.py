"""The seed stories, end to end through the command line.

Each story's passages are in tests/e2e/seed_stories/ (the few sentences of the article a
test relies on); each test checks that its example lead tells what the passages tell, then
runs the lead through. Each runs on the embedded default (SQLite) with a fixed "today"
(LEADFLOW_TODAY), so deadlines and the overdue ladder fall on known days.
"""

from __future__ import annotations

import json
import subprocess
from datetime import date
from pathlib import Path

import pytest
import yaml

from models.config.policy import default_policy
from models.domain.workdays import WorkCalendar
from tests.conftest import EXAMPLES, Cli

STORIES = Path(__file__).resolve().parent / "seed_stories"
LEADS = {
    json.loads(line)["external_id"]: json.loads(line)
    for line in (EXAMPLES / "leads.jsonl").read_text(encoding="utf-8").splitlines()
}
ORG = yaml.safe_load((EXAMPLES / "kunming.yaml").read_text(encoding="utf-8"))
REPORTER_IDENTITIES = [
    v
    for lead in LEADS.values()
    for k, v in (lead.get("reporter") or {}).items()
    if k in ("name", "phone") and v
]


@pytest.fixture
def office(sqlite_cli: Cli, tmp_path: Path) -> Cli:
    sqlite_cli.env["LEADFLOW_TODAY"] = "2026-06-01"
    sqlite_cli("init", check=0)
    sqlite_cli("org", "load", EXAMPLES / "kunming.yaml", check=0)
    return sqlite_cli


def story(name: str, *facts: str) -> str:
    """The passages of seed story ``name``, which must tell each of ``facts``."""
    text = (STORIES / f"{name}.txt").read_text(encoding="utf-8")
    missing = [fact for fact in facts if fact not in text]
    assert not missing, f"seed_stories/{name}.txt does not tell {missing}"
    return text


def submit(cli: Cli, tmp_path: Path, external_id: str) -> dict:
    path = tmp_path / f"{external_id}.json"
    path.write_text(json.dumps(LEADS[external_id], ensure_ascii=False), encoding="utf-8")
    return json.loads(cli("lead", "submit", path, "--json", check=0).stdout)


def step(cli: Cli, *args: str, code: int = 0) -> dict:
    ran = cli(*args, "--json", check=code)
    return json.loads(ran.stdout) if code == 0 else {"stderr": ran.stderr}


def trail(cli: Cli, lead_id: int) -> list[dict]:
    return json.loads(cli("audit", "show", str(lead_id), "--json", check=0).stdout)["events"]


def pdf_text(path: str) -> str:
    """The PDF's text with all white space removed (lines wrap anywhere in Chinese)."""
    return "".join(
        subprocess.run(
            ["pdftotext", "-layout", path, "-"], capture_output=True, text=True, check=True
        ).stdout.split()
    )


def assert_no_reporter_anywhere(output: Path) -> None:
    pdfs = list(output.rglob("*.pdf"))
    assert pdfs
    for pdf in pdfs:
        text = pdf_text(str(pdf))
        for identity in REPORTER_IDENTITIES:
            assert identity not in text, f"{identity} in {pdf.name}"


VERIFIED = "经查，两名窗口工作人员工作日上班时间在电脑上玩游戏，情况属实"


def test_seed_000_window_staff_gaming_after_zero_reports(office: Cli, tmp_path: Path) -> None:
    """000_unit_group_supervision.txt: a unit group's inspection of 金碧街道 → first form →
    rectification → follow-up → struck off."""
    found = "两名窗口工作人员上班时间在电脑上玩游戏"
    story("000_unit_group_supervision", "西山区金碧街道", "零报告", found, "立即整改", "销号")
    assert found in LEADS["KM-2026-000101"]["summary"]
    lead = submit(office, tmp_path, "KM-2026-000101")
    lead_id = lead["lead_id"]
    assert lead["state"] == "in_handling" and lead["proposed_mode"] == "own"  # no flags: 自办
    [notice] = lead["notices"]
    assert "西山区纪委监委" in pdf_text(notice)  # own handling by the county commission
    step(
        office,
        "lead",
        "dispose",
        str(lead_id),
        "--method",
        "preliminary_verification",
        "--reason",
        "初步核实",
    )
    step(
        office,
        "lead",
        "outcome",
        str(lead_id),
        "--kind",
        "first_form",
        "--educated",
        "2",
        "--finding",
        VERIFIED,
        "--reason",
        "两名窗口工作人员批评教育",
    )
    rectify = step(office, "lead", "rectify", str(lead_id), "--days", "10", "--reason", "限期整改")
    [rectification_notice] = rectify["notices"]
    text = pdf_text(rectification_notice["pdf"])
    assert "西山区金碧街道" in text and "2026年6月15日" in text  # 10 working days from Mon 1 June
    # The street is told what was verified, not the report's words as if proven.
    assert VERIFIED in text and "突击检查发现" not in text and "反映问题" not in text
    step(office, "lead", "report", str(lead_id), "--reason", "街道报送整改情况")
    failed = step(office, "lead", "follow-up", str(lead_id), "--failed", "--reason", "回头看未到位")
    assert failed["state"] == "rectifying"  # not struck off without verification
    step(
        office, "lead", "follow-up", str(lead_id), "--passed", "--reason", "回头看", code=1
    )  # no new report yet: refused
    step(office, "lead", "report", str(lead_id), "--reason", "再次报送")
    done = step(
        office, "lead", "follow-up", str(lead_id), "--passed", "--reason", "回头看已整改到位"
    )
    assert done["state"] == "closed"
    actions = [e["action"] for e in trail(office, lead_id)]
    assert actions.index("lead.outcome") < actions.index("lead.order_rectification")
    assert actions[-1] == "lead.strike_off" and actions.count("rectification.follow_up") == 2


def test_seed_001_market_rent_fraud_joint_handling(office: Cli, tmp_path: Path) -> None:
    """001_market_rent_fraud.txt: merchants report rent fraud at the market service centre;
    complex and large → joint handling proposed → the leader decides → a team drawn under
    recusal → verification → a case filed."""
    facts = ("市场服务中心职工刘某", "涉及商户多、金额大", "利用职务便利")
    story("001_market_rent_fraud", *facts, "联合执纪审查", "短短三天")
    assert all(fact in LEADS["KM-2026-000102"]["summary"] for fact in facts)
    lead = submit(office, tmp_path, "KM-2026-000102")
    lead_id = lead["lead_id"]
    assert (lead["state"], lead["proposed_mode"], lead["notices"]) == ("triaged", "joint", [])
    decided = step(
        office,
        "lead",
        "decide",
        str(lead_id),
        "--mode",
        "joint",
        "--by",
        "杨正晓",
        "--reason",
        "涉及商户多、金额大，同意联合办理",
    )
    assert decided["state"] == "in_handling"
    events = trail(office, lead_id)
    draw = next(e for e in events if e["action"] == "lead.assign")["data"]["draw"]
    excluded = {x["candidate"]: x["reason"] for x in draw["excluded"]}
    assert "declared relation" in excluded["P004"]  # 配偶的兄弟 of 刘某
    assert isinstance(draw["seed"], int) and len(draw["team"]) == 4
    assert draw["leader"] in draw["team"] and not set(draw["team"]) & set(excluded)
    text = pdf_text(decided["notices"][0]["pdf"])
    assert "一事一授权" in text and "杨正晓" in text and "第二监督检查室" in text
    # 室组地: the market's own resident group and the county commission handle it together,
    # and the team is drawn from their people first.
    units = next(e for e in events if e["action"] == "lead.assign")["data"]["units"]
    assert units["co_units"] == ["R12", "C03"]
    assert "驻市市场监督管理局纪检监察组" in text and "官渡区纪委监委" in text
    homes = {p["code"]: p["home_unit"] for p in ORG["people"]}
    assert {homes[m] for m in draw["team"]} & {units["lead_unit"], "R12", "C03"}
    step(
        office,
        "lead",
        "dispose",
        str(lead_id),
        "--method",
        "preliminary_verification",
        "--reason",
        "三天查清",
    )
    step(
        office,
        "lead",
        "outcome",
        str(lead_id),
        "--kind",
        "case_filed",
        "--form",
        "4",
        "--party-sanctions",
        "1",
        "--government-sanctions",
        "1",
        "--finding",
        "刘某利用职务便利违规收取、骗取商户租金，涉嫌违纪违法",
        "--reason",
        "立案审查调查",
    )
    closed = step(office, "lead", "close", str(lead_id), "--reason", "办结")
    assert closed["state"] == "closed"
    assert_no_reporter_anywhere(Path(office.env["LEADFLOW_OUTPUT_DIR"]))


def test_seed_000_stalled_demolition_overdue_ladder(office: Cli, tmp_path: Path) -> None:
    """000_unit_group_supervision.txt: a 16-mu warehouse demolition stalls; a county-level
    subject → city jurisdiction → overdue rectification → supervision → accountability
    proposal."""
    facts = ("一宗占地16亩的仓库拆除工作推而不动", "村看乡、乡看县")
    story("000_unit_group_supervision", *facts, "富民县", "县级党委", "约谈分管副县长")
    assert all(fact in LEADS["KM-2026-000103"]["summary"] for fact in facts)
    lead = submit(office, tmp_path, "KM-2026-000103")
    lead_id = lead["lead_id"]
    assert lead["state"] == "triaged" and lead["proposed_mode"] == "cross"  # local recusal
    decided = step(
        office,
        "lead",
        "decide",
        str(lead_id),
        "--mode",
        "own",
        "--by",
        "杨正晓",
        "--reason",
        "县处级干部，由市纪委监委第五监督检查室直接办理",
    )
    assert "第五监督检查室" in pdf_text(decided["notices"][0]["pdf"])  # the city, not 富民县
    step(office, "lead", "dispose", str(lead_id), "--method", "talk_letter", "--reason", "函询")
    step(
        office,
        "lead",
        "outcome",
        str(lead_id),
        "--kind",
        "first_form",
        "--accountable",
        "1",
        "--finding",
        "仓库拆除工作推进不力，责任单位未按期完成拆除",
        "--reason",
        "约谈分管副县长",
    )
    step(office, "lead", "rectify", str(lead_id), "--days", "5", "--reason", "限期完成拆除")
    calendar = WorkCalendar({})
    deadline = calendar.add_working_days(date(2026, 6, 1), 5).due
    ladder = {rung.step: rung.offset for rung in default_policy().overdue_ladder}

    def sweep_on(offset: int) -> list[str]:
        day = deadline
        while calendar.working_days_between(deadline, day) < offset:
            day = date.fromordinal(day.toordinal() + 1)
        while calendar.working_days_between(deadline, day) > offset:
            day = date.fromordinal(day.toordinal() - 1)
        return [s["step"] for s in step(office, "sweep", "--on", day.isoformat())["steps"]]

    assert sweep_on(ladder["reminder"] - 1) == []
    assert sweep_on(ladder["reminder"]) == ["reminder"]
    assert sweep_on(ladder["reminder"]) == []  # each step once
    assert sweep_on(ladder["urging"]) == ["urging"]
    assert sweep_on(ladder["supervision"]) == ["supervision"]
    assert step(office, "audit", "show", str(lead_id))["state"] == "escalated"
    supervision = next(
        e["data"]
        for e in trail(office, lead_id)
        if e["action"] == "document.issue" and e["data"]["kind"] == "supervision_notice"
    )
    text = pdf_text(supervision["path"])
    assert "原整改期限" in text and "前（10个工作日）整改到位" in text  # 督办 sets a new deadline
    # 问责 says "督办后仍未整改到位": not before the new deadline has passed.
    assert sweep_on(ladder["supervision"] + 10) == []
    assert sweep_on(ladder["supervision"] + 11) == ["accountability"]
    assert sweep_on(ladder["supervision"] + 16) == []
    kinds = [e["data"]["kind"] for e in trail(office, lead_id) if e["action"] == "document.issue"]
    assert kinds == [
        "assignment_notice",
        "rectification_notice",
        "reminder_notice",
        "urging_notice",
        "supervision_notice",
        "accountability_proposal",
    ]


def test_seed_004_malicious_report_name_cleared(office: Cli, tmp_path: Path) -> None:
    """004_false_report.txt: verification shows the report against window staff was
    false → the subject's name is cleared and the reporter criticised."""
    told = ("无中生有", "书面检讨", "还被举报者清白", "批评教育")
    story("004_false_report", "窗口人员被多次举报", "服务态度恶劣", *told)
    assert "服务态度恶劣" in LEADS["KM-2026-000104"]["summary"]
    lead = submit(office, tmp_path, "KM-2026-000104")
    lead_id = lead["lead_id"]
    assert lead["state"] == "in_handling"
    step(
        office,
        "lead",
        "dispose",
        str(lead_id),
        "--method",
        "preliminary_verification",
        "--reason",
        "派驻组查实",
    )
    step(
        office,
        "lead",
        "outcome",
        str(lead_id),
        "--kind",
        "false_accusation",
        "--finding",
        "经调取监控、走访办事群众，窗口工作人员未有刁难群众行为，举报内容无中生有",
        "--reason",
        "举报者无中生有，责令书面检讨",
    )
    step(office, "lead", "close", str(lead_id), "--reason", "还被举报者清白")
    outcome = next(e for e in trail(office, lead_id) if e["action"] == "lead.outcome")
    assert outcome["data"]["reporter_criticised"]  # a named reporter of a false accusation
    issued = [e["data"] for e in trail(office, lead_id) if e["action"] == "document.issue"]
    [clearing] = [d for d in issued if d["kind"] == "name_clearing_notice"]
    text = pdf_text(clearing["path"])
    assert "澄清正名通知书" in text and "诬告陷害" in text and "澄清正名" in text
    assert_no_reporter_anywhere(Path(office.env["LEADFLOW_OUTPUT_DIR"]))


def test_seed_000_a_risk_point_tells_the_street_nothing_was_found(
    office: Cli, tmp_path: Path
) -> None:
    """A report whose verification finds no violation: the outcome is a risk point, and the
    notice to the entity says nothing was found and names the risk — never the report's
    words as a finding."""
    lead_id = submit(office, tmp_path, "KM-2026-000101")["lead_id"]
    step(
        office,
        "lead",
        "dispose",
        str(lead_id),
        "--method",
        "preliminary_verification",
        "--reason",
        "初步核实",
    )
    risk = "窗口考勤和上网管理制度执行不严"
    step(
        office,
        "lead",
        "outcome",
        str(lead_id),
        "--kind",
        "risk_point",
        "--finding",
        risk,
        "--reason",
        "未发现违纪问题，列为风险点",
    )
    [notice] = step(office, "lead", "rectify", str(lead_id), "--reason", "健全制度")["notices"]
    text = pdf_text(notice["pdf"])
    assert "未发现违纪违法事实" in text and risk in text
    assert "存在下列问题" not in text and "玩游戏" not in text
