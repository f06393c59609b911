"""Form pieces every feature uses: select options, selects refused in the user's language, the bare confirmation.

Every form is a Flask-WTF ``FlaskForm`` (CSRF on) unless it is a GET filter that says ``csrf = False``.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import DateField, SelectField, SelectMultipleField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional

from app.periods import Period, parse_period

_INVALID_CHOICE = _l("Lựa chọn không hợp lệ; vui lòng chọn lại.")
_INVALID_DAY = _l("Ngày không hợp lệ; vui lòng chọn ngày trên lịch.")


def choice_list(pairs: Iterable[tuple[object, str]]) -> list[SelectChoice]:
    """Return select options from (value, label) pairs."""
    return [SelectChoice(value, label) for value, label in pairs]


def select_field(label: str, *, many: bool = False, **options) -> SelectField:
    """Return a select (or multi-select) field whose refusals are worded in the user's language."""
    field_class = SelectMultipleField if many else SelectField
    return field_class(label, invalid_choice_message=_INVALID_CHOICE, invalid_value_message=_INVALID_CHOICE,
                       **options)


class ConfirmForm(FlaskForm):
    """A confirmation button (deactivate, rotate a QR code, erase personal data): only the CSRF token travels."""


#: Period presets of the period chooser: quarters, halves, the year, or a custom range.
PRESETS = (("Q1", _l("Quý I")), ("Q2", _l("Quý II")), ("Q3", _l("Quý III")), ("Q4", _l("Quý IV")),
           ("H1", _l("6 tháng đầu năm")), ("H2", _l("6 tháng cuối năm")), ("Y", _l("Cả năm")),
           ("custom", _l("Khoảng ngày tùy chọn")))
#: Years offered before the current one.
YEARS_BACK = 5


class PeriodChoiceForm(FlaskForm):
    """The period chooser of the reading pages (dashboard, report, a counter's page): a year and a quarter, half or
    the whole year, or a custom range of days. A GET form: no CSRF token."""

    class Meta:
        csrf = False

    year = select_field(_l("Năm"), coerce=int)
    preset = select_field(_l("Kỳ"), choices=choice_list(PRESETS))
    start = DateField(_l("Từ ngày"), validators=[Optional()], invalid_value_message=_INVALID_DAY)
    end = DateField(_l("Đến ngày"), validators=[Optional()], invalid_value_message=_INVALID_DAY)

    @classmethod
    def from_args(cls, args: Mapping[str, str], today: dt.date):
        """Build the form from query arguments, defaulting to the quarter holding ``today``, with the recent years."""
        data = MultiDict(args)
        data.setdefault("year", str(today.year))
        data.setdefault("preset", f"Q{(today.month - 1) // 3 + 1}")
        form = cls(formdata=data)
        form.year.choices = choice_list((year, str(year)) for year in range(today.year, today.year - YEARS_BACK - 1,
                                                                              -1))
        return form

    def validate(self, extra_validators=None) -> bool:
        """Validate the fields, then require an ordered pair of dates for a custom range."""
        if not super().validate(extra_validators):
            return False
        if self.preset.data == "custom":
            if not self.start.data or not self.end.data:
                self.end.errors.append(_l("Chọn cả ngày bắt đầu và ngày kết thúc."))
            elif self.end.data < self.start.data:
                self.end.errors.append(_l("Ngày kết thúc phải sau ngày bắt đầu."))
            else:
                try:
                    self.period
                except ValueError as error:
                    self.end.errors.append(str(error))
        return not self.end.errors

    @property
    def period(self) -> Period:
        """Return the chosen period."""
        preset, year = self.preset.data, self.year.data
        if preset == "custom":
            return parse_period(f"{self.start.data.isoformat()}..{self.end.data.isoformat()}")
        return parse_period(str(year) if preset == "Y" else f"{year}-{preset}")
