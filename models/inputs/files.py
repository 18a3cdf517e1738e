"""What every input file shares: the limits on its size, how a file that cannot be read
is worded, how text in an encoding not named is decoded, and how a validation error
becomes problems placed at a line and field.

Nothing here touches the database, and nothing here knows a format: the readers of
each (:mod:`models.inputs.readers`, :mod:`models.inputs.yaml_files`) build on it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

from pydantic import ValidationError

from models.domain.errors import BadInput, Problem

# Limits on what one input may hold (README, "Limits").
MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_LINE_BYTES = 1024 * 1024

T = TypeVar("T")

# From a field's path (pydantic's ``loc``) to its line in the file, where it can be found.
LineOf = Callable[[tuple[int | str, ...]], int | None]


@dataclass(frozen=True)
class Numbered(Generic[T]):
    """An item read from a file, with the line it is on."""

    line: int
    item: T


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
    """The file's text, which must be UTF-8 and at most ``max_bytes`` long."""
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


# What a file whose encoding is not named is read as, in this order: UTF-8 (a byte-order
# mark or none), then GB18030, which holds GBK and GB2312 (what Excel and Notepad write on
# a Chinese Windows machine). Nothing else is guessed: ``--encoding`` names another.
GUESSED_ENCODINGS = ("UTF-8", "GB18030")


def read_bytes(path: Path, *, max_bytes: int = MAX_FILE_BYTES) -> bytes:
    """The file's bytes, at most ``max_bytes`` of them."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise BadInput([Problem(str(path), f"file is {size} bytes; the limit is {max_bytes}")])
        return path.read_bytes()
    except OSError as exc:
        raise unreadable(path, exc) from None


def check_encoding(encoding: str) -> None:
    """Refuse an ``--encoding`` that names no text encoding (``base64`` is a codec, not one)."""
    try:
        b"\0\0\0\0".decode(encoding)  # empty bytes would not even look the name up
    except LookupError:
        raise BadInput(
            [Problem("--encoding", "names no text encoding: name one such as utf-8, gb18030, big5")]
        ) from None
    except ValueError:  # a text encoding, which these bytes are not valid in
        return


def decode(source: str, raw: bytes, encoding: str | None = None) -> str:
    """A file's text: in ``encoding`` if one is named, else in the first of
    ``GUESSED_ENCODINGS`` it is valid in; a byte-order mark at the start is dropped."""
    if encoding is not None:
        check_encoding(encoding)
        try:
            return raw.decode(encoding).removeprefix("\ufeff")
        except UnicodeDecodeError as exc:
            reason = f"is not {encoding} text (byte {exc.start})"
        except ValueError:  # a codec that refuses without saying where
            reason = f"is not {encoding} text"
        raise BadInput([Problem(source, reason)])
    for guess in GUESSED_ENCODINGS:
        try:
            return raw.decode(guess).removeprefix("\ufeff")
        except UnicodeDecodeError:
            continue
    tried = " nor ".join(GUESSED_ENCODINGS)
    reason = f"is neither {tried} text (the encodings tried); name its encoding with --encoding"
    raise BadInput([Problem(source, reason)])


def dotted(loc: tuple[int | str, ...]) -> str:
    """A field's place as a user writes it: ``units[3].zone``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def validation_problems(
    source: str, exc: ValidationError, line_of: LineOf | None = None, line: int | None = None
) -> list[Problem]:
    """Each error of ``exc`` as a problem at its field, on the line ``line_of`` finds for
    it (or on ``line``, for a file read line by line)."""
    problems = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        where = line_of(loc) if line_of else line
        problems.append(Problem(source, err["msg"], line=where, field=dotted(loc) or None))
    return problems
