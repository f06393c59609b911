"""Units, service fields and counters: creating them, listing a subtree, and the organiser's changes with their checks
and audit entries; a counter's QR code and posters.

The ``create_*`` functions build rows as they are told (seeding, benchmarks, imports after their checks). The organiser
operations (``add_*``, ``edit_*``, ``set_*``, ``rotate_counter_token``) take the acting organiser, check what a form
cannot (codes, names, the subtree, the state of parents), flush, and record the action in the audit log. Which
instruments a counter may serve is handed in (``instruments``): they are published by the surveys feature, above this
one.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from app.auth.access import MAX_ID, load_by_id
from app.auth.audit import Actor, record
from app.auth.models import Organiser
from app.errors import AppError, ConflictError, NotFoundError, PermissionDeniedError
from app.extensions import db
from app.units.models import UNIT_KINDS, Counter, ServiceField, Unit, counter_service_fields
from app.units.posters import LAYOUTS, PAPERS, counter_posters, poster_text, render_posters
from app.units.qr import make_qr_png, make_qr_svg
from app.units.tokens import DossierClaim, counter_url, dossier_token, new_nonce, new_short_code, short_url

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
#: The instrument a new counter serves unless told otherwise.
DEFAULT_INSTRUMENT = "sipas-counter"


# --- looking up -------------------------------------------------------------------------------------------------------


def get_unit_by_code(code: str) -> Unit:
    """Return the unit with this code, or raise NotFoundError."""
    unit = db.session.scalar(sa.select(Unit).where(Unit.code == code))
    if unit is None:
        raise NotFoundError(_l("Không tìm thấy đơn vị có mã “%(code)s”.", code=code))
    return unit


def get_counter_by_code(code: str) -> Counter:
    """Return the counter with this code, or raise NotFoundError."""
    counter = db.session.scalar(sa.select(Counter).where(Counter.code == code))
    if counter is None:
        raise NotFoundError(_l("Không tìm thấy quầy có mã “%(code)s”.", code=code))
    return counter


def list_units(root: Unit | None = None) -> list[Unit]:
    """Return every unit (or a unit's subtree) in tree order."""
    query = sa.select(Unit).order_by(Unit.path)
    if root is not None:
        query = query.where(Unit.is_within(root))
    return list(db.session.scalars(query))


def list_counters(root: Unit | None = None, *, include_inactive: bool = True) -> list[Counter]:
    """Return the counters of a unit's subtree (or all), ordered by code.

    :param include_inactive: False leaves out the counters that take no responses (switched off, or in a unit that
        was switched off).
    """
    query = sa.select(Counter).join(Unit, Unit.id == Counter.unit_id).order_by(Counter.code)
    if root is not None:
        query = query.where(Unit.is_within(root))
    if not include_inactive:
        query = query.where(Counter.is_active, Unit.is_active)
    return list(db.session.scalars(query))


def list_fields() -> list[ServiceField]:
    """Return every service field (the list is shared by the whole tree), by name."""
    return list(db.session.scalars(sa.select(ServiceField).order_by(ServiceField.name)))


def get_field(field_id: int) -> ServiceField:
    """Load a service field, or 404."""
    field = load_by_id(ServiceField, field_id)
    if field is None:
        raise NotFoundError(_l("Không tìm thấy lĩnh vực này."))
    return field


def get_visible_counter(actor: Organiser, counter_id: int) -> Counter:
    """Load a counter whose unit lies in the actor's subtree, or 404."""
    counter = load_by_id(Counter, counter_id)
    if counter is None or not counter.unit.is_within(actor.unit):
        raise NotFoundError(_l("Không tìm thấy quầy này trong phạm vi quản lý của bạn."))
    return counter


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


def unit_impact(unit: Unit) -> UnitImpact:
    """Count the units and counters that a change of the unit's state reaches."""
    subtree = sa.select(Unit.id).where(Unit.is_within(unit))
    units = db.session.scalar(sa.select(sa.func.count()).select_from(subtree.subquery()))
    counters = db.session.scalar(sa.select(sa.func.count()).where(Counter.unit_id.in_(subtree)))
    return UnitImpact(units, counters)


# --- building rows ----------------------------------------------------------------------------------------------------


def create_unit(code: str, name: str, *, kind: str = "other", parent: Unit | None = None,
                headcount: int | None = None, block: str | None = None) -> Unit:
    """Add a unit under `parent` (or as a root) and compute its path."""
    if kind not in UNIT_KINDS:
        raise AppError(_l("Loại đơn vị “%(kind)s” không hợp lệ.", kind=kind))
    if db.session.scalar(sa.select(Unit.id).where(Unit.code == code)) is not None:
        raise ConflictError(_l("Mã đơn vị “%(code)s” đã tồn tại.", code=code))
    unit = Unit(code=code, name=name, kind=kind, parent=parent, headcount=headcount, block=block)
    db.session.add(unit)
    db.session.flush()
    unit.path = f"{parent.path if parent else '/'}{unit.id}/"
    db.session.flush()
    return unit


def create_service_field(code: str, name: str, name_en: str) -> ServiceField:
    """Add a service field (lĩnh vực)."""
    if db.session.scalar(sa.select(ServiceField.id).where(ServiceField.code == code)) is not None:
        raise ConflictError(_l("Mã lĩnh vực “%(code)s” đã tồn tại.", code=code))
    field = ServiceField(code=code, name=name, name_en=name_en)
    db.session.add(field)
    db.session.flush()
    return field


def create_counter(code: str, name: str, unit: Unit, *, now: dt.datetime,
                   service_fields: Collection[ServiceField] = (), instrument_code: str = DEFAULT_INSTRUMENT) -> Counter:
    """Add a counter to a unit with a fresh token."""
    if db.session.scalar(sa.select(Counter.id).where(Counter.code == code)) is not None:
        raise ConflictError(_l("Mã quầy “%(code)s” đã tồn tại.", code=code))
    counter = Counter(code=code, name=name, unit=unit, instrument_code=instrument_code, token_nonce=new_nonce(),
                      short_code=new_short_code(), service_fields=list(service_fields), created_at=now,
                      updated_at=now)
    db.session.add(counter)
    db.session.flush()
    return counter


def rotate_token(counter: Counter, now: dt.datetime) -> None:
    """Give the counter a new token and short code: every poster printed before stops working.

    The old ones are kept until the next rotation: a form fetched before this moment is still accepted for a grace
    period (SURVEY_ROTATION_GRACE_MINUTES), and the old address says that the QR code was replaced.
    """
    counter.previous_token_nonce, counter.previous_short_code = counter.token_nonce, counter.short_code
    counter.token_nonce, counter.short_code = new_nonce(), new_short_code()
    counter.rotated_at = now
    counter.updated_at = now
    db.session.flush()


def set_counter_active(counter: Counter, active: bool, now: dt.datetime) -> None:
    """Activate or deactivate a counter (its token answers 410 while inactive)."""
    counter.is_active = active
    counter.updated_at = now
    db.session.flush()


# --- the organiser's changes ------------------------------------------------------------------------------------------


def clean_code(code: str) -> str:
    """Return a unit, counter or field code trimmed; refuse one that does not follow CODE_PATTERN."""
    code = (code or "").strip()
    if not CODE_PATTERN.fullmatch(code):
        raise AppError(CODE_MESSAGE)
    return code


def clean_name(name: str) -> str:
    """Return a name with single spaces; refuse an empty one or one over 200 characters."""
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
    unit = create_unit(clean_code(code), clean_name(name), kind=kind, parent=parent, headcount=headcount, block=block)
    unit.created_at = now
    record(actor, unit.id, "unit.create", "unit", unit.id, {"code": unit.code, "parent": parent.code}, now)
    return unit


def edit_unit(actor: Organiser, unit: Unit, *, name: str, kind: str, headcount: int | None, block: str | None,
              now: dt.datetime) -> None:
    """Change a unit's name, kind, headcount and block (its code and place in the tree stay)."""
    kind, headcount, block = _clean_unit_fields(kind, headcount, block)
    after = {"name": clean_name(name), "kind": kind, "headcount": headcount, "block": block}
    changes = {key: [getattr(unit, key), value] for key, value in after.items() if getattr(unit, key) != value}
    if ({"headcount", "block"} & changes.keys()) and unit.id == actor.unit_id and unit.parent_id is not None:
        # Contests of the units above rank this unit by its headcount and block: only they may set them.
        raise PermissionDeniedError(_l("Biên chế và khối thi đua của đơn vị do đơn vị cấp trên đặt; bạn chỉ sửa được "
                                       "tên và loại đơn vị."))
    for key, (_, value) in changes.items():
        setattr(unit, key, value)
    if changes:
        _touch_counters(sa.select(Counter.id).where(Counter.unit_id == unit.id), now)  # the form shows its name
        record(actor, unit.id, "unit.edit", "unit", unit.id, {"code": unit.code, "changes": changes}, now)
    db.session.flush()


def set_unit_active(actor: Organiser, unit: Unit, active: bool, now: dt.datetime) -> int:
    """Deactivate or reactivate a unit with its whole subtree (their counters' QR codes answer 410 while off).

    :return: how many units changed.
    """
    if unit.id == actor.unit_id and not active:
        raise PermissionDeniedError(_l("Không thể ngừng hoạt động đơn vị gốc của tài khoản bạn."))
    if active and not (unit.is_within(actor.unit) and unit.id != actor.unit_id):
        raise PermissionDeniedError(_l("Chỉ đơn vị cấp trên mới được kích hoạt lại đơn vị này."))
    if active and unit.parent is not None and not unit.parent.is_active:
        raise AppError(_l("Đơn vị cấp trên đang ngừng hoạt động: hãy kích hoạt đơn vị cấp trên trước."))
    changed = db.session.execute(
        sa.update(Unit).where(Unit.is_within(unit), Unit.is_active != active).values(is_active=active)
        .execution_options(synchronize_session="fetch")
    ).rowcount
    record(actor, unit.id, "unit.reactivate" if active else "unit.deactivate", "unit", unit.id,
           {"code": unit.code, "units": changed}, now)
    db.session.flush()
    return changed


def add_field(actor: Organiser, *, code: str, name: str, name_en: str, now: dt.datetime) -> ServiceField:
    """Add a service field to the shared list."""
    name = clean_name(name)
    field = create_service_field(clean_code(code), name, " ".join((name_en or "").split())[:200] or name)
    record(actor, actor.unit_id, "field.create", "service_field", field.id, {"code": field.code}, now)
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
    name = clean_name(name)
    before = {"name": field.name, "name_en": field.name_en}
    field.name = name
    field.name_en = " ".join((name_en or "").split())[:200] or name
    _touch_counters(sa.select(counter_service_fields.c.counter_id)
                    .where(counter_service_fields.c.service_field_id == field.id), now)
    record(actor, actor.unit_id, "field.edit", "service_field", field.id, {"code": field.code, "before": before}, now)
    db.session.flush()


def _touch_counters(counter_ids: sa.Select, now: dt.datetime) -> None:
    """Mark counters as changed, so their cached citizen forms are rebuilt."""
    db.session.execute(sa.update(Counter).where(Counter.id.in_(counter_ids)).values(updated_at=now)
                       .execution_options(synchronize_session=False))


def _fields_by_ids(field_ids: list[int]) -> list[ServiceField]:
    ids = sorted(set(field_ids))
    in_range = all(0 < field_id <= MAX_ID for field_id in ids)
    fields = (list(db.session.scalars(sa.select(ServiceField).where(ServiceField.id.in_(ids))))
              if ids and in_range else [])
    if len(fields) != len(ids):
        raise AppError(_l("Có lĩnh vực không hợp lệ; vui lòng tải lại trang."))
    return fields


def check_instrument(code: str, instruments: Collection[str]) -> str:
    """Return the code if it is among ``instruments`` (the published SIPAS instruments); refuse it otherwise."""
    if code not in instruments:
        raise AppError(_l("Phiếu khảo sát “%(code)s” chưa được công bố hoặc không phải phiếu SIPAS.", code=code))
    return code


def add_counter(actor: Organiser, unit: Unit, *, code: str, name: str, field_ids: list[int], instrument_code: str,
                instruments: Collection[str], now: dt.datetime) -> Counter:
    """Create a counter in a unit of the actor's subtree, with a fresh QR token."""
    if not unit.is_active:
        raise AppError(_l("Đơn vị “%(name)s” đang ngừng hoạt động.", name=unit.name))
    counter = create_counter(clean_code(code), clean_name(name), unit, now=now,
                             service_fields=_fields_by_ids(field_ids),
                             instrument_code=check_instrument(instrument_code, instruments))
    record(actor, unit.id, "counter.create", "counter", counter.id, {"code": counter.code}, now)
    return counter


def edit_counter(actor: Organiser, counter: Counter, *, name: str, unit: Unit, field_ids: list[int],
                 instrument_code: str, instruments: Collection[str], now: dt.datetime) -> None:
    """Change a counter's name, unit (within the subtree), service fields and instrument."""
    if unit.id != counter.unit_id and not unit.is_active:
        raise AppError(_l("Đơn vị “%(name)s” đang ngừng hoạt động.", name=unit.name))
    before = {"name": counter.name, "unit": counter.unit.code, "instrument": counter.instrument_code,
              "fields": [field.code for field in counter.service_fields]}
    counter.name = clean_name(name)
    counter.unit = unit
    counter.instrument_code = check_instrument(instrument_code, instruments)
    counter.service_fields = _fields_by_ids(field_ids)
    counter.updated_at = now
    record(actor, unit.id, "counter.edit", "counter", counter.id, {"code": counter.code, "before": before}, now)
    db.session.flush()


def set_counter_state(actor: Organiser, counter: Counter, active: bool, now: dt.datetime) -> None:
    """Deactivate a counter (its QR code answers 410) or reactivate it."""
    if active and not counter.unit.is_active:
        raise AppError(_l("Đơn vị của quầy đang ngừng hoạt động: hãy kích hoạt đơn vị trước."))
    set_counter_active(counter, active, now)
    record(actor, counter.unit_id, "counter.reactivate" if active else "counter.deactivate", "counter",
           counter.id, {"code": counter.code}, now)


def set_counter_instrument(actor: Actor, counter: Counter, instrument_code: str, instruments: Collection[str],
                           now: dt.datetime) -> None:
    """Make a counter serve another published SIPAS instrument (its reports follow the instrument, never mixed)."""
    before = counter.instrument_code
    counter.instrument_code = check_instrument(instrument_code, instruments)
    counter.updated_at = now
    record(actor, counter.unit_id, "counter.edit", "counter", counter.id,
           {"code": counter.code, "before": {"instrument": before}}, now)
    db.session.flush()


def rotate_counter_token(actor: Actor, counter: Counter, now: dt.datetime) -> None:
    """Give a counter a new QR token: every poster printed before stops working."""
    rotate_token(counter, now)
    record(actor, counter.unit_id, "counter.rotate_token", "counter", counter.id, {"code": counter.code}, now)


# --- addresses, QR codes and posters ------------------------------------------------------------------------------


def counter_short_url(counter: Counter, base_url: str) -> str:
    """Return the short address printed under the counter's QR code."""
    return short_url(base_url, counter.short_code)


@dataclass(frozen=True)
class DossierLink:
    """A minted one-time rating link."""

    url: str
    dossier_code: str
    counter_code: str
    service_field_code: str | None
    expires_at: dt.datetime


def mint_dossier_link(counter: Counter, dossier_code: str, days: int, *, service_field_code: str | None,
                      now: dt.datetime, base_url: str, secret: str) -> DossierLink:
    """Sign a one-time rating link for a dossier returned at an active counter, optionally naming the service field
    it belongs to (the citizen is then not asked for it).

    :raise AppError: a dossier code that is empty or over 64 characters, days outside 1–365, a field the counter
        does not offer; 409 for a counter that was switched off.
    """
    dossier_code = (dossier_code or "").strip()
    if not dossier_code or len(dossier_code) > 64:
        raise AppError(_l("Mã hồ sơ phải có từ 1 đến 64 ký tự."))
    if not 1 <= days <= 365:
        raise AppError(_l("Thời hạn liên kết phải từ 1 đến 365 ngày."))
    if not (counter.is_active and counter.unit.is_active):
        raise AppError(_l("Quầy “%(code)s” đã ngừng hoạt động.", code=counter.code), status=409)
    field_id = None
    if service_field_code:
        offered = {field.code: field.id for field in counter.service_fields}
        if service_field_code not in offered:
            raise AppError(_l("Quầy “%(counter)s” không phục vụ lĩnh vực “%(field)s”.", counter=counter.code,
                              field=service_field_code[:40]))
        field_id = offered[service_field_code]
    expires = (now + dt.timedelta(days=days)).replace(microsecond=0)
    token = dossier_token(DossierClaim(dossier_code, counter.id, expires, field_id), secret)
    return DossierLink(f"{base_url}/d/{token}", dossier_code, counter.code, service_field_code or None, expires)


def counter_qr(counter: Counter, fmt: str, base_url: str, secret: str) -> bytes:
    """Return the counter's QR code as PNG or SVG bytes."""
    url = counter_url(base_url, counter.token_nonce, secret)
    return make_qr_png(url) if fmt == "png" else make_qr_svg(url).encode()


def counter_poster(counter: Counter, paper: str, base_url: str, secret: str) -> bytes:
    """Return the poster of one counter on A4, on A5, or as a folded table tent (``paper``: a4, a5, tent)."""
    if paper not in PAPERS:
        raise NotFoundError(_l("Không có khổ áp phích này."))
    return render_posters(counter_posters([counter], base_url, secret), poster_text(), 1, paper)


def unit_posters(unit: Unit, per_page: int, base_url: str, secret: str, paper: str = "a4") -> bytes:
    """Return the poster sheet of the active counters of a unit's subtree: on A4 `per_page` posters a page, on A5
    or as table tents one a sheet."""
    if per_page not in LAYOUTS or paper not in PAPERS or (paper != "a4" and per_page != 1):
        raise AppError(_l("Số áp phích mỗi trang phải là 1, 2 hoặc 4 (khổ A4); khổ A5 và bảng để bàn in mỗi tờ "
                          "một áp phích."))
    counters = list_counters(unit, include_inactive=False)
    if not counters:
        raise NotFoundError(_l("Đơn vị này không có quầy nào đang hoạt động để in áp phích."))
    return render_posters(counter_posters(counters, base_url, secret), poster_text(), per_page, paper)
