"""Organiser pages of units, service fields and counters under /quan-tri: the unit tree, counters with their QR codes
and posters, the shared list of service fields, and table imports. Every id from the URL or a form is loaded within
the signed-in organiser's subtree (404 otherwise).

Counters serve survey instruments, which the surveys feature publishes: create_app hands this blueprint the function
that lists them (``instruments=…`` at registration), so this package never imports the feature above it.
"""
from __future__ import annotations

import base64
from collections.abc import Callable

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from app.auth.access import current_organiser, get_visible_unit, organiser_required
from app.config import token_keys
from app.database import utcnow
from app.errors import AppError
from app.i18n import local_zone
from app.forms import PeriodChoiceForm, choice_list
from app.units import imports, services
from app.units.forms import (PAPER_LABELS, CounterEditForm, CounterForm, DossierLinkForm, FieldEditForm, FieldForm,
                             ImportForm, PosterSheetForm, UnitEditForm, UnitForm, unit_choices)
from app.units.qr import make_qr_svg
from app.units.tokens import counter_url
from app.uploads import UploadLimits, template_file
from app.validation import Rejected
from app.web import ConfirmPage, confirm_then, download, form_page, refused

bp = Blueprint("units", __name__)

#: Import tables by the name their URLs use.
IMPORT_KINDS = {"don-vi": "units", "quay": "counters"}


@bp.record_once
def _take_instruments(state) -> None:
    """Keep the function listing the instruments a counter may serve (given at registration by create_app)."""
    state.app.extensions["units.instruments"] = state.options["instruments"]
    state.app.extensions["units.instrument_names"] = state.options.get("instrument_names")


def _instruments() -> list[str]:
    """Return the codes of the published SIPAS instruments, the ones a counter may serve."""
    listing: Callable[[], list[str]] = current_app.extensions["units.instruments"]
    return listing()


# --- units -------------------------------------------------------------------------------------------------------


@bp.get("/don-vi")
@organiser_required
def units():
    """Show the organiser's subtree of units."""
    return render_template("units/units.html", rows=services.unit_tree(current_organiser().unit),
                           kind_labels=services.UNIT_KIND_LABELS)


@bp.route("/don-vi/moi", methods=["GET", "POST"])
@organiser_required("organiser")
def unit_new():
    """Create a unit under a unit of the subtree."""
    organiser = current_organiser()
    form = UnitForm()
    form.parent.choices = unit_choices(organiser)
    if request.method == "GET":
        form.parent.data = request.args.get("parent", organiser.unit_id, type=int)
    if not form.validate_on_submit():
        return form_page("units/unit_form.html", form)
    parent = get_visible_unit(organiser, form.parent.data or 0)
    try:
        unit = services.add_unit(organiser, parent, code=form.code.data, name=form.name.data, kind=form.kind.data,
                                 headcount=form.headcount_value, block=form.block.data, now=utcnow())
    except AppError as error:
        return form_page("units/unit_form.html", form, refused(error))
    flash(_("Đã tạo đơn vị %(name)s.", name=unit.name), "info")
    return redirect(url_for(".units"), 303)


@bp.route("/don-vi/<int:unit_id>/sua", methods=["GET", "POST"])
@organiser_required("organiser")
def unit_edit(unit_id: int):
    """Change a unit's name, kind, headcount and block."""
    organiser = current_organiser()
    unit = get_visible_unit(organiser, unit_id)
    form = UnitEditForm(obj=unit if request.method == "GET" else None)
    if not form.validate_on_submit():
        return form_page("units/unit_form.html", form, unit=unit)
    try:
        services.edit_unit(organiser, unit, name=form.name.data, kind=form.kind.data,
                           headcount=form.headcount_value, block=form.block.data, now=utcnow())
    except AppError as error:
        return form_page("units/unit_form.html", form, refused(error), unit=unit)
    flash(_("Đã lưu đơn vị %(name)s.", name=unit.name), "info")
    return redirect(url_for(".units"), 303)


@bp.route("/don-vi/<int:unit_id>/ngung", methods=["GET", "POST"])
@organiser_required("organiser")
def unit_deactivate(unit_id: int):
    """Deactivate a unit and its subtree, after a confirmation that says what stops."""
    return _switch_unit(unit_id, False)


@bp.route("/don-vi/<int:unit_id>/kich-hoat", methods=["GET", "POST"])
@organiser_required("organiser")
def unit_reactivate(unit_id: int):
    """Reactivate a unit and its subtree, after confirmation."""
    return _switch_unit(unit_id, True)


