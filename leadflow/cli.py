"""The `leadflow` command (CONTRACT.md).

``--json`` puts one JSON document on stdout and nothing else there; everything for
people — tables, progress, messages — goes to stderr. Exit status: 0 success,
1 a rule refused, 2 bad input. No traceback reaches the user.
"""

from __future__ import annotations

import getpass
import json
import sys
import time
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import sqlalchemy.exc
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from sqlalchemy import Engine, select

from leadflow import migrate
from leadflow.settings import get_settings
from models import audit, intake, lifecycle, org_loader, policy, returns
from models.database import engine_for, transaction
from models.errors import BadInput, LeadFlowError, NotFound, Problem
from models.inputs import Numbered, read_jsonl, read_lead, read_organisation, read_returns
from models.lead import Lead
from models.schemas import LeadIn

err = Console(stderr=True, highlight=False, soft_wrap=True)

app = typer.Typer(
    help="LeadFlow: the lifecycle of case leads (问题线索) in discipline supervision.",
    pretty_exceptions_enable=False,
    no_args_is_help=True,
    add_completion=False,
)
org_app = typer.Typer(help="The organisation: units, zones, unit groups, entities, talent pool.")
lead_app = typer.Typer(help="Leads arriving: one at a time or many at once.")
stats_app = typer.Typer(help="Units' monthly returns.")
audit_app = typer.Typer(help="The audit trail.")
for sub, name in ((org_app, "org"), (lead_app, "lead"), (stats_app, "stats"), (audit_app, "audit")):
    app.add_typer(sub, name=name)

JsonFlag = Annotated[bool, typer.Option("--json", help="One JSON document on stdout.")]


def _actor() -> str:
    try:
        return get_settings().actor or getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _engine(*, initialised: bool = True) -> Engine:
    engine = engine_for(get_settings().database_url)
    if initialised and not migrate.is_current(engine):
        raise LeadFlowError(
            "the database has no LeadFlow schema, or an old one: run `leadflow init` first"
        )
    return engine


def _emit(document: Any, as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps(document, ensure_ascii=False, default=str) + "\n")


