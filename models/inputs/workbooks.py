"""Reading an .xlsx workbook's first sheet as rows of cells, each numbered as the sheet
numbers it, for a reader of :mod:`models.inputs.readers` to validate like a CSV's rows.

A workbook is a zip archive of XML: the size of what it unpacks to is checked before it
is opened, and whatever a damaged or hostile one makes the reading fail with becomes a
problem naming the file, never a traceback.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from typing import TYPE_CHECKING

from models.domain.errors import BadInput, Problem
from models.inputs.files import MAX_FILE_BYTES

if TYPE_CHECKING:  # openpyxl is imported when a workbook is read: every command would pay it
    from openpyxl.workbook.workbook import Workbook

ZIP_MAGIC = b"PK\x03\x04"  # an .xlsx (and any zip archive)
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # an Excel 97-2003 .xls, among others
# What a workbook's archive may unpack to, and the rows a sheet may hold (Excel's own limit).
MAX_UNPACKED_BYTES = 4 * MAX_FILE_BYTES
MAX_SHEET_ROWS = 1_048_576
NOT_A_WORKBOOK = "is not an .xlsx workbook that can be read"


def sheet_records(source: str, raw: bytes) -> Iterator[tuple[int, list[object]] | Problem]:
    """The first worksheet's rows: the row number and its cells' values (a formula's as
    last calculated), empty cells at the end of a row dropped, a blank row an empty list.
    A sheet that stops being readable ends them with its problem."""
    book = _open(source, raw)
    number = 0
    try:
        from openpyxl.worksheet._read_only import ReadOnlyWorksheet

        sheet = book.worksheets[0] if book.worksheets else None
        if not isinstance(sheet, ReadOnlyWorksheet):
            yield Problem(source, "the workbook has no worksheet")
            return
        sheet.reset_dimensions()  # the size a sheet claims may be wrong, or hostile
        for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
            if number > MAX_SHEET_ROWS:
                yield Problem(source, f"has more than {MAX_SHEET_ROWS} rows", line=number)
                return
            cells: list[object] = list(row)
            while cells and cells[-1] is None:
                cells.pop()
            yield number, cells
    except Exception:  # a damaged sheet fails in many ways (XML, zip, values); none is shown
        yield Problem(source, NOT_A_WORKBOOK, line=number + 1)
    finally:
        book.close()


def _open(source: str, raw: bytes) -> Workbook:
    """The workbook, read-only, its formulas' last values in place of the formulas."""
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except Exception:  # not a zip archive, or a damaged one
        raise BadInput([Problem(source, NOT_A_WORKBOOK)]) from None
    if unpacked > MAX_UNPACKED_BYTES:
        reason = f"unpacks to {unpacked} bytes; the limit is {MAX_UNPACKED_BYTES}"
        raise BadInput([Problem(source, reason)])
    import openpyxl

    try:
        return openpyxl.load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    except Exception:  # a zip that is no workbook, or a damaged one
        raise BadInput([Problem(source, NOT_A_WORKBOOK)]) from None
