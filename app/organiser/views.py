"""The organiser area's reading pages under /quan-tri: the dashboard and the periodic report with their charts and
downloads, citizens' comments, raw response exports, and the navigation every organiser page shows.

Every page asks for a unit, loaded within the signed-in organiser's subtree (404 otherwise). A dashboard page and
its chart images share one computed report: it is cached for a short while per unit, period, options and state of
the responses (``app.cache.sipas_reports``), so a chart request does not compute the report again.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask import (Blueprint, Response, abort, current_app, jsonify, make_response, redirect, render_template,
                   request, send_file, url_for)
from babel.numbers import format_decimal
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.auth.access import ROLE_RANK, current_organiser, get_visible_unit, load_by_id, organiser_required
from app.database import utcnow
from app.documents.periodic import contest_participation, periodic_document
from app.errors import AppError
from app.feedback.figures import feedback_figures
from app.forms import choice_list
from app.i18n import local_zone
from app.organiser import services
from app.organiser.charts import CHARTS, available_charts, render_chart, tick_label
from app.organiser.forms import CommentFilterForm, ExportForm, ReportForm
from app.organiser.report_files import comment_rows, flag_text, render_report_pdf, rule_text, write_report_xlsx
from app.organiser.reports import (CounterFigures, SipasReport, change_is_real, counter_figures, current_report,
                                   ranked_criteria, units_apart)
from app.periods import Period, parse_period
from app.surveys.services import instrument_codes, instrument_names, sipas_versions
from app.units.forms import unit_choices
from app.units.models import Unit
from app.units.services import list_fields
from app.jobs import Job, LinkExpired, download_token, read_download_token
from app.web import MIME_TYPES, form_page, wants_json

bp = Blueprint("organiser", __name__)


@dataclass(frozen=True)
class NavEntry:
    """One link of the organiser navigation, shown from `role` upwards."""

    endpoint: str
    label: str
    role: str = "viewer"


#: The navigation of every organiser page, in order. An entry shows only once its endpoint exists, so a
#: feature can be listed here before its views land.
NAV = [
    NavEntry("organiser.dashboard", _l("Tổng quan")),
    NavEntry("organiser.report", _l("Báo cáo định kỳ")),
    NavEntry("units.units", _l("Đơn vị")),
    NavEntry("units.counters", _l("Quầy")),
    NavEntry("units.fields", _l("Lĩnh vực")),
    NavEntry("organiser.comments", _l("Ý kiến")),
    NavEntry("feedback_admin.inbox", _l("Phản ánh, kiến nghị")),
    NavEntry("contest_admin.index", _l("Cuộc thi")),
    NavEntry("portal_admin.index", _l("Công bố kết quả")),
    NavEntry("organiser.export", _l("Xuất dữ liệu")),
    NavEntry("organiser.job", _l("Tác vụ")),
    NavEntry("auth.accounts", _l("Tài khoản"), "administrator"),
    NavEntry("auth.audit", _l("Nhật ký"), "administrator"),
]


@bp.app_template_global()
def has_endpoint(endpoint: str) -> bool:
    """Tell whether a view with this endpoint name is registered (for links to optional features)."""
    return endpoint in current_app.view_functions


@bp.app_template_global()
def organiser_nav(role: str) -> list[NavEntry]:
    """Return the navigation entries an organiser with this role may follow."""
    return [entry for entry in NAV if has_endpoint(entry.endpoint) and ROLE_RANK[role] >= ROLE_RANK[entry.role]]


@bp.app_template_global()
def instrument_name(code: str) -> str:
    """Name a survey instrument by its title in the page's language (its code only if it is not published)."""
    return instrument_names(str(get_locale())).get(code, code)


@bp.app_template_global()
def counter_summary(counter, period: Period) -> CounterFigures:
    """A counter's responses in the chosen period, its last response and its index with n (for the counter's page,
    whose blueprint may not import the reports)."""
    return counter_figures(counter, period, now=utcnow())


@bp.app_template_filter("trend_label")
def _trend_label(label: str) -> str:
    """Write a month or quarter of the trend as the chart does ("07/2026", "Quý 3/2026")."""
    return tick_label(label)


@bp.app_template_filter("rule_text")
def _rule_text(rule: str) -> str:
    """Write an aggregation rule of the report's method in words."""
    return rule_text(rule)


@bp.app_template_global()
def can(role: str, minimum: str) -> bool:
    """Tell whether a role reaches `minimum` (viewer < organiser < administrator), to hide forbidden buttons."""
    return ROLE_RANK.get(role, 0) >= ROLE_RANK[minimum]


@bp.get("/")
@organiser_required
def home():
    """Send the organiser to the dashboard."""
    return redirect(url_for(".dashboard"))


# --- dashboard and periodic report -------------------------------------------------------------------------------

