"""The citizen's and the public's PAKN pages (blueprint ``feedback``): /phan-anh (published list), /phan-anh/<code>,
/phan-anh/gui (the form: the counter's QR code and the survey's thanks page lead here with the unit and counter
pre-filled), the thanks page with the tracking code, /phan-anh/tra-cuu (code + last four phone digits), the rating
and the one clarification request. Never the sender's identity."""
from __future__ import annotations

import random
import secrets

import sqlalchemy as sa
from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import RequestEntityTooLarge

from app.database import utcnow
from app.errors import AppError, NotFoundError
from app.extensions import db, limiter
from app.feedback import attachments, services
from app.feedback.calendar import load_calendar
from app.feedback.labels import (
    CHANNEL_LABELS, KIND_LABELS, RATING_LABELS, REASON_LABELS, SENDER_TYPE_LABELS, STATUS_LABELS,
)
from app.feedback.models import Feedback
from app.i18n import local_zone
from app.periods import parse_period
from app.units.models import Counter, ServiceField, Unit
from app.validation import Rejected
from app.web import refused

bp = Blueprint("feedback", __name__)

#: Session keys: codes this browser sent (thanks page) and codes it opened with the phone digits.
SENT, OPENED = "feedback_sent", "feedback_opened"
PER_PAGE = 20


@bp.app_context_processor
def labels() -> dict:
    return {"fb_status": STATUS_LABELS, "fb_kind": KIND_LABELS, "fb_channel": CHANNEL_LABELS,
            "fb_rating": RATING_LABELS, "fb_reason": REASON_LABELS, "fb_sender_type": SENDER_TYPE_LABELS}


@bp.app_template_filter("vn_date")
def vn_date(value: str | None) -> str:
    """An ISO date (as the public view and the API give it) the Vietnamese way: 05/12/2026."""
    if not value:
        return ""
    year, month, day = value.split("-")
    return f"{day}/{month}/{year}"


def _send_limit() -> str:
    return current_app.config["FEEDBACK_RATE_LIMIT"]


def _lookup_limit() -> str:
    return current_app.config["FEEDBACK_LOOKUP_RATE_LIMIT"]


def _max_body() -> int:
    config = current_app.config
    return config["FEEDBACK_ATTACHMENT_MAX_BYTES"] * config["FEEDBACK_MAX_ATTACHMENTS"] + 256 * 1024


def _choices() -> dict:
    units = db.session.scalars(sa.select(Unit).where(Unit.is_active.is_(True)).order_by(Unit.path)).all()
    fields = db.session.scalars(sa.select(ServiceField).order_by(ServiceField.name)).all()
    return {"units": units, "fields": fields}


def _form(values: dict, errors: dict | None = None, message=None, status: int = 200, survey_comment=None):
    counter = None
    if values.get("counter", "").isdigit():
        counter = db.session.get(Counter, int(values["counter"]))
    unit = db.session.get(Unit, int(values["unit"])) if str(values.get("unit", "")).isdigit() else None
    return render_template("feedback/send.html", values=values, errors=errors or {}, message=message,
                           counter=counter, unit=unit, kinds=KIND_LABELS, survey_comment=survey_comment,
                           **_choices(),
                           max_mb=current_app.config["FEEDBACK_ATTACHMENT_MAX_BYTES"] // 1_048_576,
                           max_files=current_app.config["FEEDBACK_MAX_ATTACHMENTS"]), status


@bp.get("/phan-anh/gui")
def send():
    """The form; ?unit=<unit code>&counter=<counter code> pre-fill it (the poster's QR code, the survey)."""
    values = {"key": secrets.token_urlsafe(18), "sender_type": "individual"}
    unit_code = request.args.get("unit", "")[:32]
    counter_code = request.args.get("counter", "")[:32]
    if counter_code:
        counter = db.session.scalar(sa.select(Counter).where(Counter.code == counter_code,
                                                             Counter.is_active.is_(True)))
        if counter is not None:
            values["counter"], values["unit"] = str(counter.id), str(counter.unit_id)
    if unit_code and "unit" not in values:
        unit = db.session.scalar(sa.select(Unit).where(Unit.code == unit_code, Unit.is_active.is_(True)))
        if unit is not None:
            values["unit"] = str(unit.id)
    values["from_survey"] = request.args.get("from") == "survey"
    comment = session.get("survey_comment") if values["from_survey"] else None
    if comment and request.args.get("carry") == "1":
        values["content"] = comment
    return _form(values, survey_comment=comment)


