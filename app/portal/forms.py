"""The organiser's forms of the portal: which unit and period to publish, and the home page's texts."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from app.forms import select_field
from app.portal.services import HOTLINE_MAX, INTRO_MAX


class PublishForm(FlaskForm):
    """Sent by GET to the confirmation page, which carries its own CSRF token."""

    unit = select_field(_l("Đơn vị"), coerce=int, validators=[DataRequired(_l("Vui lòng chọn đơn vị."))])
    period = StringField(_l("Kỳ (ví dụ 2026, 2026-Q3, 2026-H1, 2026-07)"),
                         validators=[DataRequired(_l("Vui lòng nhập kỳ.")), Length(max=32)])


class SettingsForm(FlaskForm):
    """The home page's introduction and hotline."""

    intro = TextAreaField(_l("Lời giới thiệu trên trang chủ"),
                          validators=[Optional(), Length(max=INTRO_MAX, message=_l(
                              "Lời giới thiệu dài tối đa %(max)d ký tự."))])
    hotline = StringField(_l("Đường dây nóng"), validators=[Optional(), Length(max=HOTLINE_MAX, message=_l(
        "Số đường dây nóng dài tối đa %(max)d ký tự."))])
