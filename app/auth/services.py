"""Organiser accounts: creation, sign-in with lockout, passwords, sessions, account management and the audit log."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from werkzeug.security import check_password_hash, generate_password_hash

from app import cache
from app.auth.access import load_by_id
from app.auth.audit import VISITOR, record
from app.auth.models import ROLES, Organiser
from app.errors import AppError, ConflictError, NotFoundError, PermissionDeniedError
from app.extensions import db
from app.units.models import Unit

MIN_PASSWORD_LENGTH = 12
#: Werkzeug's method string for new password hashes (scrypt, N=2**15, r=8, p=1); AUTH_PASSWORD_METHOD overrides it.
PASSWORD_METHOD = "scrypt"  # nosec B105

WRONG_CREDENTIALS = _l("Email hoặc mật khẩu không đúng.")


class LoginError(AppError):
    """Sign-in refused: wrong email or password, or a deactivated account."""

    status = 401


class AccountLockedError(LoginError):
    """Sign-in refused because of repeated failures, until `locked_until`."""

    status = 429


@dataclass(frozen=True)
class LoginPolicy:
    """How many failures lock an account, and for how long."""

    max_failures: int = 5
    lockout: dt.timedelta = dt.timedelta(minutes=15)


def check_password_strength(password: str) -> None:
    """Reject passwords too short to resist guessing."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AppError(_l("Mật khẩu phải có ít nhất %(n)d ký tự.", n=MIN_PASSWORD_LENGTH))


def normalise_email(email: str) -> str:
    """Return the email as accounts store it: trimmed and lower-case."""
    return (email or "").strip().lower()


def _hash_password(password: str, method: str) -> str:
    return generate_password_hash(password, method=method)


def create_organiser(email: str, name: str, unit: Unit, role: str, password: str, now: dt.datetime, *,
                     method: str = PASSWORD_METHOD) -> Organiser:
    """Add an organiser account for a unit subtree; the password is stored as a scrypt hash."""
    email = normalise_email(email)
    if role not in ROLES:
        raise AppError(_l("Vai trò “%(role)s” không hợp lệ (administrator, organiser, viewer).", role=role))
    if "@" not in email or len(email) > 254:
        raise AppError(_l("Địa chỉ email không hợp lệ."))
    check_password_strength(password)
    if db.session.scalar(sa.select(Organiser.id).where(Organiser.email == email)) is not None:
        raise ConflictError(_l("Email %(email)s đã có tài khoản.", email=email))
    organiser = Organiser(email=email, name=name or email, unit=unit, role=role, created_at=now,
                          password_hash=_hash_password(password, method))
    db.session.add(organiser)
    db.session.flush()
    return organiser


@cache.constants.memoise
def _decoy_hash(method: str) -> str:
    # Checked against when the email is unknown, so a wrong email costs as long as a wrong password.
    return _hash_password("decoy password that no account has", method)


def authenticate(email: str, password: str, now: dt.datetime, zone: ZoneInfo,
                 policy: LoginPolicy = LoginPolicy(), *, method: str = PASSWORD_METHOD) -> Organiser:
    """Return the organiser these credentials name; count failures and lock the account after too many.

    :raise LoginError: wrong email or password, or a deactivated account (the failure is flushed: commit it).
    :raise AccountLockedError: the account is locked; the message says until when (local time).
    """
    email = normalise_email(email)[:254]
    organiser = db.session.scalar(sa.select(Organiser).where(Organiser.email == email)) if email else None
    if organiser is None:
        check_password_hash(_decoy_hash(method), password)
        record(VISITOR, None, "login.failure", "organiser", None, {"email": email}, now)
        raise LoginError(WRONG_CREDENTIALS)
    if organiser.locked_until is not None and organiser.locked_until > now:
        record(organiser, organiser.unit_id, "login.locked", "organiser", organiser.id, {}, now)
        raise AccountLockedError(_locked_message(organiser.locked_until, zone))
    if not check_password_hash(organiser.password_hash, password):
        _count_failure(organiser, now, zone, policy)
        raise LoginError(WRONG_CREDENTIALS)
    if not organiser.is_active_account:
        record(organiser, organiser.unit_id, "login.inactive", "organiser", organiser.id, {}, now)
        raise LoginError(_l("Tài khoản này đã bị vô hiệu hoá. Vui lòng liên hệ quản trị viên."))
    if not organiser.unit.in_service:
        record(organiser, organiser.unit_id, "login.unit_inactive", "organiser", organiser.id, {}, now)
        raise LoginError(_l("Đơn vị của tài khoản này đang ngừng hoạt động. Vui lòng liên hệ đơn vị cấp trên."))
    organiser.failed_logins = 0
    organiser.locked_until = None
    record(organiser, organiser.unit_id, "login.success", "organiser", organiser.id, {}, now)
    return organiser


