"""The layers' rules, read from the source with ``ast`` (docs/architecture.md, the shape).

Who may import what: the domain rules are plain code (no SQLAlchemy, Prefect, Jinja,
WeasyPrint, no file IO); models/ never reaches up into the flows or the shells; the
flows never import the shells; only models/documents/ renders; Prefect is imported by the
flows and by the one adapter the shells go through, leadflow/prefect_runs.py. And how long
a function in models/ or flows/ may grow. Every ``import`` counts, at any depth (inside a
function too), relative ones resolved, and ``importlib.import_module("…")`` with a
literal name. Each rule is also run on a violation planted in a temporary tree laid out
like this one, so a rule that could never fail would be found out.
"""

from __future__ import annotations

import ast
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MAX_FUNCTION_LINES = 60


@dataclass(frozen=True)
class Found:
    """One breach: where, and what (an imported module, a call, a function's length)."""

    path: str  # relative to the tree's root, "/"-separated
    line: int
    what: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.what}"


def sources(root: Path, under: str) -> Iterator[tuple[str, ast.Module]]:
    """Every Python module below ``root / under``, parsed, with its relative path."""
    for path in sorted((root / under).rglob("*.py")):
        relative = path.relative_to(root).as_posix()
        yield relative, ast.parse(path.read_text(encoding="utf-8"), filename=relative)


def _package(relative: str) -> list[str]:
    """The package a module's relative imports start from."""
    parts = relative.removesuffix(".py").split("/")
    return parts[:-1]  # a package's __init__ and a plain module alike: the folder


def _literal_import(node: ast.Call) -> str | None:
    """The module named by ``importlib.import_module("m")`` or ``__import__("m")``."""
    func = node.func
    named = (isinstance(func, ast.Attribute) and func.attr == "import_module") or (
        isinstance(func, ast.Name) and func.id in ("import_module", "__import__")
    )
    first = node.args[0] if node.args else None
    if named and isinstance(first, ast.Constant) and isinstance(first.value, str):
        return first.value
    return None


