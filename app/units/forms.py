"""Forms of the units pages: units, service fields, counters, imports, and the poster sheet's choice."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import IntegerField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp

from app.auth.models import Organiser
from app.forms import choice_list, select_field
from app.units.services import CODE_MESSAGE, CODE_PATTERN, UNIT_KIND_LABELS, unit_tree

_REQUIRED = _l("Vui lòng điền mục này.")
_CODE = [DataRequired(_REQUIRED), Regexp(f"^{CODE_PATTERN.pattern}$", message=CODE_MESSAGE)]
_NAME = [DataRequired(_REQUIRED), Length(max=200, message=_l("Tối đa 200 ký tự."))]
#: The poster formats as organisers read them.
PAPER_LABELS = {"a4": _l("A4 (dán tường)"), "a5": _l("A5 (dán quầy)"), "tent": _l("Bảng để bàn (A4 gấp đôi)")}


def unit_select(label: str):
    """Return a select of units; its choices list only the organiser's units (see unit_choices).

    The view still loads the chosen id within the organiser's subtree (404 otherwise).
    """
    return select_field(label, coerce=int, validate_choice=False)


def unit_choices(organiser: Organiser, *, active_only: bool = True) -> list[SelectChoice]:
    """Return the units of the organiser's subtree for a select, indented by depth."""
    return choice_list((row.id, "\u00a0\u00a0" * row.depth + f"{row.name} ({row.code})")
                       for row in unit_tree(organiser.unit) if row.is_active or not active_only)


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

    parent = unit_select(_l("Đơn vị cấp trên"))
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
    unit = unit_select(_l("Đơn vị"))
    fields = select_field(_l("Lĩnh vực phục vụ"), many=True, coerce=int, validate_choice=False)
    instrument_code = select_field(_l("Phiếu khảo sát"))


class CounterForm(CounterEditForm):
    """A new counter."""

    code = StringField(_l("Mã quầy"), validators=_CODE)


class ImportForm(FlaskForm):
    """An uploaded CSV or XLSX table."""

    file = FileField(_l("Tệp CSV hoặc XLSX"), validators=[FileRequired(_l("Vui lòng chọn tệp để nhập."))])


class PosterSheetForm(FlaskForm):
    """Which unit's counters to print, and how many posters to a page (a GET form for a download)."""

    class Meta:
        csrf = False

    unit = unit_select(_l("Đơn vị"))
    paper = select_field(_l("Khổ in"), default="a4", choices=choice_list(PAPER_LABELS.items()))
    per_page = select_field(_l("Số áp phích mỗi trang (khổ A4)"), coerce=int, default=1,
                            choices=choice_list([(1, "1"), (2, "2"), (4, "4")]))



class DossierLinkForm(FlaskForm):
    """A one-time rating link for a dossier returned at the counter."""

    dossier_code = StringField(_l("Mã hồ sơ"), validators=[
        DataRequired(_REQUIRED), Length(max=64, message=_l("Tối đa 64 ký tự."))])
    service_field = select_field(_l("Lĩnh vực của hồ sơ"), default="")
    days = IntegerField(_l("Hiệu lực (ngày)"), default=30, validators=[
        DataRequired(_REQUIRED), NumberRange(1, 365, message=_l("Từ 1 đến 365 ngày."))])
