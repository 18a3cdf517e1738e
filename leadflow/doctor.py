"""`leadflow doctor`: whether this machine has every piece LeadFlow stands on, one check
a line, with the fix for each that fails.

The pieces: the Chinese fonts the templates name, HarfBuzz's font subsetting, poppler's
tools, the database at the current schema, the Prefect server if one is configured, and
the official calendar for this year (and the next, once deadlines can reach it). No check
reads a lead: what is printed is about the machine only.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date, datetime
from pathlib import Path

from models.config.policy import default_policy
from models.config.settings import get_settings
from models.documents import glyphs, rendering
from models.domain.policy import Policy
from models.domain.workdays import WorkCalendar
from models.store.periods import SHANGHAI

# A notice's faces at work: the mark and the title (FandolSong), the body (FandolFang).
SAMPLE = (
    '<p class="mark">纪律检查委员会文件</p><h1>问题线索交办通知书</h1>'
    '<p class="body">现将有关问题线索转交你单位办理，请于十五个工作日内报送结果。〔二〇二六〕</p>'
)
# The month from which next year's calendar is needed: deadlines set then (20 working days,
# the overdue ladder after them) reach January, and the State Council has published it.
NEXT_YEAR_FROM_MONTH = 11
POPPLER = ("pdftotext", "pdffonts")


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""  # on ✗: what to run or change

    def line(self) -> str:
        mark = "✓" if self.ok else "✗"
        return f"{mark} {self.name}: {self.detail}" + ("" if self.ok else f" — fix: {self.fix}")

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def run() -> list[Check]:
    """Every check, in order; the calendar counts the years the installed policy adds
    only when the database answered."""
    found = [_safely("fonts", fonts), _safely("font subsetting", subsetting)]
    found += [_safely("poppler", poppler), db := _safely("database", database)]
    found.append(_safely("prefect", prefect))
    found.append(_safely("calendar", lambda: calendar(_policy() if db.ok else default_policy())))
    return found


def _safely(name: str, check: Callable[[], Check]) -> Check:
    """The check's answer; one that breaks is a ✗ naming what broke, never a crash."""
    try:
        return check()
    except Exception as exc:  # a check must report, not end the others
        return Check(
            name,
            False,
            f"the check failed: {type(exc).__name__}: {exc}",
            "the error above says what broke",
        )


def fonts() -> Check:
    """The faces the templates name are installed, and a sample of Chinese is drawn."""
    faces = rendering.named_faces()
    absent = [face for face in faces if not rendering.face_draws(face)]
    try:
        rendering.html_to_pdf(SAMPLE)
        undrawn: tuple[str, ...] = ()
    except glyphs.MissingGlyphs as missing:
        undrawn = missing.characters
    if not absent and not undrawn:
        return Check("fonts", True, f"{', '.join(faces)} installed; a sample of Chinese drawn")
    detail = f"not installed: {', '.join(absent)}" if absent else "every named face installed"
    if undrawn:
        detail += f"; no font draws {glyphs.code_points(undrawn)} of the sample"
    packages = glyphs.packages_for(absent)
    fix = f"sudo apt-get install -y {' '.join(packages)}" if packages else "install a CJK font"
    return Check("fonts", False, detail, fix)


def subsetting() -> Check:
    """WeasyPrint subsets the embedded fonts with HarfBuzz (fontTools takes seconds a page)."""
    if rendering.subsets_with_harfbuzz():
        return Check("font subsetting", True, "HarfBuzz subsets the fonts each PDF embeds")
    return Check(
        "font subsetting",
        False,
        "no libharfbuzz-subset (HarfBuzz >= 4.1): WeasyPrint falls back to fontTools, "
        "seconds a page of Chinese",
        "sudo apt-get install -y libharfbuzz-subset0",
    )


def poppler() -> Check:
    """poppler's tools, which read a document back (its text, its embedded fonts)."""
    missing = [tool for tool in POPPLER if shutil.which(tool) is None]
    if not missing:
        where = sorted({str(Path(shutil.which(t) or t).parent) for t in POPPLER})
        return Check("poppler", True, f"{', '.join(POPPLER)} in {', '.join(where)}")
    return Check(
        "poppler",
        False,
        f"not on PATH: {', '.join(missing)}",
        "sudo apt-get install -y poppler-utils",
    )


