"""The local stack (`leadflow up` / `down` / `status`): one supervised set of processes on
the embedded default — a Prefect server on loopback whose home and SQLite database live
under LEADFLOW_HOME, two long-lived workers and the reconciler — kept by a detached
supervisor that restarts any child that dies and stops them all when it is stopped.

``$LEADFLOW_HOME/stack.json`` describes the running stack (the supervisor writes it and
removes it when it stops); ``$LEADFLOW_HOME/logs/`` holds one log per process. Other
commands find the stack with :func:`running` and :func:`use_running`.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Annotated, Any

import typer

from models.config.settings import get_settings

STATE_FILE = "stack.json"
LOCK_FILE = "stack.lock"
SERVER = "prefect-server"
# `up` returns once the workers have applied this deployment, so that a command run right
# after it can hand a lead on.
SERVED_DEPLOYMENT = "lead-intake/lead-intake"
# Prefect's start (migrations, UI build) takes 6-20 s on a busy two-core machine.
UP_TIMEOUT_S = 90.0
# How long a child has to stop after SIGTERM before it is killed: longer than the
# worker's own grace for its running runs (30 s), so that it can still report them.
STOP_GRACE_S = 40.0
BACKOFF_FIRST_S = 1.0
BACKOFF_MAX_S = 60.0
# A child that ran this long before dying is restarted after the first back-off again.
STABLE_S = 30.0
# The supervisor's exit status when another supervisor already holds this home.
ALREADY_RUNNING = 3
PR_SET_PDEATHSIG = 1

JsonFlag = Annotated[bool, typer.Option("--json", help="One JSON document on stdout.")]


# --- the running stack, as other commands see it ---------------------------------------


@dataclass(frozen=True)
class Child:
    """One process of the stack, as stack.json records it."""

    name: str
    pid: int | None  # None while it waits to be restarted
    log: str
    restarts: int
    command: list[str]
    started_at: str

    @property
    def alive(self) -> bool:
        return self.pid is not None and _alive(self.pid)


@dataclass(frozen=True)
class Stack:
    """The stack running for one LeadFlow home."""

    home: Path
    supervisor_pid: int
    api_url: str
    ready: bool
    started_at: str
    children: tuple[Child, ...]
    web_url: str = ""  # `leadflow web`: the workbench, and the JSON API under /api/v1

    @property
    def ui_url(self) -> str:
        return self.api_url.removesuffix("/api")

    @property
    def logs(self) -> Path:
        return self.home / "logs"


def home() -> Path:
    """This command's LeadFlow home, absolute (the setting may be relative)."""
    return Path(get_settings().home).absolute()


def running(where: Path | None = None) -> Stack | None:
    """The stack running for this home, or None: stack.json read and its supervisor alive
    (no HTTP, so every command can afford to ask)."""
    stack = _read(where or home())
    if stack is None or not _is_supervisor(stack.supervisor_pid):
        return None
    return stack


def use_running() -> None:
    """Point this process at the running stack's Prefect server, if one runs and the user
    has not chosen a server with PREFECT_API_URL."""
    if os.environ.get("PREFECT_API_URL"):
        return
    stack = running()
    if stack is not None:
        os.environ["PREFECT_API_URL"] = stack.api_url


