"""What the workbench's browser tests stand on: a world of leads in useful states built
through the command line as each person, a real `leadflow web` process serving it (over
HTTP, or HTTPS with a certificate made here), Debian's Chromium driven by its own
chromedriver (nothing is downloaded), and the checks every page must pass."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait
from sqlalchemy import select

from models.store.database import make_engine
from models.store.lead import Lead
from tests.conftest import EXAMPLES
from tests.e2e.api_world import REPORTER, World, make_world
from tests.e2e.workbench_client import PASSWORD, form_token

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
WIDTH, HEIGHT = 1280, 800
SESSION_COOKIE = "leadflow_session"
# A lead whose summary is markup: the pages must show it as text.
HTML_SUMMARY = '<script>alert("线索")</script><b>加粗的摘要</b>'
HTML_LEAD = "KM-2026-009001"
# A lead of C03 (官渡区关上街道), reported by REPORTER, that a leader sends to its own
# handling: the officer disposes it, and asks to see its reporter.
TO_DISPOSE = "KM-2026-009002"
TO_RECTIFY = "KM-2026-000232"  # 官渡区金马街道: disposed with a risk point, awaiting rectification
AWAITING_DECISION = "KM-2026-000102"  # its flags propose joint handling: the leader's desk
OTHER_UNIT = "KM-2026-000101"  # handled by 西山区 (C04): not the C03 officer's


def browser_missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not path.is_file():
            return f"{path} is missing: apt-get install -y {package} (./run test installs it)"
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- the world: leads in the states the walks need --------------------------------------


@dataclass(frozen=True)
class Workbench:
    """The world's database and files, the people's tokens, and its leads by role in the walks."""

    env: dict[str, str]
    world: World
    ids: dict[str, int]  # external id -> lead id

    def state(self, external_id: str) -> str:
        engine = make_engine(self.world.url)
        try:
            with engine.connect() as connection:
                found = connection.execute(
                    select(Lead.state).where(Lead.external_id == external_id)
                ).scalar_one()
        finally:
            engine.dispose()
        return str(found)


def _extra_leads(folder: Path) -> Path:
    """The example leads, plus one whose summary is markup and one of C03's to dispose."""
    lines = (EXAMPLES / "leads.jsonl").read_text(encoding="utf-8").splitlines()
    base = json.loads(lines[-1])
    base.pop("reporter", None)
    markup = base | {"external_id": HTML_LEAD, "summary": HTML_SUMMARY}
    markup["subject"] = base["subject"] | {"entity": "E-GD-GUANSHANG"}
    plain = base | {
        "external_id": TO_DISPOSE,
        "summary": "反映关上街道窗口工作人员推诿扯皮。",
        "source": "public_report",
        "channel": "letter",
        "reporter": {"name": REPORTER[0], "phone": REPORTER[1], "anonymous": False},
    }
    plain["subject"] = base["subject"] | {"entity": "E-GD-GUANSHANG", "rank": "general"}
    plain["flags"] = ["complex"]
    path = folder / "leads.jsonl"
    extra = [json.dumps(lead, ensure_ascii=False) for lead in (markup, plain)]
    path.write_text("\n".join([*lines, *extra]) + "\n", encoding="utf-8")
    return path


