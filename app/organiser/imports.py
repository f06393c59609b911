"""Reading uploaded CSV/XLSX tables of units and counters safely: type and size checks, header matching, row numbers."""
from __future__ import annotations

import csv
import datetime as dt
import io
import unicodedata
import zipfile
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from app.errors import AppError

#: Uncompressed size an .xlsx may unpack to: a few thousand rows need far less, a zip bomb far more.
XLSX_MAX_UNPACKED = 50 * 1024 * 1024
EXTENSIONS = ("csv", "xlsx")


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


@dataclass(frozen=True)
class ImportProblem:
    """Something wrong with the file; `row` is None when it concerns the whole file."""

    row: int | None
    message: str


class ImportRejected(AppError):
    """The file was not imported at all; `problems` lists every reason, by row."""

    def __init__(self, problems: list[ImportProblem], status: int = 400) -> None:
        super().__init__(_l("Tệp chưa được nhập: có %(n)d lỗi. Không dòng nào được ghi.", n=len(problems)),
                         status=status)
        self.problems = tuple(problems)


UNIT_COLUMNS = (
    Column("code", "Mã đơn vị", True, _l("Mã duy nhất: chữ không dấu, số, dấu chấm, gạch ngang, gạch dưới; "
                                         "tối đa 32 ký tự.")),
    Column("name", "Tên đơn vị", True, _l("Tối đa 200 ký tự.")),
    Column("kind", "Loại", False, _l("Một trong: province, department, commune, ward, center, division, other "
                                     "(hoặc tên tiếng Việt tương ứng); để trống là “other”.")),
    Column("parent", "Mã đơn vị cấp trên", True, _l("Đơn vị có sẵn trong phạm vi của bạn, hoặc một đơn vị ở dòng "
                                                   "phía trên của tệp.")),
    Column("headcount", "Biên chế", False, _l("Số nguyên không âm; có thể để trống.")),
    Column("block", "Khối", False, _l("Khối thi đua, tối đa 32 ký tự; có thể để trống.")),
)

COUNTER_COLUMNS = (
    Column("code", "Mã quầy", True, _l("Mã duy nhất: chữ không dấu, số, dấu chấm, gạch ngang, gạch dưới; "
                                       "tối đa 32 ký tự.")),
    Column("name", "Tên quầy", True, _l("Tối đa 200 ký tự.")),
    Column("unit", "Mã đơn vị", True, _l("Đơn vị đang hoạt động trong phạm vi của bạn.")),
    Column("instrument", "Mã phiếu khảo sát", False, _l("Mã phiếu SIPAS đã công bố; để trống là “sipas-counter”.")),
    Column("fields", "Mã lĩnh vực", False, _l("Các mã lĩnh vực đã có, cách nhau bởi dấu chấm phẩy (;).")),
)


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


def _rows_from_csv(data: bytes) -> list[list[str]]:
    if b"\x00" in data or data.startswith(b"PK\x03\x04"):
        raise ImportRejected([ImportProblem(None, _l("Tệp có đuôi .csv nhưng không phải văn bản CSV."))])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportRejected([ImportProblem(None, _l("Tệp CSV phải lưu bằng mã hoá UTF-8 (trong Excel: "
                                                     "“CSV UTF-8 (Comma delimited)”)."))]) from None
    first_line = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first_line.count)
    try:
        return [[cell.strip() for cell in row] for row in csv.reader(io.StringIO(text), delimiter=delimiter)]
    except csv.Error as error:
        raise ImportRejected([ImportProblem(None, _l("Tệp CSV không đọc được: %(error)s", error=str(error)))]) from None


def _rows_from_xlsx(data: bytes) -> list[list[str]]:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    broken = ImportRejected([ImportProblem(None, _l("Tệp không phải là bảng tính Excel .xlsx hợp lệ."))])
    if not data.startswith(b"PK\x03\x04"):
        raise broken
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
            unpacked = sum(info.file_size for info in archive.infolist())
        if "xl/workbook.xml" not in names or unpacked > XLSX_MAX_UNPACKED:
            raise broken
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        try:
            return [[_cell_text(value) for value in row] for row in book.worksheets[0].iter_rows(values_only=True)]
        finally:
            book.close()
    except (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError, TypeError, IndexError, OSError):
        raise broken from None


def read_table(filename: str, data: bytes, columns: tuple[Column, ...], *, max_bytes: int,
               max_rows: int) -> list[TableRow]:
    """Parse an uploaded .csv (UTF-8) or .xlsx (first sheet) into rows keyed by column; blank rows are skipped.

    :raise ImportRejected: wrong type, too large, unreadable, missing columns, no data or too many rows.
    """
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if extension not in EXTENSIONS:
        raise ImportRejected([ImportProblem(None, _l("Chỉ nhận tệp .csv hoặc .xlsx."))])
    if len(data) > max_bytes:
        raise ImportRejected([ImportProblem(None, _l("Tệp quá lớn: tối đa %(kb)d KB.", kb=max_bytes // 1024))],
                             status=413)
    if not data.strip():
        raise ImportRejected([ImportProblem(None, _l("Tệp trống."))])
    grid = _rows_from_csv(data) if extension == "csv" else _rows_from_xlsx(data)
    while grid and not any(grid[0]):
        grid.pop(0)
    if not grid:
        raise ImportRejected([ImportProblem(None, _l("Tệp trống."))])
    positions = _header_positions(grid[0], columns)
    rows = []
    for number, cells in enumerate(grid[1:], start=2):
        if not any(cells):
            continue
        rows.append(TableRow(number, {key: cells[index] if index < len(cells) else ""
                                      for key, index in positions.items()}))
    if not rows:
        raise ImportRejected([ImportProblem(None, _l("Tệp không có dòng dữ liệu nào (chỉ có dòng tiêu đề)."))])
    if len(rows) > max_rows:
        raise ImportRejected([ImportProblem(None, _l("Tệp có %(n)d dòng; mỗi lần nhập tối đa %(max)d dòng.",
                                                     n=len(rows), max=max_rows))])
    return rows


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
        raise ImportRejected([ImportProblem(1, _l("Thiếu cột “%(column)s” ở dòng tiêu đề.", column=name))
                              for name in missing])
    return positions


def template_file(columns: tuple[Column, ...], fmt: str) -> bytes:
    """Return an empty import template (the header row) as UTF-8 CSV or XLSX."""
    from app.exports import iter_csv, write_xlsx

    headers = [column.header for column in columns]
    if fmt == "csv":
        return "".join(iter_csv(headers, [])).encode("utf-8")
    buffer = io.BytesIO()
    write_xlsx([(str(_l("Mẫu nhập")), headers, [])], buffer)  # uploads read the first sheet, whatever its name
    return buffer.getvalue()
