"""Creating and changing units, service fields and counters; listing a unit's subtree."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from app.errors import AppError, ConflictError, NotFoundError
from app.extensions import db
from app.surveys.tokens import new_nonce
from app.units.models import UNIT_KINDS, Counter, ServiceField, Unit


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


def subtree_units(root: Unit) -> sa.Select:
    """Return a query of the unit and all its descendants, in tree order."""
    return sa.select(Unit).where(Unit.is_within(root)).order_by(Unit.path)


def subtree_ids(root: Unit) -> sa.Select:
    """Return a subquery of the ids of the unit and all its descendants."""
    return sa.select(Unit.id).where(Unit.is_within(root))


def list_units(root: Unit | None = None) -> list[Unit]:
    """Return every unit (or a unit's subtree) in tree order."""
    query = subtree_units(root) if root is not None else sa.select(Unit).order_by(Unit.path)
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
                   service_fields: list[ServiceField] = (), instrument_code: str = "sipas-counter") -> Counter:
    """Add a counter to a unit with a fresh token."""
    if db.session.scalar(sa.select(Counter.id).where(Counter.code == code)) is not None:
        raise ConflictError(_l("Mã quầy “%(code)s” đã tồn tại.", code=code))
    counter = Counter(code=code, name=name, unit=unit, instrument_code=instrument_code, token_nonce=new_nonce(),
                      service_fields=list(service_fields), created_at=now, updated_at=now)
    db.session.add(counter)
    db.session.flush()
    return counter


def rotate_token(counter: Counter, now: dt.datetime) -> None:
    """Give the counter a new token: every poster printed before stops working."""
    counter.token_nonce = new_nonce()
    counter.updated_at = now
    db.session.flush()


def set_counter_active(counter: Counter, active: bool, now: dt.datetime) -> None:
    """Activate or deactivate a counter (its token answers 410 while inactive)."""
    counter.is_active = active
    counter.updated_at = now
    db.session.flush()
