"""GET forms of the organiser's reading pages: which report to show, which comments, what to export (no CSRF)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import Length, Optional, ValidationError

from app.forms import PeriodChoiceForm, choice_list, select_field
from app.periods import Period, parse_period
from app.units.forms import unit_select

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
    unit = unit_select(_l("Đơn vị"))
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

    unit = unit_select(_l("Đơn vị"))
    # Any code may be asked for; an unknown one gets the export's own "no such instrument" answer.
    instrument = select_field(_l("Phiếu khảo sát"), default="sipas-counter", validate_choice=False)
    period = StringField(_l("Kỳ (để trống: toàn bộ)"), validators=[Optional(), Length(max=40)])
    format = select_field(_l("Định dạng"), default="csv", choices=choice_list([("csv", "CSV"), ("xlsx", "XLSX")]))


class ReportForm(PeriodChoiceForm):
    """Which unit, period and instrument version a dashboard or report shows (a GET form: no CSRF token)."""

    unit = select_field(_l("Đơn vị"), coerce=int, validate_choice=False)
    version = select_field(_l("Phiếu khảo sát"), default="")

    @property
    def instrument(self) -> tuple[str | None, int | None]:
        """Return the chosen (instrument code, version), or (None, None) to let the report pick."""
        code, _, number = (self.version.data or "").rpartition(":")
        return (code, int(number)) if code and number.isdigit() else (None, None)
