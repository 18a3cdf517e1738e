"""Reading YAML files (the organisation, the policy) into schemas, each problem placed at
its line and field.

A YAML document is refused before any of it is built when it is nested too deeply or
holds too many nodes, aliases expanded (an alias bomb is a few lines); only then is it
composed into nodes, which also tell each field's line, and constructed into data for
the schema.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from models.domain.errors import BadInput, Problem
from models.inputs.files import LineOf, read_text, validation_problems
from models.inputs.schemas import OrganisationIn

# Limits on what one YAML document may hold, aliases expanded (README, "Limits").
MAX_YAML_NODES = 200_000
MAX_YAML_DEPTH = 50

# libyaml's parser where PyYAML was built with it (PyPI's wheels are), much faster than
# the pure-Python one, which needs seconds for a few hundred thousand nodes.
YamlLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

M = TypeVar("M", bound=BaseModel)


def line_in(node: yaml.Node | None, loc: tuple[int | str, ...]) -> int | None:
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
        if "depth" in (exc.problem or ""):
            # libyaml stops a flow collection at its own limit before our walk reaches
            # ours: the user reads the same sentence whichever limit was met first.
            reason = f"nested deeper than {MAX_YAML_DEPTH} levels"
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


def compose(text: str, source: str) -> yaml.Node | None:
    """The document's node tree, once it is known to stay within the limits."""
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
    """A YAML file validated by ``schema`` (the policy, for one)."""
    source = str(path)
    text = read_text(path)
    node = compose(text, source)
    try:
        return schema.model_validate(_construct(node, text, source))
    except ValidationError as exc:
        raise BadInput(validation_problems(source, exc, lambda loc: line_in(node, loc))) from None


def read_organisation(path: Path) -> tuple[OrganisationIn, LineOf]:
    """The organisation, and a function from a field's path to its line (for later checks)."""
    source = str(path)
    text = read_text(path)
    node = compose(text, source)
    data = _construct(node, text, source)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise BadInput([Problem(source, "the top level must be a mapping", line=1)])

    def locate(loc: tuple[int | str, ...]) -> int | None:
        return line_in(node, loc)

    try:
        return OrganisationIn.model_validate(data), locate
    except ValidationError as exc:
        raise BadInput(validation_problems(source, exc, locate)) from None
