"""The `leadflow` command (docs/commands.md).

``--json`` puts one JSON document on stdout and nothing else there; everything for
people — tables, progress, messages — goes to stderr. Exit status: 0 success,
1 a rule refused, 2 bad input. No traceback reaches the user.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from contextlib import AbstractContextManager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import sqlalchemy.exc
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from leadflow import steps
from models import audit, documents
from models.config.policy import default_policy, read_policy
from models.config.settings import get_settings
from models.documents import audit_record
from models.domain.errors import (
    BadInput,
    LeadFlowError,
    NotHandedOn,
    Problem,
    RuleRefused,
    Unavailable,
)
from models.domain.people import Person, clean_text
from models.domain.recusal import RecusalShortfall
from models.domain.terms import STATES, action_term
from models.domain.triage import Mode
from models.inputs.files import read_text
from models.inputs.readers import check_readable, read_lead, read_organisation, read_returns
from models.services import (
    access,
    amending,
    anchoring,
    applications,
    audit_search,
    clock,
    findings,
    identity,
    intake,
    interviews,
    organisation,
    people,
    reporter_requests,
    reporters,
    returns,
    runtime,
    upgrades,
    verifying,
)
from models.services.desk import Desk
from models.services.disposal import HandledCounts, close, dispose, record_outcome
from models.services.policy import in_force, install
from models.services.rectification import follow_up, order_rectification, report_rectification
from models.services.triage import decide
from models.store import migrate
from models.store.database import engine_for, transaction
from models.store.lead import Lead
from models.store.organisation import Unit

err = Console(stderr=True, highlight=False, soft_wrap=True)

if TYPE_CHECKING:  # the boards' types, for the board's printing only
    from models.domain.board import Board
    from models.domain.scoring import Cell, Row

app = typer.Typer(
    help="LeadFlow: the lifecycle of case leads (问题线索) in discipline supervision. "
    "Exit status: 0 done, 1 a rule refused, 2 bad input; --json prints one JSON document "
    "on stdout.",
    pretty_exceptions_enable=False,
    no_args_is_help=True,
    add_completion=False,
)
org_app = typer.Typer(help="The organisation: units, zones, unit groups, entities, talent pool.")
lead_app = typer.Typer(
    help="Leads: arrival, the leader's decision, handling, rectification, closure, "
    "and the reporter's identity."
)
stats_app = typer.Typer(help="Units' monthly returns.")
audit_app = typer.Typer(help="The audit trail: a lead's events, its record, the whole chain.")
docs_app = typer.Typer(help="Issued documents: rendering the pending, checking every PDF.")
board_app = typer.Typer(help="The colour boards (多色榜).")
escalate_app = typer.Typer(help="The monthly and quarterly escalations.")
interview_app = typer.Typer(help="Interviews (约谈) as held: who, whom, when, what followed.")
reporter_app = typer.Typer(
    help="Officers' requests to see a reporter, and the custodian's grants (信访室)."
)
user_app = typer.Typer(help="People, their roles and API tokens (docs/permissions.md).")
for sub, name in (
    (org_app, "org"),
    (lead_app, "lead"),
    (stats_app, "stats"),
    (audit_app, "audit"),
    (docs_app, "docs"),
    (board_app, "board"),
    (escalate_app, "escalate"),
    (interview_app, "interview"),
    (user_app, "user"),
    (reporter_app, "reporter"),
):
    app.add_typer(sub, name=name)


def _shell_commands() -> None:
    """The local stack's and the worker's commands, which live beside the stack."""
    from leadflow import stack, worker

    for command in (*stack.COMMANDS, *worker.COMMANDS):
        app.command()(command)


_shell_commands()

JsonFlag = Annotated[bool, typer.Option("--json", help="One JSON document on stdout.")]


def _engine(*, initialised: bool = True) -> Engine:
    """The database, its schema current, and who acts on it known (or the refusal recorded)."""
    engine = engine_for(get_settings().database_url)
    if initialised and not migrate.is_current(engine):
        raise LeadFlowError(
            "the database has no LeadFlow schema, or an old one: run `leadflow init` first"
        )
    if initialised:
        _person()
    return engine


def _person() -> Person:
    person = runtime.person()
    if identity.single_operator(person) and not _told_single_operator:
        _tell_single_operator(person)
    return person


_told_single_operator = False


def _tell_single_operator(person: Person) -> None:
    global _told_single_operator
    _told_single_operator = True
    err.print(
        f"single-operator mode: acting as {person.name} with every role "
        "(the database has no users yet; `leadflow user add` makes the first admin)",
        markup=False,
    )


def _work() -> AbstractContextManager[Session]:
    """One transaction as the person acting; a refused attempt is recorded."""
    _engine()
    return runtime.work()


def _permit(act: str) -> Person:
    """Stop here unless the person acting may perform ``act`` (docs/permissions.md)."""
    with _work() as session:
        access.permit(session, runtime.person(), act)
    return runtime.person()


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
    chosen = default_policy() if policy_file is None else read_policy(policy_file)
    engine = _engine(initialised=False)
    if migrate.is_current(engine):
        _permit("policy.install")  # once people exist, only an admin upgrades and installs
    else:
        upgrades.check_before_upgrade(engine)
    migrate.upgrade(engine)
    with _work() as session:
        changes = install(session, chosen, by=runtime.person())
    url = engine.url.render_as_string(hide_password=True)
    err.print(f"schema is current on {url}; policy {'loaded' if changes else 'unchanged'}")
    for path, was, now in changes if policy_file is not None else []:
        err.print(f"  {path}: {_shown(was)} → {_shown(now)}", markup=False)
    if (key := anchoring.make_key()) is not None:
        err.print(f"the audit anchors' signing key made at {key} (mode 0600)", markup=False)
    _emit(
        {
            "database": url,
            "policy_loaded": bool(changes),
            "policy_sha256": chosen.digest(),
            "policy_changes": [{"setting": p, "was": w, "now": n} for p, w, n in changes],
        },
        as_json,
    )


def _shown(value: object) -> str:
    return "(none)" if value is None else json.dumps(value, ensure_ascii=False)


@org_app.command("load")
def org_load(file: Path, as_json: JsonFlag = False) -> None:
    """Load units, zones, unit groups, entities, the talent pool and designations (idempotent)."""
    org, locate = read_organisation(file)
    with _work() as session:
        report = organisation.load(
            session, org, source=str(file), locate=locate, by=runtime.person()
        )
    if report.changed:
        err.print(
            f"{file}: created {report.created or 'nothing'}, updated {report.updated or 'nothing'}"
        )
    else:
        err.print(f"{file}: already loaded, nothing changed")
    _emit({"file": str(file), "created": report.created, "updated": report.updated}, as_json)


@lead_app.command("submit")
def lead_submit(
    file: Path,
    no_wait: Annotated[
        bool, typer.Option("--no-wait", help="Return once the lead is handed on.")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """One lead arrives: recorded, handed to the intake flow (receipt, de-duplication,
    triage, assignment), and followed until it is triaged. Prints the lead's id."""
    lead = read_lead(file)
    with _work() as session:
        access.permit(session, runtime.person(), "lead.register")
        intake.check_references(session, [intake.Arrival(lead, str(file))])
    from leadflow import arrivals

    done = arrivals.submit(lead, source=str(file), wait=not no_wait, say=_say)
    lead_id = done.receipt.lead_id
    if done.receipt.duplicate:
        err.print(f"{lead.external_id} arrived before: lead {lead_id}, nothing new ({done.state})")
    elif done.state == "received":
        err.print(
            f"{lead.external_id} recorded as lead {lead_id} and handed on (run {done.handed_to}); "
            "not triaged yet"
        )
    else:
        waits = ", awaiting a leader's decision" if done.state == "triaged" else ""
        err.print(f"{lead.external_id} received as lead {lead_id}: {done.state}{waits}")
    for notice in done.notices:
        err.print(f"  notice: {notice}")
    for message in done.held_messages:  # the lead goes on; its notice waits for the rewrite
        err.print(f"  {message}", markup=False)
    if as_json:
        _emit(done.as_dict(), True)
    else:
        sys.stdout.write(f"{lead_id}\n")