def _switch_unit(unit_id: int, active: bool):
    organiser = current_organiser()
    unit = get_visible_unit(organiser, unit_id)

    def page() -> ConfirmPage:
        impact = services.unit_impact(unit)
        details = (_("Số đơn vị (gồm đơn vị này và các đơn vị trực thuộc): %(n)d", n=impact.units),
                   _("Số quầy thuộc các đơn vị này: %(n)d", n=impact.counters))
        if active:
            return ConfirmPage(_("Kích hoạt lại đơn vị %(name)s", name=unit.name),
                               _("Đơn vị và mọi đơn vị trực thuộc sẽ hoạt động trở lại; mã QR của các quầy đang hoạt "
                                 "động nhận đánh giá trở lại."),
                               _("Kích hoạt lại"), url_for(".units"), danger=False, details=details)
        return ConfirmPage(_("Ngừng hoạt động đơn vị %(name)s", name=unit.name),
                           _("Đơn vị và mọi đơn vị trực thuộc sẽ ngừng hoạt động: mã QR của tất cả quầy thuộc các đơn "
                             "vị này sẽ ngừng nhận đánh giá. Dữ liệu đã có được giữ nguyên."),
                           _("Ngừng hoạt động"), url_for(".units"), details=details)

    done = (_("Đã kích hoạt lại đơn vị %(name)s.", name=unit.name) if active
            else _("Đã ngừng hoạt động đơn vị %(name)s.", name=unit.name))
    return confirm_then(page, lambda: services.set_unit_active(organiser, unit, active, utcnow()), done=done,
                        back=url_for(".units"))


@bp.get("/ap-phich.pdf")
@organiser_required
def unit_posters():
    """Download the A4 poster sheet of a unit's active counters (1, 2 or 4 posters a page)."""
    organiser = current_organiser()
    form = PosterSheetForm(request.args)
    if not form.validate():
        raise AppError(_("Vui lòng chọn đơn vị, khổ in và số áp phích mỗi trang (1, 2 hoặc 4)."))
    unit = get_visible_unit(organiser, form.unit.data or 0)
    config = current_app.config
    per_page = form.per_page.data if form.paper.data == "a4" else 1
    data = services.unit_posters(unit, per_page, config["BASE_URL"], token_keys(config), form.paper.data)
    return download(data, "pdf", f"ap-phich-{unit.code}-{form.paper.data}-{per_page}.pdf")


# --- service fields ----------------------------------------------------------------------------------------------


@bp.get("/linh-vuc")
@organiser_required
def fields():
    """List the service fields (shared by the whole tree)."""
    return render_template("units/fields.html", fields=services.list_fields())


@bp.route("/linh-vuc/moi", methods=["GET", "POST"])
@organiser_required("organiser")
def field_new():
    """Add a service field to the shared list."""
    form = FieldForm()
    if not form.validate_on_submit():
        return form_page("units/field_form.html", form)
    try:
        field = services.add_field(current_organiser(), code=form.code.data, name=form.name.data,
                                   name_en=form.name_en.data, now=utcnow())
    except AppError as error:
        return form_page("units/field_form.html", form, refused(error))
    flash(_("Đã thêm lĩnh vực %(name)s.", name=field.name), "info")
    return redirect(url_for(".fields"), 303)


@bp.route("/linh-vuc/<int:field_id>/sua", methods=["GET", "POST"])
@organiser_required("administrator")
def field_edit(field_id: int):
    """Rename a service field (top-level administrators: the list is shared by every unit)."""
    field = services.get_field(field_id)
    services.check_field_editor(current_organiser())
    form = FieldEditForm(obj=field if request.method == "GET" else None)
    if not form.validate_on_submit():
        return form_page("units/field_form.html", form, field=field)
    try:
        services.edit_field(current_organiser(), field, name=form.name.data, name_en=form.name_en.data, now=utcnow())
    except AppError as error:
        return form_page("units/field_form.html", form, refused(error), field=field)
    flash(_("Đã lưu lĩnh vực %(name)s.", name=field.name), "info")
    return redirect(url_for(".fields"), 303)


# --- counters ----------------------------------------------------------------------------------------------------


@bp.get("/quay")
@organiser_required
def counters():
    """List the counters of the subtree (or of one unit's subtree), with the poster sheet form."""
    organiser = current_organiser()
    unit_id = request.args.get("unit", type=int)
    root = get_visible_unit(organiser, unit_id) if unit_id is not None else organiser.unit
    poster_form = PosterSheetForm(formdata=None, unit=root.id)
    poster_form.unit.choices = unit_choices(organiser)
    return render_template("units/counters.html", counters=services.list_counters(root), root=root,
                           poster_form=poster_form)


def _counter_choices(form: CounterEditForm, organiser) -> None:
    form.unit.choices = unit_choices(organiser)
    form.fields.choices = choice_list((field.id, f"{field.name} ({field.code})") for field in services.list_fields())
    naming = current_app.extensions.get("units.instrument_names")
    names = naming(str(get_locale())) if naming else {}
    form.instrument_code.choices = choice_list((code, names.get(code, code)) for code in _instruments())


