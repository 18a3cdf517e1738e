"""The README held to the truth: its tree names the files that exist, and every package
folder and module of models/, flows/ and leadflow/ is in it; its "Using it" block runs as
written, in order, on a fresh database, after the setup command, and every command in it
succeeds.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.e2e.workbench_client import form_token

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
VENV = ROOT / ".venv"
# The packages whose every folder and module the tree must name.
PACKAGES = ("models", "flows", "leadflow")
# A tree line: its indentation, then one name or several (", "), then two spaces or more
# before what it says. A folder's name ends with "/".
NAME = re.compile(r"[A-Za-z0-9_.\-]+/?")


def _section(markdown: str, heading: str) -> str:
    """The text under a ``## heading``, up to the next heading of the same level."""
    match = re.search(rf"^## {re.escape(heading)}\s*$(.*?)(?=^## |\Z)", markdown, re.M | re.S)
    assert match, f"README.md has no '## {heading}' section"
    return match.group(1)


def _first_block(section: str, languages: tuple[str, ...]) -> str:
    """The first fenced block of one of ``languages`` in a section."""
    match = re.search(r"^```(\w*)\n(.*?)^```", section, re.M | re.S)
    while match and match.group(1) not in languages:
        match = re.search(r"^```(\w*)\n(.*?)^```", section[match.end() :], re.M | re.S)
    assert match, f"no ```{'/'.join(languages)} block in the section"
    return match.group(2)


def tree_paths(block: str) -> list[str]:
    """Every path a tree block names, relative to the root, folders ending in "/"."""
    parents: list[str] = []
    paths: list[str] = []
    for number, line in enumerate(block.splitlines(), start=1):
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip(" "))
        assert indent % 2 == 0, f"tree line {number}: indented by {indent}, not by twos"
        level = indent // 2
        assert level <= len(parents), f"tree line {number}: indented under no folder"
        del parents[level:]
        entry = re.split(r"\s{2,}", line.strip(), maxsplit=1)[0]
        names = [name.strip() for name in entry.split(",")]
        for name in names:
            assert NAME.fullmatch(name), f"tree line {number}: {name!r} is not a file name"
            paths.append("".join(parents) + name)
        if len(names) == 1 and names[0].endswith("/"):
            parents.append(names[0])
    return paths


def package_paths(root: Path) -> set[str]:
    """Every package folder and module of models/, flows/ and leadflow/, as the tree
    spells them; not ``__init__.py``, caches, nor the migrations' versions."""
    found: set[str] = set()
    for package in PACKAGES:
        found.add(f"{package}/")
        for path in (root / package).rglob("*"):
            relative = path.relative_to(root).as_posix()
            if "__pycache__" in path.parts or "migrations/versions" in relative:
                continue
            if path.is_dir():
                found.add(f"{relative}/")
            elif path.suffix == ".py" and path.name != "__init__.py":
                found.add(relative)
    return found


def readme_tree() -> list[str]:
    return tree_paths(
        _first_block(_section(README.read_text(encoding="utf-8"), "How it is built"), ("text",))
    )


def _there(path: Path, *, folder: bool) -> bool:
    return path.is_dir() if folder else path.is_file()


def test_every_path_the_tree_names_exists() -> None:
    named = readme_tree()
    missing = [p for p in named if not _there(ROOT / p, folder=p.endswith("/"))]
    assert not missing, f"README's tree names what is not there: {missing}"
    assert len(named) == len(set(named)), "README's tree names a path twice"


def test_the_tree_names_every_package_folder_and_module() -> None:
    left_out = sorted(package_paths(ROOT) - set(readme_tree()))
    assert not left_out, f"README's tree leaves out: {left_out}"


def test_the_tree_reader_finds_what_is_wrong(tmp_path: Path) -> None:
    """Both directions can fail: a name that is not there, a module left out, and a line
    that is no tree line."""
    (tmp_path / "models" / "domain").mkdir(parents=True)
    (tmp_path / "models" / "domain" / "lifecycle.py").write_text("")
    (tmp_path / "models" / "domain" / "__init__.py").write_text("")
    (tmp_path / "flows").mkdir()
    (tmp_path / "leadflow").mkdir()
    (tmp_path / "leadflow" / "cli.py").write_text("")
    named = tree_paths(
        "models/    the product\n"
        "  domain/  rules\n"
        "    lifecycle.py, triage.py  states; triage\n"
        "flows/     flows\n"
        "leadflow/  shells\n"
    )
    assert named == [
        "models/",
        "models/domain/",
        "models/domain/lifecycle.py",
        "models/domain/triage.py",
        "flows/",
        "leadflow/",
    ]
    assert [p for p in named if not (tmp_path / p).exists()] == ["models/domain/triage.py"]
    assert package_paths(tmp_path) - set(named) == {"leadflow/cli.py"}
    with pytest.raises(AssertionError, match="not a file name"):
        tree_paths("models/  the product\n  the rules as plain code, continued\n")
    with pytest.raises(AssertionError, match="not by twos"):
        tree_paths("models/  the product\n   domain/  rules\n")


def using_it_block() -> str:
    return _first_block(_section(README.read_text(encoding="utf-8"), "Using it"), ("sh",))


