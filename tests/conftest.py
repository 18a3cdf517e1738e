"""Fixtures: real databases (an SQLite file; a fresh PostgreSQL database when a server
answers), migrated by the same code as `leadflow init`, and the CLI run as a user runs it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from models import audit
from models.config.policy import default_policy
from models.domain.commission import Commission
from models.domain.people import system
from models.inputs.readers import read_organisation
from models.services.desk import Desk
from models.services.organisation import load
from models.services.policy import install
from models.store import migrate
from models.store.database import make_engine, transaction
from models.store.tables import metadata

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
# The example organisation's commission (examples/kunming.yaml), for desks a test builds.
KUNMING = Commission("昆明市纪委监委", "昆纪")


def on_day(desk: Desk) -> Desk:
    """A desk a test builds on a past day, its acts recorded on that day as a replayed
    command's are (the audit module's clock, which no user can reach)."""
    audit.REPLAYED_ON.set(desk.today)
    return desk


@pytest.fixture(autouse=True)
def _real_clock() -> Iterator[None]:
    """Every test starts on the real date; what one replays ends with it."""
    token = audit.REPLAYED_ON.set(None)
    yield
    audit.REPLAYED_ON.reset(token)


POSTGRES_ADMIN_URL = os.environ.get(
    "LEADFLOW_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _postgres_reason() -> str | None:
    try:
        engine = sa.create_engine(POSTGRES_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect():
            pass
        engine.dispose()
        return None
    except Exception as exc:
        return f"no PostgreSQL server at {POSTGRES_ADMIN_URL} ({type(exc).__name__}: {exc})"


_PG_REASON = _postgres_reason()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A new, empty PostgreSQL database for one test, dropped afterwards."""
    if _PG_REASON:
        pytest.skip(_PG_REASON)
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"leadflow_t_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = sa.make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        from models.store.database import engine_for

        engine_for.cache_clear()
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'leadflow.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    migrate.upgrade(engine)
    with transaction(engine) as session:
        install(session, default_policy(), by=system("test"))
    yield engine
    engine.dispose()


@pytest.fixture
def org_engine(engine: Engine) -> Engine:
    """The engine with the example organisation (Kunming) loaded."""
    organisation, locate = read_organisation(EXAMPLES / "kunming.yaml")
    with transaction(engine) as session:
        load(session, organisation, source="kunming.yaml", locate=locate, by=system("test"))
    return engine


def snapshot(engine: Engine) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table, for before/after comparisons."""
    out = {}
    with engine.connect() as connection:
        for table in metadata.sorted_tables:
            rows = connection.execute(sa.select(table)).all()
            out[table.name] = sorted((tuple(r) for r in rows), key=repr)
        out["alembic_version"] = connection.exec_driver_sql(
            "SELECT version_num FROM alembic_version"
        ).all()
    return out


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def prefect_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Prefect server on loopback for the whole session (its own home and database).

    Commands run against it skip the ~6 s start of Prefect's temporary embedded server,
    and the tests about Prefect itself (triggers, deployments) need a real one anyway.
    """
    home = tmp_path_factory.mktemp("prefect-home")
    port = _free_port()
    url = f"http://127.0.0.1:{port}/api"
    env = {
        **os.environ,
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_API_URL": url,
        "PREFECT_LOGGING_LEVEL": "WARNING",
    }
    log = (home / "server.log").open("w")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "prefect",
            "server",
            "start",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            raise RuntimeError(f"the Prefect server did not start; see {home / 'server.log'}")
        time.sleep(0.3)
    try:
        yield url
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
        log.close()


@dataclass
class Ran:
    code: int
    stdout: str
    stderr: str