@bp.post("/phan-anh/gui")
@limiter.limit(_send_limit, methods=["POST"])
def send_post():
    """Store a PAKN (files checked by content), then the thanks page (303); the same form twice stores it once."""
    request.max_content_length = _max_body()
    if request.content_length and request.content_length > _max_body():
        return _too_large()
    try:
        data = request.form.to_dict(flat=True)
        uploads = [upload for upload in request.files.getlist("files") if upload and upload.filename]
    except RequestEntityTooLarge:
        return _too_large()
    values = {key: value for key, value in data.items() if key != "csrf_token"}
    config = current_app.config
    try:
        sub = services.read_submission(data)
        if len(uploads) > config["FEEDBACK_MAX_ATTACHMENTS"]:
            raise AppError(_l("Chỉ gửi được tối đa %(n)d tệp.", n=config["FEEDBACK_MAX_ATTACHMENTS"]))
        sub.files = [attachments.check_file(upload.filename, upload.read(config["FEEDBACK_ATTACHMENT_MAX_BYTES"] + 1),
                                            config["FEEDBACK_ATTACHMENT_MAX_BYTES"]) for upload in uploads]
        feedback, _created = services.submit(sub, now=utcnow(), zone=local_zone(), calendar=load_calendar(),
                                             rng=random.SystemRandom(), storage=config["FEEDBACK_STORAGE"])
    except Rejected as error:
        refused(error)
        return _form(values, error.details.get("fields", {}), error.message, 400)
    except AppError as error:
        refused(error)
        return _form(values, {}, error.message, error.status)
    session.pop("survey_comment", None)  # offered once: a sent feedback does not offer it again
    sent = [code for code in session.get(SENT, []) if code != feedback.code][-4:]
    session[SENT] = sent + [feedback.code]
    _open(feedback.code)
    return redirect(url_for(".thanks", code=feedback.code), 303)


@bp.errorhandler(RequestEntityTooLarge)
def _body_too_large(error):
    """A body over the cap, read first by the CSRF check: on the form, say which files are too large."""
    if request.endpoint == "feedback.send_post":
        return _too_large()
    from app.web import HTTP_MESSAGES, error_response

    return error_response(413, HTTP_MESSAGES[413])


def _too_large():
    db.session.rollback()
    limit_mb = current_app.config["FEEDBACK_ATTACHMENT_MAX_BYTES"] // 1_048_576
    message = _l("Tệp đính kèm quá lớn: mỗi tệp tối đa %(mb)d MB, tối đa %(n)d tệp. Phản ánh chưa được gửi; vui "
                 "lòng chọn tệp nhỏ hơn và gửi lại.", mb=limit_mb, n=current_app.config["FEEDBACK_MAX_ATTACHMENTS"])
    page, _ = _form({"key": secrets.token_urlsafe(18)}, {}, message, 413)
    return page, 413


@bp.get("/phan-anh/gui/<code>")
def thanks(code: str):
    """The tracking code, shown to the browser that sent the PAKN."""
    if code not in session.get(SENT, []):
        raise NotFoundError(_l("Không tìm thấy trang bạn yêu cầu."))
    feedback = services.by_code(code)
    return render_template("feedback/thanks.html", feedback=feedback)


def _open(code: str) -> None:
    session[OPENED] = [item for item in session.get(OPENED, []) if item != code][-9:] + [code]


@bp.route("/phan-anh/tra-cuu", methods=["GET", "POST"])
@limiter.limit(_lookup_limit, methods=["POST"])
def lookup():
    """Look a PAKN up with its code and the last four digits of the sender's phone."""
    if request.method == "GET":
        return render_template("feedback/lookup.html", code=request.args.get("ma", "")[:20], error=None)
    code, digits = request.form.get("code", "")[:40], request.form.get("digits", "")[:10]
    try:
        feedback = services.lookup(code, digits)
    except NotFoundError as error:
        return render_template("feedback/lookup.html", code=code, error=error.message), 404
    _open(feedback.code)
    return redirect(url_for(".status", code=feedback.code), 303)