def _say(line: str) -> None:
    err.print(line, markup=False)


@lead_app.command("post")
def lead_post(file: Path, as_json: JsonFlag = False) -> None:
    """Post a lead as the event `leadflow.lead.received` to the Prefect server (the running
    stack's, or PREFECT_API_URL); its `lead-intake` deployment runs the intake. The arrival
    is recorded here first; the event carries references only (ids)."""
    from leadflow import arrivals, prefect_runs

    lead = read_lead(file)
    if not prefect_runs.server_configured():
        raise RuleRefused(
            "prefect", "posting an event needs a Prefect server: `leadflow up`, or PREFECT_API_URL"
        )
    with _work() as session:
        access.permit(session, runtime.person(), "lead.register")
        intake.check_references(session, [intake.Arrival(lead, str(file))])
    receipt, event_id = arrivals.post(lead, source=str(file))
    if receipt.duplicate:
        err.print(f"{lead.external_id} arrived before: lead {receipt.lead_id}, nothing posted")
    else:
        err.print(f"{lead.external_id}: lead {receipt.lead_id}, event {event_id} posted")
    _emit(
        {
            "lead_id": receipt.lead_id,
            "external_id": lead.external_id,
            "event": None if receipt.duplicate else event_id,
            "duplicate": receipt.duplicate,
        },
        as_json,
    )


