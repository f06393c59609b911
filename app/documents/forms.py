"""The letterhead and signature settings form of a unit's documents."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, Regexp


class DocumentSettingsForm(FlaskForm):
    """What a unit's official documents print around the body (Decree 30/2020/NĐ-CP, Appendix I)."""

    parent_agency = StringField(_l("Cơ quan chủ quản"), validators=[Optional(), Length(max=200)])
    agency = StringField(_l("Cơ quan ban hành"), validators=[DataRequired(_l("Nhập tên cơ quan ban hành.")),
                                                             Length(max=200)])
    symbol = StringField(_l("Chữ viết tắt tên cơ quan (trong số ký hiệu)"), validators=[
        Optional(), Length(max=40),
        Regexp(r"^[A-ZĐ0-9][A-ZĐ0-9.-]*$", message=_l("Chỉ dùng chữ in hoa, số, dấu chấm và gạch ngang; ví dụ UBND."))])
    place = StringField(_l("Địa danh"), validators=[Optional(), Length(max=100)])
    signer_title = TextAreaField(_l("Chức vụ người ký"), validators=[DataRequired(_l("Nhập chức vụ người ký.")),
                                                                      Length(max=200)])
    signer_name = StringField(_l("Họ và tên người ký"), validators=[Optional(), Length(max=120)])
    recipients = TextAreaField(_l("Nơi nhận"), validators=[Optional(), Length(max=2000)])
