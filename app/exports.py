"""Tabular exports shared by every feature: formula-safe cells, streaming CSV and XLSX writers."""
from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
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


#: Characters Excel refuses in a sheet's name.
_SHEET_NAME_FORBIDDEN = str.maketrans({character: " " for character in "[]:*?/\\"})


def _sheet_title(title: str, suffix: str = "") -> str:
    """A sheet name Excel opens, ending in ``suffix``: at most 31 characters, no []:*?/\\, not beginning or ending
    with an apostrophe, never empty (names of units and rounds become sheet names)."""
    words = " ".join(str(title).translate(_SHEET_NAME_FORBIDDEN).split()).strip("' ")
    return (words[:31 - len(suffix)].rstrip("' ") or "Trang") + suffix


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

    Workbooks without charts (every export) are streamed by XlsxWriter (``_StreamedBook``: a province-year of
    responses is a million rows); those with charts or drop-down lists (the periodic report and the templates, a few
    hundred rows) go through openpyxl, which draws the charts the report builds.
    """
    specs = [given if isinstance(given, Sheet) else Sheet(*given) for given in sheets]
    book: _Book = _OpenpyxlBook() if any(spec.charts or spec.validations for spec in specs) else _StreamedBook(target)
    written = 0
    for spec in specs:
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
        book.new_sheet(_sheet_title(spec.title), headers, widths)
        count = 0
        for row in itertools.chain(sample, rows):
            if count == max_rows:
                book.finish_sheet(columns, count)
                part += 1
                book.new_sheet(_sheet_title(spec.title, f" ({part})"), headers, widths)
                count = 0
            values: list[tuple[object, str | None]] = []
            for index, value in enumerate(row):
                value = _xlsx_text(value)
                if isinstance(value, dt.datetime) and value.tzinfo is not None:
                    value = value.replace(tzinfo=None)
                number_format = _format_for(value, spec.formats.get(index))
                values.append((value if number_format or value is None else safe_cell(value), number_format))
            book.append(values)
            count += 1
            written += 1
            if progress is not None and written % 1000 == 0:
                progress(written)
        book.finish_sheet(columns, count)
        for chart in spec.charts:
            book.add_chart(*chart)
        for validation in spec.validations:
            book.add_validation(validation)
    if progress is not None:
        progress(written)
    book.save(target)


class _Book:
    """Where write_xlsx puts its sheets: one sheet open at a time, rows of (value, number format or None)."""

    def new_sheet(self, title: str, headers: list, widths: list[float]) -> None:
        raise NotImplementedError

    def append(self, values: list[tuple[object, str | None]]) -> None:
        raise NotImplementedError

    def finish_sheet(self, columns: int, count: int) -> None:
        raise NotImplementedError

    def add_chart(self, chart: object, anchor: str) -> None:
        raise NotImplementedError

    def add_validation(self, validation: object) -> None:
        raise NotImplementedError

    def save(self, target: str | IO[bytes]) -> None:
        raise NotImplementedError


class _OpenpyxlBook(_Book):
    """An openpyxl write-only workbook (for workbooks with charts)."""

    def __init__(self) -> None:
        from openpyxl.styles import Alignment, Font, PatternFill

        self.book = Workbook(write_only=True)
        self.header_style = (Font(bold=True), PatternFill("solid", fgColor=HEADER_FILL), Alignment(wrap_text=True,
                                                                                                    vertical="top"))
        self.sheet = None
        self.styled: dict[tuple[int, str | None], WriteOnlyCell] = {}

    def new_sheet(self, title: str, headers: list, widths: list[float]) -> None:
        from openpyxl.utils import get_column_letter

        self.sheet = sheet = self.book.create_sheet(title=title)
        self.styled = {}
        for index, width in enumerate(widths):
            sheet.column_dimensions[get_column_letter(index + 1)].width = width
        sheet.freeze_panes = "A2"
        header_cells = []
        for header in safe_row(headers):
            cell = WriteOnlyCell(sheet, value=header)
            cell.font, cell.fill, cell.alignment = self.header_style
            header_cells.append(cell)
        sheet.append(header_cells)

    def append(self, values: list[tuple[object, str | None]]) -> None:
        cells: list[object] = []
        for index, (value, number_format) in enumerate(values):
            if value is None:
                cells.append(None)
                continue
            # Every value goes in a cell of its own column and format: openpyxl would otherwise write a plain
            # value into the cell before it, with that cell's format.
            cell = self.styled.get((index, number_format))
            if cell is None:
                cell = self.styled[(index, number_format)] = WriteOnlyCell(self.sheet)
                if number_format:
                    cell.number_format = number_format
            cell.value = value
            cells.append(cell)
        self.sheet.append(cells)

    def finish_sheet(self, columns: int, count: int) -> None:
        from openpyxl.utils import get_column_letter

        if columns:
            self.sheet.auto_filter.ref = f"A1:{get_column_letter(columns)}{count + 1}"

    def add_chart(self, chart: object, anchor: str) -> None:
        self.sheet.add_chart(chart, anchor)

    def add_validation(self, validation: object) -> None:
        self.sheet.data_validations.append(validation)  # a write-only sheet has no add_data_validation

    def save(self, target: str | IO[bytes]) -> None:
        self.book.save(target)


#: Header cells' background (a light blue).
HEADER_FILL = "DDE9F6"


class _StreamedBook(_Book):
    """An XlsxWriter workbook in constant-memory mode (every export: a province-year of responses is a million rows,
    and XlsxWriter writes them several times faster than openpyxl, row by row, without holding them)."""

    def __init__(self, target: str | IO[bytes]) -> None:
        import xlsxwriter

        # Values are written by type below, never guessed from text: "=1+1" or "0912…" stay text.
        self.book = xlsxwriter.Workbook(target, {"constant_memory": True, "strings_to_numbers": False,
                                                 "strings_to_formulas": False, "strings_to_urls": False})
        self.header = self.book.add_format({"bold": True, "bg_color": "#" + HEADER_FILL, "text_wrap": True,
                                            "valign": "top"})
        self.formats: dict[str, object] = {}
        self.sheet = None
        self.row = 0

    def _format(self, number_format: str) -> object:
        found = self.formats.get(number_format)
        if found is None:
            found = self.formats[number_format] = self.book.add_format({"num_format": number_format})
        return found

    def new_sheet(self, title: str, headers: list, widths: list[float]) -> None:
        self.sheet = sheet = self.book.add_worksheet(title)
        for index, width in enumerate(widths):
            sheet.set_column(index, index, width)
        sheet.freeze_panes(1, 0)
        for index, header in enumerate(safe_row(headers)):
            if header is not None:
                sheet.write_string(0, index, str(header), self.header)
        self.row = 0

    def append(self, values: list[tuple[object, str | None]]) -> None:
        self.row += 1
        row, sheet = self.row, self.sheet
        for index, (value, number_format) in enumerate(values):
            if value is None:
                continue
            if isinstance(value, str):
                sheet.write_string(row, index, value)
            elif isinstance(value, bool):
                sheet.write_boolean(row, index, value)
            elif isinstance(value, (int, float, Decimal)):
                if math.isfinite(value):
                    sheet.write_number(row, index, value, self._format(number_format) if number_format else None)
            elif isinstance(value, (dt.datetime, dt.date)):
                sheet.write_datetime(row, index, value, self._format(number_format or DATETIME_FORMAT))
            else:
                sheet.write_string(row, index, str(value))

    def finish_sheet(self, columns: int, count: int) -> None:
        if columns:
            self.sheet.autofilter(0, 0, count, columns - 1)

    def add_chart(self, chart: object, anchor: str) -> None:
        raise TypeError("charts need the openpyxl workbook")

    def add_validation(self, validation: object) -> None:
        raise TypeError("drop-down lists need the openpyxl workbook")

    def save(self, target: str | IO[bytes]) -> None:
        self.book.close()