def _environment(home: Path) -> dict[str, str]:
    """A user's shell: no LeadFlow or Prefect settings, no venv on the PATH (the block
    puts it there), Prefect's home and a fresh database in the folder."""
    bin_dir = str(VENV / "bin")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("LEADFLOW_", "PREFECT_")) and k != "VIRTUAL_ENV"
    }
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p != bin_dir)
    return env | {
        "LEADFLOW_DATABASE_URL": f"sqlite:///{home / 'leadflow.db'}",
        "PREFECT_HOME": str(home / ".prefect"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "COLUMNS": "200",
    }


def _with_the_stack(block: str) -> str:
    """The block with the local stack started once the organisation is loaded, and
    stopped at the end."""
    lines = block.splitlines()
    at = next(n for n, line in enumerate(lines) if line.startswith("leadflow org load")) + 1
    return "\n".join([*lines[:at], "leadflow up", *lines[at:], "leadflow down"])


@pytest.mark.slow
@pytest.mark.parametrize("stack", [False, True], ids=["embedded", "with the stack"])
def test_the_using_it_block_runs_as_written(tmp_path: Path, stack: bool) -> None:
    """Each command of the block, in order, in a folder laid out as this one after
    `./run demo` (the venv, the examples), on a fresh database: every one exits 0 — on
    the embedded default, and against the local stack (`leadflow up` … `leadflow down`,
    which leaves no process behind)."""
    if not (VENV / "bin" / "activate").is_file():
        pytest.skip(f"no venv at {VENV}: the README's setup command (./run demo) makes it")
    block = using_it_block()
    assert len(re.findall(r"^leadflow ", block, re.M)) >= 20, "the block lost its commands"
    block = _with_the_stack(block) if stack else block
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    (tmp_path / ".venv").symlink_to(VENV, target_is_directory=True)
    failures = tmp_path / "failures.txt"
    script = f"trap 'echo \"exit $? from: $BASH_COMMAND\" >> {failures}' ERR\n{block}\n"
    done = subprocess.run(
        ["bash", "-c", script],
        cwd=tmp_path,
        env=_environment(tmp_path),
        capture_output=True,
        text=True,
        timeout=900,
    )
    failed = failures.read_text(encoding="utf-8") if failures.exists() else ""
    assert done.returncode == 0 and not failed, (
        f"README's 'Using it' block: {failed or f'exit {done.returncode}'}\n{done.stderr[-4000:]}"
    )
    assert done.stdout.splitlines()[0] == "1", "lead submit prints the first lead's id"
    if stack:
        home = str(tmp_path / ".leadflow").encode()
        left = [p for p in Path("/proc").glob("[0-9]*") if _names(p, home)]
        assert not left, f"processes of the stack left behind: {left}"


def _names(process: Path, needle: bytes) -> bool:
    """Whether a live process's command line or environment names ``needle``."""
    try:
        return any(needle in (process / f).read_bytes() for f in ("cmdline", "environ"))
    except OSError:
        return False


# The roles `./run demo` makes an account for, as its table prints them.
DEMO_ROLES = {"admin", "case_manager", "officer", "leader", "custodian", "auditor"}


@pytest.mark.slow
def test_the_demo_ends_with_the_workbench_up(tmp_path: Path) -> None:
    """`./run demo` ends with the local stack running: the workbench's address it prints
    answers, each account of the table it prints signs in with the password it prints,
    the officer sees the demo's lead, and the stop command it prints leaves no process."""
    if not (VENV / "bin" / "activate").is_file():
        pytest.skip(f"no venv at {VENV}: the README's setup command (./run demo) makes it")
    demo = tmp_path / "demo"
    env = {k: v for k, v in _environment(tmp_path).items() if k != "LEADFLOW_DATABASE_URL"}
    said = ""
    try:
        done = subprocess.run(
            ["bash", str(ROOT / "run"), "demo"],
            cwd=ROOT,
            env=env | {"DEMO_DIR": str(demo)},
            capture_output=True,
            text=True,
            timeout=900,
        )
        said = done.stderr
        assert done.returncode == 0, f"./run demo: exit {done.returncode}\n{said[-4000:]}"
        address = re.search(
            r"^  the workbench \(工作台\): +(http://127\.0\.0\.1:\d+)/$", said, re.M
        )
        password = re.search(r"each with the password (\S+):$", said, re.M)
        roles = "|".join(DEMO_ROLES)
        accounts = dict(re.findall(rf"^  (\w+) +\w+ +({roles}) +\S+$", said, re.M))
        assert address and password, said[-3000:]
        assert set(accounts.values()) == DEMO_ROLES, accounts
        _each_account_signs_in(address.group(1), password.group(1), list(accounts))
    finally:
        stop = re.search(r"^  (LEADFLOW_HOME=\S+ \S+/leadflow down)$", said, re.M)
        command = stop.group(1) if stop else f"LEADFLOW_HOME={demo}/home {VENV}/bin/leadflow down"
        subprocess.run(["bash", "-c", command], cwd=ROOT, env=env, capture_output=True, timeout=300)
    left = [p for p in Path("/proc").glob("[0-9]*") if _names(p, str(demo / "home").encode())]
    assert not left, f"processes of the demo's stack left behind: {left}"
    assert stop, "the demo does not say how to stop its stack"


def _each_account_signs_in(address: str, password: str, usernames: list[str]) -> None:
    with httpx.Client(base_url=address, timeout=30) as client:
        assert client.get("/login").status_code == 200
        for username in usernames:
            client.cookies.clear()
            page = client.get("/login")
            answer = client.post(
                "/login",
                data={"csrf": form_token(page.text), "username": username, "password": password},
            )
            assert answer.status_code == 303, f"{username} did not sign in: {answer.status_code}"
            assert "leadflow_session" in client.cookies
            if username == "officer":
                ledger = client.get("/leads")
                assert ledger.status_code == 200 and "KM-2026-000102" in ledger.text