@app.command()
def init(
    policy_file: Annotated[
        Path | None, typer.Option("--policy", help="A policy YAML replacing the default.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Create or upgrade the database schema and load the policy (the default one unless given)."""
    chosen = policy.default_policy() if policy_file is None else policy.read_policy(policy_file)
    engine = _engine(initialised=False)
    migrate.upgrade(engine)
    with transaction(engine) as session:
        installed = policy.install(session, chosen, actor=_actor())
    url = engine.url.render_as_string(hide_password=True)
    err.print(f"schema is current on {url}; policy {'loaded' if installed else 'unchanged'}")
    _emit({"database": url, "policy_loaded": installed, "policy_sha256": chosen.digest()}, as_json)


@org_app.command("load")
def org_load(file: Path, as_json: JsonFlag = False) -> None:
    """Load units, zones, unit groups, entities, the talent pool and designations (idempotent)."""
    organisation, locate = read_organisation(file)
    with transaction(_engine()) as session:
        report = org_loader.load(
            session, organisation, source=str(file), locate=locate, actor=_actor()
        )
    if report.changed:
        err.print(
            f"{file}: created {report.created or 'nothing'}, updated {report.updated or 'nothing'}"
        )
    else:
        err.print(f"{file}: already loaded, nothing changed")
    _emit({"file": str(file), "created": report.created, "updated": report.updated}, as_json)


@lead_app.command("submit")
def lead_submit(file: Path, as_json: JsonFlag = False) -> None:
    """One lead arrives: receipt and de-duplication; prints the lead's id."""
    lead = read_lead(file)
    with transaction(_engine()) as session:
        result = intake.register(session, [intake.Arrival(lead, str(file))], actor=_actor())
        if result.problems:
            raise BadInput(result.problems)
    receipt = result.receipts[0]
    if receipt.duplicate:
        err.print(f"{lead.external_id} arrived before: lead {receipt.lead_id}, nothing changed")
    else:
        err.print(f"{lead.external_id} received as lead {receipt.lead_id}")
    if as_json:
        _emit(
            {
                "lead_id": receipt.lead_id,
                "external_id": receipt.external_id,
                "duplicate": receipt.duplicate,
            },
            True,
        )
    else:
        sys.stdout.write(f"{receipt.lead_id}\n")


def _count_lines(path: Path) -> int:
    try:
        with path.open("rb") as handle:
            return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))
    except OSError:
        return 0


def _batches(
    items: Iterator[Numbered[LeadIn] | Problem], size: int, source: str
) -> Iterator[tuple[list[intake.Arrival], list[Problem], int]]:
    arrivals: list[intake.Arrival] = []
    problems: list[Problem] = []
    lines = 0
    for item in items:
        lines += 1
        if isinstance(item, Problem):
            problems.append(item)
        else:
            arrivals.append(intake.Arrival(item.item, source, item.line))
        if len(arrivals) >= size:
            yield arrivals, problems, lines
            arrivals, problems, lines = [], [], 0
    if arrivals or problems or lines:
        yield arrivals, problems, lines


@lead_app.command("import")
def lead_import(
    file: Path,
    batch_size: Annotated[
        int | None, typer.Option(min=1, max=100_000, help="Leads per transaction.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Many leads, one JSON object a line: the same rules, in batches; bad lines are reported
    with their line numbers and the good ones still land. Safe to run again after a crash."""
    size = batch_size or get_settings().import_batch_size
    engine = _engine()
    actor = _actor()
    rows = read_jsonl(file, LeadIn)
    registered = duplicates = 0
    rejected: list[Problem] = []
    progress = Progress(
        TextColumn("importing {task.fields[name]}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
    )
    with progress:
        task = progress.add_task("import", total=_count_lines(file) or None, name=file.name)
        for arrivals, problems, lines in _batches(rows, size, str(file)):
            if arrivals:
                with transaction(engine) as session:
                    result = intake.register(session, arrivals, actor=actor)
                registered += sum(not r.duplicate for r in result.receipts)
                duplicates += sum(r.duplicate for r in result.receipts)
                problems = sorted(problems + result.problems, key=lambda p: p.line or 0)
            rejected.extend(problems)
            progress.advance(task, lines)
    err.print(
        f"{file}: {registered} lead(s) registered, {duplicates} already known, "
        f"{len(rejected)} line(s) rejected"
    )
    for problem in rejected[:50]:
        err.print(f"  {problem}", markup=False)
    if len(rejected) > 50:
        err.print(f"  … and {len(rejected) - 50} more")
    _emit(
        {
            "file": str(file),
            "registered": registered,
            "duplicates": duplicates,
            "rejected": [{"line": p.line, "field": p.field, "reason": p.reason} for p in rejected],
        },
        as_json,
    )
    if rejected:
        raise typer.Exit(2)


@lead_app.command("move")
def lead_move(
    lead_ref: Annotated[str, typer.Argument(metavar="LEAD_ID", help="Id or external id.")],
    move: Annotated[str, typer.Argument(help="A move of the lifecycle table, e.g. triage.")],
    reason: Annotated[str, typer.Option("--reason", help="Why: kept in the audit trail.")],
    version: Annotated[
        int | None, typer.Option("--version", help="The version you saw; refused if stale.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Move a lead through the lifecycle's one door (DOMAIN.md §2); refused moves exit 1."""
    if not reason.strip():
        raise BadInput([Problem("--reason", "a move needs a reason for the audit trail")])
    with transaction(_engine()) as session:
        lead_id = _find_lead(session, lead_ref).id
        moved = lifecycle.perform(
            session,
            lead_id=lead_id,
            move=move,
            actor=_actor(),
            reason=reason,
            expected_version=version,
        )
    err.print(
        f"lead {lead_id}: {moved.move.source} → {moved.move.target} ({moved.move.term}), "
        f"version {moved.version}"
    )
    _emit(
        {
            "lead_id": lead_id,
            "move": move,
            "state": moved.move.target.value,
            "version": moved.version,
            "audit_seq": moved.audit_seq,
        },
        as_json,
    )


@stats_app.command("import")
def stats_import(file: Path, as_json: JsonFlag = False) -> None:
    """Units' monthly returns, `period,unit,indicator,value`; a repeated key replaces."""
    rows = read_returns(file)
    with transaction(_engine()) as session:
        report = returns.import_returns(session, rows, source=str(file), actor=_actor())
    err.print(
        f"{file}: {report.created} new, {report.replaced} replaced, {report.unchanged} unchanged"
    )
    _emit({"file": str(file), **report.__dict__}, as_json)


def _find_lead(session: Any, ref: str) -> Lead:
    query = select(Lead).where(Lead.id == int(ref)) if ref.isdigit() else None
    lead = session.scalar(query) if query is not None else None
    if lead is None:
        lead = session.scalar(select(Lead).where(Lead.external_id == ref))
    if lead is None:
        raise NotFound(f"no lead with id or external id '{ref}'")
    return lead


@audit_app.command("show")
def audit_show(
    lead_ref: Annotated[str, typer.Argument(metavar="LEAD_ID", help="Id or external id.")],
    as_json: JsonFlag = False,
) -> None:
    """The lead's audit trail, oldest first."""
    with transaction(_engine()) as session:
        lead = _find_lead(session, lead_ref)
        events = [audit.as_dict(e) for e in audit.events_for_lead(session, lead.id)]
        head = {
            "lead_id": lead.id,
            "external_id": lead.external_id,
            "state": lead.state,
            "version": lead.version,
        }
    table = Table(title=f"lead {lead.id} ({lead.external_id}) — {lead.state}")
    for column in ("seq", "at (UTC)", "who", "what", "why", "state"):
        table.add_column(column, no_wrap=column != "why")
    for e in events:
        moved = f"{e['state_before'] or ''} → {e['state_after']}" if e["state_after"] else ""
        when = e["at"][:19].replace("T", " ")
        table.add_row(str(e["seq"]), when, e["actor"], e["action"], e["reason"], moved)
    err.print(table)
    _emit({**head, "events": events}, as_json)


@audit_app.command("verify")
def audit_verify(as_json: JsonFlag = False) -> None:
    """Check the whole audit chain: exit 0 if intact, else 1 naming the first bad event."""
    engine = _engine()
    started = time.perf_counter()
    with engine.connect() as connection:
        verdict = audit.verify(connection)
    seconds = time.perf_counter() - started
    rate = verdict.events / seconds if seconds > 0 else 0.0
    if verdict.intact:
        err.print(
            f"audit chain intact: {verdict.events} events verified in {seconds:.2f} s "
            f"({rate:,.0f} events/s)"
        )
    else:
        err.print(f"audit chain BROKEN at event {verdict.seq}: {verdict.problem}")
    _emit(
        {
            "intact": verdict.intact,
            "events": verdict.events,
            "first_bad_event": verdict.seq,
            "problem": verdict.problem,
            "seconds": round(seconds, 3),
        },
        as_json,
    )
    if not verdict.intact:
        raise typer.Exit(1)


def main() -> None:
    """The console script: domain errors become messages and exit codes, never tracebacks."""
    try:
        app()
    except LeadFlowError as exc:
        if isinstance(exc, BadInput):
            err.print(f"bad input ({len(exc.problems)} problem(s)); nothing was changed:")
            for problem in exc.problems[:50]:
                err.print(f"  {problem}", markup=False)
        else:
            err.print(f"leadflow: {exc}", markup=False)
        sys.exit(exc.exit_code)
    except sqlalchemy.exc.OperationalError as exc:
        err.print(f"leadflow: the database cannot be used: {exc.orig}", markup=False)
        sys.exit(1)
    except Exception as exc:  # the last line of defence: log the traceback, show a sentence
        log = Path(get_settings().output_dir) / "leadflow-error.log"
        try:
            log.parent.mkdir(parents=True, exist_ok=True)
            with log.open("a", encoding="utf-8") as handle:
                handle.write(traceback.format_exc())
            where = f"details in {log}"
        except OSError:
            where = "no log could be written"
        err.print(f"leadflow: internal error ({type(exc).__name__}: {exc}); {where}", markup=False)
        sys.exit(70)
