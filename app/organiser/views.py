"""Organiser pages for managing the field: units, service fields, counters and their QR posters, imports, comments,
raw exports. Every id from the URL or a form is loaded within the signed-in organiser's subtree (404 otherwise)."""
from __future__ import annotations

import tempfile

from flask import (Response, current_app, flash, redirect, render_template, request, send_file, stream_with_context,
                   url_for)
from flask_babel import get_locale
from flask_babel import gettext as _

from app.auth.access import current_organiser, get_visible_unit, organiser_required
from app.auth.forms import ConfirmForm, choice_list
from app.database import utcnow
from app.errors import AppError
from app.exports import iter_csv, write_xlsx
from app.extensions import db
from app.i18n import local_zone
from app.organiser import bp, has_endpoint
from app.organiser import services
from app.organiser.forms import (CommentFilterForm, CounterEditForm, CounterForm, ExportForm, FieldEditForm,
                                 FieldForm, ImportForm, PosterSheetForm, UnitEditForm, UnitForm)
from app.organiser.imports import ImportRejected, template_file
from app.surveys.services import counter_url
from app.units.services import list_counters

#: Import tables by the name their URLs use.
IMPORT_KINDS = {"don-vi": "units", "quay": "counters"}
MIME_TYPES = {"csv": "text/csv; charset=utf-8", "png": "image/png", "svg": "image/svg+xml", "pdf": "application/pdf",
              "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def _form_page(template: str, form, error: AppError | None = None, **context):
    """Render a form page: 200 when shown, 400 (or the refusal's own status) after a refused submission."""
    status = error.status if error is not None else (400 if request.method == "POST" else 200)
    return render_template(template, form=form, error=error.message if error is not None else None, **context), status


def _refused(error: AppError) -> AppError:
    """Undo what a refused service call flushed, and hand the error to the page."""
    db.session.rollback()
    return error


def _unit_choices(organiser, *, active_only: bool = True) -> list[tuple[int, str]]:
    """Return the units of the organiser's subtree for a select, indented by depth."""
    return choice_list((row.id, "\u00a0\u00a0" * row.depth + f"{row.name} ({row.code})")
                       for row in services.unit_tree(organiser.unit) if row.is_active or not active_only)


def _confirm_page(form, *, title: str, message: str, button: str, cancel: str, danger: bool = True,
                  details: list[str] | None = None):
    return render_template("organiser/confirm.html", form=form, title=title, message=message, button=button,
                           cancel=cancel, danger=danger, details=details or [])


def _download(data: bytes, fmt: str, name: str, *, attachment: bool = True) -> Response:
    response = Response(data, mimetype=MIME_TYPES[fmt])
    disposition = "attachment" if attachment else "inline"
    response.headers["Content-Disposition"] = f'{disposition}; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/")
@organiser_required
def home():
    """Send the organiser to the dashboard, or to the unit list until the dashboard exists."""
    return redirect(url_for("organiser.dashboard" if has_endpoint("organiser.dashboard") else "organiser.units"))


# --- units -------------------------------------------------------------------------------------------------------

@bp.get("/don-vi")
@organiser_required
def units():
    """Show the organiser's subtree of units."""
    return render_template("organiser/units.html", rows=services.unit_tree(current_organiser().unit),
                           kind_labels=services.UNIT_KIND_LABELS)


@bp.route("/don-vi/moi", methods=["GET", "POST"])
@organiser_required("organiser")
def unit_new():
    """Create a unit under a unit of the subtree."""
    organiser = current_organiser()
    form = UnitForm()
    form.parent.choices = _unit_choices(organiser)
    if request.method == "GET":
        form.parent.data = request.args.get("parent", organiser.unit_id, type=int)
    if not form.validate_on_submit():
        return _form_page("organiser/unit_form.html", form)
    parent = get_visible_unit(organiser, form.parent.data or 0)
    try:
        unit = services.add_unit(organiser, parent, code=form.code.data, name=form.name.data, kind=form.kind.data,
                                 headcount=form.headcount_value, block=form.block.data, now=utcnow())
    except AppError as error:
        return _form_page("organiser/unit_form.html", form, _refused(error))
    db.session.commit()
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
        return _form_page("organiser/unit_form.html", form, unit=unit)
    try:
        services.edit_unit(organiser, unit, name=form.name.data, kind=form.kind.data,
                           headcount=form.headcount_value, block=form.block.data, now=utcnow())
    except AppError as error:
        return _form_page("organiser/unit_form.html", form, _refused(error), unit=unit)
    db.session.commit()
    flash(_("Đã lưu đơn vị %(name)s.", name=unit.name), "info")
    return redirect(url_for(".units"), 303)


@bp.route("/don-vi/<int:unit_id>/ngung", methods=["GET", "POST"])
@organiser_required("organiser")
def unit_deactivate(unit_id: int):
    """Deactivate a unit and its subtree, after a confirmation that says what stops."""
    return _set_unit_active(unit_id, False)


@bp.route("/don-vi/<int:unit_id>/kich-hoat", methods=["GET", "POST"])
@organiser_required("organiser")
def unit_reactivate(unit_id: int):
    """Reactivate a unit and its subtree, after confirmation."""
    return _set_unit_active(unit_id, True)


def _set_unit_active(unit_id: int, active: bool):
    organiser = current_organiser()
    unit = get_visible_unit(organiser, unit_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        impact = services.unit_impact(unit)
        details = [_("Số đơn vị (gồm đơn vị này và các đơn vị trực thuộc): %(n)d", n=impact.units),
                   _("Số quầy thuộc các đơn vị này: %(n)d", n=impact.counters)]
        if active:
            return _confirm_page(form, title=_("Kích hoạt lại đơn vị %(name)s", name=unit.name),
                                 message=_("Đơn vị và mọi đơn vị trực thuộc sẽ hoạt động trở lại; mã QR của các "
                                           "quầy đang hoạt động nhận đánh giá trở lại."),
                                 button=_("Kích hoạt lại"), cancel=url_for(".units"), danger=False, details=details)
        return _confirm_page(form, title=_("Ngừng hoạt động đơn vị %(name)s", name=unit.name),
                             message=_("Đơn vị và mọi đơn vị trực thuộc sẽ ngừng hoạt động: mã QR của tất cả quầy "
                                       "thuộc các đơn vị này sẽ ngừng nhận đánh giá. Dữ liệu đã có được giữ nguyên."),
                             button=_("Ngừng hoạt động"), cancel=url_for(".units"), details=details)
    services.set_unit_active(organiser, unit, active, utcnow())
    db.session.commit()
    flash(_("Đã kích hoạt lại đơn vị %(name)s.", name=unit.name) if active
          else _("Đã ngừng hoạt động đơn vị %(name)s.", name=unit.name), "info")
    return redirect(url_for(".units"), 303)


@bp.get("/ap-phich.pdf")
@organiser_required
def unit_posters():
    """Download the A4 poster sheet of a unit's active counters (1, 2 or 4 posters a page)."""
    organiser = current_organiser()
    form = PosterSheetForm(request.args)
    if not form.validate():
        raise AppError(_("Vui lòng chọn đơn vị và số áp phích mỗi trang (1, 2 hoặc 4)."))
    unit = get_visible_unit(organiser, form.unit.data or 0)
    config = current_app.config
    data = services.unit_posters(unit, form.per_page.data, config["BASE_URL"], config["SECRET_KEY"])
    return _download(data, "pdf", f"ap-phich-{unit.code}-{form.per_page.data}.pdf")


# --- service fields ----------------------------------------------------------------------------------------------

@bp.get("/linh-vuc")
@organiser_required
def fields():
    """List the service fields (shared by the whole tree)."""
    return render_template("organiser/fields.html", fields=services.list_fields())


@bp.route("/linh-vuc/moi", methods=["GET", "POST"])
@organiser_required("organiser")
def field_new():
    """Add a service field to the shared list."""
    form = FieldForm()
    if not form.validate_on_submit():
        return _form_page("organiser/field_form.html", form)
    try:
        field = services.add_field(current_organiser(), code=form.code.data, name=form.name.data,
                                   name_en=form.name_en.data, now=utcnow())
    except AppError as error:
        return _form_page("organiser/field_form.html", form, _refused(error))
    db.session.commit()
    flash(_("Đã thêm lĩnh vực %(name)s.", name=field.name), "info")
    return redirect(url_for(".fields"), 303)


@bp.route("/linh-vuc/<int:field_id>/sua", methods=["GET", "POST"])
@organiser_required("administrator")
def field_edit(field_id: int):
    """Rename a service field (administrators: the list is shared by every unit)."""
    field = services.get_field(field_id)
    form = FieldEditForm(obj=field if request.method == "GET" else None)
    if not form.validate_on_submit():
        return _form_page("organiser/field_form.html", form, field=field)
    try:
        services.edit_field(current_organiser(), field, name=form.name.data, name_en=form.name_en.data, now=utcnow())
    except AppError as error:
        return _form_page("organiser/field_form.html", form, _refused(error), field=field)
    db.session.commit()
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
    poster_form.unit.choices = _unit_choices(organiser)
    return render_template("organiser/counters.html", counters=list_counters(root), root=root,
                           poster_form=poster_form)


def _counter_choices(form, organiser) -> None:
    form.unit.choices = _unit_choices(organiser)
    form.fields.choices = choice_list((field.id, f"{field.name} ({field.code})") for field in services.list_fields())
    form.instrument_code.choices = choice_list((code, code) for code in services.instrument_codes("sipas"))


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
        return _form_page("organiser/counter_form.html", form)
    unit = get_visible_unit(organiser, form.unit.data or 0)
    try:
        counter = services.add_counter(organiser, unit, code=form.code.data, name=form.name.data,
                                       field_ids=form.fields.data or [], instrument_code=form.instrument_code.data,
                                       now=utcnow())
    except AppError as error:
        return _form_page("organiser/counter_form.html", form, _refused(error))
    db.session.commit()
    flash(_("Đã tạo quầy %(name)s. Hãy tải áp phích mã QR để in.", name=counter.name), "info")
    return redirect(url_for(".counter", counter_id=counter.id), 303)


@bp.get("/quay/<int:counter_id>")
@organiser_required
def counter(counter_id: int):
    """Show a counter: its QR code, survey address and actions."""
    counter = services.get_visible_counter(current_organiser(), counter_id)
    config = current_app.config
    url = counter_url(config["BASE_URL"], counter.token_nonce, config["SECRET_KEY"])
    return render_template("organiser/counter.html", counter=counter, survey_url=url)


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
        return _form_page("organiser/counter_form.html", form, counter=counter)
    unit = get_visible_unit(organiser, form.unit.data or 0)
    try:
        services.edit_counter(organiser, counter, name=form.name.data, unit=unit, field_ids=form.fields.data or [],
                              instrument_code=form.instrument_code.data, now=utcnow())
    except AppError as error:
        return _form_page("organiser/counter_form.html", form, _refused(error), counter=counter)
    db.session.commit()
    flash(_("Đã lưu quầy %(name)s.", name=counter.name), "info")
    return redirect(url_for(".counter", counter_id=counter.id), 303)


@bp.route("/quay/<int:counter_id>/ngung", methods=["GET", "POST"])
@organiser_required("organiser")
def counter_deactivate(counter_id: int):
    """Deactivate a counter after confirmation: its QR code stops taking ratings."""
    return _set_counter_active(counter_id, False)


@bp.route("/quay/<int:counter_id>/kich-hoat", methods=["GET", "POST"])
@organiser_required("organiser")
def counter_reactivate(counter_id: int):
    """Reactivate a counter after confirmation."""
    return _set_counter_active(counter_id, True)


def _set_counter_active(counter_id: int, active: bool):
    organiser = current_organiser()
    counter = services.get_visible_counter(organiser, counter_id)
    form = ConfirmForm()
    back = url_for(".counter", counter_id=counter.id)
    if not form.validate_on_submit():
        if active:
            return _confirm_page(form, title=_("Kích hoạt lại quầy %(name)s", name=counter.name),
                                 message=_("Mã QR đang in của quầy sẽ nhận đánh giá trở lại."),
                                 button=_("Kích hoạt lại"), cancel=back, danger=False)
        return _confirm_page(form, title=_("Ngừng hoạt động quầy %(name)s", name=counter.name),
                             message=_("Mã QR của quầy sẽ ngừng nhận đánh giá; người quét sẽ thấy thông báo quầy đã "
                                       "ngừng. Dữ liệu đã có được giữ nguyên và có thể kích hoạt lại sau."),
                             button=_("Ngừng hoạt động"), cancel=back)
    try:
        services.set_counter_state(organiser, counter, active, utcnow())
    except AppError as error:
        db.session.rollback()
        flash(str(error.message), "error")
        return redirect(back, 303)
    db.session.commit()
    flash(_("Đã kích hoạt lại quầy %(name)s.", name=counter.name) if active
          else _("Đã ngừng hoạt động quầy %(name)s.", name=counter.name), "info")
    return redirect(back, 303)


@bp.route("/quay/<int:counter_id>/doi-ma", methods=["GET", "POST"])
@organiser_required("organiser")
def counter_rotate(counter_id: int):
    """Give a counter a new QR token after confirmation: posters printed before stop working."""
    organiser = current_organiser()
    counter = services.get_visible_counter(organiser, counter_id)
    form = ConfirmForm()
    back = url_for(".counter", counter_id=counter.id)
    if not form.validate_on_submit():
        return _confirm_page(form, title=_("Đổi mã QR của quầy %(name)s", name=counter.name),
                             message=_("Mọi áp phích đã in của quầy này sẽ ngừng hoạt động ngay; cần in và dán áp "
                                       "phích mới. Dùng khi nghi mã QR bị sao chép hoặc dán đè."),
                             button=_("Đổi mã QR"), cancel=back)
    services.rotate_counter_token(organiser, counter, utcnow())
    db.session.commit()
    flash(_("Đã đổi mã QR. Hãy tải và in áp phích mới."), "info")
    return redirect(back, 303)


@bp.get("/quay/<int:counter_id>/qr.<any(png, svg):fmt>")
@organiser_required
def counter_qr(counter_id: int, fmt: str):
    """Download the counter's QR code as PNG or SVG (SVG also shows inline on the counter page)."""
    counter = services.get_visible_counter(current_organiser(), counter_id)
    config = current_app.config
    data = services.counter_qr(counter, fmt, config["BASE_URL"], config["SECRET_KEY"])
    return _download(data, fmt, f"qr-{counter.code}.{fmt}", attachment=request.args.get("tai") == "1" or fmt == "png")


@bp.get("/quay/<int:counter_id>/ap-phich.pdf")
@organiser_required
def counter_poster(counter_id: int):
    """Download the counter's one-page A4 poster."""
    counter = services.get_visible_counter(current_organiser(), counter_id)
    config = current_app.config
    return _download(services.counter_poster(counter, config["BASE_URL"], config["SECRET_KEY"]), "pdf",
                     f"ap-phich-{counter.code}.pdf")


# --- imports -----------------------------------------------------------------------------------------------------

@bp.route("/nhap/<any('don-vi', quay):kind>", methods=["GET", "POST"])
@organiser_required("organiser")
def import_table(kind: str):
    """Import units or counters from a CSV/XLSX table: all rows or none, with a row-numbered problem list."""
    organiser = current_organiser()
    form = ImportForm()
    context = dict(kind=kind, columns=services.IMPORTERS[IMPORT_KINDS[kind]][0], problems=())
    if not form.validate_on_submit():
        return _form_page("organiser/import.html", form, **context)
    config = current_app.config
    upload = form.file.data
    try:
        count = services.import_table(organiser, organiser.unit, IMPORT_KINDS[kind], upload.filename or "",
                                      upload.read(config["IMPORT_MAX_BYTES"] + 1),
                                      max_bytes=config["IMPORT_MAX_BYTES"], max_rows=config["IMPORT_MAX_ROWS"],
                                      now=utcnow())
    except ImportRejected as error:
        return _form_page("organiser/import.html", form, _refused(error), **{**context, "problems": error.problems})
    db.session.commit()
    flash(_("Đã nhập %(n)d dòng.", n=count), "info")
    return redirect(url_for(".units" if kind == "don-vi" else ".counters"), 303)


@bp.get("/nhap/mau/<any('don-vi', quay):kind>.<any(csv, xlsx):fmt>")
@organiser_required
def import_template(kind: str, fmt: str):
    """Download an empty import table with the expected header row."""
    columns = services.IMPORTERS[IMPORT_KINDS[kind]][0]
    return _download(template_file(columns, fmt), fmt, f"mau-nhap-{kind}.{fmt}")


# --- comments and exports ----------------------------------------------------------------------------------------

@bp.get("/y-kien")
@organiser_required
def comments():
    """Read citizens' free-text comments in the subtree, with search and filters."""
    organiser = current_organiser()
    locale = str(get_locale())
    form = CommentFilterForm(request.args)
    form.unit.choices = _unit_choices(organiser, active_only=False)
    form.field.choices = choice_list([("", _("Mọi lĩnh vực"))]
                                     + [(str(f.id), f.label(locale)) for f in services.list_fields()])
    form.instrument.choices = choice_list([("", _("Mọi phiếu"))] + [(c, c) for c in services.instrument_codes()])
    form.element.choices = choice_list([("", _("Bất kỳ yếu tố nào"))] + services.element_choices(locale))
    if not form.validate():
        return render_template("organiser/comments.html", form=form, page=None, error=None), 400
    root = get_visible_unit(organiser, form.unit.data) if form.unit.data else organiser.unit
    filters = services.CommentFilter(search=form.q.data or "", field_id=form.field_id, period=form.period_value,
                                     instrument_code=form.instrument.data or None, element=form.element.data or None,
                                     max_score=float(form.max_score.data) if form.max_score.data else None)
    page = services.list_comments(root, filters, request.args.get("trang", 1, type=int), locale=locale)
    return render_template("organiser/comments.html", form=form, page=page, error=None)


def _export_form(organiser) -> ExportForm:
    form = ExportForm(request.args)
    form.unit.choices = _unit_choices(organiser, active_only=False)
    form.instrument.choices = choice_list((code, code) for code in services.instrument_codes())
    if not request.args:
        form.unit.data = organiser.unit_id
    return form


@bp.get("/xuat-du-lieu")
@organiser_required
def export():
    """Choose what raw responses to export."""
    return _form_page("organiser/export.html", _export_form(current_organiser()))


@bp.get("/xuat-du-lieu/tai-ve")
@organiser_required
def export_download():
    """Download raw responses of a subtree: CSV streamed row by row, or an XLSX workbook."""
    organiser = current_organiser()
    form = _export_form(organiser)
    if not form.validate():
        return render_template("organiser/export.html", form=form, error=None), 400
    unit = get_visible_unit(organiser, form.unit.data or 0)
    period = form.period_value
    fmt = form.format.data
    headers, rows = services.export_responses(organiser, unit, form.instrument.data, period, fmt, local_zone(),
                                              utcnow())
    db.session.commit()
    name = f"phieu-{form.instrument.data}-{unit.code}-{period.label if period else 'tat-ca'}.{fmt}"
    if fmt == "csv":
        response = Response(stream_with_context(iter_csv(headers, rows)), mimetype=MIME_TYPES["csv"])
        response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
        response.headers["Cache-Control"] = "no-store"
        return response
    spool = tempfile.TemporaryFile()
    write_xlsx([("Phiếu trả lời", headers, rows)], spool)
    spool.seek(0)
    return send_file(spool, mimetype=MIME_TYPES["xlsx"], as_attachment=True, download_name=name, max_age=0)
