"""Managing the field in an organiser's subtree: units, service fields, counters, posters, imports, comments, exports.

Every function takes the acting organiser (for the audit log) and objects the view has already loaded within the
organiser's subtree; functions that receive codes or ids themselves (imports, field lists) scope them here.
"""
from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from app.auth.access import MAX_ID, load_by_id
from app.auth.models import Organiser
from app.auth.services import record
from app.errors import AppError, NotFoundError, PermissionDeniedError
from app.extensions import db
from app.organiser.imports import COUNTER_COLUMNS, UNIT_COLUMNS, ImportProblem, ImportRejected, TableRow, read_table
from app.periods import Period
from app.surveys.exports import response_table
from app.surveys.models import InstrumentVersion, SurveyResponse
from app.surveys.posters import LAYOUTS, render_posters
from app.surveys.qr import make_qr_png, make_qr_svg
from app.surveys.services import counter_posters, counter_url, get_instrument, poster_text
from app.units.models import UNIT_KINDS, Counter, ServiceField, Unit, counter_service_fields
from app.units.services import create_counter, create_service_field, create_unit, list_counters, list_units
from app.units.services import rotate_token, set_counter_active

#: Codes of units, counters and service fields: what URLs, files and the CLI can carry without quoting.
CODE_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,31}")
CODE_MESSAGE = _l("Mã chỉ gồm chữ không dấu, số, dấu chấm, gạch ngang, gạch dưới (tối đa 32 ký tự).")

#: Unit kinds as organisers read them (imports accept either the code or this name).
UNIT_KIND_LABELS = {
    "province": _l("Tỉnh/Thành phố"),
    "department": _l("Sở, ban, ngành"),
    "commune": _l("Xã"),
    "ward": _l("Phường"),
    "center": _l("Trung tâm"),
    "division": _l("Phòng, bộ phận"),
    "other": _l("Khác"),
}
DEFAULT_INSTRUMENT = "sipas-counter"
#: Page numbers beyond this are read as this one (a typed 10**30 must not overflow the database integer).
MAX_PAGE = 100_000


# --- units -------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class UnitRow:
    """One line of the unit tree: the unit, how deep it sits below the organiser's unit, its counters."""

    id: int
    code: str
    name: str
    kind: str
    parent_code: str | None
    depth: int
    headcount: int | None
    block: str | None
    is_active: bool
    counters: int


@dataclass(frozen=True)
class UnitImpact:
    """What deactivating a unit touches: itself and its descendants, and their counters."""

    units: int
    counters: int


def unit_tree(root: Unit) -> list[UnitRow]:
    """Return the subtree in depth-first order, siblings by code."""
    units = list_units(root)
    counts = dict(db.session.execute(
        sa.select(Counter.unit_id, sa.func.count()).join(Unit, Unit.id == Counter.unit_id)
        .where(Unit.is_within(root)).group_by(Counter.unit_id)
    ).all())
    children: dict[int | None, list[Unit]] = {}
    for unit in units:
        children.setdefault(unit.parent_id, []).append(unit)
    codes = {unit.id: unit.code for unit in units}
    rows: list[UnitRow] = []

    def visit(unit: Unit, depth: int) -> None:
        rows.append(UnitRow(unit.id, unit.code, unit.name, unit.kind, codes.get(unit.parent_id), depth,
                            unit.headcount, unit.block, unit.is_active, counts.get(unit.id, 0)))
        for child in sorted(children.get(unit.id, []), key=lambda u: u.code):
            visit(child, depth + 1)

    visit(root, 0)
    return rows


def _clean_code(code: str) -> str:
    code = (code or "").strip()
    if not CODE_PATTERN.fullmatch(code):
        raise AppError(CODE_MESSAGE)
    return code


def _clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name or len(name) > 200:
        raise AppError(_l("Tên phải có từ 1 đến 200 ký tự."))
    return name