def _cli(env: dict[str, str], token: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", "from leadflow.cli import main; main()", *args],
        env=env | {"LEADFLOW_TOKEN": token},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, f"leadflow {' '.join(args)}: exit {done.returncode}\n{done.stderr}"
    return done.stdout


def build(folder: Path) -> Workbench:
    """The API tests' world (one person per role), then, through the command line as each
    person: the example leads and two more, C03's leads sent to their own handling, one
    disposed with a risk point, the returns and September's escalation run."""
    with pytest.MonkeyPatch.context() as patch:
        world = make_world(patch, folder)
        env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env |= {
        "LEADFLOW_DATABASE_URL": world.url,
        "LEADFLOW_OUTPUT_DIR": str(folder / "output"),
        "LEADFLOW_HOME": str(folder / "home"),
        "LEADFLOW_INTAKE_MODE": "local",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    }
    as_ = world.tokens
    _cli(env, as_["admin"], "init")  # the anchors' signing key, as a commission has it
    _cli(env, as_["case_manager"], "lead", "import", str(_extra_leads(folder)))
    for lead in (TO_DISPOSE, TO_RECTIFY):
        _cli(env, as_["leader"], "lead", "decide", lead, "--mode", "own", "--reason", "属地办理")
    _cli(env, as_["officer"], "lead", "dispose", TO_RECTIFY, "--method", "talk_letter",
         "--reason", "函询")  # fmt: skip
    _cli(env, as_["officer"], "lead", "outcome", TO_RECTIFY, "--kind", "risk_point",
         "--educated", "1", "--finding", "收受烟酒部分属实", "--reason", "健全制度")  # fmt: skip
    _cli(env, as_["case_manager"], "stats", "import", str(EXAMPLES / "returns.csv"))
    _cli(env, as_["case_manager"], "escalate", "monthly", "--period", "2026-09")
    engine = make_engine(world.url)
    with engine.connect() as connection:
        ids = dict(connection.execute(select(Lead.external_id, Lead.id)).tuples().all())
    engine.dispose()
    return Workbench(env, world, ids)


# --- the server: `leadflow web` in its own process ---------------------------------------


@dataclass(frozen=True)
class Served:
    url: str
    log: Path

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, verify=False, timeout=30)


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 signed by its own key, valid for a day."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "tls-cert.pem", folder / "tls-key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


@contextmanager
def serve(bench: Workbench, folder: Path, tls: tuple[Path, Path] | None = None) -> Iterator[Served]:
    """`leadflow web` on a free loopback port until the block ends; it answers first."""
    port = _free_port()
    scheme = "https" if tls else "http"
    options = ["--tls-cert", str(tls[0]), "--tls-key", str(tls[1])] if tls else []
    log = folder / f"web-{port}.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-c", "from leadflow.cli import main; main()", "web",
             "--host", "127.0.0.1", "--port", str(port), *options],
            env=bench.env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    served = Served(f"{scheme}://127.0.0.1:{port}", log)
    try:
        _wait_until_it_answers(served, process)
        yield served
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_it_answers(served: Served, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    with served.client() as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"leadflow web exited: {served.log.read_text()[-2000:]}")
            try:
                if client.get("/login").status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.2)
    raise RuntimeError(f"leadflow web did not answer within 60 s: {served.log}")


def http_sign_in(client: httpx.Client, username: str) -> httpx.Response:
    """Signed in over HTTP as a browser does; the answer that opened the session."""
    page = client.get("/login")
    answer = client.post(
        "/login",
        data={"csrf": form_token(page.text), "username": username, "password": PASSWORD},
    )
    assert answer.status_code == 303, answer.text[:500]
    return answer


# --- the browser -------------------------------------------------------------------------


@contextmanager
def chromium() -> Iterator[WebDriver]:
    """Headless Chromium at 1280×800 through Debian's chromedriver; Selenium Manager,
    which would download a driver, is never asked."""
    os.environ["SE_OFFLINE"] = "1"
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                 f"--window-size={WIDTH},{HEIGHT}", "--lang=zh-CN"):  # fmt: skip
        options.add_argument(flag)
    options.accept_insecure_certs = True
    driver = webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def sign_in(driver: WebDriver, base: str, username: str) -> None:
    """Signed in through the sign-in form, as a person types it."""
    driver.delete_all_cookies()
    driver.get(f"{base}/login")
    driver.find_element(By.ID, "username").send_keys(username)
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "form.signin [type=submit]").click()
    WebDriverWait(driver, 20).until(lambda d: "/login" not in d.current_url)


def session_cookie(driver: WebDriver) -> dict[str, str]:
    """The browser's session cookie, for a request made beside it (HTTP-only cookies
    are the driver's to read, never a page's)."""
    cookie = driver.get_cookie(SESSION_COOKIE)
    assert cookie, "no session cookie in the browser"
    return {SESSION_COOKIE: str(cookie["value"])}