def _report_form(organiser, today: dt.date) -> ReportForm:
    """Build the selection form with the organiser's units, recent years and SIPAS versions; default: this quarter."""
    form = ReportForm.from_args(request.args, today)
    selected = load_by_id(Unit, form.unit.data)
    if selected is None or not selected.is_within(organiser.unit):
        selected = organiser.unit  # the view answers 404 for a unit outside the subtree; the list stays the usual
    form.unit.choices = choice_list((row.id, "\u00a0\u00a0" * row.depth + f"{row.name} ({row.code})")
                                    for row in services.units_around(organiser.unit, selected))
    names = instrument_names(str(get_locale()))
    versions = [(f"{code}:{number}", _("%(name)s, phiên bản %(n)d", name=names.get(code, code), n=number))
                for code, number in sipas_versions()]
    form.version.choices = choice_list([("", _l("Tự chọn (phiên bản mới nhất có phiếu)")), *versions])
    if form.unit.data is None:
        form.unit.data = organiser.unit.id
    return form


def _selection_args(unit: Unit, period: Period, instrument: tuple[str | None, int | None], state: str
                    ) -> dict[str, str]:
    """Return the query arguments that name a computed report (for chart and download URLs).

    ``state`` names the responses the page was computed from, so its charts show the same numbers as its tables even
    when responses arrive in between (and are drawn from the cached report, not from a new computation).
    """
    args = {"unit": str(unit.id), "period": period.label, "state": state}
    if instrument[0]:
        args["version"] = f"{instrument[0]}:{instrument[1]}"
    return args


def _report(unit: Unit, period: Period, instrument: tuple[str | None, int | None], *, full: bool,
            state: str | None = None) -> tuple[SipasReport, str]:
    return current_report(unit, period, instrument, now=utcnow(), locale=str(get_locale()), full=full, state=state)


def _selection_from_args(organiser) -> tuple[Unit, Period, tuple[str | None, int | None], str | None]:
    """Read unit id, period label, version and packs state from a chart or download URL (404 outside scope)."""
    unit = get_visible_unit(organiser, request.args.get("unit", type=int) or organiser.unit.id)
    try:
        period = parse_period(request.args.get("period", ""))
    except ValueError as error:
        raise AppError(str(error)) from None
    code, _, number = request.args.get("version", "").rpartition(":")
    instrument = (code, int(number)) if code and number.isdigit() else (None, None)
    return unit, period, instrument, request.args.get("state") or None


def _page(template: str, *, full: bool, context=None):
    organiser = current_organiser()
    form = _report_form(organiser, utcnow().astimezone(local_zone()).date())
    if not form.validate():
        return render_template(template, form=form, report=None, chart_args=None, charts=()), 400
    unit = get_visible_unit(organiser, form.unit.data)
    report, state = _report(unit, form.period, form.instrument, full=full)
    return render_template(template, form=form, report=report, flag_text=flag_text, unit=unit,
                           chart_args=_selection_args(unit, form.period, form.instrument, state),
                           charts=available_charts(report), **(context(unit, form.period, report) if context else {}))


def _overview(unit: Unit, period: Period, report: SipasReport) -> dict:
    """What the dashboard says first: the units clearly apart, the weakest and strongest criteria, the newest
    comments of the period and the contests held."""
    above, below = units_apart(report)
    weakest, strongest = ranked_criteria(report)
    comments = services.list_comments(unit, services.CommentFilter(period=period), 1, per_page=3,
                                      locale=str(get_locale()))
    return {"above": above, "below": below, "weakest": weakest, "strongest": strongest, "comments": comments,
            "change_is_real": change_is_real(report),
            "contests": contest_participation(unit, period, local_zone()),
            "pakn": feedback_figures(unit, period, utcnow(), local_zone())}


@bp.get("/tong-quan")
@organiser_required
def dashboard():
    """Show the dashboard of a unit's subtree for a period: the headline and what stands out first, the
    statistical detail one click away; the PAKN figures of the period."""
    return _page("organiser/dashboard.html", full=False, context=_overview)


def _document(unit: Unit, period: Period, report: SipasReport) -> dict:
    """The period's official document as the report page shows it (the same text the DOCX and PDF print)."""
    document = periodic_document(unit, period, now=utcnow(), zone=local_zone(),
                                 report=report if str(get_locale()) == "vi" else None)
    return {"document": document}


@bp.get("/bao-cao")
@organiser_required
def report():
    """Show the period's report as the document it is filed as, with its Word, PDF and Excel downloads."""
    return _page("organiser/report.html", full=False, context=_document)


@bp.get("/bieu-do/<name>.svg")
@organiser_required
def chart(name: str):
    """Serve one chart of a report as an SVG image (also used when printing)."""
    if name not in CHARTS:
        abort(404)
    unit, period, instrument, state = _selection_from_args(current_organiser())
    image = render_chart(_report(unit, period, instrument, full=False, state=state)[0], name, "svg")
    if image is None:
        abort(404)
    response = Response(image, mimetype="image/svg+xml")
    # matplotlib writes style attributes; this image document may use them (it runs no script).
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    response.headers["Cache-Control"] = "private, max-age=60"
    return response


