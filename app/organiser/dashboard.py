"""Organiser dashboard and periodic report pages, their charts (separate SVG responses) and PDF/XLSX downloads.

Every page asks for a unit (loaded within the signed-in organiser's subtree, 404 otherwise) and a period. The
page and its chart images share one computed report: it is cached for a short while per unit, period, options
and state of the report aggregates, so a chart request does not compute the report again.
"""
from __future__ import annotations

import datetime as dt
import io
import threading

import sqlalchemy as sa
from cachetools import TTLCache
from flask import Response, abort, render_template, request
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField
from werkzeug.datastructures import MultiDict
from wtforms.validators import Optional

from app.auth.access import current_organiser, get_visible_unit, organiser_required
from app.auth.forms import choice_list, select_field
from app.database import utcnow
from app.errors import AppError
from app.extensions import db
from app.i18n import local_zone
from app.organiser import bp
from app.organiser.aggregates import fold_token, refresh_packs
from app.organiser.charts import CHARTS, available_charts, render_chart
from app.organiser.report_files import comment_rows, flag_text, render_report_pdf, write_report_xlsx
from app.organiser.reports import SipasReport, sipas_report
from app.organiser.services import instrument_codes
from app.organiser.views import download, unit_choices
from app.periods import Period, parse_period
from app.surveys.models import InstrumentVersion
from app.units.models import Unit

#: Period presets of the form: quarters, halves, the year, or a custom range.
PRESETS = (("Q1", _l("Quý I")), ("Q2", _l("Quý II")), ("Q3", _l("Quý III")), ("Q4", _l("Quý IV")),
           ("H1", _l("6 tháng đầu năm")), ("H2", _l("6 tháng cuối năm")), ("Y", _l("Cả năm")),
           ("custom", _l("Khoảng ngày tùy chọn")))
YEARS_BACK = 5
_reports: TTLCache = TTLCache(maxsize=32, ttl=120)
_lock = threading.Lock()


class ReportForm(FlaskForm):
    """Which unit, period and instrument version a dashboard or report shows (a GET form: no CSRF token)."""

    class Meta:
        csrf = False

    unit = select_field(_l("Đơn vị"), coerce=int, validate_choice=False)
    year = select_field(_l("Năm"), coerce=int)
    preset = select_field(_l("Kỳ"), choices=choice_list(PRESETS))
    start = DateField(_l("Từ ngày"), validators=[Optional()])
    end = DateField(_l("Đến ngày"), validators=[Optional()])
    version = select_field(_l("Phiếu khảo sát"), default="")

    def validate(self, extra_validators=None) -> bool:
        """Validate the fields, then require an ordered pair of dates for a custom range."""
        if not super().validate(extra_validators):
            return False
        if self.preset.data == "custom":
            if not self.start.data or not self.end.data:
                self.end.errors.append(_l("Chọn cả ngày bắt đầu và ngày kết thúc."))
            elif self.end.data < self.start.data:
                self.end.errors.append(_l("Ngày kết thúc phải sau ngày bắt đầu."))
        return not self.end.errors

    @property
    def period(self) -> Period:
        """Return the chosen period."""
        preset, year = self.preset.data, self.year.data
        if preset == "custom":
            return parse_period(f"{self.start.data.isoformat()}..{self.end.data.isoformat()}")
        return parse_period(str(year) if preset == "Y" else f"{year}-{preset}")

    @property
    def instrument(self) -> tuple[str | None, int | None]:
        """Return the chosen (instrument code, version), or (None, None) to let the report pick."""
        code, _, number = (self.version.data or "").rpartition(":")
        return (code, int(number)) if code and number.isdigit() else (None, None)


def _report_form(organiser, today: dt.date) -> ReportForm:
    """Build the selection form with the organiser's units, recent years and SIPAS versions; default: this quarter."""
    args = MultiDict(request.args)
    args.setdefault("year", str(today.year))
    args.setdefault("preset", f"Q{(today.month - 1) // 3 + 1}")
    form = ReportForm(formdata=args)
    form.unit.choices = unit_choices(organiser, active_only=False)
    form.year.choices = choice_list((year, str(year)) for year in range(today.year, today.year - YEARS_BACK - 1, -1))
    versions = db.session.execute(
        sa.select(InstrumentVersion.code, InstrumentVersion.version)
        .where(InstrumentVersion.code.in_(instrument_codes("sipas")))
        .order_by(InstrumentVersion.code, InstrumentVersion.version.desc())).all()
    form.version.choices = choice_list([("", _l("Tự chọn (phiên bản mới nhất có phiếu)"))]
                                       + [(f"{code}:{number}", f"{code} v{number}") for code, number in versions])
    if form.unit.data is None:
        form.unit.data = organiser.unit.id
    return form