# Every visible form field and whether it has a label (<label for> or aria-label).
UNLABELLED = """
return Array.from(document.querySelectorAll('input, select, textarea'))
  .filter(e => !['hidden', 'submit', 'button', 'reset', 'image']
    .includes((e.getAttribute('type') || '').toLowerCase()))
  .filter(e => !(e.id && document.querySelector('label[for="' + CSS.escape(e.id) + '"]'))
    && !(e.getAttribute('aria-label') || '').trim())
  .map(e => e.outerHTML.slice(0, 160));
"""
WIDTHS = "return [document.documentElement.scrollWidth, document.documentElement.clientWidth];"
NEXT_PAGE = """return document.readyState === 'complete'
  && document.documentElement.dataset.left === undefined;"""
REFUSED_TITLE = "操作未完成"  # the h1 of every error page


@dataclass
class Walk:
    """One person's walk through the workbench: every page opened is checked — each field
    labelled, nothing wider than the window, no script, and the reporter nowhere unless
    the page is the custodian's read."""

    driver: WebDriver
    base: str
    who: str
    reporter: tuple[str, ...]
    visited: list[str]

    def open(self, path: str, *, refused: bool = False) -> str:
        self.driver.get(self.base + path)
        return self.check(refused=refused)

    def check(self, *, refused: bool = False, reporter_shown: bool = False) -> str:
        """The page now shown, checked; its HTML."""

        where = f"{self.who} at {self.driver.current_url}"
        self.visited.append(self.driver.current_url)
        source = self.driver.page_source
        heading = self.driver.find_element(By.TAG_NAME, "h1").text
        assert (heading == REFUSED_TITLE) == refused, f"{where}: h1 {heading!r}"
        assert not self.driver.execute_script(UNLABELLED), f"{where}: fields without a label"
        scroll, client = self.driver.execute_script(WIDTHS)
        assert scroll <= client <= WIDTH, f"{where}: {scroll}px wide in a {client}px window"
        assert not self.driver.find_elements(By.TAG_NAME, "script"), f"{where}: a script"
        if not reporter_shown:
            shown = [part for part in self.reporter if part in source]
            assert not shown, f"{where}: the reporter's {shown} on the page"
        return source

    def submit(
        self,
        form_id: str,
        fields: dict[str, str],
        *,
        until: str = "",
        refused: bool = False,
        reporter_shown: bool = False,
    ) -> str:
        """The form filled as a person does (typing, choosing, ticking) and sent with its
        button; the page it leads to (its address containing ``until``), checked."""

        form = self.driver.find_element(By.ID, form_id)
        for name, value in fields.items():
            field = form.find_element(By.NAME, name)
            if field.tag_name == "select":
                Select(field).select_by_value(value)
            elif field.get_attribute("type") == "checkbox":
                if field.is_selected() != (value == "on"):
                    field.click()
            else:
                field.clear()
                field.send_keys(value)
        # The page is marked, so that the next one is known by not bearing the mark.
        self.driver.execute_script("document.documentElement.dataset.left = 'yes';")
        form.find_element(By.CSS_SELECTOR, "[type=submit]").click()
        WebDriverWait(self.driver, 30, ignored_exceptions=(WebDriverException,)).until(
            lambda d: d.execute_script(NEXT_PAGE), f"{form_id} led to no page"
        )
        assert until in self.driver.current_url, f"{form_id} led to {self.driver.current_url}"
        return self.check(refused=refused, reporter_shown=reporter_shown)

    def shoot(self, path: Path, *, tallest: int = 1600) -> None:
        """A screenshot of the page at the window's width, as tall as its content (up to
        ``tallest``), and the window back to 1280×800."""
        height = self.driver.execute_script("return document.documentElement.scrollHeight;")
        self.driver.set_window_size(WIDTH, max(HEIGHT, min(int(height) + 140, tallest)))
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            assert self.driver.save_screenshot(str(path)), f"no screenshot at {path}"
        finally:
            self.driver.set_window_size(WIDTH, HEIGHT)
