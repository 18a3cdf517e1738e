"""The documents of docs/rules.md §4: their content (:mod:`models.documents.content`),
numbering and issuing (:mod:`models.documents.issuing`), and their rendering from Jinja
templates to PDF (:mod:`models.documents.rendering`), with the bulletin's and the audit
record's content beside them; a document that would name its lead's reporter is held
(:mod:`models.documents.holding`). Use it as ``from models import documents``. It imports
the domain, the store and the audit trail, never the services.
"""

from models.documents.content import TEMPLATES, TITLES, NoticeContent, Table, chinese_date
from models.documents.glyphs import MissingGlyphs
from models.documents.holding import (
    HELD,
    held_fields,
    hold_message,
    names_reporter,
    release,
    screen_of,
)
from models.documents.issuing import Allocated, Issued, Request, issue, issue_many
from models.documents.pdf_files import (
    FileProblem,
    NotIssued,
    pending,
    raise_if_undrawn,
    read_checked,
    render,
    render_each,
    render_pending,
    undrawn,
    verify_files,
)

__all__ = [
    "HELD",
    "TEMPLATES",
    "TITLES",
    "Allocated",
    "FileProblem",
    "Issued",
    "MissingGlyphs",
    "NotIssued",
    "NoticeContent",
    "Request",
    "Table",
    "chinese_date",
    "held_fields",
    "hold_message",
    "issue",
    "issue_many",
    "names_reporter",
    "pending",
    "raise_if_undrawn",
    "read_checked",
    "release",
    "render",
    "render_each",
    "render_pending",
    "screen_of",
    "undrawn",
    "verify_files",
]
