"""Reading input files into schemas, with every problem placed at its file, line and field.

Nothing here touches the database: a file is read and validated whole (or, for
line-oriented files, line by line) before anything is written.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from models.errors import BadInput, Problem
from models.schemas import LeadIn, OrganisationIn, ReturnRow

# Limits on what one input may hold (README, "Limits").
MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_LINE_BYTES = 1024 * 1024
MAX_YAML_NODES = 200_000
MAX_YAML_DEPTH = 50

# libyaml's parser where PyYAML was built with it (PyPI's wheels are): 20x faster than the
# pure-Python one, which needs seconds for a few hundred thousand nodes.
YamlLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


def unreadable(path: Path, exc: OSError) -> BadInput:
    """Why ``path`` could not be opened, in the words every input file gets."""
    reason = {
        FileNotFoundError: "no such file",
        IsADirectoryError: "is a directory, not a file",
        PermissionError: "cannot be read: permission denied",
    }.get(type(exc), f"cannot be read: {exc.strerror}")
    return BadInput([Problem(str(path), reason)])


def check_readable(path: Path) -> None:
    """Refuse, before any work starts, a file that cannot be opened (:func:`unreadable`)."""
    try:
        path.open("rb").close()
    except OSError as exc:
        raise unreadable(path, exc) from None


def read_text(path: Path, *, max_bytes: int = MAX_FILE_BYTES) -> str:
    name = str(path)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise BadInput([Problem(name, f"file is {size} bytes; the limit is {max_bytes}")])
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise unreadable(path, exc) from None
    except UnicodeDecodeError as exc:
        raise BadInput([Problem(name, f"is not UTF-8 text (byte {exc.start})")]) from None


def _field(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _problems(
    source: str, exc: ValidationError, line_of: Any = None, line: int | None = None
) -> list[Problem]:
    problems = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        where = line_of(loc) if line_of else line
        problems.append(Problem(source, err["msg"], line=where, field=_field(loc) or None))
    return problems


def _line_in(node: yaml.Node | None, loc: tuple[int | str, ...]) -> int | None:
    """The line of the deepest node on ``loc`` that exists (1-based)."""
    best = None if node is None else node.start_mark.line + 1
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            found = None
            for key, value in node.value:
                if key.value == part:
                    best, found = key.start_mark.line + 1, value
                    break
            node = found
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            node = node.value[part] if part < len(node.value) else None
            if node is not None:
                best = node.start_mark.line + 1
        else:
            break
        if node is None:
            break
    return best


def _yaml_problem(source: str, exc: yaml.YAMLError) -> BadInput:
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        reason = " ".join(p for p in (exc.context, exc.problem) if p)
        return BadInput([Problem(source, reason, line=mark.line + 1 if mark else None)])
    return BadInput([Problem(source, str(exc))])


def _precheck(loader: Any, source: str) -> None:
    """Walk the document's events — no tree is built — and stop at the first level or node
    past the limits: a document nested 100,000 deep or holding millions of nodes is
    refused in the time it takes to read up to the limit, not to build it."""
    depth = nodes = 0
    while loader.check_event():
        event = loader.get_event()
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_YAML_DEPTH:
                line = event.start_mark.line + 1 if event.start_mark else None
                raise BadInput(
                    [Problem(source, f"nested deeper than {MAX_YAML_DEPTH} levels", line=line)]
                )
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
        if isinstance(event, yaml.NodeEvent):
            nodes += 1
            if nodes > MAX_YAML_NODES:
                raise BadInput([Problem(source, f"holds more than {MAX_YAML_NODES} YAML nodes")])


def _compose(text: str, source: str) -> yaml.Node | None:
    loader = None
    try:
        # The reader refuses unprintable characters as soon as it is made.
        loader = YamlLoader(text)
        _precheck(loader, source)
        loader.dispose()
        loader = YamlLoader(text)
        node = loader.get_single_node()
    except yaml.YAMLError as exc:
        raise _yaml_problem(source, exc) from None
    except RecursionError:
        raise BadInput([Problem(source, "nested too deeply to read")]) from None
    finally:
        if loader is not None:
            loader.dispose()
    _check_size(node, source)
    return node


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _check_size(root: yaml.Node | None, source: str) -> None:
    """Refuse alias bombs and monstrous or deeply nested documents before anything is built.

    An alias is a reference, so a few lines can stand for billions of nodes once
    expanded; the size counted here is the expanded one (each shared node's size is
    computed once and added at every place it is referenced).
    """
    if root is None:
        return
    sizes: dict[int, int] = {}
    stack: list[tuple[yaml.Node, int, bool]] = [(root, 1, False)]
    while stack:
        node, depth, children_done = stack.pop()
        if depth > MAX_YAML_DEPTH:
            raise BadInput(
                [
                    Problem(
                        source,
                        f"nested deeper than {MAX_YAML_DEPTH} levels",
                        line=node.start_mark.line + 1,
                    )
                ]
            )
        if id(node) in sizes:
            continue
        children = _children(node)
        if children_done:
            sizes[id(node)] = 1 + sum(sizes[id(c)] for c in children)
            if sizes[id(node)] > MAX_YAML_NODES:
                raise BadInput(
                    [
                        Problem(
                            source,
                            f"expands to more than {MAX_YAML_NODES} YAML nodes "
                            "(through aliases or sheer size)",
                        )
                    ]
                )
            continue
        stack.append((node, depth, True))
        stack.extend((c, depth + 1, False) for c in children if id(c) not in sizes)


def _construct(node: yaml.Node | None, text: str, source: str) -> Any:
    if node is None:
        return None
    loader = YamlLoader(text)
    try:
        return loader.construct_document(node)
    except yaml.YAMLError as exc:  # an unknown tag, a key that cannot be a key, …
        raise _yaml_problem(source, exc) from None
    finally:
        loader.dispose()


def read_yaml_model(path: Path, schema: type[M]) -> M:
    source = str(path)
    text = read_text(path)
    node = _compose(text, source)
    try:
        return schema.model_validate(_construct(node, text, source))
    except ValidationError as exc:
        raise BadInput(_problems(source, exc, lambda loc: _line_in(node, loc))) from None


def read_organisation(
    path: Path,
) -> tuple[OrganisationIn, Callable[[tuple[int | str, ...]], int | None]]:
    """The organisation, and a function from a field's path to its line (for later checks)."""
    source = str(path)
    text = read_text(path)
    node = _compose(text, source)
    data = _construct(node, text, source)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise BadInput([Problem(source, "the top level must be a mapping", line=1)])

    def locate(loc: tuple[int | str, ...]) -> int | None:
        return _line_in(node, loc)

    try:
        return OrganisationIn.model_validate(data), locate
    except ValidationError as exc:
        raise BadInput(_problems(source, exc, locate)) from None


