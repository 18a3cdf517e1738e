"""The workbench in a real browser against a real `leadflow web` process: each role signs
in and walks the pages it uses, takes its acts through the forms by clicking, and sees
only what it may — the reporter on no page but the custodian's read (and an officer's
granted one), another unit's lead not found, markup shown as text, a form without its
token refused. Every page has its fields labelled and fits 1280×800; the responses carry
the security headers and the session cookie its flags (Secure under TLS); Lighthouse
scores the ledger, a lead's page and the boards for accessibility and best practices."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By

from tests.e2e.api_world import REPORTER
from tests.e2e.browser import (
    AWAITING_DECISION,
    CHROMIUM,
    HTML_LEAD,
    HTML_SUMMARY,
    OTHER_UNIT,
    SESSION_COOKIE,
    TO_DISPOSE,
    TO_RECTIFY,
    Served,
    Walk,
    Workbench,
    browser_missing,
    build,
    chromium,
    http_sign_in,
    self_signed,
    serve,
    session_cookie,
    sign_in,
)

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs" / "screenshots"
LIGHTHOUSE = ROOT / "tools" / "lighthouse"
MINIMUM_SCORE = 0.95
NOT_FOUND = "未找到该线索或页面。"


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> Workbench:
    return build(tmp_path_factory.mktemp("workbench"))


@pytest.fixture(scope="module")
def served(bench: Workbench, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serve(bench, tmp_path_factory.mktemp("web")) as server:
        yield server


@pytest.fixture(scope="module")
def driver() -> Iterator[WebDriver]:
    missing = browser_missing()
    if missing:
        pytest.skip(f"no browser to drive: {missing}")
    with chromium() as browser:
        yield browser


# The pages each role's navigation opens (models/domain/permissions.py), and one it may not.
PAGES = {
    "officer": ({"/leads"}, "/desk"),
    "leader": ({"/leads", "/desk", "/boards"}, "/reporter"),
    "case_manager": ({"/leads", "/boards", "/audit"}, "/desk"),
    "auditor": ({"/leads", "/boards", "/audit"}, "/reporter"),
    "custodian": ({"/reporter"}, "/boards"),
}
NOT_PERMITTED = "您的角色无权进行此项操作"


@pytest.fixture
def walk_as(driver: WebDriver, served: Served) -> Callable[[str], Walk]:
    """A walk of the person ``username``, signed in through the form: the page they land
    on checked, their navigation exactly their role's pages, and a page of another role's
    refused."""

    def start(username: str) -> Walk:
        sign_in(driver, served.url, username)
        walk = Walk(driver, served.url, username, REPORTER, [])
        walk.check()
        opened, closed = PAGES[username]
        links = driver.find_elements(By.CSS_SELECTOR, "nav a")
        assert {link.get_attribute("pathname") for link in links} == opened
        walk.open(closed, refused=True)
        assert NOT_PERMITTED in driver.find_element(By.TAG_NAME, "main").text
        return walk

    return start


# --- headers and cookies ------------------------------------------------------------------


def _directives(policy: str) -> dict[str, str]:
    pairs = (part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    return {pair[0]: pair[1] if len(pair) > 1 else "" for pair in pairs}


def _session_set_cookie(answer: httpx.Response) -> str:
    found = [c for c in answer.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE)]
    assert len(found) == 1, answer.headers
    return found[0]


def test_pages_carry_the_security_headers_and_the_cookie_its_flags(served: Served) -> None:
    """No script may run, from anywhere; no page may be framed or sniffed; the session
    cookie is HTTP-only and strictly same-site — and not Secure over plain HTTP, where a
    browser would drop it."""
    with served.client() as client:
        signin = client.get("/login")
        opened = http_sign_in(client, "officer")
        ledger = client.get("/leads")
    assert ledger.status_code == 200
    for answer in (signin, ledger):
        policy = _directives(answer.headers["content-security-policy"])
        assert "unsafe-inline" not in answer.headers["content-security-policy"]
        assert "unsafe-eval" not in answer.headers["content-security-policy"]
        assert policy["default-src"] == "'none'" and policy.get("script-src", "'none'") == "'none'"
        assert policy["frame-ancestors"] == "'none'" and policy["base-uri"] == "'none'"
        assert answer.headers["x-content-type-options"] == "nosniff"
    cookie = _session_set_cookie(opened).lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "secure" not in cookie
    assert all("secure" not in c.lower() for c in signin.headers.get_list("set-cookie"))


def test_under_tls_the_session_cookie_is_secure(
    bench: Workbench, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """`leadflow web --tls-cert --tls-key` serves HTTPS, and the session it opens travels
    only over it; half a TLS setting is refused, not ignored."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = self_signed(folder)
    leadflow = [sys.executable, "-c", "from leadflow.cli import main; main()"]
    half = subprocess.run(
        [*leadflow, "web", "--tls-cert", str(cert)],
        env=bench.env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert half.returncode == 2 and "--tls-key: needed" in half.stderr, half.stderr
    with serve(bench, folder, tls=(cert, key)) as server:
        assert server.url.startswith("https://")
        with server.client() as client:
            signin = client.get("/login")
            opened = http_sign_in(client, "auditor")
            ledger = client.get("/leads")
    assert ledger.status_code == 200 and 'id="ledger"' in ledger.text
    cookie = _session_set_cookie(opened).lower()
    assert "secure" in cookie and "httponly" in cookie and "samesite=strict" in cookie
    assert all("secure" in c.lower() for c in signin.headers.get_list("set-cookie"))


# --- the walks ----------------------------------------------------------------------------


def _ids_on(source: str) -> set[str]:
    return set(re.findall(r'href="/leads/(\d+)"', source))


def test_the_officer_disposes_and_rectifies_and_sees_only_their_unit(
    walk_as: Callable[[str], Walk], bench: Workbench, served: Served, driver: WebDriver
) -> None:
    walk = walk_as("officer")
    ledger = walk.open("/leads")
    assert driver.find_element(By.ID, "ledger")
    listed = _ids_on(ledger)
    mine = {str(bench.ids[x]) for x in (TO_DISPOSE, TO_RECTIFY, HTML_LEAD, AWAITING_DECISION)}
    assert mine <= listed and str(bench.ids[OTHER_UNIT]) not in listed
    _markup_is_text(walk, bench)
    _another_units_lead_is_not_found(walk, bench, served, driver)
    lead = bench.ids[TO_DISPOSE]
    walk.open(f"/leads/{lead}")
    walk.submit(
        "form-dispose",
        {"method": "talk_letter", "reason": "函询其本人说明情况"},
        until=f"/leads/{lead}?done=dispose",
    )
    assert driver.find_element(By.CSS_SELECTOR, 'p.done[role="status"]').text
    assert bench.state(TO_DISPOSE) == "disposed"
    assert not driver.find_elements(By.ID, "form-reporter"), "a read before any grant"
    walk.submit(
        "form-reporter-request",
        {"reason": "需与举报人核实具体情节"},
        until=f"/leads/{lead}?done=reporter-request",
    )
    _rectifies_after_a_form_without_its_token_is_refused(walk, bench, driver)


def _markup_is_text(walk: Walk, bench: Workbench) -> None:
    """A summary that is markup shows as its characters: no element is made from it."""
    walk.open(f"/leads/{bench.ids[HTML_LEAD]}")
    body = walk.driver.find_element(By.TAG_NAME, "body").text
    assert HTML_SUMMARY in body
    assert not walk.driver.find_elements(By.XPATH, "//b[contains(., '加粗的摘要')]")


def _another_units_lead_is_not_found(
    walk: Walk, bench: Workbench, served: Served, driver: WebDriver
) -> None:
    """Another unit's lead answers as a lead that does not exist: 404, the same page."""
    outside = bench.ids[OTHER_UNIT]
    walk.open(f"/leads/{outside}", refused=True)
    shown = driver.find_element(By.TAG_NAME, "main").text
    assert NOT_FOUND in shown
    walk.open("/leads/999999", refused=True)
    assert driver.find_element(By.TAG_NAME, "main").text == shown
    with served.client() as client:
        client.cookies.update(session_cookie(driver))
        assert client.get(f"/leads/{outside}").status_code == 404
        assert client.get(f"/leads/{bench.ids[TO_RECTIFY]}").status_code == 200


def _rectifies_after_a_form_without_its_token_is_refused(
    walk: Walk, bench: Workbench, driver: WebDriver
) -> None:
    lead = bench.ids[TO_RECTIFY]
    walk.open(f"/leads/{lead}")
    driver.execute_script("document.querySelector('#form-rectify input[name=csrf]').remove();")
    fields = {"days": "10", "reason": "限期整改"}
    walk.submit("form-rectify", fields, refused=True)
    assert "防伪令牌" in driver.find_element(By.TAG_NAME, "main").text
    assert bench.state(TO_RECTIFY) == "disposed", "a form without its token changed the lead"
    walk.open(f"/leads/{lead}")
    walk.submit("form-rectify", fields, until=f"/leads/{lead}?done=rectify")
    assert bench.state(TO_RECTIFY) != "disposed"
    assert driver.find_element(By.CSS_SELECTOR, "svg.lifecycle[role=img] title").get_attribute(
        "textContent"
    )
    timeline = driver.find_element(By.ID, "timeline")
    assert "整改" in timeline.text and "限期整改" in timeline.text
    walk.shoot(SCREENSHOTS / "lead.png", tallest=3200)


def test_the_leader_decides_on_the_desk(
    walk_as: Callable[[str], Walk], bench: Workbench, driver: WebDriver
) -> None:
    walk = walk_as("leader")
    walk.open("/desk")
    lead = bench.ids[AWAITING_DECISION]
    assert driver.find_element(By.ID, f"close-{lead}")
    walk.shoot(SCREENSHOTS / "desk.png")
    walk.submit(f"decide-{lead}", {"mode": "joint", "reason": "涉及商户多、金额大，同意联动办理"})
    assert bench.state(AWAITING_DECISION) == "in_handling"
    assert not driver.find_elements(By.ID, f"decide-{lead}")
    walk.open(f"/leads/{lead}")
    assert "联动" in driver.find_element(By.ID, "timeline").text
    assert not driver.find_elements(By.ID, "form-dispose"), "a leader does not handle leads"
    walk.open("/leads")


def test_the_case_manager_reads_the_ledger_and_the_boards(
    walk_as: Callable[[str], Walk], bench: Workbench, driver: WebDriver
) -> None:
    walk = walk_as("case_manager")
    everything = _ids_on(walk.open("/leads"))
    assert everything == {str(lead) for lead in bench.ids.values()}, "a case manager sees all"
    walk.shoot(SCREENSHOTS / "ledger.png", tallest=1200)
    triaged = walk.open("/leads?state=triaged")
    assert str(bench.ids[TO_DISPOSE]) not in _ids_on(triaged)
    walk.open("/boards?period=2026-09&board=county")
    cells = driver.find_elements(By.CSS_SELECTOR, "table.board td")
    colours = {c for cell in cells for c in (cell.get_attribute("class") or "").split()}
    assert colours & {"red", "blue", "white", "yellow"}, "the board has no coloured cell"
    assert driver.find_elements(By.CSS_SELECTOR, 'a[href^="/boards/bulletin.pdf?period=2026-09"]')
    walk.shoot(SCREENSHOTS / "boards.png")


def test_the_auditor_verifies_and_reads_records_but_no_reporter(
    walk_as: Callable[[str], Walk], bench: Workbench, served: Served, driver: WebDriver
) -> None:
    walk = walk_as("auditor")
    walk.open("/audit")
    walk.submit("form-verify", {}, until="/audit")
    lead = bench.ids[AWAITING_DECISION]
    walk.open("/audit/events?action=lead.decide&from=2026-01-01&to=2026-12-31")
    record = f"/leads/{lead}/record.pdf"
    assert driver.find_elements(By.CSS_SELECTOR, f'a[href="{record}"]'), "no record to export"
    walk.open(f"/leads/{lead}")
    assert "本线索事件核验" in driver.find_element(By.TAG_NAME, "main").text
    acts = driver.find_elements(By.CSS_SELECTOR, "form[id^=form-]")
    assert not acts, "an auditor changes nothing"
    with served.client() as client:
        client.cookies.update(session_cookie(driver))
        pdf = client.get(record)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")


def test_the_custodian_grants_a_request_and_reads_a_reporter_and_nothing_else(
    walk_as: Callable[[str], Walk], driver: WebDriver
) -> None:
    walk = walk_as("custodian")
    walk.open("/reporter")
    pending = driver.find_elements(By.CSS_SELECTOR, "form[id^=grant-]")
    assert len(pending) == 1, "the officer's request is not pending"
    number = str(pending[0].get_attribute("id")).removeprefix("grant-")
    walk.submit(
        f"grant-{number}",
        {"hours": "2", "reason": "确有核实需要，同意查阅一次"},
        until=f"/reporter?done=grant&number={number}",
    )
    walk.open("/leads", refused=True)
    walk.open("/reporter")
    fields = {"lead": AWAITING_DECISION, "reason": "核实举报人身份"}
    page = walk.submit("form-read", fields, reporter_shown=True)
    assert REPORTER[0] in page and REPORTER[1] in page


def test_the_officer_reads_the_granted_reporter_once(
    walk_as: Callable[[str], Walk], bench: Workbench, driver: WebDriver
) -> None:
    walk = walk_as("officer")
    lead = bench.ids[TO_DISPOSE]
    walk.open(f"/leads/{lead}")
    page = walk.submit("form-reporter", {"reason": "核实具体情节"}, reporter_shown=True)
    assert REPORTER[0] in page and REPORTER[1] in page
    walk.open(f"/leads/{lead}")
    assert not driver.find_elements(By.ID, "form-reporter"), "a granted read is used once"


# --- Lighthouse ---------------------------------------------------------------------------


def _lighthouse_missing() -> str | None:
    if browser_missing():
        return browser_missing()
    if shutil.which("node") is None:
        return "node is missing: apt-get install -y nodejs npm (./run test installs them)"
    if not (LIGHTHOUSE / "node_modules" / ".bin" / "lighthouse").is_file():
        return f"Lighthouse is not installed: npm ci in {LIGHTHOUSE} (./run test does it)"
    return None


def _lighthouse(url: str, cookie: str, report: Path) -> dict[str, float]:
    """The accessibility and best-practices scores of one page, Chromium driven by
    Lighthouse itself, the session passed as a header."""
    done = subprocess.run(
        [
            str(LIGHTHOUSE / "node_modules" / ".bin" / "lighthouse"), url,
            "--only-categories=accessibility,best-practices", "--preset=desktop",
            "--chrome-flags=--headless=new --no-sandbox --disable-dev-shm-usage",
            f"--extra-headers={json.dumps({'Cookie': f'{SESSION_COOKIE}={cookie}'})}",
            "--output=json", f"--output-path={report}", "--quiet",
        ],
        env=os.environ | {"CHROME_PATH": str(CHROMIUM)},
        capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(report.read_text(encoding="utf-8"))
    assert result["finalDisplayedUrl"].startswith(url.split("?")[0]), "not the page asked for"
    return {name: float(c["score"]) for name, c in result["categories"].items()}


def _failing_audits(report: Path) -> list[str]:
    """Each audit that cost points: its id, title, and the elements it names."""
    result = json.loads(report.read_text(encoding="utf-8"))
    failing = []
    for audit in result["audits"].values():
        if audit.get("score") is None or audit["score"] >= 1:
            continue
        items = (audit.get("details") or {}).get("items") or []
        where = [
            str((i.get("node") or {}).get("selector") or i.get("description") or i)[:120]
            for i in items[:5]
        ]
        failing.append(f"{audit['id']} ({audit['title']}): {where}")
    return failing


def test_lighthouse_scores_the_ledger_a_lead_and_the_boards(
    served: Served,
    bench: Workbench,
    tmp_path: Path,
    figure: Callable[[str], None],
) -> None:
    missing = _lighthouse_missing()
    if missing:
        pytest.skip(missing)
    with served.client() as client:
        http_sign_in(client, "case_manager")
        cookie = str(client.cookies[SESSION_COOKIE])
    pages = {
        "ledger": "/leads",
        "lead": f"/leads/{bench.ids[TO_RECTIFY]}",
        "boards": "/boards?period=2026-09&board=county",
    }
    low = []
    for name, path in pages.items():
        report = tmp_path / f"{name}.json"
        scores = _lighthouse(served.url + path, cookie, report)
        shown = ", ".join(f"{category} {score:.2f}" for category, score in scores.items())
        figure(f"Lighthouse {name} ({path}): {shown}")
        print(f"Lighthouse {name}: {shown}")
        if min(scores.values()) < MINIMUM_SCORE:
            low.append(f"{name} {scores}: {_failing_audits(report)}")
    assert not low, "\n".join(low)
