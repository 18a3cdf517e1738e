"""The ledger exported (导出台账): the view a person reads — the same filters, order and
units — as an Excel workbook or a CSV file that Excel opens, codes put into Chinese, no
free text and never the reporter. Each export is recorded on the audit trail with who
exported, the filters and how many rows — never what the rows say.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from sqlalchemy.orm import Session

from models import audit
from models.domain import terms
from models.domain.errors import BadInput, Problem
from models.domain.people import Person
from models.services import ledger
from models.services.access import permit
from models.store.periods import SHANGHAI

# An export holds at most this many rows; a larger view is cut, and its file says so.
MAX_ROWS = 100_000
_CHUNK = 2_000  # rows read per page of the ledger while exporting
HEADERS = (
    "编号", "外部编号", "受理日期", "来源", "领域",
    "承办单位", "办理方式", "状态", "整改期限", "逾期",
)  # fmt: skip
SHEET = "台账"
KINDS = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
}
# A cell a spreadsheet would read as a formula: what an external id may begin with.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Export:
    content: bytes
    filename: str  # ASCII: the download's name
    media_type: str
    rows: int
    cut: bool  # the view held more than MAX_ROWS leads


def rows_of(
    session: Session,
    person: Person,
    filters: ledger.Filters,
    *,
    sort: str,
    today: date,
    cap: int = MAX_ROWS,
) -> tuple[list[ledger.LedgerRow], bool]:
    """The view's rows, page by page, up to ``cap``; and whether more were left out."""
    found: list[ledger.LedgerRow] = []
    after = None
    while True:
        wanted = min(_CHUNK, cap - len(found))
        page = ledger.read(
            session, person, filters, sort=sort, after=after, limit=wanted, today=today
        )
        found += page.rows
        after = page.next
        if after is None:
            return found, False
        if len(found) >= cap:
            return found, True


def _values(row: ledger.LedgerRow) -> tuple[object, ...]:
    """A row as the export writes it: codes in Chinese, days in the commission's time."""
    return (
        row.id,
        row.external_id,
        row.received_at.astimezone(SHANGHAI).date(),
        terms.SOURCES.get(row.source, row.source),
        terms.DOMAINS.get(row.domain, row.domain),
        row.unit_name or "",
        terms.MODE_TERMS.get(row.handling_mode or "", row.handling_mode or ""),
        terms.STATES.get(row.state, row.state),
        row.deadline,
        "是" if row.overdue else "否",
    )


def _xlsx(rows: list[ledger.LedgerRow]) -> bytes:
    """A workbook written row by row (openpyxl's write-only mode), one sheet 台账."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(SHEET)
    sheet.append(list(HEADERS))
    for row in rows:
        sheet.append(list(_cells(sheet, _values(row))))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _cells(sheet: WriteOnlyWorksheet, values: tuple[object, ...]) -> Iterator[object]:
    """The values, an external id kept as text: one that begins with '=' is not a formula
    (a day is written as a date cell, shown yyyy-mm-dd)."""
    for value in values:
        if isinstance(value, str) and value.startswith(_FORMULA_START):
            cell = WriteOnlyCell(sheet, value=value)
            cell.data_type = "s"
            yield cell
        else:
            yield value


def _csv(rows: list[ledger.LedgerRow]) -> bytes:
    """UTF-8 with a byte order mark, so Excel reads the Chinese as it is written."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADERS)
    for row in rows:
        writer.writerow([_text(value) for value in _values(row)])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    # A leading quote keeps a spreadsheet from reading the cell as a formula.
    return "'" + text if text.startswith(_FORMULA_START) else text


def export(
    session: Session,
    person: Person,
    filters: ledger.Filters,
    *,
    kind: str,
    sort: str = ledger.DEFAULT_SORT,
    today: date,
    cap: int = MAX_ROWS,
) -> Export:
    """The view ``person`` reads, as a file of ``kind`` (xlsx or csv), recorded."""
    permit(session, person, "ledger.export")
    if kind not in KINDS:
        raise BadInput([Problem("query", "导出格式只能是 xlsx 或 csv", field="format")])
    rows, cut = rows_of(session, person, filters, sort=sort, today=today, cap=cap)
    content = _xlsx(rows) if kind == "xlsx" else _csv(rows)
    audit.record(
        session,
        audit.EventDraft(
            actor=person.actor,
            action="ledger.export",
            reason=f"导出台账（{kind}）",
            data={
                "format": kind,
                "filters": filters.given(),
                "sort": sort,
                "rows": len(rows),
                "cut": cut,
            },
        ),
    )
    name = f"ledger-{today:%Y%m%d}" + (f"-first-{len(rows)}-rows" if cut else "")
    return Export(content, f"{name}.{kind}", KINDS[kind], len(rows), cut)
