"""Reading an uploaded table (CSV or XLSX) without trusting it: its type, size, content, inflated size and row count
are checked before any row reaches a feature.

The features match the header row against their own columns and check each row; this module only hands them the
header and the non-blank rows with their spreadsheet numbers (the header is row 1). Every refusal is a
``Rejected`` with one file-level problem, in the uploader's language. Limits come from the configuration
(``*_MAX_BYTES``, ``*_MAX_ROWS`` and ``UPLOAD_MAX_INFLATED``).

An XLSX is checked before anything in it is materialised: the archive's entries (count, unpacked size, compression
ratio), then one streaming pass over the first sheet's XML counting its rows and cells (with a cap on each, and a
time budget) while keeping nothing. Rows are then read as the sheet stores them: a declared dimension
(``A1:XFD1048576``) or a far cell (row 1.048.576) is never padded into millions of empty rows or columns.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import time
import unicodedata
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from app.validation import Message, Problem, Rejected

#: The table formats an upload may have.
TABLE_FORMATS = ("csv", "xlsx")
#: Columns read from a worksheet: every table format here has far fewer.
MAX_COLUMNS = 40
_ZIP_MAGIC = b"PK\x03\x04"
#: Entries an XLSX archive may hold (a workbook from Excel or LibreOffice has a dozen or two).
MAX_ZIP_ENTRIES = 200
#: An entry unpacking to more than this many times its packed size is a bomb, not a spreadsheet (real sheets: < 30).
MAX_COMPRESSION_RATIO = 200
#: Entries smaller than this unpacked are not checked for their ratio (tiny XML parts compress very well).
_RATIO_FLOOR = 256 * 1024
#: Cells (of any column) one sheet row may hold; Excel itself stops at 16.384 columns.
MAX_ROW_CELLS = 16_384
#: Blank ``<row>`` elements tolerated beyond the data rows (formatting leaves some).
BLANK_ROW_ALLOWANCE = 10_000
#: Seconds the checking pass over a sheet may take before the file is refused.
SCAN_SECONDS = 3.0


@dataclass(frozen=True)
class UploadLimits:
    """How much an uploaded table may hold: bytes on the wire, bytes once an XLSX is unpacked, data rows."""

    max_bytes: int
    max_rows: int
    max_inflated: int = 50 * 1024 * 1024

    @classmethod
    def from_config(cls, config: Mapping, prefix: str) -> UploadLimits:
        """Read ``<prefix>_MAX_BYTES``, ``<prefix>_MAX_ROWS`` and ``UPLOAD_MAX_INFLATED`` from a configuration."""
        return cls(config[f"{prefix}_MAX_BYTES"], config[f"{prefix}_MAX_ROWS"], config["UPLOAD_MAX_INFLATED"])


@dataclass(frozen=True)
class Table:
    """An uploaded table: its header cells and its non-blank rows as (spreadsheet row number, cells).

    Cells are as the file holds them: text from a CSV; text, numbers, dates or None from an XLSX.
    """

    header: list[object]
    rows: list[tuple[int, list[object]]]


def not_imported(problems: list[Problem], status: int | None = None) -> Rejected:
    """Refuse a whole file, saying so above its row-numbered problems."""
    return Rejected(problems, _l("Tệp chưa được nhập: có %(n)d lỗi. Không dòng nào được ghi.", n=len(problems)),
                    status=status)


def _refuse(message: Message, status: int | None = None) -> Rejected:
    return Rejected([Problem(message)], status=status)


def extension(filename: str) -> str:
    """Return a file name's extension, lower-case ("" when it has none)."""
    return filename.rsplit(".", 1)[-1].lower() if "." in filename else ""