def _clean_unit_fields(kind: str, headcount: int | None, block: str | None) -> tuple[str, int | None, str | None]:
    if kind not in UNIT_KINDS:
        raise AppError(_l("Loại đơn vị “%(kind)s” không hợp lệ.", kind=kind))
    if headcount is not None and not 0 <= headcount <= 10_000_000:
        raise AppError(_l("Biên chế phải là số nguyên không âm."))
    block = (block or "").strip() or None
    if block is not None and len(block) > 32:
        raise AppError(_l("Khối dài tối đa 32 ký tự."))
    return kind, headcount, block


def add_unit(actor: Organiser, parent: Unit, *, code: str, name: str, kind: str, headcount: int | None,
             block: str | None, now: dt.datetime) -> Unit:
    """Create a unit under a parent of the actor's subtree."""
    if not parent.is_active:
        raise AppError(_l("Đơn vị cấp trên đang ngừng hoạt động."))
    kind, headcount, block = _clean_unit_fields(kind, headcount, block)
    unit = create_unit(_clean_code(code), _clean_name(name), kind=kind, parent=parent, headcount=headcount,
                       block=block)
    unit.created_at = now
    record(actor.id, unit.id, "unit.create", "unit", unit.id, {"code": unit.code, "parent": parent.code}, now)
    return unit


def edit_unit(actor: Organiser, unit: Unit, *, name: str, kind: str, headcount: int | None, block: str | None,
              now: dt.datetime) -> None:
    """Change a unit's name, kind, headcount and block (its code and place in the tree stay)."""
    kind, headcount, block = _clean_unit_fields(kind, headcount, block)
    after = {"name": _clean_name(name), "kind": kind, "headcount": headcount, "block": block}
    changes = {key: [getattr(unit, key), value] for key, value in after.items() if getattr(unit, key) != value}
    for key, (_, value) in changes.items():
        setattr(unit, key, value)
    if changes:
        _touch_counters(sa.select(Counter.id).where(Counter.unit_id == unit.id), now)  # the form shows its name
        record(actor.id, unit.id, "unit.edit", "unit", unit.id, {"code": unit.code, "changes": changes}, now)
    db.session.flush()


def unit_impact(unit: Unit) -> UnitImpact:
    """Count the units and counters that a change of the unit's state reaches."""
    subtree = sa.select(Unit.id).where(Unit.is_within(unit))
    units = db.session.scalar(sa.select(sa.func.count()).select_from(subtree.subquery()))
    counters = db.session.scalar(sa.select(sa.func.count()).where(Counter.unit_id.in_(subtree)))
    return UnitImpact(units, counters)


def set_unit_active(actor: Organiser, unit: Unit, active: bool, now: dt.datetime) -> int:
    """Deactivate or reactivate a unit with its whole subtree (their counters' QR codes answer 410 while off).

    :return: how many units changed.
    """
    if unit.id == actor.unit_id and not active:
        raise PermissionDeniedError(_l("Không thể ngừng hoạt động đơn vị gốc của tài khoản bạn."))
    if active and unit.parent is not None and not unit.parent.is_active:
        raise AppError(_l("Đơn vị cấp trên đang ngừng hoạt động: hãy kích hoạt đơn vị cấp trên trước."))
    changed = db.session.execute(
        sa.update(Unit).where(Unit.is_within(unit), Unit.is_active != active).values(is_active=active)
        .execution_options(synchronize_session="fetch")
    ).rowcount
    record(actor.id, unit.id, "unit.reactivate" if active else "unit.deactivate", "unit", unit.id,
           {"code": unit.code, "units": changed}, now)
    db.session.flush()
    return changed


# --- service fields ----------------------------------------------------------------------------------------------

def list_fields() -> list[ServiceField]:
    """Return every service field (the list is shared by the whole tree), by name."""
    return list(db.session.scalars(sa.select(ServiceField).order_by(ServiceField.name)))


def get_field(field_id: int) -> ServiceField:
    """Load a service field, or 404."""
    field = load_by_id(ServiceField, field_id)
    if field is None:
        raise NotFoundError(_l("Không tìm thấy lĩnh vực này."))
    return field


def add_field(actor: Organiser, *, code: str, name: str, name_en: str, now: dt.datetime) -> ServiceField:
    """Add a service field to the shared list."""
    name = _clean_name(name)
    field = create_service_field(_clean_code(code), name, " ".join((name_en or "").split())[:200] or name)
    record(actor.id, actor.unit_id, "field.create", "service_field", field.id, {"code": field.code}, now)
    return field


