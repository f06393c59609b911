"""The documents' pages under /quan-tri/van-ban: the periodic report as DOCX or PDF, and a unit's letterhead and
signature settings. Every unit is loaded within the signed-in organiser's subtree (404 otherwise).

A download is a job (``app.documents.jobs``): the request only queues it and leads to the jobs page.
"""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from app.auth.access import current_organiser, get_visible_unit, organiser_required
from app.database import utcnow
from app.documents.forms import DocumentSettingsForm
from app.documents.pdf import find_soffice
from app.documents.periodic import settings_for
from app.documents.services import SETTING_FIELDS, request_periodic_document, save_settings
from app.errors import AppError
from app.i18n import local_zone
from app.organiser.reports import current_report
from app.periods import parse_period
from app.web import download, form_page

bp = Blueprint("documents", __name__)


@bp.post("/bao-cao-dinh-ky.<any(docx, pdf):fmt>")
@organiser_required
def periodic(fmt: str):
    """Queue the periodic report of a unit and period as an official DOCX or PDF document; follow it on the jobs
    page."""
    organiser = current_organiser()
    unit = get_visible_unit(organiser, request.args.get("unit", type=int) or organiser.unit.id)
    try:
        period = parse_period(request.args.get("period", ""))
    except ValueError as error:
        raise AppError(str(error)) from None
    job = request_periodic_document(organiser, unit, period, fmt, utcnow())
    return redirect(url_for("organiser.job", job_id=job.id), 303)


@bp.route("/cai-dat/<int:unit_id>", methods=["GET", "POST"])
@organiser_required("organiser")
def settings(unit_id: int):
    """Set the agency lines, number symbol, place, signer and recipients of a unit's documents."""
    organiser = current_organiser()
    unit = get_visible_unit(organiser, unit_id)
    form = DocumentSettingsForm(obj=settings_for(unit) if request.method == "GET" else None)
    if not form.validate_on_submit():
        return form_page("documents/settings.html", form, unit=unit)
    save_settings(organiser, unit, {name: getattr(form, name).data for name in SETTING_FIELDS}, utcnow())
    flash(_("Đã lưu thông tin văn bản của %(name)s.", name=unit.name), "info")
    return redirect(request.args.get("next") if (request.args.get("next") or "").startswith("/quan-tri/")
                    else url_for(".settings", unit_id=unit.id), 303)
