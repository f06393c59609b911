"""Organiser forms of the contest area (CSRF on every one); participants' forms are checked by the services."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, DecimalField, HiddenField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp

from app.contests.models import CONTEST_TRANSITIONS


class UploadForm(FlaskForm):
    """One file to check and import (questions, accounts, or a contest definition)."""

    file = FileField(_l("Tệp"), validators=[FileRequired(_l("Vui lòng chọn tệp."))])


class BankUploadForm(UploadForm):
    """A question file and the bank it goes into."""

    bank = StringField(_l("Mã ngân hàng"), validators=[
        DataRequired(_l("Vui lòng nhập mã ngân hàng.")),
        Regexp(r"^[a-z0-9][a-z0-9-]{0,63}$", message=_l("Chỉ dùng chữ thường không dấu, chữ số và “-”.")),
    ])
    title = StringField(_l("Tên ngân hàng (khi tạo mới)"), validators=[Optional(), Length(max=300)])


class DefinitionForm(FlaskForm):
    """A whole contest definition as YAML text."""

    definition = TextAreaField(_l("Định nghĩa cuộc thi (YAML)"),
                               validators=[DataRequired(_l("Định nghĩa không được để trống.")),
                                           Length(max=1_000_000)])


class NewContestForm(FlaskForm):
    """The essentials of a new contest and its first round; the rest takes the defaults (editable as YAML)."""

    slug = StringField(_l("Mã cuộc thi (dùng trong đường dẫn)"), validators=[
        DataRequired(_l("Vui lòng nhập mã cuộc thi.")),
        Regexp(r"^[a-z0-9]+(?:-[a-z0-9]+)*$", message=_l("Chỉ dùng chữ thường không dấu, chữ số và “-”.")),
        Length(max=64)])
    title = StringField(_l("Tên cuộc thi"), validators=[DataRequired(_l("Vui lòng nhập tên cuộc thi.")),
                                                         Length(max=300)])
    unit = SelectField(_l("Đơn vị tổ chức"), validators=[InputRequired(_l("Vui lòng chọn đơn vị."))])
    legal_basis = TextAreaField(_l("Căn cứ (kế hoạch, quyết định)"), validators=[Optional(), Length(max=2000)])
    rules = TextAreaField(_l("Thể lệ"), validators=[Optional(), Length(max=50_000)])
    groups = TextAreaField(_l("Đối tượng dự thi (mỗi dòng “mã: tên”)"), default="cbccvc: Cán bộ, công chức, viên chức\n"
                                                                             "nguoi_dan: Người dân",
                           validators=[DataRequired(_l("Cần ít nhất một đối tượng dự thi."))])
    bank = SelectField(_l("Ngân hàng câu hỏi"), validators=[InputRequired(_l("Vui lòng chọn ngân hàng."))])
    opens_at = StringField(_l("Vòng 1 mở lúc (giờ Việt Nam, YYYY-MM-DD HH:MM)"),
                           validators=[DataRequired(_l("Vui lòng nhập thời điểm mở."))])
    closes_at = StringField(_l("Vòng 1 đóng lúc (giờ Việt Nam, YYYY-MM-DD HH:MM)"),
                            validators=[DataRequired(_l("Vui lòng nhập thời điểm đóng."))])
    question_count = IntegerField(_l("Số câu hỏi mỗi lượt"), default=20,
                                  validators=[InputRequired(_l("Vui lòng nhập số câu.")), NumberRange(1, 200)])
    time_limit_minutes = IntegerField(_l("Thời gian làm bài (phút; 0 = đến khi vòng đóng)"), default=15,
                                      validators=[InputRequired(_l("Vui lòng nhập thời gian.")), NumberRange(0, 1440)])
    attempts_allowed = IntegerField(_l("Số lượt thi mỗi người (0 = không giới hạn)"), default=1,
                                    validators=[InputRequired(_l("Vui lòng nhập số lượt.")), NumberRange(0, 100)])


class StatusForm(FlaskForm):
    """A lifecycle transition."""

    transition = HiddenField(validators=[DataRequired(), Regexp("^(" + "|".join(CONTEST_TRANSITIONS) + ")$")])


class PredictionActualForm(FlaskForm):
    """The committee fixes a round's prediction value (empty = compute from the attempts)."""

    value = DecimalField(_l("Giá trị thực của câu dự đoán"), places=None, validators=[Optional(), NumberRange(min=0)])


class ExcludeForm(FlaskForm):
    """Exclude a participant from rankings and prizes, with a reason, or include them again."""

    excluded = BooleanField(_l("Loại khỏi xếp hạng"))
    reason = StringField(_l("Lý do"), validators=[Length(max=300)])