def check_field_editor(actor: Organiser) -> None:
    """Allow renaming shared service fields only to administrators of a top-level unit.

    The list is shared by every unit, so a commune's administrator renaming a field would change what another
    commune's citizens read.
    """
    if actor.role != "administrator" or actor.unit.parent_id is not None:
        raise PermissionDeniedError(_l("Danh mục lĩnh vực dùng chung cho mọi đơn vị: chỉ quản trị viên cấp tỉnh "
                                       "được sửa tên lĩnh vực."))


def edit_field(actor: Organiser, field: ServiceField, *, name: str, name_en: str, now: dt.datetime) -> None:
    """Rename a service field; counters offering it show the new name at once."""
    check_field_editor(actor)
    name = _clean_name(name)
    before = {"name": field.name, "name_en": field.name_en}
    field.name = name
    field.name_en = " ".join((name_en or "").split())[:200] or name
    _touch_counters(sa.select(counter_service_fields.c.counter_id)
                    .where(counter_service_fields.c.service_field_id == field.id), now)
    record(actor.id, actor.unit_id, "field.edit", "service_field", field.id,
           {"code": field.code, "before": before}, now)
    db.session.flush()


def _touch_counters(counter_ids: sa.Select, now: dt.datetime) -> None:
    """Mark counters as changed, so their cached citizen forms are rebuilt."""
    db.session.execute(sa.update(Counter).where(Counter.id.in_(counter_ids)).values(updated_at=now)
                       .execution_options(synchronize_session=False))


def _fields_by_ids(field_ids: list[int]) -> list[ServiceField]:
    ids = sorted(set(field_ids))
    in_range = all(0 < field_id <= MAX_ID for field_id in ids)
    fields = list(db.session.scalars(sa.select(ServiceField).where(ServiceField.id.in_(ids)))) if ids and in_range else []
    if len(fields) != len(ids):
        raise AppError(_l("Có lĩnh vực không hợp lệ; vui lòng tải lại trang."))
    return fields


# --- counters ----------------------------------------------------------------------------------------------------

def get_visible_counter(actor: Organiser, counter_id: int) -> Counter:
    """Load a counter whose unit lies in the actor's subtree, or 404."""
    counter = load_by_id(Counter, counter_id)
    if counter is None or not counter.unit.is_within(actor.unit):
        raise NotFoundError(_l("Không tìm thấy quầy này trong phạm vi quản lý của bạn."))
    return counter


def instrument_codes(kind: str | None = None) -> list[str]:
    """Return the codes of published instruments (of one kind, e.g. "sipas"), sorted."""
    query = sa.select(InstrumentVersion.code).distinct().order_by(InstrumentVersion.code)
    if kind is not None:
        query = query.where(InstrumentVersion.kind == kind)
    return list(db.session.scalars(query))


def _check_instrument(code: str) -> str:
    if code not in instrument_codes("sipas"):
        raise AppError(_l("Phiếu khảo sát “%(code)s” chưa được công bố hoặc không phải phiếu SIPAS.", code=code))
    return code


def add_counter(actor: Organiser, unit: Unit, *, code: str, name: str, field_ids: list[int], instrument_code: str,
                now: dt.datetime) -> Counter:
    """Create a counter in a unit of the actor's subtree, with a fresh QR token."""
    if not unit.is_active:
        raise AppError(_l("Đơn vị “%(name)s” đang ngừng hoạt động.", name=unit.name))
    counter = create_counter(_clean_code(code), _clean_name(name), unit, now=now,
                             service_fields=_fields_by_ids(field_ids),
                             instrument_code=_check_instrument(instrument_code))
    record(actor.id, unit.id, "counter.create", "counter", counter.id, {"code": counter.code}, now)
    return counter