def _selection_args(unit: Unit, period: Period, instrument: tuple[str | None, int | None], state: str
                    ) -> dict[str, str]:
    """Return the query arguments that name a computed report (for chart and download URLs).

    ``state`` names the packs the page was computed from, so its charts show the same numbers as its tables even
    when responses arrive in between (and are drawn from the cached report, not from a new computation).
    """
    args = {"unit": str(unit.id), "period": period.label, "state": state}
    if instrument[0]:
        args["version"] = f"{instrument[0]}:{instrument[1]}"
    return args


def _cached_report(unit: Unit, period: Period, instrument: tuple[str | None, int | None], *, full: bool,
                   state: str | None = None) -> tuple[SipasReport, str]:
    """Return the report for this selection and the state of the packs it was computed from.

    A report computed from the given ``state`` is reused as it is; otherwise new responses are folded first and a
    report of the current state is reused or computed.
    """
    locale = str(get_locale())
    selection = (unit.id, unit.path, period, instrument, locale)
    if state:
        report, complete = _reports.get((*selection, state), (None, False))
        if report is not None and (complete or not full):
            return report, state
    now = utcnow()
    refresh_packs(now)
    state = "-".join(map(str, fold_token()))
    report, complete = _reports.get((*selection, state), (None, False))
    if report is None or (full and not complete):
        report = sipas_report(unit, period, now=now, instrument_code=instrument[0], version=instrument[1],
                              locale=locale, full=full, refresh=False)
        with _lock:
            _reports[(*selection, state)] = (report, full)
    db.session.commit()  # the responses folded on the way
    return report, state


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


def _page(template: str, *, full: bool):
    organiser = current_organiser()
    form = _report_form(organiser, utcnow().astimezone(local_zone()).date())
    if not form.validate():
        return render_template(template, form=form, report=None, chart_args=None, charts=()), 400
    unit = get_visible_unit(organiser, form.unit.data)
    report, state = _cached_report(unit, form.period, form.instrument, full=full)
    return render_template(template, form=form, report=report, flag_text=flag_text,
                           chart_args=_selection_args(unit, form.period, form.instrument, state),
                           charts=available_charts(report))


@bp.get("/tong-quan")
@organiser_required
def dashboard():
    """Show the dashboard of a unit's subtree for a period: indices, trend, children, fields, flags."""
    return _page("organiser/dashboard.html", full=False)


@bp.get("/bao-cao")
@organiser_required
def report():
    """Show the printable periodic report (with comparison, weighting and the test across child units)."""
    return _page("organiser/report.html", full=True)


@bp.get("/bieu-do/<name>.svg")
@organiser_required
def chart(name: str):
    """Serve one chart of a report as an SVG image (also used when printing)."""
    if name not in CHARTS:
        abort(404)
    unit, period, instrument, state = _selection_from_args(current_organiser())
    image = render_chart(_cached_report(unit, period, instrument, full=False, state=state)[0], name, "svg")
    if image is None:
        abort(404)
    response = Response(image, mimetype="image/svg+xml")
    # matplotlib writes style attributes; this image document may use them (it runs no script).
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    response.headers["Cache-Control"] = "private, max-age=60"
    return response


@bp.get("/bao-cao/tai-ve.<any(pdf, xlsx):fmt>")
@organiser_required
def report_download(fmt: str):
    """Download the periodic report as a PDF (with charts) or an XLSX workbook (with comments)."""
    unit, period, instrument, state = _selection_from_args(current_organiser())
    report, _ = _cached_report(unit, period, instrument, full=True, state=state)
    name = f"bao-cao-{unit.code}-{period.label.replace('..', '_')}.{fmt}"
    if fmt == "pdf":
        return download(render_report_pdf(report), "pdf", name)
    buffer = io.BytesIO()
    write_report_xlsx(report, comment_rows(unit, report, local_zone(), str(get_locale())), buffer)
    return download(buffer.getvalue(), "xlsx", name)