def database() -> Check:
    """LEADFLOW_DATABASE_URL answers and carries the current schema."""
    from sqlalchemy import make_url

    url = get_settings().database_url
    shown = make_url(url).render_as_string(hide_password=True)
    file = _sqlite_file(url)
    if file is not None and not file.is_file():  # connecting would create an empty one
        return Check("database", False, f"no database file at {file}", "leadflow init")
    try:
        revision, current = _schema(url)
    except DatabaseUnreachable as exc:
        return Check(
            "database",
            False,
            f"{shown} does not answer ({exc})",
            "start the database server, or set LEADFLOW_DATABASE_URL to one that answers",
        )
    if revision is None and not current:
        return Check("database", False, f"{shown} has no LeadFlow schema", "leadflow init")
    if not current:
        return Check(
            "database", False, f"{shown} is at an old schema ({revision})", "leadflow init"
        )
    return Check("database", True, f"{shown} answers, schema current ({revision})")


def _sqlite_file(url: str) -> Path | None:
    from sqlalchemy import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def _schema(url: str) -> tuple[str | None, bool]:
    """The database's schema revision, and whether it is the current one; raises
    ``DatabaseUnreachable`` when it does not answer."""
    import sqlalchemy.exc
    from alembic.runtime.migration import MigrationContext

    from models.store import migrate
    from models.store.database import make_engine

    # libpq waits for ever on a host that drops packets; a doctor answers in seconds.
    os.environ.setdefault("PGCONNECT_TIMEOUT", "5")
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            revision = MigrationContext.configure(connection).get_current_revision()
        return revision, migrate.is_current(engine)
    except sqlalchemy.exc.SQLAlchemyError as exc:  # told without data (models.store.refusals)
        raise DatabaseUnreachable(str(getattr(exc, "orig", None) or type(exc).__name__)) from None
    finally:
        engine.dispose()


class DatabaseUnreachable(Exception):
    """The database did not answer; the message is the error's kind, without data."""


def prefect() -> Check:
    """The Prefect server commands would use answers, or none is configured (embedded)."""
    import httpx

    from leadflow import stack

    url = os.environ.get("PREFECT_API_URL", "")
    if not url:
        return Check(
            "prefect",
            True,
            "embedded: no server needed (each command runs its flows itself; "
            "`leadflow up` starts the local stack)",
        )
    running = stack.running()
    whose = " (the local stack's)" if running and running.api_url == url else ""
    try:
        answered = httpx.get(f"{url.rstrip('/')}/health", timeout=5).status_code == 200
    except httpx.HTTPError:
        answered = False
    if answered:
        return Check("prefect", True, f"the server at {url}{whose} answers")
    return Check(
        "prefect",
        False,
        f"the server at {url}{whose} does not answer",
        "start it (`leadflow up` for the local stack), or unset PREFECT_API_URL",
    )


def calendar(policy: Policy) -> Check:
    """The official calendar (the library's years, and the policy's) covers this year,
    and next year from November."""
    today = get_settings().today or datetime.now(SHANGHAI).date()
    work = WorkCalendar(policy.calendar.extra_years)
    covered = [y for y in range(today.year - 30, today.year + 6) if _covers(work, y)]
    later = today.month < NEXT_YEAR_FROM_MONTH
    needed = [today.year] if later else [today.year, today.year + 1]
    lacking = [year for year in needed if year not in covered]
    detail = f"covers {_spans(covered) or 'no year'}"
    if not lacking:
        if later and today.year + 1 not in covered:
            detail += f" ({today.year + 1} is needed from 1 November)"
        return Check("calendar", True, detail)
    return Check(
        "calendar",
        False,
        f"{detail}; {', '.join(map(str, lacking))} not covered: deadlines there are provisional",
        "`.venv/bin/pip install -U chinesecalendar` once a release covers it, or add the "
        "year's announced holidays and workdays to the policy's calendar.extra_years and run "
        "`leadflow init --policy FILE`",
    )


def _covers(work: WorkCalendar, year: int) -> bool:
    return not work.is_workday(date(year, 1, 1))[1]


def _spans(years: list[int]) -> str:
    """``2004–2026, 2028``: consecutive years as ranges."""
    spans: list[list[int]] = []
    for year in years:
        if spans and spans[-1][-1] == year - 1:
            spans[-1].append(year)
        else:
            spans.append([year])
    return ", ".join(f"{s[0]}–{s[-1]}" if len(s) > 1 else str(s[0]) for s in spans)


def _policy() -> Policy:
    """The policy in force (its calendar may add years the library lacks)."""
    from models.services.policy import in_force
    from models.store.database import engine_for, transaction

    with transaction(engine_for(get_settings().database_url)) as session:
        return in_force(session)