@bp.route("/quay/moi", methods=["GET", "POST"])
@organiser_required("organiser")
def counter_new():
    """Create a counter in a unit of the subtree."""
    organiser = current_organiser()
    form = CounterForm()
    _counter_choices(form, organiser)
    if request.method == "GET":
        form.unit.data = request.args.get("unit", organiser.unit_id, type=int)
        form.instrument_code.data = services.DEFAULT_INSTRUMENT
    if not form.validate_on_submit():
        return form_page("units/counter_form.html", form)
    unit = get_visible_unit(organiser, form.unit.data or 0)
    try:
        counter = services.add_counter(organiser, unit, code=form.code.data, name=form.name.data,
                                       field_ids=form.fields.data or [], instrument_code=form.instrument_code.data,
                                       instruments=_instruments(), now=utcnow())
    except AppError as error:
        return form_page("units/counter_form.html", form, refused(error))
    flash(_("Đã tạo quầy %(name)s. Hãy tải áp phích mã QR để in.", name=counter.name), "info")
    return redirect(url_for(".counter", counter_id=counter.id), 303)


@bp.get("/quay/<int:counter_id>")
@organiser_required
def counter(counter_id: int):
    """Show a counter: its QR code, survey address and actions, and its responses in the chosen period (default:
    this quarter); a period that cannot be read is said beside its field (400)."""
    counter = services.get_visible_counter(current_organiser(), counter_id)
    config = current_app.config
    url = counter_url(config["BASE_URL"], counter.token_nonce, token_keys(config))
    form = PeriodChoiceForm.from_args(request.args, utcnow().astimezone(local_zone()).date())
    chosen = form.validate()
    return render_template("units/counter.html", counter=counter, survey_url=url, papers=PAPER_LABELS,
                           short_url=services.counter_short_url(counter, config["BASE_URL"]), form=form,
                           period=form.period if chosen else None), 200 if chosen else 400


@bp.route("/quay/<int:counter_id>/sua", methods=["GET", "POST"])
@organiser_required("organiser")
def counter_edit(counter_id: int):
    """Change a counter's name, unit, service fields and instrument."""
    organiser = current_organiser()
    counter = services.get_visible_counter(organiser, counter_id)
    form = CounterEditForm(obj=counter if request.method == "GET" else None)
    _counter_choices(form, organiser)
    if request.method == "GET":
        form.unit.data = counter.unit_id
        form.fields.data = [field.id for field in counter.service_fields]
    if not form.validate_on_submit():
        return form_page("units/counter_form.html", form, counter=counter)
    unit = get_visible_unit(organiser, form.unit.data or 0)
    try:
        services.edit_counter(organiser, counter, name=form.name.data, unit=unit, field_ids=form.fields.data or [],
                              instrument_code=form.instrument_code.data, instruments=_instruments(), now=utcnow())
    except AppError as error:
        return form_page("units/counter_form.html", form, refused(error), counter=counter)
    flash(_("Đã lưu quầy %(name)s.", name=counter.name), "info")
    return redirect(url_for(".counter", counter_id=counter.id), 303)


@bp.route("/quay/<int:counter_id>/ngung", methods=["GET", "POST"])
@organiser_required("organiser")
def counter_deactivate(counter_id: int):
    """Deactivate a counter after confirmation: its QR code stops taking ratings."""
    return _switch_counter(counter_id, False)


@bp.route("/quay/<int:counter_id>/kich-hoat", methods=["GET", "POST"])
@organiser_required("organiser")
def counter_reactivate(counter_id: int):
    """Reactivate a counter after confirmation."""
    return _switch_counter(counter_id, True)


def _switch_counter(counter_id: int, active: bool):
    organiser = current_organiser()
    counter = services.get_visible_counter(organiser, counter_id)
    back = url_for(".counter", counter_id=counter.id)

    def page() -> ConfirmPage:
        if active:
            return ConfirmPage(_("Kích hoạt lại quầy %(name)s", name=counter.name),
                               _("Mã QR đang in của quầy sẽ nhận đánh giá trở lại."), _("Kích hoạt lại"), back,
                               danger=False)
        return ConfirmPage(_("Ngừng hoạt động quầy %(name)s", name=counter.name),
                           _("Mã QR của quầy sẽ ngừng nhận đánh giá; người quét sẽ thấy thông báo quầy đã ngừng. Dữ "
                             "liệu đã có được giữ nguyên và có thể kích hoạt lại sau."), _("Ngừng hoạt động"), back)

    done = (_("Đã kích hoạt lại quầy %(name)s.", name=counter.name) if active
            else _("Đã ngừng hoạt động quầy %(name)s.", name=counter.name))
    return confirm_then(page, lambda: services.set_counter_state(organiser, counter, active, utcnow()), done=done,
                        back=back, refusals=AppError)