@app.command()
def reconcile(
    watch: Annotated[
        bool, typer.Option("--watch", help="Pass after pass until stopped (the stack's).")
    ] = False,
    every: Annotated[
        float, typer.Option("--every", min=0.1, max=3600, help="Seconds between passes.")
    ] = 5.0,
    grace: Annotated[
        float | None,
        typer.Option(
            "--grace",
            min=0,
            max=86400,
            help="Seconds a hand-on is left to its run (LEADFLOW_RECONCILE_GRACE_SECONDS).",
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Hand on again every lead whose intake has not completed (never handed on, its
    hand-on failed, or its run lost), each attempt exactly once; prints what it re-drove."""
    from datetime import timedelta

    from leadflow import reconciler

    if watch:  # the stack's (or a production machine's) reconciler is a service: the system
        runtime.identify_with(None)
    _permit("intake.reconcile")
    left = timedelta(seconds=get_settings().reconcile_grace_seconds if grace is None else grace)
    if watch:
        reconciler.watch(every=every, grace=left, report=_report_pass)
        return
    done = reconciler.run_pass(grace=left)
    _report_pass(done)
    _emit(done.as_dict(), as_json)
    if done.prefect_unreachable:
        raise Unavailable("the Prefect server cannot be reached: nothing was handed on")
    if done.not_handed:
        raise NotHandedOn(
            f"{len(done.not_handed)} lead(s) recorded but not handed on; the next pass will try"
        )


def _report_pass(done: Any) -> None:
    for lead_id in done.handed_on:
        err.print(f"lead {lead_id}: handed on")
    for lead_id in done.taken_in_here:
        err.print(f"lead {lead_id}: intake run here")
    for lead_id in done.not_handed:
        err.print(f"lead {lead_id}: could not be handed on (Prefect refused); next pass")
    for document_id in done.notices_held:
        err.print(
            f"document {document_id}: held, it would name its lead's reporter "
            "(`leadflow lead amend` rewrites the field)"
        )
    if done.prefect_unreachable:
        err.print("the Prefect server cannot be reached; next pass")


def _count_lines(path: Path) -> int:
    try:
        with path.open("rb") as handle:
            return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))
    except OSError:
        return 0


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
    _permit("lead.register")
    check_readable(file)
    progress = Progress(
        TextColumn("importing {task.fields[name]}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
    )
    from flows.bulk import lead_import as import_flow
    from leadflow import prefect_runs

    with progress:
        task = progress.add_task("import", total=_count_lines(file) or None, name=file.name)
        report = prefect_runs.run_flow(
            import_flow, _say, str(file), size, lambda n: progress.advance(task, n)
        )
    registered, duplicates, rejected = report.registered, report.duplicates, report.rejected
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


LeadRef = Annotated[str, typer.Argument(metavar="LEAD_ID", help="Id or external id.")]
Reason = Annotated[str, typer.Option("--reason", help="Why: kept in the audit trail.")]


def _act(lead_ref: str, act: str, step: steps.Step) -> dict[str, Any]:
    """One handling step in one transaction, then its notices rendered; what happened."""
    _engine()
    taken = steps.take(runtime.person(), lead_ref, act, step)
    notices = [
        {"number": d.number, "kind": d.kind, "status": d.status, "pdf": d.path}
        for d in taken.rendered
    ]
    result = {
        "lead_id": taken.lead_id,
        "state": taken.state,
        "version": taken.version,
        "notices": notices,
        "held": _held(taken.rendered),
    }
    err.print(f"lead {taken.lead_id}: now {taken.state}")
    for notice in notices:
        err.print(f"  {notice['kind']} {notice['number']}: {notice['pdf'] or notice['status']}")
    _tell_held(taken.rendered, str(taken.lead_id))
    documents.raise_if_undrawn(taken.rendered)  # the step stands; its notice could not be drawn
    return result


def _held(rendered: list[Any]) -> list[dict[str, Any]]:
    """The documents held because they would name the lead's reporter: which, and the
    fields that carry the identity (never the identity)."""
    return [
        {"number": d.number, "kind": d.kind, "fields": documents.held_fields(d)}
        for d in rendered
        if d.status == documents.HELD
    ]


def _tell_held(rendered: list[Any], lead: str | None = None) -> None:
    """One line on stderr a held document: the fields to rewrite and the command that does."""
    for document in rendered:
        if document.status == documents.HELD:
            named = lead or str(document.lead_id)
            err.print(f"  {documents.hold_message(document, named)}", markup=False)


def _reasoned(reason: str) -> str:
    if not reason.strip():
        raise BadInput([Problem("--reason", "a step needs a reason for the audit trail")])
    return clean_text(reason, field="reason", source="--reason")


@lead_app.command("amend")
def lead_amend(
    lead_ref: LeadRef,
    field: Annotated[
        str,
        typer.Option(
            "--field",
            help="summary (反映问题) or finding (核查结论), as notices print them.",
        ),
    ],
    text_file: Annotated[
        Path,
        typer.Option(
            "--text-file",
            help="The new text, UTF-8 (a file, so it stays out of the shell's history).",
        ),
    ],
    reason: Reason,
    as_json: JsonFlag = False,
) -> None:
    """Rewrite a lead's text that notices print — most often to take out a reporter named
    in it: the lead's held notices are then issued under their numbers, or stay held."""
    _reasoned(reason)
    text = read_text(text_file).removeprefix("\ufeff")
    amended: list[amending.Amended] = []

    def step(session: Any, desk: Desk, lead_id: int) -> None:
        done = amending.amend(
            session, desk, lead_id, field=field, text=text, reason=reason, source=str(text_file)
        )
        amended.append(done)

    result = _act(lead_ref, "lead.amend", step)
    done = amended[0]
    if done.changed:
        again = ", ".join(done.documents) or "none"
        err.print(f"lead {done.lead_id}: {field} amended; documents rendered again: {again}")
    else:
        err.print(f"lead {done.lead_id}: {field} already says this; nothing changed")
    _emit({**result, "field": field, "changed": done.changed, "documents": done.documents}, as_json)


@lead_app.command("decide")
def lead_decide(
    lead_ref: LeadRef,
    mode: Annotated[Mode, typer.Option("--mode", help="own, joint, escalated or cross.")],
    by: Annotated[
        str | None,
        typer.Option(
            "--by", help="The leader who decided; once users exist, yourself (the default)."
        ),
    ] = None,
    reason: Reason = "",
    as_json: JsonFlag = False,
) -> None:
    """委领导分析研判: a leader's decision on the proposed handling mode, then the assignment."""
    _reasoned(reason)
    shortfalls: list[RecusalShortfall] = []

    def step(session: Any, desk: Desk, lead_id: int) -> None:
        shortfall = decide(session, desk, lead_id, mode=mode, by=by, reason=reason)
        if shortfall is not None:
            shortfalls.append(shortfall)

    # Recorded here first; the run waiting for it, if any, is then given the key alone.
    result = _act(lead_ref, "lead.decide", step)
    waiting = steps.resume_decided(result["lead_id"])
    if waiting:
        err.print(f"lead {result['lead_id']}: the waiting intake run {waiting} resumed")
        result["resumed_flow_run"] = waiting
    if shortfalls:
        raise RuleRefused(
            "recusal",
            f"{shortfalls[0]}; the decision is recorded and escalated handling is now "
            "proposed to the leader instead — the rule is not relaxed",
        )
    _emit(result, as_json)


@lead_app.command("apply")
def lead_apply(
    lead_ref: LeadRef,
    mode: Annotated[Mode, typer.Option("--mode", help="joint, escalated or cross.")],
    reason: Reason,
    as_json: JsonFlag = False,
) -> None:
    """协作申请: the handling unit applies for joint, escalated or cross handling; a leader
    decides with `lead decide`, as at triage."""
    _reasoned(reason)
    _emit(
        _act(
            lead_ref,
            "lead.apply",
            lambda s, d, i: applications.apply(s, d, i, mode=mode, reason=reason),
        ),
        as_json,
    )


@lead_app.command("dispose")
def lead_dispose(
    lead_ref: LeadRef,
    method: Annotated[
        str, typer.Option("--method", help="talk_letter, preliminary_verification, hold or close.")
    ],
    reason: Reason,
    as_json: JsonFlag = False,
) -> None:
    """处置: talk_letter (谈话函询), preliminary_verification (初步核实), hold (暂存待查)
    or close (予以了结)."""
    _reasoned(reason)
    _emit(
        _act(
            lead_ref, "lead.dispose", lambda s, d, i: dispose(s, d, i, method=method, reason=reason)
        ),
        as_json,
    )


@lead_app.command("outcome")
def lead_outcome(
    lead_ref: LeadRef,
    kind: Annotated[
        str,
        typer.Option(
            "--kind",
            help="case_filed, first_form, risk_point, untrue_report or false_accusation.",
        ),
    ],
    finding: Annotated[
        str,
        typer.Option(
            "--finding", help="核查结论: what was verified — what notices to the entity state."
        ),
    ],
    reason: Reason,
    form: Annotated[
        int | None, typer.Option("--form", min=1, max=4, help="The form of handling (四种形态).")
    ] = None,
    educated: Annotated[
        int, typer.Option("--educated", min=0, help="People criticised and educated.")
    ] = 0,
    accountable: Annotated[
        int, typer.Option("--accountable", min=0, help="People held accountable (问责).")
    ] = 0,
    party_sanctions: Annotated[
        int, typer.Option("--party-sanctions", min=0, help="Party sanctions (党纪处分).")
    ] = 0,
    government_sanctions: Annotated[
        int, typer.Option("--government-sanctions", min=0, help="Government sanctions (政务处分).")
    ] = 0,
    clear_name: Annotated[
        bool,
        typer.Option("--clear-name", help="An untrue report: clear the subject's name (澄清正名)."),
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """The outcome of a disposed lead with its finding, and the people handled, which the
    boards count; a false accusation clears the subject's name with a notice."""
    _reasoned(reason)
    counts = HandledCounts(educated, accountable, party_sanctions, government_sanctions)
    _emit(
        _act(
            lead_ref,
            "lead.outcome",
            lambda s, d, i: record_outcome(
                s,
                d,
                i,
                kind=kind,
                reason=reason,
                finding=finding,
                form=form,
                counts=counts,
                clear_name=clear_name,
            ),
        ),
        as_json,
    )


@lead_app.command("finding")
def lead_finding(
    lead_ref: LeadRef,
    finding: Annotated[str, typer.Option("--finding", help="核查结论: what was verified.")],
    reason: Reason,
    as_json: JsonFlag = False,
) -> None:
    """The finding of an outcome recorded before findings were; notices wait for it."""
    _reasoned(reason)
    _emit(
        _act(
            lead_ref,
            "lead.outcome",
            lambda s, d, i: findings.set_finding(s, d, i, finding=finding, reason=reason),
        ),
        as_json,
    )


@lead_app.command("rectify")
def lead_rectify(
    lead_ref: LeadRef,
    reason: Reason,
    days: Annotated[
        int | None,
        typer.Option("--days", min=1, max=365, help="Working days (default: the policy's)."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """限期整改: a rectification notice with a deadline in working days."""
    _reasoned(reason)
    _emit(
        _act(
            lead_ref,
            "lead.rectify",
            lambda s, d, i: order_rectification(s, d, i, reason=reason, days=days),
        ),
        as_json,
    )


@lead_app.command("report")
def lead_report(lead_ref: LeadRef, reason: Reason, as_json: JsonFlag = False) -> None:
    """The entity has reported its rectification."""
    _reasoned(reason)
    _emit(
        _act(lead_ref, "lead.report", lambda s, d, i: report_rectification(s, d, i, reason=reason)),
        as_json,
    )


@lead_app.command("follow-up")
def lead_follow_up(
    lead_ref: LeadRef,
    reason: Reason,
    passed: Annotated[bool, typer.Option("--passed/--failed", help="What the check found.")],
    as_json: JsonFlag = False,
) -> None:
    """回头看: verify the rectification; only a verified one is struck off (销号) and closed."""
    _reasoned(reason)
    _emit(
        _act(
            lead_ref,
            "lead.follow_up",
            lambda s, d, i: follow_up(s, d, i, passed=passed, reason=reason),
        ),
        as_json,
    )


@lead_app.command("close")
def lead_close(lead_ref: LeadRef, reason: Reason, as_json: JsonFlag = False) -> None:
    """办结 without rectification: 予以了结 at triage, or after an outcome that needs none."""
    _reasoned(reason)
    _emit(_act(lead_ref, "lead.close", lambda s, d, i: close(s, d, i, reason=reason)), as_json)


def _day(on: str | None) -> date | None:
    """A command's ``--on``: a replayed day, checked here as well as where the run acts, so
    a run handed to a worker is refused before it is handed on."""
    try:
        day = date.fromisoformat(on) if on else None
    except ValueError:
        raise BadInput([Problem("--on", "not a date (YYYY-MM-DD)")]) from None
    if day is not None:
        clock.check_replayed(day, named="--on")
    return day


@app.command()
def sweep(
    on: Annotated[
        str | None, typer.Option("--on", help="The day to sweep for (YYYY-MM-DD).")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """The daily deadline sweep: each overdue rectification up the ladder (reminder, urging,
    supervision, accountability), each step once; leaders reminded of unanswered proposals."""
    day = _day(on)
    _permit("sweep.run")
    from flows.sweep import deadline_sweep
    from leadflow import prefect_runs

    steps = prefect_runs.run_flow(deadline_sweep, _say, day)
    for step in steps:
        err.print(f"lead {step['lead_id']}: {step['step']} {step['number']}")
    err.print(f"{len(steps)} step(s) taken")
    _emit({"on": str(day or runtime.desk().today), "steps": steps}, as_json)


@app.command()
def web(
    host: Annotated[str, typer.Option("--host", help="The address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="The port.")] = 8000,
    tls_cert: Annotated[
        Path | None,
        typer.Option("--tls-cert", help="A PEM certificate (chain): serve HTTPS with it."),
    ] = None,
    tls_key: Annotated[
        Path | None, typer.Option("--tls-key", help="The PEM private key of --tls-cert.")
    ] = None,
) -> None:
    """Serve the workbench (工作台) and the JSON API under /api/v1 (its OpenAPI document at
    /api/v1/openapi.json); every request acts as the person signed in or whose token it
    carries. With --tls-cert and --tls-key it serves HTTPS, and the session cookie is sent
    only over it (Secure)."""
    import uvicorn

    from leadflow.web import create_app

    tls = _tls_files(tls_cert, tls_key)
    if not migrate.is_current(_engine(initialised=False)):
        raise LeadFlowError(
            "the database has no LeadFlow schema, or an old one: run `leadflow init`"
        )
    # The intake runs this process starts act as the system; requests, as their caller.
    runtime.identify_with(None)
    scheme = "https" if tls else "http"
    err.print(f"serving the workbench at {scheme}://{host}:{port}/", markup=False)
    err.print(f"serving the JSON API at {scheme}://{host}:{port}/api/v1/", markup=False)
    uvicorn.run(
        create_app(),
        host=host,
        port=port,
        log_level="warning",
        server_header=False,
        ssl_certfile=str(tls[0]) if tls else None,
        ssl_keyfile=str(tls[1]) if tls else None,
    )


def _tls_files(cert: Path | None, key: Path | None) -> tuple[Path, Path] | None:
    """Both TLS files, readable, or neither: half a TLS setting is refused, not ignored."""
    if cert is None and key is None:
        return None
    problems = [
        Problem(option, "needed with the other TLS option")
        for option, given in (("--tls-cert", cert), ("--tls-key", key))
        if given is None
    ]
    problems += [
        Problem(option, "no such file")
        for option, given in (("--tls-cert", cert), ("--tls-key", key))
        if given is not None and not given.is_file()
    ]
    if problems:
        raise BadInput(problems)
    assert cert is not None and key is not None
    return cert, key


@app.command()
def doctor(as_json: JsonFlag = False) -> None:
    """Check this machine: the Chinese fonts, HarfBuzz subsetting, poppler, the database,
    Prefect and the calendar, one line each with the fix for what fails; exit 1 if any does."""
    from leadflow import doctor as machine

    checks = machine.run()
    for check in checks:
        err.print(check.line(), markup=False)
    ok = all(check.ok for check in checks)
    _emit({"checks": [check.as_dict() for check in checks], "ok": ok}, as_json)
    if not ok:
        raise typer.Exit(1)


@app.command()
def bench(
    quick: Annotated[bool, typer.Option("--quick", help="Smaller sizes, for a smoke run.")] = False,
    server: Annotated[
        bool,
        typer.Option("--server", help="The local stack: a Prefect server and two workers."),
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Measure LeadFlow's speed on this machine (figures, not pass/fail)."""
    from leadflow.bench import harness

    results = harness.run(quick=quick, server=server)
    flags = "".join(f" --{n}" for n, on in (("server", server), ("quick", quick)) if on)
    table = Table(title=f"leadflow bench{flags}: this machine")
    for column in ("figure", "value", "target", "met"):
        table.add_column(column, justify="left" if column == "figure" else "right")
    for key, value in results.items():
        target = harness.target(key)
        verdict = harness.met(key, value) if isinstance(value, int | float) else None
        table.add_row(
            key,
            f"{value:,}"
            if isinstance(value, int | float) and not isinstance(value, bool)
            else str(value),
            f"{target[0]} {target[1]:,}" if target else "",
            {True: "[green]yes[/]", False: "[red]no[/]", None: ""}[verdict],
        )
    err.print(table)
    _emit(results, as_json)


@docs_app.command("render")
def docs_render(as_json: JsonFlag = False) -> None:
    """Render every pending document (numbers were allocated when the step was taken)."""
    _permit("documents.render")
    desk = runtime.desk()
    done = documents.render_pending(_engine(), output_dir=desk.output_dir, actor=desk.actor)
    rendered = [{"number": d.number, "status": d.status} for d in done]
    err.print(f"{len(rendered)} document(s) rendered")
    _tell_held(done)
    _emit({"rendered": rendered}, as_json)
    documents.raise_if_undrawn(done)


@docs_app.command("verify")
def docs_verify(as_json: JsonFlag = False) -> None:
    """Re-check every issued document's file against its recorded checksum: exit 0 if all
    hold, else 1 naming each changed or missing file."""
    with _work() as session:
        access.permit(session, runtime.person(), "documents.verify")
        checked, problems = documents.verify_files(session)
    for p in problems:
        err.print(f"{p.number} ({p.path}): {p.problem}", markup=False)
    err.print(f"{checked} document(s) checked, {len(problems)} problem(s)")
    _emit({"checked": checked, "problems": [p.__dict__ for p in problems]}, as_json)
    if problems:
        raise typer.Exit(1)


@stats_app.command("import")
def stats_import(
    file: Path,
    encoding: Annotated[
        str | None,
        typer.Option(
            "--encoding",
            help="The CSV file's encoding, where it is neither UTF-8 nor GB18030 (GBK).",
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Units' monthly returns, `period,unit,indicator,value`, from a CSV file or an .xlsx
    workbook's first sheet; a return imported before for the same key is replaced."""
    rows = read_returns(file, encoding=encoding)
    with _work() as session:
        report = returns.import_returns(session, rows, source=str(file), by=runtime.person())
    err.print(
        f"{file}: {report.created} new, {report.replaced} replaced, {report.unchanged} unchanged"
    )
    _emit({"file": str(file), **report.__dict__}, as_json)


_CELL_STYLES = {"red": "bold white on red", "blue": "bold white on blue", "white": "black on white"}


@board_app.command("show")
def board_show(
    period: Annotated[
        str,
        typer.Option("--period", help="A month 2026-09, a quarter 2026-Q3, or 2026-01..2026-09."),
    ],
    board: Annotated[str, typer.Option("--board", help="resident or county.")] = "resident",
    as_json: JsonFlag = False,
) -> None:
    """A colour board: each indicator's value, rank and colour; score, rank, last place."""

    from models.domain.terms import numeral
    from models.services import boards

    with _work() as session:
        access.permit(session, runtime.person(), "board.read")
        chosen = in_force(session)
        if board not in chosen.boards:
            raise BadInput(
                [Problem("--board", f"'{board}' is not a board ({', '.join(chosen.boards)})")]
            )
        scored = boards.load(session, chosen, period=period, name=board)
    _emit(scored.as_dict(), as_json)
    if as_json:
        return
    out = _board_console()
    if _board_fits(out, scored):
        out.print(_board_table(scored, period))
    else:  # a narrow terminal: one block a unit, every name and label in full
        _print_board_blocks(out, scored, period)
    points, top = chosen.scoring.points, numeral(chosen.scoring.red_max_rank)
    out.print(
        f"红：单项前{top}名，计{points['red']}分　蓝：中间，计{points['blue']}分　"
        f"白：最后，计{points['white']}分　黄：指定单位（不影响计分）"
        f"{'　未报送：排名最后（白）' if scored.missing else ''}"
    )


def _remark(last: bool, missing: bool, zero_report: bool) -> str:
    """A board row's last column: last place, else not filed, else a zero report."""
    if last:
        return "末位"
    return "未报送" if missing else ("零报告" if zero_report else "")


_COLOUR_TERMS = {"red": "红", "blue": "蓝", "white": "白"}


def _board_console() -> Console:
    """The console a board prints on: the terminal's width, or COLUMNS when set; off a
    terminal without it, wide enough for a board (Rich would assume 80)."""
    if err.is_terminal or os.environ.get("COLUMNS", "").isdigit():
        return Console(stderr=True, highlight=False)
    return Console(stderr=True, highlight=False, width=240)


def _board_cell(cell: Cell) -> str:
    """A value with its colour named in Chinese, so the board reads without colours too."""
    value = "未报送" if cell.missing else str(cell.value)
    return f"[{_CELL_STYLES[cell.color]}] {value} {_COLOUR_TERMS[cell.color]} [/]"


def _board_name(scored: Board, row: Row) -> str:
    """A unit by its name; a designated one on yellow, and saying so (黄)."""
    name = scored.names[row.unit]
    return f"[black on yellow]{name}[/] 黄" if row.yellow else name


def _board_title(scored: Board, period: str) -> str:
    from models.documents.bulletin import period_label

    return f"{scored.title}“多色榜”　{period_label(period)}"


def _board_table(scored: Board, period: str) -> Table:
    """The board as one table: a unit a row, names whole, labels on at most two lines."""
    table = Table(title=_board_title(scored, period), show_lines=False)
    table.add_column("单位", no_wrap=True)
    cells = _cells_width(scored)
    for label in scored.indicators.values():
        header, width = _header(label, cells)
        table.add_column(header, justify="right", width=width)
    for header in ("得分", "排名", "备注"):
        table.add_column(header, justify="right", no_wrap=True)
    for row in scored.rows:
        table.add_row(
            _board_name(scored, row),
            *(_board_cell(row.cells[code]) for code in scored.indicators),
            str(row.score),
            str(row.rank),
            _remark(row.last, row.unit in scored.missing, row.zero_report),
        )
    return table


def _header(label: str, cells: int) -> tuple[str, int]:
    """A column's header on two lines at most, and the column's width: the cells' width,
    or half the label's; cut before its unit, 受理问题线索 / (件), where that fits."""
    width = max(cells, (_width(label) + 1) // 2)
    if _width(label) <= width:
        return label, width
    cut = label.find("(")
    by_unit = max(_width(label[:cut]), _width(label[cut:])) if cut > 0 else width + 3
    if by_unit <= width + 2:  # worth two more columns
        return f"{label[:cut]}\n{label[cut:]}", max(width, by_unit)
    while True:
        head = max(i for i in range(len(label) + 1) if _width(label[:i]) <= width)
        if _width(label[head:]) <= width:
            return f"{label[:head]}\n{label[head:]}", width
        width += 1


def _width(markup: str) -> int:
    """The columns a text takes on a terminal, its markup left out (a Chinese character: 2)."""
    from rich.text import Text

    return Text.from_markup(markup).cell_len


def _board_fits(out: Console, scored: Board) -> bool:
    """Whether the table fits the console with every name whole and each header on two
    lines at most; else Rich would cut names to one character."""
    names = max((_width(_board_name(scored, r)) for r in scored.rows), default=4)
    cells = _cells_width(scored)
    widths = [names] + [_header(x, cells)[1] for x in scored.indicators.values()] + [4, 4, 6]
    return sum(widths) + 3 * len(widths) + 1 <= out.width


def _cells_width(scored: Board) -> int:
    """The width of the board's widest cell: a value with its colour, or 未报送 with it."""
    return max((_width(_board_cell(c)) for r in scored.rows for c in r.cells.values()), default=4)


def _print_board_blocks(out: Console, scored: Board, period: str) -> None:
    """The board for a narrow terminal: a unit a block — rank, name, score, remark, then
    each indicator's label, value and colour, as many to a line as fit."""
    from rich.columns import Columns
    from rich.padding import Padding
    from rich.text import Text

    out.print(_board_title(scored, period), style="italic")
    for row in scored.rows:
        remark = _remark(row.last, row.unit in scored.missing, row.zero_report)
        out.print(
            f"第{row.rank}名　{_board_name(scored, row)}　综合得分 {row.score}"
            + (f"　{remark}" if remark else "")
        )
        pairs = [
            Text.from_markup(f"{label}{_board_cell(row.cells[code])}")
            for code, label in scored.indicators.items()
        ]
        out.print(Padding(Columns(pairs, padding=(0, 2)), (0, 0, 0, 4)))


def _escalate(kind: str, period: str | None, on: str | None, as_json: bool) -> None:
    day = _day(on)
    _permit("escalation.run")
    from flows.escalation import monthly_escalation, quarterly_escalation
    from leadflow import prefect_runs

    run = monthly_escalation if kind == "monthly" else quarterly_escalation
    report = prefect_runs.run_flow(run, _say, period, day)
    _tell_run(report)
    err.print(f"{kind} {report['period']}: {len(report['issued'])} document(s) issued")
    _emit(report, as_json)


def _tell_run(report: dict[str, Any]) -> None:
    """What a run did, as officers read it: documents by title, units by name (code)."""
    with transaction(_engine()) as session:
        names: dict[str, str] = dict(session.execute(select(Unit.code, Unit.name)).tuples().all())
        labels = {k: v for b in in_force(session).boards.values() for k, v in b.indicators.items()}

    def unit(code: str | None) -> str:
        return f"{names.get(code, code)}（{code}）" if code else ""

    for said, items in (("已印发", report["issued"]), ("此前已印发", report["already_issued"])):
        for item in items:
            title = documents.TITLES.get(item["document"], item["document"])
            err.print(f"{said} {title} {unit(item['unit'])} {item['number']}", markup=False)
    for flag in report["zero_reports"]:
        err.print(f"零报告：{unit(flag['unit'])}，建议自主研判", markup=False)
    for flag in report["missing"]:
        missing = "、".join(labels.get(i, i) for i in flag["indicators"])
        err.print(f"未报送：{unit(flag['unit'])} {missing}", markup=False)
    for change in report["data_changed"]:
        err.print(
            f"数据已变动（不再重发）：{unit(change['unit'])} "
            f"{labels.get(change['indicator'], change['indicator'])} {change['period']}："
            f"{change['was']} → {change['now']}",
            markup=False,
        )


PeriodOption = Annotated[
    str | None, typer.Option("--period", help="Default: the period that ended last.")
]
OnOption = Annotated[str | None, typer.Option("--on", help="The run's day (YYYY-MM-DD).")]


@escalate_app.command("monthly")
def escalate_monthly(
    period: PeriodOption = None, on: OnOption = None, as_json: JsonFlag = False
) -> None:
    """The monthly run: boards, bulletin, work warning notices, zero-report flags."""
    _escalate("monthly", period, on, as_json)


@escalate_app.command("quarterly")
def escalate_quarterly(
    period: PeriodOption = None, on: OnOption = None, as_json: JsonFlag = False
) -> None:
    """The quarterly run: interview notices, unit groups' and consolidated reports."""
    _escalate("quarterly", period, on, as_json)


@interview_app.command("record")
def interview_record(
    numbers: Annotated[
        list[str], typer.Argument(metavar="NOTICE…", help="The interview notices' numbers.")
    ],
    held_on: Annotated[str, typer.Option("--held-on", help="The day it was held (YYYY-MM-DD).")],
    interviewer: Annotated[str, typer.Option("--interviewer", help="The leader who interviewed.")],
    interviewee: Annotated[str, typer.Option("--interviewee", help="Who was interviewed.")],
    followed: Annotated[str, typer.Option("--followed", help="What followed, e.g. 诫勉谈话.")],
    reason: Reason,
    meeting: Annotated[
        str | None, typer.Option("--meeting", help="A collective interview meeting's name.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """约谈 as held: one notice, or several held together in one meeting (集体约谈)."""
    _reasoned(reason)
    try:
        day = date.fromisoformat(held_on)
    except ValueError:
        raise BadInput([Problem("--held-on", "not a date (YYYY-MM-DD)")]) from None
    held = interviews.Held(day, interviewer, interviewee, followed, meeting)
    desk = runtime.desk()
    with _work() as session:
        recorded = interviews.record_held(session, desk, numbers, held, reason=reason)
    err.print(f"{len(recorded)} interview(s) recorded as held on {day}")
    _emit({"recorded": list(dict.fromkeys(numbers)), "held_on": str(day)}, as_json)


def _find_lead(session: Session, ref: str, act: str) -> Lead:
    return access.find_lead(session, runtime.person(), ref, act)


@audit_app.command("show")
def audit_show(
    lead_ref: Annotated[str, typer.Argument(metavar="LEAD_ID", help="Id or external id.")],
    as_json: JsonFlag = False,
) -> None:
    """The lead's audit trail, oldest first."""
    with _work() as session:
        lead = _find_lead(session, lead_ref, "lead.read")
        events = [audit.as_dict(e) for e in audit.events_for_lead(session, lead.id)]
        head = {
            "lead_id": lead.id,
            "external_id": lead.external_id,
            "state": lead.state,
            "version": lead.version,
        }
    state = STATES.get(lead.state, lead.state)
    err.print(f"lead {lead.id} ({lead.external_id}) — {state}, version {lead.version}")
    for e in events:
        err.print(f"  {_printable(_audit_line(e))}", markup=False)
    _emit({**head, "events": events}, as_json)


def _audit_line(event: dict[str, Any]) -> str:
    """One event as a person reads it: Beijing time to the minute, the act and the states
    by their Chinese names, who and why; the codes stay in --json."""
    before, after = (
        STATES.get(s or "", s or "") for s in (event["state_before"], event["state_after"])
    )
    moved = f"  [{before + ' ' if before else ''}→ {after}]" if event["state_after"] else ""
    reason = audit_record.reason_text(event["action"], event["reason"], event["data"])
    when = audit_record.local_minute(event["at"])
    act = action_term(event["action"])
    return f"{event['seq']:>6}  {when}  {event['actor']}  {act}{moved}  {reason}"


@audit_app.command("export")
def audit_export(lead_ref: LeadRef, as_json: JsonFlag = False) -> None:
    """The lead's full audit record as a PDF: events, documents, whether the chain holds."""
    _engine()
    lead_id, path, sha256 = audit_search.export_record(runtime.person(), lead_ref)
    err.print(f"audit record of lead {lead_id}: {path}")
    _emit({"lead_id": lead_id, "pdf": str(path), "sha256": sha256}, as_json)


@lead_app.command("reporter")
def lead_reporter(lead_ref: LeadRef, reason: Reason, as_json: JsonFlag = False) -> None:
    """The reporter's identity, for the custodian (信访室), or for an officer once with a
    granted request: the read is recorded in the audit trail with who read it and why."""
    with _work() as session:
        lead_id, identity = reporters.reveal(session, lead_ref, by=runtime.person(), reason=reason)
    shown = identity.__dict__ if identity else None
    err.print(f"lead {lead_id}: {shown or 'no reporter on record (anonymous)'}", markup=False)
    _emit({"lead_id": lead_id, "reporter": shown}, as_json)


@reporter_app.command("request")
def reporter_request(lead_ref: LeadRef, reason: Reason, as_json: JsonFlag = False) -> None:
    """An officer asks the custodian to see the reporter of one of their unit's leads."""
    with _work() as session:
        asked = reporter_requests.ask(session, runtime.person(), lead_ref, reason=reason)
    err.print(f"request {asked} sent to the custodian (信访室)")
    _emit({"request": asked}, as_json)


def _answer(request: int, *, grant: bool, hours: int, reason: str, as_json: bool) -> None:
    with _work() as session:
        answered = reporter_requests.answer(
            session, runtime.person(), request, grant=grant, hours=hours, reason=reason
        )
        expires = answered.expires_at
    err.print(f"request {request} {'granted until ' + str(expires) if grant else 'refused'}")
    _emit({"request": request, "granted": grant, "expires_at": expires}, as_json)


@reporter_app.command("grant")
def reporter_grant(
    request: Annotated[int, typer.Argument(metavar="REQUEST", help="The request's number.")],
    reason: Reason,
    hours: Annotated[int, typer.Option("--hours", min=1, max=72, help="How long.")] = 24,
    as_json: JsonFlag = False,
) -> None:
    """The custodian grants an officer's request: one read, within --hours."""
    _answer(request, grant=True, hours=hours, reason=reason, as_json=as_json)


@reporter_app.command("refuse")
def reporter_refuse(
    request: Annotated[int, typer.Argument(metavar="REQUEST", help="The request's number.")],
    reason: Reason,
    as_json: JsonFlag = False,
) -> None:
    """The custodian refuses an officer's request."""
    _answer(request, grant=False, hours=1, reason=reason, as_json=as_json)


@audit_app.command("verify")
def audit_verify(as_json: JsonFlag = False) -> None:
    """Check the whole audit chain: exit 0 if intact, else 1 naming the first bad event."""
    checked = verifying.check_all(_engine(), runtime.person())
    verdict, anchored, seconds = checked.chain, checked.anchors, checked.seconds
    if not checked.recorded:
        err.print("the check could not be recorded: the database refused the write")
    rate = verdict.events / seconds if seconds > 0 else 0.0
    if verdict.intact:
        err.print(
            f"audit chain intact: {verdict.events} events verified in {seconds:.2f} s "
            f"({rate:,.0f} events/s)"
        )
    else:
        err.print(f"audit chain BROKEN at event {verdict.seq}: {verdict.problem}")
    if anchored.intact:
        err.print(f"{anchored.anchors} anchor(s) outside the database agree with the chain")
    else:
        err.print(f"audit anchors DISAGREE: {anchored.problem}", markup=False)
    _emit(
        {
            "intact": verdict.intact and anchored.intact,
            "events": verdict.events,
            "first_bad_event": verdict.seq if verdict.seq is not None else anchored.first_bad_event,
            "problem": verdict.problem or anchored.problem,
            "anchors": anchored.anchors,
            "anchor": anchored.anchor,
            "seconds": seconds,
        },
        as_json,
    )
    if not checked.intact:
        raise typer.Exit(1)


@audit_app.command("anchor")
def audit_anchor(as_json: JsonFlag = False) -> None:
    """Sign the chain's head now and append it to the anchors outside the database."""
    _permit("audit.anchor")
    signed = anchoring.anchor(_engine())
    err.print(f"anchor {signed.n}: event {signed.seq} {signed.hash} signed at {signed.at}")
    _emit({"anchor": signed.n, "seq": signed.seq, "hash": signed.hash, "at": signed.at}, as_json)


def _password() -> str:
    """The password from standard input: typed unseen at a terminal, else its first line."""
    if sys.stdin.isatty():
        import getpass

        return getpass.getpass("password: ")
    return sys.stdin.readline().rstrip("\r\n")


@user_app.command("add")
def user_add(
    username: Annotated[str, typer.Argument(help="Letters, digits, - and _.")],
    name: Annotated[str, typer.Option("--name", help="The person's name, as the record shows it.")],
    unit: Annotated[str, typer.Option("--unit", help="The code of their home unit.")],
    role: Annotated[
        list[str],
        typer.Option(
            "--role",
            help="officer, unit_head (in --unit, or officer@CODE), leader, case_manager, "
            "custodian, auditor, admin; repeat for more.",
        ),
    ],
    as_json: JsonFlag = False,
) -> None:
    """A person and their roles; the password (12 characters or more) is read from standard
    input. While no user exists, the single operator adds the first — an admin — and their
    first API token is printed on stdout."""
    password = _password()
    with _work() as session:
        by = runtime.person()
        added = people.add(
            session, by, username=username, name=name, unit=unit, roles=role, password=password
        )
        # The first admin's token, or nobody could act once the single operator is gone.
        token = people.issue_token(session, by, username) if identity.single_operator(by) else None
    grants = [str(g) for g in sorted(added.grants)]
    err.print(f"user {username} ({name}) added: {', '.join(grants)}", markup=False)
    if token is not None:
        err.print("the first user's API token (printed once; set it as LEADFLOW_TOKEN):")
        if not as_json:
            sys.stdout.write(token + "\n")
    document = {"username": username, "name": name, "unit": unit, "roles": grants}
    _emit({**document, "token": token} if token else document, as_json)


@user_app.command("token")
def user_token(username: str, as_json: JsonFlag = False) -> None:
    """A new API token for USERNAME, printed once on stdout (kept only as its digest)."""
    with _work() as session:
        token = people.issue_token(session, runtime.person(), username)
    err.print(f"a new token for {username}: keep it secret, it is not shown again")
    if as_json:
        _emit({"username": username, "token": token}, True)
    else:
        sys.stdout.write(token + "\n")


@user_app.command("revoke")
def user_revoke(username: str, as_json: JsonFlag = False) -> None:
    """Disable USERNAME and revoke every token of theirs."""
    with _work() as session:
        revoked = people.revoke(session, runtime.person(), username)
    err.print(f"user {username} disabled, {revoked} token(s) revoked")
    _emit({"username": username, "tokens_revoked": revoked}, as_json)


def _printable(text: str) -> str:
    """One line of a table, whatever a record holds: a control character is shown escaped."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def main() -> None:
    """The console script: domain errors become messages and exit codes, never tracebacks."""
    # No telemetry from a commission's machine (and none can leave it anyway).
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    try:
        from leadflow import stack

        stack.use_running()
        runtime.identify_with(identity.command_line)
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
        err.print(
            f"leadflow: the database cannot be used ({exc.orig}): this step recorded nothing",
            markup=False,
        )
        sys.exit(Unavailable.exit_code)
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