def imports(relative: str, tree: ast.Module) -> Iterator[tuple[int, str]]:
    """Each module the source imports, absolute, with its line; for ``from m import n``
    both ``m`` and ``m.n`` (``n`` may be a submodule)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = _package(relative)
                start = package[: len(package) - (node.level - 1)]
                base = ".".join([*start, base] if base else start)
            yield node.lineno, base
            for alias in node.names:
                if alias.name != "*":
                    yield node.lineno, f"{base}.{alias.name}"
        elif isinstance(node, ast.Call) and (name := _literal_import(node)):
            yield node.lineno, name


def _within(module: str, names: tuple[str, ...]) -> bool:
    return any(module == name or module.startswith(name + ".") for name in names)


def _covers(relative: str, places: tuple[str, ...]) -> bool:
    return any(relative == p or relative.startswith(p + "/") for p in places)


@dataclass(frozen=True)
class ImportRule:
    """The modules below ``under`` (less ``exempt``) import nothing within ``forbidden``."""

    name: str
    under: tuple[str, ...]
    forbidden: tuple[str, ...]
    exempt: tuple[str, ...] = ()

    def check(self, root: Path) -> list[Found]:
        found = []
        for place in self.under:
            for relative, tree in sources(root, place):
                if _covers(relative, self.exempt):
                    continue
                for line, module in imports(relative, tree):
                    if _within(module, self.forbidden):
                        found.append(Found(relative, line, module))
        return sorted(set(found), key=lambda f: (f.path, f.line, f.what))


# Rendering, storage and orchestration libraries, and the modules that reach files.
IO_MODULES = ("importlib.resources", "pathlib", "io", "shutil", "tempfile")
# The layers of models/ above the domain.
OUTER_LAYERS = ("services", "store", "audit", "documents", "inputs", "config")
RULES = {
    rule.name: rule
    for rule in (
        ImportRule(
            "the domain is plain code",
            ("models/domain",),
            ("sqlalchemy", "prefect", "jinja2", "weasyprint", *IO_MODULES),
        ),
        ImportRule(
            "the domain stands on nothing else of LeadFlow",
            ("models/domain",),
            tuple(f"models.{layer}" for layer in OUTER_LAYERS),
        ),
        ImportRule(
            "only services call services",
            ("models",),
            ("models.services",),
            exempt=("models/services",),
        ),
        ImportRule("models never import flows or shells", ("models",), ("flows", "leadflow")),
        ImportRule("flows never import shells", ("flows",), ("leadflow",)),
        ImportRule(
            "only documents render",
            ("models",),
            ("jinja2", "weasyprint"),
            exempt=("models/documents",),
        ),
        ImportRule(
            "Prefect only in flows and its adapters (commands, workers)",
            ("models", "leadflow"),
            ("prefect",),
            exempt=("leadflow/prefect_runs.py", "leadflow/worker.py"),
        ),
    )
}

# Calls that read or write files: the builtin open(), and Path's and importlib.resources'.
FILE_CALLS = ("read_text", "read_bytes", "write_text", "write_bytes", "open", "files")


def file_io(root: Path, under: str = "models/domain") -> list[Found]:
    """Calls below ``under`` that read or write a file."""
    found = []
    for relative, tree in sources(root, under):
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            if isinstance(func, ast.Name) and func.id == "open":
                found.append(Found(relative, node.lineno, "open()"))
            elif isinstance(func, ast.Attribute) and func.attr in FILE_CALLS:
                found.append(Found(relative, node.lineno, f".{func.attr}()"))
    return found


def long_functions(
    root: Path, under: tuple[str, ...] = ("models", "flows"), limit: int = MAX_FUNCTION_LINES
) -> list[Found]:
    """Functions and methods, nested ones too, longer than ``limit`` lines from the
    ``def`` line to their last line (decorators not counted)."""
    found = []
    for place in under:
        for relative, tree in sources(root, place):
            for node in ast.walk(tree):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    length = (node.end_lineno or node.lineno) - node.lineno + 1
                    if length > limit:
                        found.append(Found(relative, node.lineno, f"{node.name}: {length} lines"))
    return found


def plant(root: Path, relative: str, source: str) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source), encoding="utf-8")
    return path


# The tree as it is.


@pytest.mark.parametrize("name", RULES)
def test_the_tree_keeps_the_import_rule(name: str) -> None:
    assert [str(f) for f in RULES[name].check(ROOT)] == []


def test_the_domain_reads_and_writes_no_file() -> None:
    assert [str(f) for f in file_io(ROOT)] == []


def test_no_function_in_models_or_flows_is_too_long() -> None:
    assert [str(f) for f in long_functions(ROOT)] == []


def test_the_checker_reads_the_real_tree() -> None:
    """The rules pass because the tree keeps them, not because nothing was read."""
    seen = {
        relative: {module for _, module in imports(relative, tree)}
        for place in ("models", "flows", "leadflow")
        for relative, tree in sources(ROOT, place)
    }
    assert len(seen) > 50
    assert any(_within(m, ("prefect",)) for m in seen["leadflow/prefect_runs.py"])
    assert any(_within(m, ("prefect",)) for m in seen["flows/intake.py"])
    assert any(_within(m, ("sqlalchemy",)) for m in seen["models/store/base.py"])
    assert any(_within(m, ("jinja2",)) for m in seen["models/documents/rendering.py"])
    # The shells start flows through the adapter (their Prefect import is in there).
    assert "leadflow.prefect_runs" in seen["leadflow/cli.py"]
    assert "leadflow.prefect_runs" in seen["leadflow/bench/harness.py"]


# Each rule caught in the act, in a temporary tree.

PLANTED = [
    ("the domain is plain code", "models/domain/planted.py", "import sqlalchemy", "sqlalchemy"),
    (
        "the domain is plain code",
        "models/domain/planted.py",
        "def later():\n    from prefect import flow",
        "prefect",
    ),
    (
        "the domain is plain code",
        "models/domain/sub/planted.py",
        "class Page:\n    def html(self):\n        import jinja2.sandbox",
        "jinja2.sandbox",
    ),
    (
        "the domain is plain code",
        "models/domain/planted.py",
        "from weasyprint import HTML",
        "weasyprint",
    ),
    (
        "the domain is plain code",
        "models/domain/planted.py",
        "from importlib import resources",
        "importlib.resources",
    ),
    ("the domain is plain code", "models/domain/planted.py", "import pathlib", "pathlib"),
    (
        "models never import flows or shells",
        "models/services/planted.py",
        "def run():\n    from flows.intake import lead_intake",
        "flows.intake",
    ),
    (
        "models never import flows or shells",
        "models/domain/planted.py",
        "from ...leadflow import cli",
        "leadflow",
    ),
    (
        "models never import flows or shells",
        "models/store/planted.py",
        "import importlib\nimportlib.import_module('leadflow.cli')",
        "leadflow.cli",
    ),
    (
        "the domain stands on nothing else of LeadFlow",
        "models/domain/planted.py",
        "from models.store.lead import Lead",
        "models.store.lead",
    ),
    (
        "the domain stands on nothing else of LeadFlow",
        "models/domain/planted.py",
        "from models.config import policy",
        "models.config",
    ),
    (
        "only services call services",
        "models/store/planted.py",
        "from models.services.organisation import ORG_LOADED",
        "models.services.organisation",
    ),
    ("flows never import shells", "flows/planted.py", "from leadflow import cli", "leadflow"),
    ("only documents render", "models/services/planted.py", "import jinja2", "jinja2"),
    ("only documents render", "models/store/planted.py", "import weasyprint", "weasyprint"),
    (
        "Prefect only in flows and its adapters (commands, workers)",
        "models/services/planted.py",
        "from prefect import get_run_logger",
        "prefect",
    ),
    (
        "Prefect only in flows and its adapters (commands, workers)",
        "leadflow/cli.py",
        "def serve():\n    from prefect.deployments import run_deployment",
        "prefect.deployments",
    ),
    (
        "Prefect only in flows and its adapters (commands, workers)",
        "leadflow/bench/harness.py",
        "def run():\n    import prefect",
        "prefect",
    ),
]


@pytest.mark.parametrize(("name", "relative", "source", "module"), PLANTED)
def test_a_planted_import_is_reported(
    tmp_path: Path, name: str, relative: str, source: str, module: str
) -> None:
    plant(tmp_path, "models/domain/clean.py", "from models.domain.errors import BadInput\n")
    plant(tmp_path, "flows/clean.py", "from models.services import door\n")
    plant(tmp_path, "leadflow/clean.py", "from leadflow import prefect_runs\n")
    plant(tmp_path, relative, "\n\n" + source + "\n")
    found = RULES[name].check(tmp_path)
    assert found and all(f.path == relative and f.line >= 3 for f in found)
    assert module in {f.what for f in found}


@pytest.mark.parametrize(
    ("name", "relative", "source"),
    [
        ("only documents render", "models/documents/rendering.py", "import jinja2, weasyprint"),
        (
            "Prefect only in flows and its adapters (commands, workers)",
            "leadflow/prefect_runs.py",
            "import prefect",
        ),
        (
            "Prefect only in flows and its adapters (commands, workers)",
            "flows/intake.py",
            "from prefect import flow",
        ),
        ("models never import flows or shells", "leadflow/cli.py", "from flows import bulk"),
        ("the domain is plain code", "models/store/base.py", "import sqlalchemy"),
    ],
)
def test_what_a_rule_allows_is_not_reported(
    tmp_path: Path, name: str, relative: str, source: str
) -> None:
    plant(tmp_path, relative, source + "\n")
    for place in ("models", "flows", "leadflow"):
        (tmp_path / place).mkdir(exist_ok=True)
    assert RULES[name].check(tmp_path) == []


@pytest.mark.parametrize(
    ("source", "what"),
    [
        ("def load(name):\n    with open(name) as f:\n        return f.read()", "open()"),
        ("def load(path):\n    return path.read_text()", ".read_text()"),
        ("def save(path, text):\n    path.write_bytes(text)", ".write_bytes()"),
        (
            "import importlib\ndef policy():\n    return importlib.resources.files('x')",
            ".files()",
        ),
    ],
)
def test_planted_file_io_in_the_domain_is_reported(tmp_path: Path, source: str, what: str) -> None:
    plant(tmp_path, "models/domain/planted.py", source + "\n")
    plant(tmp_path, "models/store/allowed.py", "def load(path):\n    return path.read_text()\n")
    assert [(f.path, f.what) for f in file_io(tmp_path)] == [("models/domain/planted.py", what)]


def _function(name: str, lines: int, *, decorators: int = 0, indent: str = "") -> str:
    """A function of exactly ``lines`` lines from its ``def`` to its end."""
    head = [f"{indent}@staticmethod" for _ in range(decorators)]
    body = [f"{indent}    x = {i}" for i in range(lines - 2)]
    return "\n".join([*head, f"{indent}def {name}():", *body, f"{indent}    return x"]) + "\n"


def test_a_planted_long_function_is_reported(tmp_path: Path) -> None:
    limit = MAX_FUNCTION_LINES
    plant(tmp_path, "models/domain/fits.py", _function("fits", limit, decorators=5))
    plant(tmp_path, "models/services/long.py", "\n" + _function("too_long", limit + 1))
    nested = "def outer():\n" + _function("inner", limit + 1, indent="    ") + "    return 1\n"
    plant(tmp_path, "flows/nested.py", nested)
    plant(tmp_path, "leadflow/elsewhere.py", _function("not_covered", limit + 20))
    found = {(f.path, f.line, f.what) for f in long_functions(tmp_path)}
    assert found == {
        ("models/services/long.py", 2, f"too_long: {limit + 1} lines"),
        ("flows/nested.py", 1, f"outer: {limit + 3} lines"),
        ("flows/nested.py", 2, f"inner: {limit + 1} lines"),
    }