def check_size(data: bytes, limits: UploadLimits) -> None:
    """Refuse a file larger than the limit (413)."""
    if len(data) > limits.max_bytes:
        raise _refuse(_l("Tệp quá lớn (tối đa %(mb)d MB).", mb=limits.max_bytes // (1024 * 1024)), 413)


def read_table(filename: str, data: bytes, limits: UploadLimits) -> Table:
    """Read an uploaded .csv (UTF-8) or .xlsx (its first sheet) within the limits.

    Blank rows are skipped (before the header too); at most ``limits.max_rows`` data rows are read.
    :raise Rejected: wrong type, too large, empty, not what its extension says, unreadable, too many rows.
    """
    kind = extension(filename)
    if kind not in TABLE_FORMATS:
        raise _refuse(_l("Chỉ nhận tệp .csv hoặc .xlsx."))
    check_size(data, limits)
    if not data.strip():
        raise _refuse(_l("Tệp trống."))
    grid = enumerate(_csv_rows(data), start=1) if kind == "csv" else _xlsx_rows(data, limits)
    header: list[object] | None = None
    rows: list[tuple[int, list[object]]] = []
    seen = 0
    for number, cells in grid:
        seen += 1
        if seen > limits.max_rows + 1 + BLANK_ROW_ALLOWANCE:  # a file of blank lines is read no further
            raise _refuse(_l("Tệp có hơn %(max)d dòng dữ liệu; mỗi lần nhập tối đa %(max)d dòng, hãy chia nhỏ tệp.",
                             max=limits.max_rows))
        if all(cell is None or (isinstance(cell, str) and not cell.strip()) for cell in cells):
            continue
        if header is None:
            header = list(cells)
            first = number
            continue
        if len(rows) == limits.max_rows:
            raise _refuse(_l("Tệp có hơn %(max)d dòng dữ liệu; mỗi lần nhập tối đa %(max)d dòng, hãy chia nhỏ tệp.",
                             max=limits.max_rows))
        rows.append((number - first + 1, list(cells)))
    if header is None:
        raise _refuse(_l("Tệp trống."))
    return Table(header, rows)


def _csv_rows(data: bytes) -> Iterator[list[str]]:
    if b"\x00" in data or data.startswith(_ZIP_MAGIC):
        raise _refuse(_l("Tệp có đuôi .csv nhưng không phải văn bản CSV mã hoá UTF-8."))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _refuse(_l("Tệp CSV phải lưu bằng mã hoá UTF-8 (trong Excel: “CSV UTF-8 (Comma delimited)”)."
                         )) from None
    first_line = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first_line.count)
    try:
        yield from ([cell.strip() for cell in row] for row in csv.reader(io.StringIO(text), delimiter=delimiter))
    except csv.Error as error:
        raise _refuse(_l("Tệp CSV không đọc được: %(error)s", error=str(error))) from None


def _xlsx_rows(data: bytes, limits: UploadLimits) -> Iterator[tuple[int, list[object]]]:
    from openpyxl import load_workbook
    from openpyxl.worksheet._reader import WorkSheetParser

    broken = _l("Không đọc được tệp XLSX: tệp không phải là bảng tính Excel .xlsx hợp lệ.")
    if not data.startswith(_ZIP_MAGIC):
        raise _refuse(broken)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            _check_archive(archive, limits)
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Rejected:
        raise
    except Exception:  # openpyxl and zipfile raise many kinds of errors for files that are not workbooks
        raise _refuse(broken) from None
    try:
        if not book.worksheets:
            raise _refuse(broken)
        sheet = book.worksheets[0]
        with sheet._get_source() as source:
            _check_sheet(source, limits)
        with sheet._get_source() as source:
            parser = WorkSheetParser(source, sheet._shared_strings, data_only=True, epoch=book.epoch,
                                     date_formats=book._date_formats, timedelta_formats=book._timedelta_formats)
            for number, cells in parser.parse():
                values: list[object] = [None] * MAX_COLUMNS
                width = 0
                for cell in cells:
                    column = cell["column"]
                    if 1 <= column <= MAX_COLUMNS:
                        values[column - 1] = cell["value"]
                        width = max(width, column)
                yield number, values[:width]
    except Rejected:
        raise
    except Exception:  # a damaged sheet fails while it is read, not when it is opened
        raise _refuse(broken) from None
    finally:
        book.close()


def _check_archive(archive: zipfile.ZipFile, limits: UploadLimits) -> None:
    """Refuse an archive with too many entries, too many bytes once unpacked, or an entry that inflates like a bomb.

    The sizes are the ones the archive declares; zipfile checks them while unpacking, so a lying entry fails there.
    """
    entries = archive.infolist()
    if len(entries) > MAX_ZIP_ENTRIES or "xl/workbook.xml" not in {entry.filename for entry in entries}:
        raise _refuse(_l("Không đọc được tệp XLSX: tệp không phải là bảng tính Excel .xlsx hợp lệ."))
    unpacked = sum(entry.file_size for entry in entries)
    bomb = any(entry.file_size > _RATIO_FLOOR
               and entry.file_size > MAX_COMPRESSION_RATIO * max(entry.compress_size, 1) for entry in entries)
    if unpacked > limits.max_inflated or bomb:
        raise _refuse(_l("Tệp XLSX giải nén quá lớn."))


def _check_sheet(source, limits: UploadLimits) -> None:
    """Stream the sheet's XML once, keeping nothing, and refuse it when it has more rows or cells than an import
    may read, a row with more cells than Excel allows, or takes longer than SCAN_SECONDS to go through."""
    from lxml import etree

    too_many = _l("Trang tính có quá nhiều dòng hoặc ô; mỗi lần nhập tối đa %(max)d dòng dữ liệu, hãy chia nhỏ tệp.",
                  max=limits.max_rows)
    max_rows = limits.max_rows + 1 + BLANK_ROW_ALLOWANCE
    max_cells = (limits.max_rows + 1) * MAX_COLUMNS + MAX_ROW_CELLS
    rows = cells = row_cells = 0
    deadline = time.monotonic() + SCAN_SECONDS
    for _, element in etree.iterparse(source, events=("end",), resolve_entities=False, no_network=True,
                                      huge_tree=False, remove_comments=True, remove_pis=True):
        name = element.tag.rsplit("}", 1)[-1]
        if name == "c":
            cells += 1
            row_cells += 1
            if cells > max_cells or row_cells > MAX_ROW_CELLS:
                raise _refuse(too_many)
        elif name == "row":
            rows += 1
            row_cells = 0
            if rows > max_rows:
                raise _refuse(too_many)
            if rows % 256 == 0 and time.monotonic() > deadline:
                raise _refuse(too_many)
            element.clear(keep_tail=False)
            parent = element.getparent()
            while parent is not None and element.getprevious() is not None:
                del parent[0]


# --- tables with named columns (the organiser's imports: units, counters, dossier volumes) ----------------------------


@dataclass(frozen=True)
class Column:
    """One column of an import table: its key, the header of the template file, and what it holds."""

    key: str
    header: str
    required: bool
    help: str


@dataclass(frozen=True)
class TableRow:
    """One data row: its number as a spreadsheet shows it (the header is row 1) and its cells by column key."""

    number: int
    values: dict[str, str]


def read_columns(filename: str, data: bytes, columns: tuple[Column, ...], limits: UploadLimits) -> list[TableRow]:
    """Read an uploaded table whose header names ``columns`` (by header or key, without accents, case or spaces).

    Other columns are ignored; every cell becomes trimmed text.
    :raise Rejected: what ``read_table`` refuses, a missing required column, or no data row.
    """
    table = read_table(filename, data, limits)
    positions = _header_positions([_cell_text(cell) for cell in table.header], columns)
    rows = [TableRow(number, {key: _cell_text(cells[index]) if index < len(cells) else ""
                              for key, index in positions.items()}) for number, cells in table.rows]
    if not rows:
        raise _refuse(_l("Tệp không có dòng dữ liệu nào (chỉ có dòng tiêu đề)."))
    return rows


def template_file(columns: tuple[Column, ...], fmt: str) -> bytes:
    """Return an empty import table (the header row) as UTF-8 CSV or XLSX."""
    from app.exports import iter_csv, write_xlsx

    headers = [column.header for column in columns]
    if fmt == "csv":
        return "".join(iter_csv(headers, [])).encode("utf-8")
    buffer = io.BytesIO()
    write_xlsx([(str(_l("Mẫu nhập")), headers, [])], buffer)  # uploads read the first sheet, whatever its name
    return buffer.getvalue()


def _normalise_header(text: str) -> str:
    """Compare headers without case, accents or extra spaces ("Mã đơn vị" = "ma don vi")."""
    text = unicodedata.normalize("NFKD", text.replace("đ", "d").replace("Đ", "D"))
    text = "".join(char for char in text if not unicodedata.combining(char))
    return " ".join(text.lower().replace("_", " ").split())


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    return str(value).strip()


def _header_positions(header: list[str], columns: tuple[Column, ...]) -> dict[str, int]:
    wanted = {}
    for column in columns:
        wanted[_normalise_header(column.header)] = column.key
        wanted[_normalise_header(column.key)] = column.key
    positions: dict[str, int] = {}
    for index, title in enumerate(header):
        key = wanted.get(_normalise_header(title))
        if key is not None and key not in positions:
            positions[key] = index
    missing = [column.header for column in columns if column.required and column.key not in positions]
    if missing:
        raise Rejected([Problem(_l("Thiếu cột “%(column)s” ở dòng tiêu đề.", column=name), row=1) for name in missing])
    return positions