def read_lead(path: Path) -> LeadIn:
    source = str(path)
    text = read_text(path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadInput([Problem(source, f"not valid JSON: {exc.msg}", line=exc.lineno)]) from None
    except RecursionError:
        raise BadInput([Problem(source, "nested too deeply to read")]) from None
    try:
        return LeadIn.model_validate(data)
    except ValidationError as exc:
        try:  # JSON is YAML: its node tree gives each field's line
            node = _compose(text, source)
        except BadInput:
            node = None
        raise BadInput(_problems(source, exc, lambda loc: _line_in(node, loc))) from None


@dataclass(frozen=True)
class Numbered(Generic[T]):
    line: int
    item: T


def read_jsonl(path: Path, schema: type[M]) -> Iterator[Numbered[M] | Problem]:
    """Each line parsed and validated on its own: a good item or the problem with it.

    A line is first validated straight from its bytes (pydantic parses the JSON itself,
    in Rust: 13 µs a lead against 22 through ``json.loads``); a line that fails is read
    again the careful way, which words the problem and accepts what ``json.loads`` does
    (other encodings than UTF-8, a lone surrogate escaped), so the fast way changes
    nothing but the time (tests/unit/test_fuzz_inputs.py holds the two to each other).
    """
    source = str(path)
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise unreadable(path, exc) from None
    fast = schema.model_validate_json
    with handle:
        for number, raw in enumerate(handle, start=1):
            if len(raw) > MAX_LINE_BYTES:
                yield Problem(source, f"line longer than {MAX_LINE_BYTES} bytes", line=number)
                continue
            try:
                item = fast(raw)
            except ValidationError:
                if raw.strip():
                    yield _read_carefully(source, number, raw, schema)
                continue
            yield Numbered(number, item)


def _read_carefully(source: str, number: int, raw: bytes, schema: type[M]) -> Numbered[M] | Problem:
    """A line through ``json.loads`` and the schema: the item, or the first problem (one
    a line is enough to find and fix it)."""
    try:
        data = json.loads(raw)
    except UnicodeDecodeError:
        return Problem(source, "not UTF-8 text", line=number)
    except json.JSONDecodeError as exc:
        return Problem(source, f"not valid JSON: {exc.msg}", line=number)
    except RecursionError:
        return Problem(source, "nested too deeply to read", line=number)
    try:
        return Numbered(number, schema.model_validate(data))
    except ValidationError as exc:
        return _problems(source, exc, line=number)[0]


RETURNS_HEADER = ["period", "unit", "indicator", "value"]


def read_returns(path: Path) -> list[Numbered[ReturnRow]]:
    source = str(path)
    text = read_text(path)
    reader = csv.reader(io.StringIO(text, newline=""))
    problems: list[Problem] = []
    rows: list[Numbered[ReturnRow]] = []
    try:
        header = next(reader, None)
        if header is None or [h.strip() for h in header] != RETURNS_HEADER:
            raise BadInput(
                [Problem(source, f"the header must be {','.join(RETURNS_HEADER)}", line=1)]
            )
        for record in reader:
            number = reader.line_num
            if not record or all(not cell.strip() for cell in record):
                continue
            if len(record) != len(RETURNS_HEADER):
                problems.append(
                    Problem(source, f"expected 4 values, found {len(record)}", line=number)
                )
                continue
            values = dict(zip(RETURNS_HEADER, (cell.strip() for cell in record), strict=True))
            try:
                rows.append(Numbered(number, ReturnRow.model_validate(values)))
            except ValidationError as exc:
                problems.extend(_problems(source, exc, line=number))
    except csv.Error as exc:
        problems.append(Problem(source, f"not valid CSV: {exc}", line=reader.line_num))
    if problems:
        raise BadInput(problems)
    return rows