def edit_counter(actor: Organiser, counter: Counter, *, name: str, unit: Unit, field_ids: list[int],
                 instrument_code: str, now: dt.datetime) -> None:
    """Change a counter's name, unit (within the subtree), service fields and instrument."""
    if unit.id != counter.unit_id and not unit.is_active:
        raise AppError(_l("Đơn vị “%(name)s” đang ngừng hoạt động.", name=unit.name))
    before = {"name": counter.name, "unit": counter.unit.code, "instrument": counter.instrument_code,
              "fields": [field.code for field in counter.service_fields]}
    counter.name = _clean_name(name)
    counter.unit = unit
    counter.instrument_code = _check_instrument(instrument_code)
    counter.service_fields = _fields_by_ids(field_ids)
    counter.updated_at = now
    record(actor.id, unit.id, "counter.edit", "counter", counter.id, {"code": counter.code, "before": before}, now)
    db.session.flush()


def set_counter_state(actor: Organiser, counter: Counter, active: bool, now: dt.datetime) -> None:
    """Deactivate a counter (its QR code answers 410) or reactivate it."""
    if active and not counter.unit.is_active:
        raise AppError(_l("Đơn vị của quầy đang ngừng hoạt động: hãy kích hoạt đơn vị trước."))
    set_counter_active(counter, active, now)
    record(actor.id, counter.unit_id, "counter.reactivate" if active else "counter.deactivate", "counter",
           counter.id, {"code": counter.code}, now)


def rotate_counter_token(actor: Organiser, counter: Counter, now: dt.datetime) -> None:
    """Give a counter a new QR token: every poster printed before stops working."""
    rotate_token(counter, now)
    record(actor.id, counter.unit_id, "counter.rotate_token", "counter", counter.id, {"code": counter.code}, now)


def counter_qr(counter: Counter, fmt: str, base_url: str, secret: str) -> bytes:
    """Return the counter's QR code as PNG or SVG bytes."""
    url = counter_url(base_url, counter.token_nonce, secret)
    return make_qr_png(url) if fmt == "png" else make_qr_svg(url).encode()


def counter_poster(counter: Counter, base_url: str, secret: str) -> bytes:
    """Return a one-page A4 PDF poster of one counter."""
    return render_posters(counter_posters([counter], base_url, secret), poster_text(), 1)


def unit_posters(unit: Unit, per_page: int, base_url: str, secret: str) -> bytes:
    """Return the A4 poster sheet of the active counters of a unit's subtree, `per_page` posters a page."""
    if per_page not in LAYOUTS:
        raise AppError(_l("Số áp phích mỗi trang phải là 1, 2 hoặc 4."))
    counters = list_counters(unit, include_inactive=False)
    if not counters:
        raise NotFoundError(_l("Đơn vị này không có quầy nào đang hoạt động để in áp phích."))
    return render_posters(counter_posters(counters, base_url, secret), poster_text(), per_page)


# --- imports -----------------------------------------------------------------------------------------------------

def _existing_codes(model: type[Unit] | type[Counter], codes: list[str]) -> set[str]:
    return set(db.session.scalars(sa.select(model.code).where(model.code.in_(codes)))) if codes else set()


def _check_row_code(row: TableRow, seen: dict[str, int], taken: set[str], problems: list[ImportProblem]) -> str:
    code = row.values.get("code", "")
    if not code:
        problems.append(ImportProblem(row.number, _l("Thiếu mã.")))
    elif not CODE_PATTERN.fullmatch(code):
        problems.append(ImportProblem(row.number, _l("Mã “%(code)s” không hợp lệ: %(rule)s", code=code[:40],
                                                     rule=CODE_MESSAGE)))
    elif code in seen:
        problems.append(ImportProblem(row.number, _l("Mã “%(code)s” trùng với dòng %(row)d.", code=code,
                                                     row=seen[code])))
    elif code in taken:
        problems.append(ImportProblem(row.number, _l("Mã “%(code)s” đã có trong hệ thống.", code=code)))
    else:
        seen[code] = row.number
    return code


def _check_row_name(row: TableRow, problems: list[ImportProblem]) -> str:
    name = " ".join(row.values.get("name", "").split())
    if not name:
        problems.append(ImportProblem(row.number, _l("Thiếu tên.")))
    elif len(name) > 200:
        problems.append(ImportProblem(row.number, _l("Tên dài quá 200 ký tự.")))
    return name


