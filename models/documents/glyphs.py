"""Every character of a document drawn by a real glyph, or the document is not issued.

Pango falls back from face to face for a character the first face lacks; when no
installed font has it at all, WeasyPrint draws the font's ``.notdef`` glyph (an empty
box) and notes the code point in that font's ``missing`` table. Reading those tables
once the PDF is written is exact (it is what was drawn, margin boxes included) and
costs microseconds a document; re-reading the embedded fonts' cmaps with fontTools
costs milliseconds and sees the fonts, not what was drawn with them.

The message names the characters by code point, in code point order (never in the
order of the text, which would spell out a lead's words), and the Debian package of
each face the templates name that is not installed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from models.domain.errors import Unavailable

# The Debian package of each face the templates name (templates/fonts.conf, ./run).
PACKAGES = {
    "FandolFang": "texlive-lang-chinese",
    "FandolSong": "texlive-lang-chinese",
    "Noto Serif CJK SC": "fonts-noto-cjk",
}
# What a face is asked to draw to find out whether it is installed (every named face has it).
SAMPLE = "仿宋中文"
SHOWN = 10  # characters named in a message; the count says how many more


class MissingGlyphs(Unavailable):
    """No installed font draws some characters of a document (exit 69, like any piece of
    the machine that is missing): it is not issued."""

    def __init__(self, characters: Sequence[str], missing_faces: Sequence[str]) -> None:
        self.characters = tuple(characters)
        self.missing_faces = tuple(missing_faces)
        super().__init__(describe(self.characters, self.missing_faces))


def missing_characters(document: Any) -> list[str]:
    """The characters drawn as ``.notdef`` in a WeasyPrint document already written to
    PDF (its fonts are collected while drawing), in code point order."""
    found: set[str] = set()
    for font in document.fonts.values():
        found.update(chr(codepoint) for codepoint in font.missing)
        # A font whose own cmap sends a character to glyph 0 draws the box without Pango
        # marking it unknown: the text drawn with glyph 0 is missing too.
        found.update(font.to_unicode.get(0, ""))
    return sorted(found)


def families(document: Any) -> set[str]:
    """The font families a written WeasyPrint document drew with."""
    return {font.family for font in document.fonts.values()}


def packages_for(faces: Iterable[str]) -> list[str]:
    """The Debian packages that install these faces (unknown faces have none)."""
    return sorted({PACKAGES[face] for face in faces if face in PACKAGES})


def code_points(characters: Sequence[str]) -> str:
    """``U+95EE 问, U+9898 题 and 3 more``: at most SHOWN characters, by code point."""
    shown = ", ".join(f"U+{ord(c):04X} {c}" for c in characters[:SHOWN])
    more = len(characters) - SHOWN
    return f"{shown} and {more} more" if more > 0 else shown


def describe(characters: Sequence[str], missing_faces: Sequence[str]) -> str:
    """What is missing and how to install it, with no other text of the document."""
    packages = packages_for(missing_faces)
    if packages:
        fix = (
            f"{', '.join(missing_faces)} not installed: "
            f"sudo apt-get install -y {' '.join(packages)}"
        )
    else:
        fix = (
            "the faces the templates name are installed and lack them too: "
            "a font that has them must be installed"
        )
    return (
        f"no installed font draws {len(characters)} character(s): {code_points(characters)}; {fix}"
    )