def _read(where: Path) -> Stack | None:
    try:
        raw = json.loads((where / STATE_FILE).read_text(encoding="utf-8"))
        children = tuple(Child(**child) for child in raw["children"])
        return Stack(
            home=where,
            supervisor_pid=int(raw["supervisor_pid"]),
            api_url=str(raw["api_url"]),
            ready=bool(raw["ready"]),
            started_at=str(raw["started_at"]),
            children=children,
            web_url=str(raw.get("web_url", "")),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _alive(pid: int) -> bool:
    """Whether the process exists and is not a zombie waiting to be reaped."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def _is_supervisor(pid: int) -> bool:
    """Alive, and a supervisor rather than an unrelated process that reused a dead one's pid."""
    if not _alive(pid):
        return False
    try:
        return b"leadflow.stack" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return not Path("/proc").is_dir()


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return _alive(pgid) or _group_has_live_member(pgid)


def _group_has_live_member(pgid: int) -> bool:
    """A group whose leader is a zombie may still hold live members."""
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[-1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


def _rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except (OSError, ValueError):
        return None
    return None


def _clean_stale(where: Path) -> bool:
    """Remove a stack.json its supervisor left behind when it was killed; only while
    holding the lock, so that a supervisor starting at this moment keeps its own."""
    if not (where / STATE_FILE).exists():
        return False
    lock = _lock(where, 0)
    if lock is None:
        return False
    with lock:
        (where / STATE_FILE).unlink(missing_ok=True)
    return True


# --- the supervisor ----------------------------------------------------------------------


@dataclass
class _Slot:
    """One child under supervision: how to start it, and its current process."""

    name: str
    command: list[str]
    env: dict[str, str]
    log: Path
    needs_server: bool
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    started: float = 0.0
    started_at: str = ""
    next_start: float = 0.0
    backoff: float = BACKOFF_FIRST_S


@dataclass
class _Supervisor:
    home: Path
    api_url: str
    slots: list[_Slot]
    web_url: str = ""
    started_at: str = field(default_factory=lambda: _now())
    healthy: bool = False
    served: bool = False
    ready: bool = False  # once every child has started on a serving server; stays so
    stopping: bool = False


def _now() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


def _say(message: str) -> None:
    """One time-stamped line in the supervisor's log (its stdout)."""
    print(f"{_now()} {message}", flush=True)


def _cli() -> list[str]:
    """How to run `leadflow` with this very installation."""
    script = Path(sys.executable).with_name("leadflow")
    if script.is_file():
        return [sys.executable, str(script)]
    return [sys.executable, "-c", "from leadflow.cli import main; main()"]


def _commands(port: int, web_port: int) -> dict[str, list[str]]:
    """The stack's processes and their command lines."""
    cli = _cli()
    return {
        SERVER: [
            *(sys.executable, "-m", "leadflow.prefect_runs"),
            *("--host", "127.0.0.1", "--port", str(port)),
        ],
        "worker-1": [*cli, "worker"],
        "worker-2": [*cli, "worker"],
        "reconciler": [*cli, "reconcile", "--watch"],
        "web": [*cli, "web", "--host", "127.0.0.1", "--port", str(web_port)],
    }


def _environment(where: Path, api_url: str, name: str) -> dict[str, str]:
    """The caller's environment (its LEADFLOW_* settings: one database for all), with
    Prefect's state under the home and every client pointed at the stack's server."""
    env = {
        **os.environ,
        "LEADFLOW_HOME": str(where),
        "PREFECT_HOME": str(where / "prefect"),
        "PREFECT_API_URL": api_url,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    }
    if name == SERVER:
        env["PREFECT_LOGGING_LEVEL"] = "WARNING"
        # Marking queued runs late rewrites every one of them on the SQLite database: under
        # a burst those writes lock out the workers' for tens of seconds.
        env["PREFECT_SERVER_SERVICES_LATE_RUNS_ENABLED"] = "false"
    return env


def _slots(where: Path, port: int, api_url: str, web_port: int) -> list[_Slot]:
    return [
        _Slot(
            name=name,
            command=command,
            env=_environment(where, api_url, name),
            log=where / "logs" / f"{name}.log",
            # Workers apply the deployments on start; the reconciler works without a server.
            needs_server=name.startswith("worker-"),
        )
        for name, command in _commands(port, web_port).items()
    ]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def _die_with_parent(parent: int) -> Callable[[], None] | None:
    """A preexec hook making the kernel kill the child when the supervisor dies, even by
    SIGKILL, so that no process of the stack outlives it. The kernel watches the thread
    that forked, which is why the supervisor stays single-threaded."""
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(None, use_errno=True)  # loaded before fork: the hook must not import

    def hook() -> None:
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # the supervisor died before the hook ran
            os._exit(1)

    return hook


def _start(slot: _Slot) -> None:
    slot.log.parent.mkdir(parents=True, exist_ok=True)
    with slot.log.open("ab") as log:
        slot.process = subprocess.Popen(
            slot.command,
            env=slot.env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            process_group=0,  # its own group, so stopping it reaches whatever it started
            preexec_fn=_die_with_parent(os.getpid()),
        )
    slot.started = time.monotonic()
    slot.started_at = _now()
    _say(f"{slot.name} started (pid {slot.process.pid})")


def _reap(slot: _Slot, now: float) -> None:
    """A child died: kill what it left in its group and schedule its restart."""
    assert slot.process is not None
    code = slot.process.returncode
    _killpg(slot.process.pid, signal.SIGKILL)
    if now - slot.started >= STABLE_S:
        slot.backoff = BACKOFF_FIRST_S
    slot.next_start = now + slot.backoff
    _say(
        f"{slot.name} (pid {slot.process.pid}) exited with status {code}; "
        f"restarting in {slot.backoff:g} s"
    )
    slot.backoff = min(slot.backoff * 2, BACKOFF_MAX_S)
    slot.restarts += 1
    slot.process = None


def _killpg(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _write_state(sup: _Supervisor) -> None:
    """stack.json, replaced atomically so that readers never see half of it."""
    state = {
        "supervisor_pid": os.getpid(),
        "api_url": sup.api_url,
        "web_url": sup.web_url,
        "ready": sup.ready,
        "started_at": sup.started_at,
        "children": [
            {
                "name": s.name,
                "pid": None if s.process is None else s.process.pid,
                "log": str(s.log),
                "restarts": s.restarts,
                "command": s.command,
                "started_at": s.started_at,
            }
            for s in sup.slots
        ],
    }
    partial = sup.home / f"{STATE_FILE}.{os.getpid()}"
    partial.write_text(json.dumps(state, indent=2), encoding="utf-8")
    partial.replace(sup.home / STATE_FILE)


def _tick(sup: _Supervisor) -> bool:
    """One round: reap the dead, start what is due, see whether the server answers.
    True when anything changed."""
    changed = False
    now = time.monotonic()
    for slot in sup.slots:
        if slot.process is not None and slot.process.poll() is not None:
            _reap(slot, now)
            changed = True
        due = slot.process is None and now >= slot.next_start
        if due and (sup.healthy or not slot.needs_server) and not sup.stopping:
            _start(slot)
            changed = True
    if not sup.healthy and _answers(f"{sup.api_url}/health"):
        sup.healthy = True
        _say(f"the Prefect server answers at {sup.api_url}")
        changed = True
    elif not sup.served and _answers(f"{sup.api_url}/deployments/name/{SERVED_DEPLOYMENT}"):
        sup.served = True
        _say(f"the deployment {SERVED_DEPLOYMENT} is served")
        changed = True
    if not sup.ready and sup.served and all(s.process is not None for s in sup.slots):
        sup.ready = True
        _say("the local stack is ready")
        changed = True
    return changed


def _terminate(slots: list[_Slot]) -> None:
    """SIGTERM to each child's group, then SIGKILL to whatever is left after the grace."""
    running_slots = [s for s in slots if s.process is not None]
    for slot in running_slots:
        assert slot.process is not None
        _killpg(slot.process.pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_S
    while time.monotonic() < deadline and any(
        s.process is not None and s.process.poll() is None for s in running_slots
    ):
        time.sleep(0.1)
    for slot in running_slots:
        assert slot.process is not None
        _killpg(slot.process.pid, signal.SIGKILL)
        slot.process.wait()
        _say(f"{slot.name} (pid {slot.process.pid}) stopped")
        slot.process = None


def _stop_all(sup: _Supervisor) -> None:
    """Workers and reconciler first, so that they can still report to the server."""
    _terminate([s for s in sup.slots if s.name != SERVER])
    _terminate([s for s in sup.slots if s.name == SERVER])


def _lock(where: Path, wait: float) -> IO[str] | None:
    """The home's lock, held for the supervisor's life: two `up` at once start one stack."""
    handle = (where / LOCK_FILE).open("w")
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return handle
        except BlockingIOError:
            if time.monotonic() >= deadline:
                handle.close()
                return None
            time.sleep(0.05)


def supervise(where: Path) -> int:
    """The supervisor's life: start the children, keep them running, stop them on SIGTERM."""
    (where / "logs").mkdir(parents=True, exist_ok=True)
    lock = _lock(where, 2)  # a moment's wait: `up` or `status` may hold it to clean up
    if lock is None:
        _say(f"a local stack already runs for {where}")
        return ALREADY_RUNNING
    port = _free_port()
    web_port = next(p for p in iter(_free_port, None) if p != port)
    api_url = f"http://127.0.0.1:{port}/api"
    slots = _slots(where, port, api_url, web_port)
    sup = _Supervisor(where, api_url, slots, web_url=f"http://127.0.0.1:{web_port}")

    def stop(signum: int, _frame: object) -> None:
        sup.stopping = True

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, stop)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    _say(f"supervisor (pid {os.getpid()}) starting the local stack for {where}")
    try:
        while not sup.stopping:
            if _tick(sup):
                _write_state(sup)
            time.sleep(0.25)
    finally:
        _stop_all(sup)
        (where / STATE_FILE).unlink(missing_ok=True)
        _say("the local stack stopped")
        lock.close()
    return 0


# --- the commands --------------------------------------------------------------------------


def _describe(stack: Stack | None, where: Path) -> dict[str, Any]:
    """The status document: the stack and each of its processes."""
    if stack is None:
        return {"running": False, "home": str(where)}
    return {
        "running": True,
        "home": str(where),
        "ready": stack.ready,
        "supervisor_pid": stack.supervisor_pid,
        "supervisor_rss_mb": _rss_mb(stack.supervisor_pid),
        "started_at": stack.started_at,
        "api_url": stack.api_url,
        "ui_url": stack.ui_url,
        "web_url": stack.web_url,
        "logs": str(stack.logs),
        "children": [
            {
                "name": c.name,
                "pid": c.pid,
                "alive": c.alive,
                "restarts": c.restarts,
                "rss_mb": None if c.pid is None else _rss_mb(c.pid),
                "started_at": c.started_at,
                "log": c.log,
                "command": c.command,
            }
            for c in stack.children
        ],
    }


def _emit(document: dict[str, Any], as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps(document, ensure_ascii=False) + "\n")


def _echo(message: str) -> None:
    typer.echo(message, err=True)


def _spawn_supervisor(where: Path) -> subprocess.Popen[bytes]:
    """The supervisor, detached in a session of its own so that it outlives the terminal."""
    (where / "logs").mkdir(parents=True, exist_ok=True)
    with (where / "logs" / "supervisor.log").open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "leadflow.stack", str(where)],
            env={**os.environ, "LEADFLOW_HOME": str(where)},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _await_ready(supervisor: subprocess.Popen[bytes], where: Path) -> Stack | int:
    """The stack once its server answers and every child is started, else the supervisor's
    exit status (or -1 when the wait ran out)."""
    deadline = time.monotonic() + UP_TIMEOUT_S
    while time.monotonic() < deadline:
        code = supervisor.poll()
        if code is not None:
            return code
        stack = _read(where)
        if stack is not None and stack.supervisor_pid == supervisor.pid and stack.ready:
            return stack
        time.sleep(0.2)
    return -1


def _abandon(supervisor: subprocess.Popen[bytes]) -> None:
    """Stop a supervisor that did not come up, and with it what it started."""
    supervisor.terminate()
    try:
        supervisor.wait(timeout=2 * STOP_GRACE_S + 5)
    except subprocess.TimeoutExpired:
        supervisor.kill()  # its children die with it (PR_SET_PDEATHSIG)
        supervisor.wait()


def _check_database() -> None:
    """Refuse before starting anything when the stack's processes could not use the
    database (they would only die and be restarted)."""
    from models.domain.errors import LeadFlowError
    from models.store import migrate
    from models.store.database import engine_for

    if not migrate.is_current(engine_for(get_settings().database_url)):
        raise LeadFlowError(
            "the database has no LeadFlow schema, or an old one: run `leadflow init` first"
        )


def _report_up(stack: Stack, seconds: float, as_json: bool) -> None:
    _echo(
        f"the local stack runs for {stack.home} (up in {seconds:.1f} s): "
        f"Prefect UI {stack.ui_url}, API {stack.api_url}; the workbench {stack.web_url}/, "
        f"LeadFlow's JSON API {stack.web_url}/api/v1/; logs in {stack.logs}"
    )
    chosen = os.environ.get("PREFECT_API_URL")
    if chosen:
        _echo(f"PREFECT_API_URL is set in this shell ({chosen}), so commands run here use it")
    _emit(_describe(stack, stack.home), as_json)


def up(as_json: JsonFlag = False) -> None:
    """Start the local stack (a Prefect server, the workers, the reconciler) in the
    background; returns once it answers and prints its addresses."""
    where = home()
    if running(where) is None:
        _check_database()
        _clean_stale(where)
        began = time.monotonic()
        supervisor = _spawn_supervisor(where)
        outcome = _await_ready(supervisor, where)
        if isinstance(outcome, Stack):
            _report_up(outcome, time.monotonic() - began, as_json)
            return
        if outcome != ALREADY_RUNNING:
            _abandon(supervisor)
            _echo(f"the local stack did not start; see the logs in {where / 'logs'}")
            raise typer.Exit(69)
    stack = running(where)
    pid = f" (supervisor pid {stack.supervisor_pid})" if stack else ""
    _echo(f"a local stack already runs for {where}{pid}; `leadflow down` stops it")
    raise typer.Exit(1)


def _wait_gone(stack: Stack, seconds: float) -> list[int]:
    """Wait until the supervisor and every child's process group are gone; the pids left."""
    deadline = time.monotonic() + seconds
    while True:
        left = [c.pid for c in stack.children if c.pid is not None and _group_alive(c.pid)]
        if _alive(stack.supervisor_pid):
            left.insert(0, stack.supervisor_pid)
        if not left or time.monotonic() >= deadline:
            return left
        time.sleep(0.1)


def down(as_json: JsonFlag = False) -> None:
    """Stop the local stack and wait until none of its processes is left."""
    where = home()
    stack = running(where)
    if stack is None:
        _clean_stale(where)
        _echo(f"no local stack runs for {where}")
        _emit({"stopped": False, "home": str(where)}, as_json)
        return
    os.kill(stack.supervisor_pid, signal.SIGTERM)
    left = _wait_gone(stack, 2 * STOP_GRACE_S + 10)
    if left:  # the supervisor did not finish stopping in time: force it
        for pid in left:
            _killpg(pid, signal.SIGKILL)
        os.kill(stack.supervisor_pid, signal.SIGKILL)
        left = _wait_gone(stack, 5)
    (where / STATE_FILE).unlink(missing_ok=True)
    if left:
        _echo(f"the local stack for {where} left processes running: {left}")
        raise typer.Exit(1)
    _echo(f"the local stack for {where} stopped ({len(_pids(stack))} processes)")
    _emit({"stopped": True, "home": str(where), "pids": _pids(stack)}, as_json)


def _pids(stack: Stack) -> list[int]:
    return [stack.supervisor_pid, *(c.pid for c in stack.children if c.pid is not None)]


def status(as_json: JsonFlag = False) -> None:
    """Report the local stack: its addresses and each process with pid, state and restarts."""
    where = home()
    stack = running(where)
    if stack is None:
        stale = " (its stale stack.json removed)" if _clean_stale(where) else ""
        _echo(f"no local stack runs for {where}{stale}")
        _emit(_describe(None, where), as_json)
        return
    doc = _describe(stack, where)
    state = "runs" if stack.ready else "is starting"
    _echo(
        f"the local stack {state} for {where} (supervisor pid {stack.supervisor_pid}, "
        f"since {stack.started_at}): Prefect UI {stack.ui_url}, API {stack.api_url}, "
        f"the workbench {stack.web_url}/, LeadFlow's JSON API {stack.web_url}/api/v1/"
    )
    for child in doc["children"]:
        state = "alive" if child["alive"] else "down" if child["pid"] else "restarting"
        memory = f"{child['rss_mb']} MB" if child["rss_mb"] is not None else "-"
        _echo(
            f"  {child['name']:<15} pid {child['pid'] or '-':<8} {state:<10} "
            f"{child['restarts']} restart(s)  {memory:>9}  {child['log']}"
        )
    _emit(doc, as_json)


COMMANDS = (up, down, status)


if __name__ == "__main__":
    sys.exit(supervise(Path(sys.argv[1])))
