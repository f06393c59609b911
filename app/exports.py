"""Tabular exports shared by every feature: formula-safe cells, streaming CSV and XLSX writers."""
from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import IO

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

#: A spreadsheet treats a cell starting with these as a formula (OWASP "CSV injection"; Formbricks #8045).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\n", "\0", "|", "%")


def safe_cell(value: object) -> object:
    """Return the value, with text that a spreadsheet would run as a formula defused by a leading quote."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def safe_row(row: Iterable[object]) -> list[object]:
    """Apply safe_cell to every cell of a row."""
    return [safe_cell(value) for value in row]


def iter_csv(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> Iterator[str]:
    """Yield a UTF-8 CSV (with BOM, so Excel reads Vietnamese) piece by piece, for streaming responses."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write("\ufeff")
    writer.writerow(safe_row(headers))
    for count, row in enumerate(rows, 1):
        writer.writerow(safe_row("" if value is None else value for value in row))
        if count % 500 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def write_csv(headers: Sequence[str], rows: Iterable[Sequence[object]], stream: IO[str],
              progress: Callable[[int], None] | None = None) -> None:
    """Write a formula-safe CSV to a text stream; ``progress`` is told the rows written so far."""
    if progress is not None:
        rows = _counted(rows, progress)
    for chunk in iter_csv(headers, rows):
        stream.write(chunk)


def _counted(rows: Iterable[Sequence[object]], progress: Callable[[int], None]) -> Iterator[Sequence[object]]:
    count = 0
    for count, row in enumerate(rows, 1):
        yield row
        if count % 1000 == 0:
            progress(count)
    progress(count)


def _xlsx_text(value: object) -> object:
    # XLSX cannot hold most control characters (openpyxl refuses the whole file): drop them, keep tab and newlines.
    return ILLEGAL_CHARACTERS_RE.sub("", value) if isinstance(value, str) else value


#: Data rows per worksheet: Excel opens at most 1,048,576 rows, the header included.
XLSX_MAX_ROWS = 1_048_575


def write_xlsx(sheets: Iterable[tuple[str, Sequence[str], Iterable[Sequence[object]]]],
               target: str | IO[bytes], *, max_rows: int = XLSX_MAX_ROWS,
               progress: Callable[[int], None] | None = None) -> None:
    """Write one worksheet per (title, headers, rows) in streaming mode; headers bold, cells formula-safe.

    A table longer than ``max_rows`` continues on further sheets ("title (2)", "title (3)", …), each with the
    header again, so no sheet exceeds what Excel opens. ``progress`` is told the rows written so far.
    """
    from openpyxl.styles import Font

    book = Workbook(write_only=True)
    bold = Font(bold=True)
    written = 0

    def new_sheet(title: str, headers: Sequence[str]):
        sheet = book.create_sheet(title=title)
        header_cells = []
        for header in safe_row(_xlsx_text(value) for value in headers):
            cell = WriteOnlyCell(sheet, value=header)
            cell.font = bold
            header_cells.append(cell)
        sheet.append(header_cells)
        return sheet

    for title, headers, rows in sheets:
        part, in_sheet = 1, 0
        sheet = new_sheet(title[:31], headers)
        for row in rows:
            if in_sheet == max_rows:
                part += 1
                suffix = f" ({part})"
                sheet = new_sheet(title[:31 - len(suffix)] + suffix, headers)
                in_sheet = 0
            sheet.append(safe_row(_xlsx_text(value) for value in row))
            in_sheet += 1
            written += 1
            if progress is not None and written % 1000 == 0:
                progress(written)
    if progress is not None:
        progress(written)
    book.save(target)
