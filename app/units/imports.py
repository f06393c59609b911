"""Importing units and counters from an uploaded table: all rows or none, every problem listed by row number.

The file is read by ``app.uploads`` (type, size, content and row checks); this module matches its columns and checks
each row against the organiser's subtree and what already exists, then creates the rows with the unit services.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Collection, Iterator

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from app.auth.audit import record
from app.auth.models import Organiser
from app.extensions import db
from app.units.models import Counter, Unit
from app.units.services import (CODE_MESSAGE, CODE_PATTERN, DEFAULT_INSTRUMENT, UNIT_KIND_LABELS, create_counter,
                                create_unit, list_fields, list_units)
from app.uploads import Column, TableRow, UploadLimits, not_imported, read_columns
from app.validation import Message, Problem, Rejected

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
    Column("instrument", "Mã phiếu khảo sát", False, _l("Mã phiếu SIPAS đã công bố (xem ở trang của từng quầy); để trống là phiếu "
                                                             "khảo sát đầy đủ.")),
    Column("fields", "Mã lĩnh vực", False, _l("Các mã lĩnh vực đã có, cách nhau bởi dấu chấm phẩy (;).")),
)

#: The columns of each import table.
TABLES = {"units": UNIT_COLUMNS, "counters": COUNTER_COLUMNS}


def import_table(actor: Organiser, root: Unit, kind: str, filename: str, data: bytes, *, limits: UploadLimits,
                 instruments: Collection[str], now: dt.datetime) -> int:
    """Read an uploaded table of units or counters and import every row into the root's subtree, or none.

    :param instruments: the codes of the published SIPAS instruments a counter may serve.
    :raise Rejected: the file or some rows are wrong (every problem is listed); nothing is written.
    """
    try:
        rows = read_columns(filename, data, TABLES[kind], limits)
    except Rejected as refused:
        raise not_imported(list(refused.problems), refused.status) from None
    if kind == "units":
        return import_units(actor, root, rows, now)
    return import_counters(actor, root, rows, instruments, now)


def import_units(actor: Organiser, root: Unit, rows: list[TableRow], now: dt.datetime) -> int:
    """Create every unit of the table under parents of the root's subtree, or none (row-numbered problems).

    A parent is an active unit of the subtree or a unit on an earlier row of the same table.

    :raise Rejected: listing every problem found; nothing is written.
    """
    visible = {unit.code: unit for unit in list_units(root)}
    checked = _CheckedRows(Unit, rows)
    planned = []
    for row, code, name, fail in checked:
        kind = _unit_kind(row.values.get("kind", ""))
        if kind is None:
            fail(_l("Loại đơn vị “%(kind)s” không hợp lệ.", kind=row.values["kind"][:40]))
        parent = row.values.get("parent", "")
        if not parent:
            fail(_l("Thiếu mã đơn vị cấp trên."))
        elif parent in visible and not visible[parent].is_active:
            fail(_l("Đơn vị cấp trên “%(code)s” đang ngừng hoạt động.", code=parent))
        elif parent not in visible and not (parent in checked.seen and checked.seen[parent] < row.number):
            fail(_l("Không tìm thấy đơn vị cấp trên “%(code)s” trong phạm vi quản lý của bạn (đơn vị cấp trên phải có "
                    "sẵn hoặc nằm ở dòng phía trên).", code=parent[:40]))
        headcount_text = row.values.get("headcount", "")
        headcount = int(headcount_text) if re.fullmatch(r"[0-9]{1,8}", headcount_text) else None
        if headcount_text and headcount is None:
            fail(_l("Biên chế “%(value)s” phải là số nguyên không âm.", value=headcount_text[:20]))
        block = row.values.get("block", "") or None
        if block and len(block) > 32:
            fail(_l("Khối dài tối đa 32 ký tự."))
        planned.append((code, name, kind, parent, headcount, block))
    checked.refuse_if_wrong()
    units = dict(visible)
    for code, name, kind, parent, headcount, block in planned:
        units[code] = create_unit(code, name, kind=kind, parent=units[parent], headcount=headcount, block=block)
        units[code].created_at = now
    return _imported(actor, root, "unit", [plan[0] for plan in planned], now)


def import_counters(actor: Organiser, root: Unit, rows: list[TableRow], instruments: Collection[str],
                    now: dt.datetime) -> int:
    """Create every counter of the table in active units of the root's subtree, or none (row-numbered problems).

    :raise Rejected: listing every problem found; nothing is written.
    """
    visible = {unit.code: unit for unit in list_units(root)}
    fields = {field.code: field for field in list_fields()}
    checked = _CheckedRows(Counter, rows)
    planned = []
    for row, code, name, fail in checked:
        unit_code = row.values.get("unit", "")
        unit = visible.get(unit_code)
        if not unit_code:
            fail(_l("Thiếu mã đơn vị."))
        elif unit is None:
            fail(_l("Không tìm thấy đơn vị “%(code)s” trong phạm vi quản lý của bạn.", code=unit_code[:40]))
        elif not unit.is_active:
            fail(_l("Đơn vị “%(code)s” đang ngừng hoạt động.", code=unit_code))
        instrument = row.values.get("instrument", "") or DEFAULT_INSTRUMENT
        if instrument not in instruments:
            fail(_l("Phiếu khảo sát “%(code)s” chưa được công bố hoặc không phải phiếu SIPAS.", code=instrument[:40]))
        field_codes = [part.strip() for part in re.split(r"[;,]", row.values.get("fields", "")) if part.strip()]
        unknown = [field_code for field_code in field_codes if field_code not in fields]
        if unknown:
            fail(_l("Không có lĩnh vực mã: %(codes)s.", codes=", ".join(c[:40] for c in unknown[:10])))
        planned.append((code, name, unit, instrument, [fields[c] for c in dict.fromkeys(field_codes) if c in fields]))
    checked.refuse_if_wrong()
    for code, name, unit, instrument, service_fields in planned:
        create_counter(code, name, unit, now=now, service_fields=service_fields, instrument_code=instrument)
    return _imported(actor, root, "counter", [plan[0] for plan in planned], now)


#: Reports a problem of the row being checked.
Fail = Callable[[Message], None]


class _CheckedRows:
    """The rows of an import table, each with what every table has checked (a new code, a name) and a way to
    report its own problems; the problems of every row are kept, so that the file is refused with all of them."""

    def __init__(self, model: type[Unit] | type[Counter], rows: list[TableRow]) -> None:
        self.rows = rows
        codes = [row.values.get("code", "") for row in rows]
        self.taken = set(db.session.scalars(sa.select(model.code).where(model.code.in_(codes)))) if codes else set()
        #: Code → the row that first used it.
        self.seen: dict[str, int] = {}
        self.problems: list[Problem] = []

    def __iter__(self) -> Iterator[tuple[TableRow, str, str, Fail]]:
        for row in self.rows:
            def fail(message: Message, number: int = row.number) -> None:
                self.problems.append(Problem(message, row=number))

            yield row, self._code(row, fail), self._name(row, fail), fail

    def refuse_if_wrong(self) -> None:
        """:raise Rejected: when some row has a problem (all of them listed)."""
        if self.problems:
            raise not_imported(self.problems)

    def _code(self, row: TableRow, fail: Fail) -> str:
        code = row.values.get("code", "")
        if not code:
            fail(_l("Thiếu mã."))
        elif not CODE_PATTERN.fullmatch(code):
            fail(_l("Mã “%(code)s” không hợp lệ: %(rule)s", code=code[:40], rule=CODE_MESSAGE))
        elif code in self.seen:
            fail(_l("Mã “%(code)s” trùng với dòng %(row)d.", code=code, row=self.seen[code]))
        elif code in self.taken:
            fail(_l("Mã “%(code)s” đã có trong hệ thống.", code=code))
        else:
            self.seen[code] = row.number
        return code

    @staticmethod
    def _name(row: TableRow, fail: Fail) -> str:
        name = " ".join(row.values.get("name", "").split())
        if not name:
            fail(_l("Thiếu tên."))
        elif len(name) > 200:
            fail(_l("Tên dài quá 200 ký tự."))
        return name


def _imported(actor: Organiser, root: Unit, entity: str, codes: list[str], now: dt.datetime) -> int:
    """Record an import in the audit log (the first 50 codes) and return how many rows it created."""
    record(actor, root.id, f"import.{entity}s", entity, None, {"count": len(codes), "codes": codes[:50]}, now)
    return len(codes)


def _unit_kind(text: str) -> str | None:
    text = text.strip()
    if not text:
        return "other"
    for kind, label in UNIT_KIND_LABELS.items():
        if text.lower() in (kind, str(label).lower()):
            return kind
    return None