def _unit_kind(text: str) -> str | None:
    text = text.strip()
    if not text:
        return "other"
    for kind, label in UNIT_KIND_LABELS.items():
        if text.lower() in (kind, str(label).lower()):
            return kind
    return None


def import_units(actor: Organiser, root: Unit, rows: list[TableRow], now: dt.datetime) -> int:
    """Create every unit of the table under parents of the root's subtree, or none (row-numbered problems).

    A parent is an active unit of the subtree or a unit on an earlier row of the same table.

    :raise ImportRejected: listing every problem found; nothing is written.
    """
    visible = {unit.code: unit for unit in list_units(root)}
    taken = _existing_codes(Unit, [row.values.get("code", "") for row in rows])
    problems: list[ImportProblem] = []
    seen: dict[str, int] = {}
    planned = []
    for row in rows:
        code = _check_row_code(row, seen, taken, problems)
        name = _check_row_name(row, problems)
        kind = _unit_kind(row.values.get("kind", ""))
        if kind is None:
            problems.append(ImportProblem(row.number, _l("Loại đơn vị “%(kind)s” không hợp lệ.",
                                                         kind=row.values["kind"][:40])))
        parent = row.values.get("parent", "")
        if not parent:
            problems.append(ImportProblem(row.number, _l("Thiếu mã đơn vị cấp trên.")))
        elif parent in visible and not visible[parent].is_active:
            problems.append(ImportProblem(row.number, _l("Đơn vị cấp trên “%(code)s” đang ngừng hoạt động.",
                                                         code=parent)))
        elif parent not in visible and not (parent in seen and seen[parent] < row.number):
            problems.append(ImportProblem(row.number, _l(
                "Không tìm thấy đơn vị cấp trên “%(code)s” trong phạm vi quản lý của bạn (đơn vị cấp trên phải có "
                "sẵn hoặc nằm ở dòng phía trên).", code=parent[:40])))
        headcount_text = row.values.get("headcount", "")
        headcount = int(headcount_text) if re.fullmatch(r"[0-9]{1,8}", headcount_text) else None
        if headcount_text and headcount is None:
            problems.append(ImportProblem(row.number, _l("Biên chế “%(value)s” phải là số nguyên không âm.",
                                                         value=headcount_text[:20])))
        block = row.values.get("block", "") or None
        if block and len(block) > 32:
            problems.append(ImportProblem(row.number, _l("Khối dài tối đa 32 ký tự.")))
        planned.append((code, name, kind, parent, headcount, block))
    if problems:
        raise ImportRejected(problems)
    units = dict(visible)
    for code, name, kind, parent, headcount, block in planned:
        units[code] = create_unit(code, name, kind=kind, parent=units[parent], headcount=headcount, block=block)
        units[code].created_at = now
    record(actor.id, root.id, "import.units", "unit", None,
           {"count": len(planned), "codes": [plan[0] for plan in planned[:50]]}, now)
    return len(planned)


