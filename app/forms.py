"""Form pieces every feature uses: select options, selects refused in the user's language, the bare confirmation.

Every form is a Flask-WTF ``FlaskForm`` (CSRF on) unless it is a GET filter that says ``csrf = False``.
"""
from __future__ import annotations

from collections.abc import Iterable

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, SelectMultipleField
from wtforms.fields.choices import SelectChoice

_INVALID_CHOICE = _l("Lựa chọn không hợp lệ; vui lòng chọn lại.")


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
