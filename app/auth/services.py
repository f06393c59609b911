"""Organiser accounts: creation with a hashed password."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from werkzeug.security import generate_password_hash

from app.auth.models import ROLES, Organiser
from app.errors import AppError, ConflictError
from app.extensions import db
from app.units.models import Unit

MIN_PASSWORD_LENGTH = 12


def check_password_strength(password: str) -> None:
    """Reject passwords too short to resist guessing."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AppError(_l("Mật khẩu phải có ít nhất %(n)d ký tự.", n=MIN_PASSWORD_LENGTH))


def create_organiser(email: str, name: str, unit: Unit, role: str, password: str, now: dt.datetime) -> Organiser:
    """Add an organiser account for a unit subtree; the password is stored as a scrypt hash."""
    email = email.strip().lower()
    if role not in ROLES:
        raise AppError(_l("Vai trò “%(role)s” không hợp lệ (administrator, organiser, viewer).", role=role))
    if "@" not in email or len(email) > 254:
        raise AppError(_l("Địa chỉ email không hợp lệ."))
    check_password_strength(password)
    if db.session.scalar(sa.select(Organiser.id).where(Organiser.email == email)) is not None:
        raise ConflictError(_l("Email %(email)s đã có tài khoản.", email=email))
    organiser = Organiser(email=email, name=name or email, unit=unit, role=role, created_at=now,
                          password_hash=generate_password_hash(password, method="scrypt"))
    db.session.add(organiser)
    db.session.flush()
    return organiser