def _opened(code: str) -> Feedback:
    if code not in session.get(OPENED, []):
        raise NotFoundError(_l("Vui lòng tra cứu bằng mã phản ánh và 4 số cuối số điện thoại."))
    return services.by_code(code)


@bp.get("/phan-anh/tra-cuu/<code>")
def status(code: str):
    """The status in plain words, the due date and, once answered, the answer; the rating and clarification."""
    feedback = _opened(code)
    return render_template("feedback/status.html", feedback=feedback, view=services.public_view(feedback),
                           today=utcnow().astimezone(local_zone()).date(), error=None)


@bp.post("/phan-anh/tra-cuu/<code>/danh-gia")
def rate(code: str):
    feedback = _opened(code)
    try:
        services.rate(feedback, request.form.get("rating", ""), utcnow())
    except AppError as error:
        refused(error)
        return render_template("feedback/status.html", feedback=feedback, view=services.public_view(feedback),
                               today=utcnow().astimezone(local_zone()).date(), error=error.message), error.status
    return redirect(url_for(".status", code=feedback.code), 303)


@bp.post("/phan-anh/tra-cuu/<code>/hoi-lai")
def clarify(code: str):
    feedback = _opened(code)
    try:
        services.clarify(feedback, request.form.get("text", "")[:5000], utcnow())
    except AppError as error:
        refused(error)
        return render_template("feedback/status.html", feedback=feedback, view=services.public_view(feedback),
                               today=utcnow().astimezone(local_zone()).date(), error=error.message), error.status
    return redirect(url_for(".status", code=feedback.code), 303)


@bp.get("/phan-anh")
def published():
    """Published PAKN with their answers: search by words, filter by unit, field and period; statistics."""
    words = request.args.get("q", "").strip()[:100]
    unit = None
    unit_code = request.args.get("don-vi", "")[:32]
    if unit_code:
        unit = db.session.scalar(sa.select(Unit).where(Unit.code == unit_code))
    field_id = request.args.get("linh-vuc", "")
    field_id = int(field_id) if field_id.isdigit() and len(field_id) < 10 else None
    period_text = request.args.get("ky", "").strip()[:30]
    start = end = None
    period_error = None
    if period_text:
        try:
            period = parse_period(period_text)
            start, end = period.start, period.end
        except (AppError, ValueError):
            period_error = _l("Kỳ không hợp lệ: nhập dạng 2026, 2026-Q3, 2026-07.")
    page = request.args.get("trang", "1")
    page = min(int(page), 10_000) if page.isdigit() and len(page) < 6 and int(page) > 0 else 1
    pagination = db.paginate(services.published_query(words, unit, field_id, start, end), page=page,
                             per_page=PER_PAGE, error_out=False)
    stats = services.public_statistics()
    return render_template("feedback/list.html", pagination=pagination, items=[services.public_view(row)
                                                                               for row in pagination.items],
                           words=words, unit_code=unit_code, field_id=field_id, period_text=period_text,
                           period_error=period_error, stats=stats, **_choices())


@bp.get("/phan-anh/<code>")
def show(code: str):
    """One published PAKN with its answer."""
    feedback = services.get_published(code)
    letters = [item for item in feedback.attachments if item.role == "letter" and item.publish]
    return render_template("feedback/show.html", view=services.public_view(feedback), letters=letters)


@bp.get("/phan-anh/<code>/cong-van/<int:attachment_id>")
def letter(code: str, attachment_id: int):
    """The signed official letter of a published answer."""
    from app.web import download

    feedback = services.get_published(code)
    item = next((item for item in feedback.attachments if item.id == attachment_id and item.role == "letter"
                 and item.publish), None)
    if item is None:
        raise NotFoundError(_l("Không tìm thấy tệp."))
    return download(attachments.read(current_app.config["FEEDBACK_STORAGE"], item.stored_name), "pdf",
                    f"cong-van-{feedback.code}.pdf", attachment=False)
