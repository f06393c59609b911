"""Tabular exports shared by every feature: formula-safe cells, streaming CSV and XLSX writers."""
from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
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


#: Number formats of the cells of people's workbooks, by the type of the value (Excel shows them in the reader's
#: own separators: 1.204 and 84,45 in a Vietnamese Excel).
INTEGER_FORMAT = "#,##0"
DECIMAL_FORMAT = "#,##0.00"
#: Percentages kept as points 0–100 (84.45, as in the JSON), shown with their sign.
POINTS_FORMAT = '0.00" %"'
DATE_FORMAT = "dd/mm/yyyy"
DATETIME_FORMAT = "dd/mm/yyyy hh:mm"
#: Rows read ahead to size the columns of a streamed sheet.
WIDTH_SAMPLE = 200
MIN_WIDTH, MAX_WIDTH = 6, 60


@dataclass
class Sheet:
    """A worksheet of a people's workbook: title, headers, rows (read once, lazily), and optional column formats
    (column index → Excel number format, overriding the one chosen by the value's type), charts (drawn from
    the workbook's data by references such as "'Yếu tố'!$D$2:$D$7") and data validations (openpyxl
    ``DataValidation``, e.g. the drop-down list of a template's column)."""

    title: str
    headers: Sequence[str]
    rows: Iterable[Sequence[object]]
    formats: dict[int, str] = field(default_factory=dict)
    charts: list = field(default_factory=list)
    validations: list = field(default_factory=list)


def _format_for(value: object, column_format: str | None) -> str | None:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return None
    if isinstance(value, dt.datetime):
        return DATETIME_FORMAT
    if isinstance(value, dt.date):
        return DATE_FORMAT
    if column_format:
        return column_format
    if isinstance(value, int):
        return INTEGER_FORMAT
    if isinstance(value, float):
        return DECIMAL_FORMAT
    return None


def _width(value: object) -> float:
    if value is None:
        return 0
    if isinstance(value, dt.datetime):
        return 16
    if isinstance(value, dt.date):
        return 10
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return 10
    return max((len(line) for line in str(value).splitlines()), default=0)


#: Data rows per worksheet: Excel opens at most 1,048,576 rows, the header included.
XLSX_MAX_ROWS = 1_048_575


def write_xlsx(sheets: Iterable[Sheet | tuple[str, Sequence[str], Iterable[Sequence[object]]]],
               target: str | IO[bytes], *, max_rows: int = XLSX_MAX_ROWS,
               progress: Callable[[int], None] | None = None) -> None:
    """Write a workbook for people, one worksheet per sheet, streamed: bold header row frozen at the top with an
    autofilter, columns sized to their content, numbers, dates and times as real values with Vietnamese-readable
    formats, text cells formula-safe. Time-zone-aware datetimes are written as the wall-clock time they carry.

    A table longer than ``max_rows`` continues on further sheets ("title (2)", "title (3)", …), each with the
    header again, so no sheet exceeds what Excel opens. ``progress`` is told the rows written so far.
    """
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    book = Workbook(write_only=True)
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="DDE9F6")
    wrap = Alignment(wrap_text=True, vertical="top")
    written = 0

    def new_sheet(title: str, headers: list, widths: list[float]):
        sheet = book.create_sheet(title=title)
        for index, width in enumerate(widths):
            sheet.column_dimensions[get_column_letter(index + 1)].width = width
        sheet.freeze_panes = "A2"
        header_cells = []
        for header in safe_row(headers):
            cell = WriteOnlyCell(sheet, value=header)
            cell.font, cell.fill, cell.alignment = bold, fill, wrap
            header_cells.append(cell)
        sheet.append(header_cells)
        return sheet

    def finish_sheet(sheet, columns: int, count: int) -> None:
        if columns:
            sheet.auto_filter.ref = f"A1:{get_column_letter(columns)}{count + 1}"

    for given in sheets:
        spec = given if isinstance(given, Sheet) else Sheet(*given)
        headers = [_xlsx_text(value) for value in spec.headers]
        rows = iter(spec.rows)
        sample = list(itertools.islice(rows, WIDTH_SAMPLE))
        columns = max([len(headers), *(len(row) for row in sample)]) if (headers or sample) else 0
        widths = []
        for index in range(columns):
            seen = [_width(row[index]) for row in sample if index < len(row)]
            header = len(str(headers[index])) if index < len(headers) else 0
            widths.append(min(max(max([header + 2, *(value + 2 for value in seen)]), MIN_WIDTH), MAX_WIDTH))
        part = 1
        sheet = new_sheet(spec.title[:31], headers, widths)
        # One cell per column and format, reused: a write-only sheet writes each row as it is appended.
        styled: dict[tuple[int, str | None], WriteOnlyCell] = {}
        count = 0
        for row in itertools.chain(sample, rows):
            if count == max_rows:
                finish_sheet(sheet, columns, count)
                part += 1
                suffix = f" ({part})"
                sheet = new_sheet(spec.title[:31 - len(suffix)] + suffix, headers, widths)
                styled, count = {}, 0
            values = []
            for index, value in enumerate(row):
                value = _xlsx_text(value)
                if isinstance(value, dt.datetime) and value.tzinfo is not None:
                    value = value.replace(tzinfo=None)
                if value is None:
                    values.append(None)
                    continue
                number_format = _format_for(value, spec.formats.get(index))
                # Every value goes in a cell of its own column and format: openpyxl would otherwise write a plain
                # value into the cell before it, with that cell's format.
                cell = styled.get((index, number_format))
                if cell is None:
                    cell = styled[(index, number_format)] = WriteOnlyCell(sheet)
                    if number_format:
                        cell.number_format = number_format
                cell.value = value if number_format else safe_cell(value)
                values.append(cell)
            sheet.append(values)
            count += 1
            written += 1
            if progress is not None and written % 1000 == 0:
                progress(written)
        finish_sheet(sheet, columns, count)
        for chart in spec.charts:
            sheet.add_chart(chart[0], chart[1])
        for validation in spec.validations:
            sheet.data_validations.append(validation)  # a write-only sheet has no add_data_validation
    if progress is not None:
        progress(written)
    book.save(target)
