"""Rendering documents: Jinja templates to PDF through WeasyPrint, safely and reproducibly.

- autoescape for every template (``*.html.j2`` included) and ``StrictUndefined``: lead
  text is data, never markup, and a missing field is an error, not a blank;
- a URL fetcher that serves only files under ``templates/``: nothing is fetched from
  the network or elsewhere on disk, whatever a lead's text says;
- one ``FontConfiguration`` per process, reused (each new one loads and caches the fonts
  again), over ``templates/fonts.conf``: the system's fonts plus TeX Live's Fandol faces, for the
  FangSong body text (FandolFang) that fontconfig would not find on its own;
- HarfBuzz subsetting (Debian's libharfbuzz-subset0): without it WeasyPrint falls back
  to fontTools, which is far slower on CJK fonts, and we say so loudly;
- each template's stylesheets parsed once a process and handed to WeasyPrint, not
  linked from the HTML, which WeasyPrint would parse anew for every document (the PDF
  is the same, byte for byte);
- fixed PDF dates, so the same document renders to the same bytes (checksums verify);
- every character drawn by a real glyph (:mod:`models.documents.glyphs`): a document with
  one that no installed font has raises :class:`~models.documents.glyphs.MissingGlyphs`
  instead of returning a PDF of empty boxes.
"""

from __future__ import annotations

import logging
import os
import re
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from models.documents import glyphs
from models.documents.bulletin import board_columns

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
FONTS_CONF = TEMPLATES / "fonts.conf"
log = logging.getLogger("leadflow.render")


@lru_cache(maxsize=1)
def weasyprint() -> Any:
    """WeasyPrint, imported on first use (its import is slow, and commands rendering
    nothing should not pay for it), with our font configuration unless the user set one."""
    os.environ.setdefault("FONTCONFIG_FILE", str(FONTS_CONF))
    import weasyprint as module

    if not subsets_with_harfbuzz():
        log.warning(
            "HarfBuzz subsetting is missing (Debian package libharfbuzz-subset0): WeasyPrint "
            "falls back to fontTools and a page of Chinese takes seconds, not milliseconds. "
            "Install it: apt-get install -y libharfbuzz-subset0"
        )
    return module


def subsets_with_harfbuzz() -> bool:
    """Whether WeasyPrint subsets fonts with HarfBuzz (libharfbuzz-subset0, HarfBuzz >= 4.1,
    the test WeasyPrint itself makes) rather than with fontTools."""
    # WeasyPrint's first import loads fontconfig, which must see our fonts.conf then.
    os.environ.setdefault("FONTCONFIG_FILE", str(FONTS_CONF))
    from weasyprint.text.ffi import harfbuzz, harfbuzz_subset

    return bool(harfbuzz_subset) and bool(harfbuzz.hb_version_atleast(4, 1, 0))


@lru_cache(maxsize=1)
def assets_only_fetcher_class() -> type:
    """A URL fetcher that serves the project's own template assets and refuses every other URL.

    Built on first use, like WeasyPrint itself.
    """
    weasyprint()
    from weasyprint.urls import URLFetcher, path2url

    class AssetsOnlyFetcher(URLFetcher):
        def __init__(self, root: Path = TEMPLATES) -> None:
            super().__init__(allowed_protocols={"file"})
            self._root = path2url(str(root.resolve()))

        def fetch(self, url: str, headers: Any = None) -> Any:
            if not url.startswith(self._root) or ".." in url:
                raise ValueError(f"refused to fetch {url[:120]!r}: only template assets are served")
            return super().fetch(url, headers)

    return AssetsOnlyFetcher


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,  # every template, whatever its name
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    # Layout the stylesheets cannot compute: a wide board's column widths and type size.
    env.globals["board_columns"] = board_columns
    return env


@lru_cache(maxsize=1)
def fonts() -> Any:
    weasyprint()
    from weasyprint.text.fonts import FontConfiguration

    return FontConfiguration()


# The stylesheets of each template, in cascade order: every document has the layout of
# notice.css (base.html.j2's); a template with more of its own lists them after it.
STYLESHEETS: dict[str, tuple[str, ...]] = {
    "bulletin.html.j2": ("notice.css", "bulletin.css"),
    "audit_record.html.j2": ("notice.css", "audit_record.css"),
}
DEFAULT_STYLESHEETS = ("notice.css",)


def stylesheets_of(template: str) -> tuple[str, ...]:
    return STYLESHEETS.get(template, DEFAULT_STYLESHEETS)


@cache
def stylesheet(name: str) -> Any:
    """A stylesheet of ``templates/``, parsed once and shared by every document."""
    return weasyprint().CSS(
        filename=str(TEMPLATES / name),
        font_config=fonts(),
        url_fetcher=assets_only_fetcher_class()(),
    )


def render_html(template: str, context: dict[str, Any]) -> str:
    return environment().get_template(template).render(**context)


def laid_out(html: str, stylesheets: tuple[str, ...] = DEFAULT_STYLESHEETS) -> Any:
    """The WeasyPrint document of ``html``, laid out in pages with our fonts and sheets."""
    document = weasyprint().HTML(
        string=html, base_url=str(TEMPLATES), url_fetcher=assets_only_fetcher_class()()
    )
    return document.render(
        stylesheets=[stylesheet(name) for name in stylesheets], font_config=fonts()
    )


def html_to_pdf(html: str, stylesheets: tuple[str, ...] = DEFAULT_STYLESHEETS) -> bytes:
    """The PDF of ``html``, every character of it drawn (else :class:`glyphs.MissingGlyphs`)."""
    document = laid_out(html, stylesheets)
    pdf = document.write_pdf(uncompressed_pdf=False)
    assert pdf is not None
    if missing := glyphs.missing_characters(document):
        raise glyphs.MissingGlyphs(missing, [f for f in named_faces() if not face_draws(f)])
    return pdf


GENERIC_FAMILIES = frozenset({"serif", "sans-serif", "monospace", "cursive", "fantasy"})


@cache
def named_faces() -> tuple[str, ...]:
    """The font families the templates' stylesheets name, in order, less CSS's generic ones."""
    faces: dict[str, None] = {}
    for sheet in sorted(TEMPLATES.glob("*.css")):
        for families in re.findall(r"font-family:\s*([^;}]+)", sheet.read_text(encoding="utf-8")):
            named = (face.strip().strip("\"'") for face in families.split(","))
            faces.update((face, None) for face in named if face not in GENERIC_FAMILIES)
    return tuple(faces)


def face_draws(face: str) -> bool:
    """Whether ``face`` itself is installed: a sample set in it alone is drawn with it,
    not with the face fontconfig falls back to."""
    sample = f'<html lang="zh-CN"><p style="font-family: \'{face}\'">{glyphs.SAMPLE}</p></html>'
    document = laid_out(sample, ())
    document.write_pdf()
    return face in glyphs.families(document)


def render_pdf(template: str, context: dict[str, Any]) -> bytes:
    return html_to_pdf(render_html(template, context), stylesheets_of(template))


def warm_up() -> None:
    """Load WeasyPrint, the fonts and the stylesheets now, by rendering one short page: a
    long-lived process (a worker) then renders its first notice as fast as the next."""
    html_to_pdf("<p>公文</p>")