def import_counters(actor: Organiser, root: Unit, rows: list[TableRow], now: dt.datetime) -> int:
    """Create every counter of the table in active units of the root's subtree, or none (row-numbered problems).

    :raise ImportRejected: listing every problem found; nothing is written.
    """
    visible = {unit.code: unit for unit in list_units(root)}
    taken = _existing_codes(Counter, [row.values.get("code", "") for row in rows])
    fields = {field.code: field for field in list_fields()}
    instruments = set(instrument_codes("sipas"))
    problems: list[ImportProblem] = []
    seen: dict[str, int] = {}
    planned = []
    for row in rows:
        code = _check_row_code(row, seen, taken, problems)
        name = _check_row_name(row, problems)
        unit_code = row.values.get("unit", "")
        unit = visible.get(unit_code)
        if not unit_code:
            problems.append(ImportProblem(row.number, _l("Thiếu mã đơn vị.")))
        elif unit is None:
            problems.append(ImportProblem(row.number, _l("Không tìm thấy đơn vị “%(code)s” trong phạm vi quản lý "
                                                         "của bạn.", code=unit_code[:40])))
        elif not unit.is_active:
            problems.append(ImportProblem(row.number, _l("Đơn vị “%(code)s” đang ngừng hoạt động.", code=unit_code)))
        instrument = row.values.get("instrument", "") or DEFAULT_INSTRUMENT
        if instrument not in instruments:
            problems.append(ImportProblem(row.number, _l("Phiếu khảo sát “%(code)s” chưa được công bố hoặc không "
                                                         "phải phiếu SIPAS.", code=instrument[:40])))
        field_codes = [part.strip() for part in re.split(r"[;,]", row.values.get("fields", "")) if part.strip()]
        unknown = [field_code for field_code in field_codes if field_code not in fields]
        if unknown:
            problems.append(ImportProblem(row.number, _l("Không có lĩnh vực mã: %(codes)s.",
                                                         codes=", ".join(c[:40] for c in unknown[:10]))))
        planned.append((code, name, unit, instrument, [fields[c] for c in dict.fromkeys(field_codes) if c in fields]))
    if problems:
        raise ImportRejected(problems)
    for code, name, unit, instrument, service_fields in planned:
        create_counter(code, name, unit, now=now, service_fields=service_fields, instrument_code=instrument)
    record(actor.id, root.id, "import.counters", "counter", None,
           {"count": len(planned), "codes": [plan[0] for plan in planned[:50]]}, now)
    return len(planned)


#: Import tables: their columns and the function that writes their rows.
IMPORTERS = {"units": (UNIT_COLUMNS, import_units), "counters": (COUNTER_COLUMNS, import_counters)}


def import_table(actor: Organiser, root: Unit, kind: str, filename: str, data: bytes, *, max_bytes: int,
                 max_rows: int, now: dt.datetime) -> int:
    """Read an uploaded table of units or counters and import every row into the root's subtree, or none.

    :raise ImportRejected: the file or some rows are wrong (every problem is listed); nothing is written.
    """
    columns, importer = IMPORTERS[kind]
    return importer(actor, root, read_table(filename, data, columns, max_bytes=max_bytes, max_rows=max_rows), now)


# --- comments ----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CommentFilter:
    """What the comments list is narrowed to; every part is optional.

    `max_score` keeps responses whose mean criterion score in `element` (or, without an element, in some
    element) is at most that value.
    """

    search: str = ""
    field_id: int | None = None
    period: Period | None = None
    instrument_code: str | None = None
    element: str | None = None
    max_score: float | None = None


@dataclass(frozen=True)
class Comment:
    """One response's free-text answers with where and when it was given."""

    id: int
    submitted_at: dt.datetime
    unit_name: str
    counter_name: str
    field_name: str | None
    texts: tuple[tuple[str, str], ...]
    element_means: tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class CommentPage:
    """One page of comments; `total` is None when a search or score filter makes counting cost a full scan."""

    items: tuple[Comment, ...]
    page: int
    per_page: int
    total: int | None
    has_next: bool

    @property
    def has_prev(self) -> bool:
        return self.page > 1


def element_choices(locale: str) -> list[tuple[str, str]]:
    """Return (code, title) of the elements of every published SIPAS instrument, in order, without repeats."""
    choices: dict[str, str] = {}
    versions = db.session.scalars(sa.select(InstrumentVersion.id).where(InstrumentVersion.kind == "sipas")
                                  .order_by(InstrumentVersion.code, InstrumentVersion.version.desc()))
    for version_id in versions:
        for element in get_instrument(version_id).elements:
            choices.setdefault(element.code, element.title.get(locale) or element.title["vi"])
    return list(choices.items())


