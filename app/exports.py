"""Tabular exports shared by every feature: formula-safe cells, streaming CSV and XLSX writers."""
from __future__ import annotations

import csv
import html
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

    Workbooks without charts (every export) are written straight as SpreadsheetML (``_DirectBook``, about five
    times openpyxl's speed: a province-year of responses is a million rows); those with charts or drop-down lists (the periodic
    report, a few hundred rows) through openpyxl, which draws the charts.
    """
    specs = [given if isinstance(given, Sheet) else Sheet(*given) for given in sheets]
    book: _Book = _OpenpyxlBook() if any(spec.charts or spec.validations for spec in specs) else _DirectBook(target)
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
        book.new_sheet(spec.title[:31], headers, widths)
        count = 0
        for row in itertools.chain(sample, rows):
            if count == max_rows:
                book.finish_sheet(columns, count)
                part += 1
                suffix = f" ({part})"
                book.new_sheet(spec.title[:31 - len(suffix)] + suffix, headers, widths)
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
#: Number formats Excel has built in (their ids), the others are declared in the workbook from id 164.
_BUILTIN_FORMATS = {"General": 0, "0": 1, "0.00": 2, "#,##0": 3, "#,##0.00": 4, "0%": 9, "0.00%": 10}
_EXCEL_EPOCH = dt.datetime(1899, 12, 30)
_NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
_REL_NS = 'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
_DOC_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml"


def _escape(text: str) -> str:
    """Text for an XML element or a double-quoted attribute."""
    return html.escape(text, quote=True)


def _letters(index: int) -> str:
    """Column letters of a 0-based column index (0 → A, 26 → AA)."""
    name = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(65 + rest) + name
    return name


class _DirectBook(_Book):
    """A workbook written straight as SpreadsheetML into a zip, sheet by sheet, row by row (constant memory).

    The cells are what openpyxl writes for the same workbook: inline strings, numbers, booleans, dates and times as
    serial numbers with their format; the header row bold on a light fill, frozen, with an autofilter.
    """

    def __init__(self, target: str | IO[bytes]) -> None:
        import zipfile

        self.zip = zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1)
        self.sheets: list[tuple[str, int, int]] = []  # (title, columns, rows with the header)
        self.styles: dict[str | None, int] = {None: 0}  # number format → cell style index (1 is the header's)
        self.stream: IO[bytes] | None = None
        self.letters: list[str] = []
        self.row = 0
        self.buffer: list[str] = []

    def _style(self, number_format: str) -> int:
        found = self.styles.get(number_format)
        if found is None:
            found = self.styles[number_format] = len(self.styles) + 1
        return found

    def new_sheet(self, title: str, headers: list, widths: list[float]) -> None:
        self.sheets.append((title, len(widths), 0))
        self.stream = self.zip.open(f"xl/worksheets/sheet{len(self.sheets)}.xml", "w", force_zip64=True)
        self.letters = [_letters(index) for index in range(max(len(widths), len(headers)))]
        columns = "".join(f'<col min="{index}" max="{index}" width="{width}" customWidth="1"/>'
                          for index, width in enumerate(widths, 1))
        self.stream.write(
            (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet {_NS} {_REL_NS}>'
             '<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" '
             'state="frozen"/><selection pane="bottomLeft" activeCell="A2" sqref="A2"/></sheetView></sheetViews>'
             '<sheetFormatPr defaultRowHeight="15"/>' + (f"<cols>{columns}</cols>" if columns else "")
             + '<sheetData><row r="1">'
             + "".join(f'<c r="{self.letters[index]}1" s="1" t="inlineStr"><is><t xml:space="preserve">'
                       f'{_escape(str(value))}</t></is></c>' for index, value in enumerate(safe_row(headers))
                       if value is not None)
             + "</row>").encode("utf-8"))
        self.row = 1

    def append(self, values: list[tuple[object, str | None]]) -> None:
        self.row += 1
        row, letters = self.row, self.letters
        cells = [f'<row r="{row}">']
        for index, (value, number_format) in enumerate(values):
            if value is None:
                continue
            if index >= len(letters):
                letters.append(_letters(index))
            where = f'{letters[index]}{row}'
            if isinstance(value, str):
                cells.append(f'<c r="{where}" t="inlineStr"><is><t xml:space="preserve">{_escape(value)}</t></is></c>')
            elif isinstance(value, bool):
                cells.append(f'<c r="{where}" t="b"><v>{int(value)}</v></c>')
            elif isinstance(value, (int, float, Decimal)):
                if isinstance(value, float) and not math.isfinite(value):
                    continue
                style = self._style(number_format) if number_format else 0
                cells.append(f'<c r="{where}" s="{style}"><v>{value}</v></c>' if style else
                             f'<c r="{where}"><v>{value}</v></c>')
            elif isinstance(value, (dt.datetime, dt.date)):
                moment = value if isinstance(value, dt.datetime) else dt.datetime.combine(value, dt.time())
                serial = (moment - _EXCEL_EPOCH) / dt.timedelta(days=1)
                style = self._style(number_format or DATETIME_FORMAT)
                cells.append(f'<c r="{where}" s="{style}"><v>{serial!r}</v></c>')
            else:
                cells.append(f'<c r="{where}" t="inlineStr"><is><t xml:space="preserve">{_escape(str(value))}'
                             '</t></is></c>')
        cells.append("</row>")
        self.buffer.append("".join(cells))
        if len(self.buffer) >= 500:
            self._flush()

    def _flush(self) -> None:
        self.stream.write("".join(self.buffer).encode("utf-8"))
        self.buffer = []

    def finish_sheet(self, columns: int, count: int) -> None:
        self._flush()
        title, width, _ = self.sheets[-1]
        self.sheets[-1] = (title, columns, count + 1)
        tail = "</sheetData>"
        if columns:
            tail += f'<autoFilter ref="A1:{_letters(columns - 1)}{count + 1}"/>'
        self.stream.write((tail + "</worksheet>").encode("utf-8"))
        self.stream.close()

    def add_chart(self, chart: object, anchor: str) -> None:
        raise TypeError("charts need the openpyxl workbook")

    def save(self, target: str | IO[bytes]) -> None:
        sheets = "".join(f'<sheet name="{_escape(title)}" sheetId="{index}" r:id="rId{index}"/>'
                         for index, (title, _, _) in enumerate(self.sheets, 1))
        names = "".join(
            f'<definedName name="_xlnm._FilterDatabase" localSheetId="{index}" hidden="1">'
            + _escape("'" + title.replace("'", "''") + f"'!$A$1:${_letters(columns - 1)}${rows}")
            + "</definedName>"
            for index, (title, columns, rows) in enumerate(self.sheets) if columns)
        self.zip.writestr("xl/workbook.xml", (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<workbook {_NS} {_REL_NS}>'
            f'<bookViews><workbookView/></bookViews><sheets>{sheets}</sheets>'
            + (f"<definedNames>{names}</definedNames>" if names else "") + "</workbook>"))
        relations = "".join(f'<Relationship Id="rId{index}" Type="{_DOC_REL}/worksheet" '
                            f'Target="worksheets/sheet{index}.xml"/>' for index in range(1, len(self.sheets) + 1))
        self.zip.writestr("xl/_rels/workbook.xml.rels", (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships '
            'xmlns="http://schemas.openxmlformats.org/package/2006/relationships">' + relations
            + f'<Relationship Id="rId{len(self.sheets) + 1}" Type="{_DOC_REL}/styles" Target="styles.xml"/>'
            "</Relationships>"))
        self.zip.writestr("_rels/.rels", (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships '
            'xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{_DOC_REL}/officeDocument" Target="xl/workbook.xml"/>'
            "</Relationships>"))
        overrides = "".join(f'<Override PartName="/xl/worksheets/sheet{index}.xml" '
                            f'ContentType="{_CT}.worksheet+xml"/>' for index in range(1, len(self.sheets) + 1))
        self.zip.writestr("[Content_Types].xml", (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Types '
            'xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{_CT}.sheet.main+xml"/>'
            f'<Override PartName="/xl/styles.xml" ContentType="{_CT}.styles+xml"/>{overrides}</Types>'))
        self.zip.writestr("xl/styles.xml", self._styles_xml())
        self.zip.close()

    def _styles_xml(self) -> str:
        custom, styles = [], []
        for number_format, index in sorted(((f, i) for f, i in self.styles.items() if f), key=lambda item: item[1]):
            format_id = _BUILTIN_FORMATS.get(number_format)
            if format_id is None:
                format_id = 164 + len(custom)
                custom.append(f"<numFmt numFmtId=\"{format_id}\" formatCode=\"{_escape(number_format)}\"/>")
            styles.append(f'<xf numFmtId="{format_id}" fontId="0" fillId="0" borderId="0" applyNumberFormat="1"/>')
        return (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<styleSheet {_NS}>'
            + (f'<numFmts count="{len(custom)}">{"".join(custom)}</numFmts>' if custom else "")
            + '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
            '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
            '<fills count="3"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/>'
            '</fill><fill><patternFill patternType="solid">'
            f'<fgColor rgb="00{HEADER_FILL}"/></patternFill></fill></fills>'
            '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
            '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
            f'<cellXfs count="{2 + len(styles)}"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'
            '<xf numFmtId="0" fontId="1" fillId="2" borderId="0" applyFont="1" applyFill="1" applyAlignment="1">'
            '<alignment vertical="top" wrapText="1"/></xf>' + "".join(styles) + "</cellXfs>"
            '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>')