@bp.post("/bao-cao/tai-ve.<any(pdf, xlsx):fmt>")
@organiser_required
def report_download(fmt: str):
    """Queue the periodic report as a PDF (with charts) or an XLSX workbook (with comments); follow it on the jobs page."""
    organiser = current_organiser()
    unit, period, instrument, state = _selection_from_args(organiser)
    job = services.request_report_file(organiser, unit, period, instrument, state, fmt, str(get_locale()), utcnow())
    return redirect(url_for(".job", job_id=job.id), 303)


# --- comments and exports ----------------------------------------------------------------------------------------

@bp.get("/y-kien")
@organiser_required
def comments():
    """Read citizens' free-text comments in the subtree, with search and filters."""
    organiser = current_organiser()
    locale = str(get_locale())
    form = CommentFilterForm(request.args)
    form.unit.choices = unit_choices(organiser, active_only=False)
    form.field.choices = choice_list([("", _("Mọi lĩnh vực"))]
                                     + [(str(f.id), f.label(locale)) for f in list_fields()])
    names = instrument_names(locale)
    form.instrument.choices = choice_list([("", _("Mọi phiếu"))] + [(c, names.get(c, c)) for c in instrument_codes()])
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
    data = request.values
    form = ExportForm(data)
    form.unit.choices = unit_choices(organiser, active_only=False)
    names = instrument_names(str(get_locale()))
    form.instrument.choices = choice_list((code, names.get(code, code)) for code in instrument_codes())
    if not [key for key in data if key != "csrf_token"]:
        form.unit.data = organiser.unit_id
    return form


@bp.get("/xuat-du-lieu")
@organiser_required
def export():
    """Choose what raw responses to export."""
    return form_page("organiser/export.html", _export_form(current_organiser()))


@bp.post("/xuat-du-lieu/tai-ve")
@organiser_required
def export_download():
    """Queue the export of raw responses of a subtree (CSV or XLSX); follow it on the jobs page."""
    organiser = current_organiser()
    form = _export_form(organiser)
    if not form.validate():
        return render_template("organiser/export.html", form=form, error=None), 400
    unit = get_visible_unit(organiser, form.unit.data or 0)
    job = services.request_responses_export(organiser, unit, form.instrument.data, form.period_value,
                                            form.format.data, str(get_locale()), utcnow())
    return redirect(url_for(".job", job_id=job.id), 303)


# --- jobs ----------------------------------------------------------------------------------------------------------

#: What the jobs page calls each kind of job.
JOB_KINDS = {
    "responses": _l("Xuất phiếu trả lời"),
    "report": _l("Bảng số liệu, phụ lục thống kê"),
    "periodic-document": _l("Văn bản báo cáo định kỳ"),
    "contest": _l("Xuất dữ liệu cuộc thi"),
    "probe": _l("Tác vụ thử"),
}
#: How the jobs page names each state.
JOB_STATES = {
    "queued": _l("Đang chờ"),
    "running": _l("Đang chạy"),
    "done": _l("Hoàn tất"),
    "failed": _l("Lỗi"),
}


def _job_json(job: Job) -> dict:
    link = (url_for(".job_download", token=download_token(current_app, job)) if job.state == "done" else None)
    return {"id": job.id, "kind": job.kind, "state": job.state, "percent": job.percent, "done": job.progress_done,
            "total": job.progress_total, "download": link, "name": job.result_name}


@bp.get("/tac-vu", defaults={"job_id": None})
@bp.get("/tac-vu/<int:job_id>")
@organiser_required
def job(job_id: int | None):
    """Show the organiser's recent jobs (exports, report files) with their progress and download links."""
    organiser = current_organiser()
    jobs = services.list_jobs(organiser)
    current = None
    if job_id is not None:
        current = next((found for found in jobs if found.id == job_id), None) or services.own_job(organiser, job_id)
        if current is None:
            abort(404)
        if wants_json():
            return jsonify(_job_json(current))
    links = {found.id: url_for(".job_download", token=download_token(current_app, found))
             for found in jobs if found.state == "done"}
    waiting = any(found.state in ("queued", "running") for found in jobs)
    response = make_response(render_template("organiser/jobs.html", jobs=jobs, current=current, links=links,
                                             waiting=waiting, kinds=JOB_KINDS, states=JOB_STATES,
                                             link_minutes=current_app.config["JOBS_LINK_SECONDS"] // 60))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/tac-vu/tai-ve/<token>")
@organiser_required
def job_download(token: str):
    """Send a finished job's file through its signed link: another unit's job is 404, an expired link 410."""
    try:
        link = read_download_token(current_app, token)
    except LinkExpired:
        abort(410)
    if link is None:
        abort(404)
    found = services.visible_job(current_organiser(), link["job"])
    if found is None or found.state != "done" or not found.result_path or found.unit_id != link.get("unit"):
        abort(404)
    try:
        response = send_file(found.result_path, mimetype=MIME_TYPES.get(found.fmt, "application/octet-stream"),
                             as_attachment=True, download_name=found.result_name, conditional=False)
    except FileNotFoundError:
        abort(410)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.app_template_filter("count")
def count_filter(value: int | None) -> str:
    """Write a whole number the local way (1.204 in Vietnamese)."""
    return "–" if value is None else format_decimal(value, locale=get_locale())