@bp.route("/quay/<int:counter_id>/doi-ma", methods=["GET", "POST"])
@organiser_required("organiser")
def counter_rotate(counter_id: int):
    """Give a counter a new QR token after confirmation: posters printed before stop working."""
    organiser = current_organiser()
    counter = services.get_visible_counter(organiser, counter_id)
    back = url_for(".counter", counter_id=counter.id)
    page = ConfirmPage(_("Đổi mã QR của quầy %(name)s", name=counter.name),
                       _("Mọi áp phích đã in của quầy này sẽ ngừng hoạt động ngay; cần in và dán áp phích mới. Dùng "
                         "khi nghi mã QR bị sao chép hoặc dán đè."), _("Đổi mã QR"), back)
    return confirm_then(lambda: page, lambda: services.rotate_counter_token(organiser, counter, utcnow()),
                        done=_("Đã đổi mã QR. Hãy tải và in áp phích mới."), back=back)


@bp.get("/quay/<int:counter_id>/qr.<any(png, svg):fmt>")
@organiser_required
def counter_qr(counter_id: int, fmt: str):
    """Download the counter's QR code as PNG or SVG (SVG also shows inline on the counter page)."""
    counter = services.get_visible_counter(current_organiser(), counter_id)
    config = current_app.config
    data = services.counter_qr(counter, fmt, config["BASE_URL"], token_keys(config))
    return download(data, fmt, f"qr-{counter.code}.{fmt}", attachment=request.args.get("tai") == "1" or fmt == "png")


@bp.get("/quay/<int:counter_id>/ap-phich.pdf")
@organiser_required
def counter_poster(counter_id: int):
    """Download the counter's poster: A4 by default, ``?kho=a5`` or ``?kho=tent`` (a folded table tent)."""
    counter = services.get_visible_counter(current_organiser(), counter_id)
    config = current_app.config
    paper = request.args.get("kho", "a4")
    return download(services.counter_poster(counter, paper, config["BASE_URL"], token_keys(config)), "pdf",
                    f"ap-phich-{counter.code}-{paper}.pdf")


@bp.route("/quay/<int:counter_id>/lien-ket-ho-so", methods=["GET", "POST"])
@organiser_required("organiser")
def dossier_link(counter_id: int):
    """Make a one-time rating link (and its QR code) for a dossier returned at the counter."""
    counter = services.get_visible_counter(current_organiser(), counter_id)
    form = DossierLinkForm()
    form.service_field.choices = choice_list([("", _("Không ghi (người dân tự chọn)"))] + [
        (field.code, field.name) for field in counter.service_fields])
    if not form.validate_on_submit():
        return form_page("units/dossier_link.html", form, counter=counter, link=None)
    config = current_app.config
    try:
        link = services.mint_dossier_link(counter, form.dossier_code.data, form.days.data,
                                          service_field_code=form.service_field.data or None, now=utcnow(),
                                          base_url=config["BASE_URL"], secret=token_keys(config))
    except AppError as error:
        return form_page("units/dossier_link.html", form, refused(error), counter=counter, link=None)
    qr = base64.b64encode(make_qr_svg(link.url, box_size=6).encode()).decode()
    return render_template("units/dossier_link.html", form=form, counter=counter, link=link, error=None,
                           qr_src=f"data:image/svg+xml;base64,{qr}")


# --- imports -----------------------------------------------------------------------------------------------------


@bp.route("/nhap/<any('don-vi', quay):kind>", methods=["GET", "POST"])
@organiser_required("organiser")
def import_table(kind: str):
    """Import units or counters from a CSV/XLSX table: all rows or none, with a row-numbered problem list."""
    organiser = current_organiser()
    form = ImportForm()
    context = dict(kind=kind, columns=imports.TABLES[IMPORT_KINDS[kind]], problems=())
    if not form.validate_on_submit():
        return form_page("units/import.html", form, **context)
    limits = UploadLimits.from_config(current_app.config, "IMPORT")
    upload = form.file.data
    try:
        count = imports.import_table(organiser, organiser.unit, IMPORT_KINDS[kind], upload.filename or "",
                                     upload.read(limits.max_bytes + 1), limits=limits, instruments=_instruments(),
                                     now=utcnow())
    except Rejected as error:
        return form_page("units/import.html", form, refused(error), **{**context, "problems": error.problems})
    flash(_("Đã nhập %(n)d dòng.", n=count), "info")
    return redirect(url_for(".units" if kind == "don-vi" else ".counters"), 303)


@bp.get("/nhap/mau/<any('don-vi', quay):kind>.<any(csv, xlsx):fmt>")
@organiser_required
def import_template(kind: str, fmt: str):
    """Download an empty import table with the expected header row."""
    return download(template_file(imports.TABLES[IMPORT_KINDS[kind]], fmt), fmt, f"mau-nhap-{kind}.{fmt}")
