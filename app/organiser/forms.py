"""Forms of the organiser area: units, service fields, counters, imports, and the GET filters of comments, exports."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import StringField
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError

from app.auth.forms import choice_list, select_field
from app.organiser.services import CODE_MESSAGE, CODE_PATTERN, UNIT_KIND_LABELS
from app.periods import Period, parse_period

_REQUIRED = _l("Vui lòng điền mục này.")
_CODE = [DataRequired(_REQUIRED), Regexp(f"^{CODE_PATTERN.pattern}$", message=CODE_MESSAGE)]
_NAME = [DataRequired(_REQUIRED), Length(max=200, message=_l("Tối đa 200 ký tự."))]


def _unit_select(label: str):
    # Choices list only the organiser's units; the view still loads the chosen id within the subtree (404 else).
    return select_field(label, coerce=int, validate_choice=False)


class UnitEditForm(FlaskForm):
    """What can change about a unit: name, kind, headcount and block."""

    name = StringField(_l("Tên đơn vị"), validators=_NAME)
    kind = select_field(_l("Loại đơn vị"), choices=choice_list(UNIT_KIND_LABELS.items()))
    headcount = StringField(_l("Biên chế"), validators=[
        Optional(), Regexp(r"^[0-9]{1,8}$", message=_l("Biên chế phải là số nguyên không âm."))])
    block = StringField(_l("Khối thi đua"), validators=[Optional(), Length(max=32, message=_l("Tối đa 32 ký tự."))])

    @property
    def headcount_value(self) -> int | None:
        """Return the headcount as a number, or None when left empty."""
        return int(self.headcount.data) if self.headcount.data else None


class UnitForm(UnitEditForm):
    """A new unit under a parent of the subtree."""

    parent = _unit_select(_l("Đơn vị cấp trên"))
    code = StringField(_l("Mã đơn vị"), validators=_CODE)


class FieldEditForm(FlaskForm):
    """A service field's names."""

    name = StringField(_l("Tên lĩnh vực"), validators=_NAME)
    name_en = StringField(_l("Tên tiếng Anh"), validators=[Optional(), Length(max=200)])


class FieldForm(FieldEditForm):
    """A new service field."""

    code = StringField(_l("Mã lĩnh vực"), validators=_CODE)


class CounterEditForm(FlaskForm):
    """What can change about a counter: name, unit, service fields, instrument."""

    name = StringField(_l("Tên quầy"), validators=_NAME)
    unit = _unit_select(_l("Đơn vị"))
    fields = select_field(_l("Lĩnh vực phục vụ"), many=True, coerce=int, validate_choice=False)
    instrument_code = select_field(_l("Phiếu khảo sát"))


class CounterForm(CounterEditForm):
    """A new counter."""

    code = StringField(_l("Mã quầy"), validators=_CODE)


class ImportForm(FlaskForm):
    """An uploaded CSV or XLSX table."""

    file = FileField(_l("Tệp CSV hoặc XLSX"), validators=[FileRequired(_l("Vui lòng chọn tệp để nhập."))])


class _PeriodMixin:
    """A period field that accepts 2026-Q3, 2026-H1, 2026-07, 2026 or FROM..TO."""

    def validate_period(self, field) -> None:
        if field.data and field.data.strip():
            try:
                parse_period(field.data)
            except ValueError:
                raise ValidationError(_l("Kỳ không hợp lệ: dùng 2026-Q3, 2026-H1, 2026-07, 2026 hoặc "
                                         "2026-01-01..2026-03-31.")) from None

    @property
    def period_value(self) -> Period | None:
        """Return the parsed period, or None when left empty."""
        text = (self.period.data or "").strip()
        return parse_period(text) if text else None


class CommentFilterForm(_PeriodMixin, FlaskForm):
    """Filters of the comments list (a GET form: nothing changes, so no CSRF token)."""

    class Meta:
        csrf = False

    q = StringField(_l("Tìm trong nội dung"), validators=[Optional(), Length(max=200)])
    unit = _unit_select(_l("Đơn vị"))
    field = select_field(_l("Lĩnh vực"), default="")
    period = StringField(_l("Kỳ"), validators=[Optional(), Length(max=40)])
    instrument = select_field(_l("Phiếu khảo sát"), default="")
    element = select_field(_l("Yếu tố"), default="")
    max_score = select_field(_l("Điểm trung bình của yếu tố"), default="", choices=choice_list([
        ("", _l("Mọi mức")), ("1", _l("≤ 1 (rất không hài lòng)")), ("2", _l("≤ 2 (không hài lòng)")),
        ("3", _l("≤ 3 (bình thường trở xuống)")), ("4", _l("≤ 4"))]))

    @property
    def field_id(self) -> int | None:
        """Return the chosen service field id, or None for every field."""
        return int(self.field.data) if (self.field.data or "").isdigit() else None


class ExportForm(_PeriodMixin, FlaskForm):
    """What to export: unit subtree, instrument, period, format (a GET form for a download)."""

    class Meta:
        csrf = False

    unit = _unit_select(_l("Đơn vị"))
    # Any code may be asked for; an unknown one gets the export's own "no such instrument" answer.
    instrument = select_field(_l("Phiếu khảo sát"), default="sipas-counter", validate_choice=False)
    period = StringField(_l("Kỳ (để trống: toàn bộ)"), validators=[Optional(), Length(max=40)])
    format = select_field(_l("Định dạng"), default="csv", choices=choice_list([("csv", "CSV"), ("xlsx", "XLSX")]))


class PosterSheetForm(FlaskForm):
    """Which unit's counters to print, and how many posters to a page (a GET form for a download)."""

    class Meta:
        csrf = False

    unit = _unit_select(_l("Đơn vị"))
    per_page = select_field(_l("Số áp phích mỗi trang A4"), coerce=int, default=1,
                            choices=choice_list([(1, "1"), (2, "2"), (4, "4")]))