@dataclass
class Cli:
    """The `leadflow` command, run in a subprocess exactly as a user would."""

    cwd: Path
    env: dict[str, str]

    def __call__(self, *args: str | Path, check: int | None = None) -> Ran:
        done = subprocess.run(
            [sys.executable, "-c", "from leadflow.cli import main; main()", *map(str, args)],
            cwd=self.cwd,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        ran = Ran(done.returncode, done.stdout, done.stderr)
        if check is not None:
            assert ran.code == check, f"exit {ran.code}, wanted {check}\n{ran.stderr}"
        return ran


def _cli_env(tmp_path: Path, db_url: str, prefect_api: str) -> dict[str, str]:
    return {
        **os.environ,
        "LEADFLOW_DATABASE_URL": db_url,
        "LEADFLOW_OUTPUT_DIR": str(tmp_path / "output"),
        "LEADFLOW_ACTOR": "测试员",
        "LEADFLOW_INTAKE_MODE": "local",
        "PREFECT_API_URL": prefect_api,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "COLUMNS": "200",
    }


@pytest.fixture
def cli(tmp_path: Path, db_url: str, prefect_api: str) -> Cli:
    return Cli(cwd=tmp_path, env=_cli_env(tmp_path, db_url, prefect_api))


@pytest.fixture
def sqlite_cli(tmp_path: Path, prefect_api: str) -> Cli:
    """The CLI on an SQLite file only, for tests about the embedded default."""
    return Cli(
        cwd=tmp_path, env=_cli_env(tmp_path, f"sqlite:///{tmp_path / 'leadflow.db'}", prefect_api)
    )


# --- figures: what the reliability tests measured, printed at the end of the run -------

_FIGURES: list[tuple[str, str]] = []


@pytest.fixture
def figure(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """Record one figure of this test (what was tried, what held) for the run's summary."""

    def record(text: str) -> None:
        _FIGURES.append((request.node.nodeid.split("::", 1)[-1], text))

    return record


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _FIGURES:
        terminalreporter.section("reliability figures")
        for test, text in _FIGURES:
            terminalreporter.write_line(f"{test}: {text}")


# --- confidentiality: after the whole run, no reporter in any document it produced ------

# The identities the run's inputs carry: the examples' reporters, and write_leads'
# synthetic ones (举报人<n>, 139<n:08d>); "举报人" followed by digits is never our own text.
_SYNTHETIC_REPORTER = re.compile(r"举报人\d+")


# A reporter the held-document tests name inside a lead's own summary, as people type one
# — the phone full-width and spaced, then with dashes: it must reach no document, no
# output and no store (docs/rules.md §5). The scans below look for it in every form.
NAMED_REPORTER = ("王五", "13700000000")
_NAMED_LEAD_IN = "举报人王 五（电话１３７ ００００ ００００，又137-0000-0000）反映："


def summary_naming_reporter(rest: str) -> str:
    """A summary that opens by naming NAMED_REPORTER, then says ``rest``."""
    return _NAMED_LEAD_IN + rest


# What may stand inside a name or between a phone's digits as people type them.
_TYPED_BETWEEN = r"[\s\-－—.·・()（）/]*"


def _typed(identity: str) -> re.Pattern[str]:
    """``identity`` however it is typed: digits ASCII or full-width, spaces or dashes
    between its characters."""
    parts = [f"[{c}{chr(ord(c) + 0xFEE0)}]" if c.isdigit() else re.escape(c) for c in identity]
    return re.compile(_TYPED_BETWEEN.join(parts))


def _reporter_identities() -> set[str]:
    found = set(NAMED_REPORTER)
    for path in (EXAMPLES / "leads.jsonl", EXAMPLES / "lead.json"):
        for line in (
            path.read_text(encoding="utf-8").splitlines()
            if path.suffix == ".jsonl"
            else [path.read_text(encoding="utf-8")]
        ):
            reporter = json.loads(line).get("reporter") or {}
            found |= {v for k, v in reporter.items() if k in ("name", "phone") and v}
    return found


def _leaks(pdf: Path, identities: set[str]) -> list[str]:
    done = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True)
    text = done.stdout
    typed = {i for i in identities if _typed(i).search(text)}
    return sorted(typed | set(_SYNTHETIC_REPORTER.findall("".join(text.split()))))


# --- references only: after the whole run, no lead content in Prefect or in any log ----


def _lead_contents() -> set[str]:
    """What the examples' leads say and who they name: subjects, allegations, reporters."""
    found = set(_reporter_identities()) | {_NAMED_LEAD_IN}
    for line in (EXAMPLES / "leads.jsonl").read_text(encoding="utf-8").splitlines():
        lead = json.loads(line)
        found |= {lead["summary"], lead["subject"]["name"]}
    return {text for text in found if len(text) >= 2}


def _encodings(text: str) -> list[bytes]:
    """The ways a text may be stored: UTF-8, JSON with escapes, pickled (UTF-8)."""
    return [text.encode(), json.dumps(text).strip('"').encode()]


def _content_in(files: list[Path], contents: set[str]) -> dict[Path, list[str]]:
    needles = {text: _encodings(text) for text in contents}
    found: dict[Path, list[str]] = {}
    typed = {identity: _typed(identity) for identity in NAMED_REPORTER}
    for path in files:
        data = path.read_bytes()
        hits = [t for t, forms in needles.items() if any(f in data for f in forms)]
        text = data.decode("utf-8", "replace")
        hits += [i for i, pattern in typed.items() if i not in hits and pattern.search(text)]
        if hits or _SYNTHETIC_REPORTER.search(text):
            found[path] = hits or ["举报人<n>"]
    return found


def _scan_prefect_and_logs(base: Path) -> None:
    """Every Prefect home the run made (its database, its stored results, its logs) and
    every error log: none may hold what a lead says or who reported it."""
    homes = [p.parent for p in base.rglob("prefect.db")] + list(base.rglob("prefect-home*"))
    files = {f for home in homes for f in home.rglob("*") if f.is_file()}
    files |= set(base.rglob("leadflow-error.log")) | set(base.rglob("*.log"))
    leaks = _content_in(sorted(files), _lead_contents())
    _FIGURES.append(
        (
            "references-only scan",
            f"{len(files)} files of Prefect's homes (databases, results) and logs: "
            f"{len(leaks)} hold a lead's subject, allegation or reporter",
        )
    )
    for path, hits in list(leaks.items())[:20]:
        _FIGURES.append(("references-only LEAK", f"{path}: {', '.join(hits)[:200]}"))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    factory = getattr(session.config, "_tmp_path_factory", None)
    if factory is None:
        return
    _scan_prefect_and_logs(factory.getbasetemp())
    if any(name == "references-only LEAK" for name, _ in _FIGURES):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    if shutil.which("pdftotext") is None:
        return
    folders = [factory.getbasetemp(), ROOT / "output"]
    pdfs = [p for folder in folders if folder.is_dir() for p in folder.rglob("*.pdf")]
    if not pdfs:
        return
    identities = _reporter_identities()
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        leaks = {
            p: found
            for p, found in zip(pdfs, pool.map(lambda p: _leaks(p, identities), pdfs), strict=True)
            if found
        }
    _FIGURES.append(
        (
            "confidentiality scan",
            f"{len(pdfs)} PDFs this run produced (notices, bulletins, reports, audit "
            f"records): {len(leaks)} carry a reporter's name or phone",
        )
    )
    if leaks:
        for pdf, found in list(leaks.items())[:20]:
            _FIGURES.append(("confidentiality LEAK", f"{pdf}: {', '.join(found)}"))
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