def _element_means(version_id: int, scores: bytes, locale: str) -> dict[str, tuple[str, float]]:
    """Return code → (title, mean of the answered criteria) for each element of a response."""
    instrument = get_instrument(version_id)
    means = {}
    for element, columns in zip(instrument.elements, instrument.element_columns):
        values = [scores[column] for column in columns if column < len(scores) and scores[column]]
        if values:
            means[element.code] = (element.title.get(locale) or element.title["vi"], sum(values) / len(values))
    return means


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def list_comments(root: Unit, filters: CommentFilter, page: int, per_page: int = 25, locale: str = "vi"
                  ) -> CommentPage:
    """Return one page of the responses with free text in a subtree, newest first, narrowed by `filters`."""
    texts = sa.cast(SurveyResponse.texts, sa.Text)
    query = (
        sa.select(SurveyResponse.id, SurveyResponse.instrument_version_id, SurveyResponse.submitted_at,
                  SurveyResponse.scores, SurveyResponse.texts, Unit.name, Counter.name, ServiceField.name,
                  ServiceField.name_en)
        .join(Unit, Unit.id == SurveyResponse.unit_id)
        .join(Counter, Counter.id == SurveyResponse.counter_id)
        .outerjoin(ServiceField, ServiceField.id == SurveyResponse.service_field_id)
        .where(Unit.is_within(root), texts != "{}")
        .order_by(SurveyResponse.submitted_at.desc(), SurveyResponse.id.desc())
    )
    if filters.search.strip():
        query = query.where(texts.ilike(_like_pattern(filters.search.strip()), escape="\\"))
    if filters.field_id is not None:
        query = query.where(SurveyResponse.service_field_id == filters.field_id)
    if filters.period is not None:
        query = query.where(SurveyResponse.local_day.between(filters.period.start, filters.period.end))
    if filters.instrument_code:
        query = query.where(SurveyResponse.instrument_version_id.in_(
            sa.select(InstrumentVersion.id).where(InstrumentVersion.code == filters.instrument_code)))
    page = min(max(page, 1), MAX_PAGE)
    skip = (page - 1) * per_page
    if filters.max_score is None and not filters.search.strip():
        total = db.session.scalar(sa.select(sa.func.count()).select_from(query.order_by(None).subquery()))
        rows = db.session.execute(query.offset(skip).limit(per_page + 1)).all()
    else:
        # What SQL cannot decide (means of packed scores; a match in the answers, not in the JSON keys) is
        # checked row by row, so such a page has no total.
        total = None
        result = db.session.execute(query.execution_options(yield_per=1000))
        try:
            kept = (row for row in result if _matches(row[1], row[3], row[4], filters))
            rows = list(itertools.islice(kept, skip, skip + per_page + 1))
        finally:
            result.close()
    items = tuple(_comment(row, locale) for row in rows[:per_page])
    return CommentPage(items, page, per_page, total, len(rows) > per_page)


def _matches(version_id: int, scores: bytes, texts: dict, filters: CommentFilter) -> bool:
    term = filters.search.strip().casefold()
    if term and term not in "\n".join(str(text) for text in (texts or {}).values()).casefold():
        return False
    if filters.max_score is None:
        return True
    means = _element_means(version_id, scores, "vi")
    if filters.element:
        return filters.element in means and means[filters.element][1] <= filters.max_score
    return any(mean <= filters.max_score for _, mean in means.values())


def _comment(row, locale: str) -> Comment:
    (response_id, version_id, submitted_at, scores, texts, unit_name, counter_name, field_name, field_name_en) = row
    instrument = get_instrument(version_id)
    labelled = []
    for code, text in (texts or {}).items():
        try:
            label = instrument.item(code).text.get(locale) or instrument.item(code).text["vi"]
        except KeyError:
            label = code
        labelled.append((label, str(text)))
    means = tuple(_element_means(version_id, scores, locale).values())
    field = field_name_en if locale == "en" and field_name_en else field_name
    return Comment(response_id, submitted_at, unit_name, counter_name, field, tuple(labelled), means)


# --- exports -----------------------------------------------------------------------------------------------------

def export_responses(actor: Organiser, root: Unit, code: str, period: Period | None, fmt: str, zone: ZoneInfo,
                     now: dt.datetime) -> tuple[list[str], Iterator[list[object]]]:
    """Log the export and return the raw response table of an instrument in a subtree (rows are read lazily)."""
    headers, rows = response_table(code, root, period, zone)
    record(actor.id, root.id, "export.responses", "instrument", code,
           {"unit": root.code, "period": period.label if period else None, "format": fmt}, now)
    return headers, rows
