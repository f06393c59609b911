"""Sign-in, password and account forms (Flask-WTF: every one carries a CSRF token)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Regexp

from app.auth.services import MIN_PASSWORD_LENGTH
from app.forms import choice_list, select_field

#: Role names as organisers read them.
ROLE_LABELS = {
    "administrator": _l("Quản trị viên"),
    "organiser": _l("Cán bộ quản lý"),
    "viewer": _l("Người xem báo cáo"),
}

_REQUIRED = _l("Vui lòng điền mục này.")
_EMAIL = Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", message=_l("Địa chỉ email không hợp lệ."))
#: Long enough for any passphrase, short enough that hashing cannot be abused.
_PASSWORD_MAX = Length(max=256, message=_l("Mật khẩu dài tối đa 256 ký tự."))


def _new_password_fields() -> tuple[PasswordField, PasswordField]:
    new = PasswordField(_l("Mật khẩu mới"), validators=[
        DataRequired(_REQUIRED), _PASSWORD_MAX,
        Length(min=MIN_PASSWORD_LENGTH, message=_l("Mật khẩu phải có ít nhất %(n)d ký tự.", n=MIN_PASSWORD_LENGTH)),
    ])
    confirm = PasswordField(_l("Nhập lại mật khẩu mới"), validators=[
        DataRequired(_REQUIRED), EqualTo("new_password", message=_l("Hai lần nhập mật khẩu không khớp.")),
    ])
    return new, confirm


class LoginForm(FlaskForm):
    """Email and password; there is deliberately no "remember me"."""

    email = EmailField(_l("Email"), validators=[DataRequired(_REQUIRED), Length(max=254)])
    password = PasswordField(_l("Mật khẩu"), validators=[DataRequired(_REQUIRED), _PASSWORD_MAX])


class PasswordChangeForm(FlaskForm):
    """Change one's own password: the current one first."""

    current_password = PasswordField(_l("Mật khẩu hiện tại"), validators=[DataRequired(_REQUIRED), _PASSWORD_MAX])
    new_password, confirm_password = _new_password_fields()


class PasswordResetForm(FlaskForm):
    """An administrator sets another account's password."""

    new_password, confirm_password = _new_password_fields()


class AccountForm(FlaskForm):
    """A new account: who, which unit's subtree, which role, first password."""

    email = EmailField(_l("Email"), validators=[DataRequired(_REQUIRED), Length(max=254), _EMAIL])
    name = StringField(_l("Họ và tên"), validators=[DataRequired(_REQUIRED), Length(max=200)])
    # Choices are only what the administrator sees; the view still loads the unit within the subtree (404 else).
    unit = select_field(_l("Đơn vị"), coerce=int, validate_choice=False)
    role = select_field(_l("Vai trò"), choices=choice_list(ROLE_LABELS.items()))
    new_password, confirm_password = _new_password_fields()
