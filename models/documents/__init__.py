"""The documents of docs/rules.md §4: their content (:mod:`models.documents.content`),
numbering and issuing (:mod:`models.documents.issuing`), and their rendering from Jinja
templates to PDF (:mod:`models.documents.rendering`), with the bulletin's and the audit
record's content beside them. Use it as ``from models import documents``. It imports
the domain, the store and the audit trail, never the services.
"""

from models.documents.content import TEMPLATES, TITLES, NoticeContent, Table, chinese_date
from models.documents.issuing import Allocated, Issued, Request, issue, issue_many
from models.documents.pdf_files import (
    FileProblem,
    pending,
    render,
    render_each,
    render_pending,
    verify_files,
)

__all__ = [
    "TEMPLATES",
    "TITLES",
    "Allocated",
    "FileProblem",
    "Issued",
    "NoticeContent",
    "Request",
    "Table",
    "chinese_date",
    "issue",
    "issue_many",
    "pending",
    "render",
    "render_each",
    "render_pending",
    "verify_files",
]