def _count_failure(organiser: Organiser, now: dt.datetime, zone: ZoneInfo, policy: LoginPolicy) -> None:
    if organiser.locked_until is not None:  # an expired lock starts a fresh count
        organiser.failed_logins = 0
        organiser.locked_until = None
        db.session.flush()
    # Incremented in SQL, so concurrent wrong guesses cannot overwrite each other's count.
    failures = db.session.scalar(
        sa.update(Organiser).where(Organiser.id == organiser.id)
        .values(failed_logins=Organiser.failed_logins + 1).returning(Organiser.failed_logins)
    )
    db.session.refresh(organiser)
    if failures >= policy.max_failures:
        organiser.failed_logins = 0
        organiser.locked_until = now + policy.lockout
        record(organiser, organiser.unit_id, "login.lockout", "organiser", organiser.id,
               {"until": organiser.locked_until.isoformat()}, now)
        db.session.flush()
        raise AccountLockedError(_locked_message(organiser.locked_until, zone))
    record(organiser, organiser.unit_id, "login.failure", "organiser", organiser.id, {"failures": failures}, now)


def _locked_message(until: dt.datetime, zone: ZoneInfo) -> str:
    local = until.astimezone(zone)
    return _l("Tài khoản tạm khoá do đăng nhập sai nhiều lần. Vui lòng thử lại sau %(time)s ngày %(day)s "
              "(giờ Việt Nam).", time=local.strftime("%H:%M"), day=local.strftime("%d/%m/%Y"))


def end_sessions(organiser: Organiser, now: dt.datetime) -> None:
    """Sign the organiser out everywhere: every session cookie issued so far stops working (logout)."""
    organiser.session_version += 1
    record(organiser, organiser.unit_id, "logout", "organiser", organiser.id, {}, now)


def change_password(organiser: Organiser, current_password: str, new_password: str, now: dt.datetime, *,
                    method: str = PASSWORD_METHOD) -> None:
    """Replace the organiser's own password after checking the current one; other sessions stop working."""
    if not check_password_hash(organiser.password_hash, current_password):
        raise AppError(_l("Mật khẩu hiện tại không đúng."))
    check_password_strength(new_password)
    if new_password == current_password:
        raise AppError(_l("Mật khẩu mới phải khác mật khẩu hiện tại."))
    organiser.password_hash = _hash_password(new_password, method)
    organiser.session_version += 1
    record(organiser, organiser.unit_id, "password.change", "organiser", organiser.id, {}, now)
    db.session.flush()


def accounts_query(root: Unit) -> sa.Select:
    """Return a query of the accounts whose unit lies in a subtree, ordered by unit then email."""
    return (sa.select(Organiser).join(Unit, Unit.id == Organiser.unit_id)
            .where(Unit.is_within(root)).order_by(Unit.path, Organiser.email))


def list_accounts(root: Unit) -> list[Organiser]:
    """Return the accounts of a unit's subtree."""
    return list(db.session.scalars(accounts_query(root)))


def get_visible_account(actor: Organiser, organiser_id: int) -> Organiser:
    """Load an account within the actor's subtree, or 404 (other tenants' accounts are not named)."""
    account = load_by_id(Organiser, organiser_id)
    if account is None or not account.unit.is_within(actor.unit):
        raise NotFoundError(_l("Không tìm thấy tài khoản này trong phạm vi quản lý của bạn."))
    return account


def create_account(actor: Organiser, *, email: str, name: str, unit: Unit, role: str, password: str,
                   now: dt.datetime, method: str = PASSWORD_METHOD) -> Organiser:
    """Create an account for a unit of the actor's subtree (the view has checked the unit is visible)."""
    account = create_organiser(email, name.strip(), unit, role, password, now, method=method)
    record(actor, unit.id, "account.create", "organiser", account.id, {"email": account.email, "role": role}, now)
    return account


def set_account_active(actor: Organiser, account: Organiser, active: bool, now: dt.datetime) -> None:
    """Deactivate (ending its sessions) or reactivate an account; nobody deactivates their own."""
    if account.id == actor.id and not active:
        raise PermissionDeniedError(_l("Bạn không thể tự vô hiệu hoá tài khoản của mình."))
    account.is_active_account = active
    account.session_version += 1
    record(actor, account.unit_id, "account.reactivate" if active else "account.deactivate", "organiser",
           account.id, {"email": account.email}, now)
    db.session.flush()


def reset_password(actor: Organiser, account: Organiser, new_password: str, now: dt.datetime, *,
                   method: str = PASSWORD_METHOD) -> None:
    """Set another account's password, end its sessions and lift any lockout."""
    if account.id == actor.id:
        raise PermissionDeniedError(_l("Hãy dùng chức năng “Đổi mật khẩu” cho tài khoản của chính bạn."))
    check_password_strength(new_password)
    account.password_hash = _hash_password(new_password, method)
    account.session_version += 1
    account.failed_logins = 0
    account.locked_until = None
    record(actor, account.unit_id, "account.password_reset", "organiser", account.id, {"email": account.email},
           now)
    db.session.flush()
