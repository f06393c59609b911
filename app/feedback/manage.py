"""The agency's PAKN pages (blueprint ``feedback_admin`` under /quan-tri/phan-anh): the inbox of the organiser's
subtree with filters and counts, logging a PAKN received on paper, by phone, Zalo, Facebook or the national
portal, one PAKN with only its legal actions, the sender's identity (permitted roles at the receiving unit, every
view logged), bulk publication and the unit's answer templates."""
from __future__ import annotations

import random
import secrets

import sqlalchemy as sa
from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import RequestEntityTooLarge

from app.auth.access import current_organiser, organiser_required
from app.database import utcnow
from app.errors import AppError, NotFoundError
from app.extensions import db
from app.feedback import attachments, services
from app.feedback.calendar import load_calendar
from app.feedback.labels import ACTION_LABELS, KIND_LABELS
from app.feedback.models import Feedback
from app.i18n import local_zone
from app.units.models import ServiceField, Unit
from app.validation import Rejected
from app.web import download, refused

bp = Blueprint("feedback_admin", __name__)


def _today():
    return utcnow().astimezone(local_zone()).date()


def _approver() -> str:
    return current_app.config["FEEDBACK_APPROVER_ROLE"]


def _int_arg(name: str) -> int | None:
    value = request.args.get(name, "")
    return int(value) if value.isdigit() and len(value) < 10 else None


@bp.get("")
@organiser_required
def inbox():
    """The PAKN of the organiser's subtree, filtered, with counts by status, overdue and due soon."""
    organiser = current_organiser()
    filters = services.InboxFilters(status=request.args.get("trang-thai") or None, unit_id=_int_arg("don-vi"),
                                    field_id=_int_arg("linh-vuc"), channel=request.args.get("kenh") or None,
                                    due={"qua-han": "overdue", "sap-den-han": "soon"}.get(request.args.get("han", "")))
    data = services.inbox(organiser.unit, filters, _today(), load_calendar())
    units = db.session.scalars(sa.select(Unit).where(Unit.is_within(organiser.unit)).order_by(Unit.path)).all()
    fields = db.session.scalars(sa.select(ServiceField).order_by(ServiceField.name)).all()
    return render_template("feedback/inbox.html", data=data, filters=filters, units=units, fields=fields,
                           today=_today(), args=request.args, is_overdue=services.is_overdue)


@bp.route("/ghi-nhan", methods=["GET", "POST"])
@organiser_required("organiser")
def log():
    """Log a PAKN received through another channel, on the citizen's behalf."""
    organiser = current_organiser()
    units = db.session.scalars(sa.select(Unit).where(Unit.is_within(organiser.unit), Unit.is_active.is_(True))
                               .order_by(Unit.path)).all()
    fields = db.session.scalars(sa.select(ServiceField).order_by(ServiceField.name)).all()
    context = {"units": units, "fields": fields, "kinds": KIND_LABELS, "staff": True,
               "action": url_for(".log"), "counter": None, "survey_comment": None,
               "max_mb": current_app.config["FEEDBACK_ATTACHMENT_MAX_BYTES"] // 1_048_576,
               "max_files": current_app.config["FEEDBACK_MAX_ATTACHMENTS"]}
    if request.method == "GET":
        values = {"key": secrets.token_urlsafe(18), "sender_type": "individual", "channel": "paper",
                  "unit": str(organiser.unit_id), "consent_data": True}
        return render_template("feedback/log.html", values=values, errors={}, message=None, **context)
    config = current_app.config
    try:
        data = request.form.to_dict(flat=True)
        uploads = [upload for upload in request.files.getlist("files") if upload and upload.filename]
    except RequestEntityTooLarge:
        return render_template("feedback/log.html", values={"key": secrets.token_urlsafe(18)}, errors={},
                               message=_l("Tệp đính kèm quá lớn."), **context), 413
    values = {key: value for key, value in data.items() if key != "csrf_token"}
    try:
        sub = services.read_submission(data, staff=True)
        unit = db.session.get(Unit, sub.unit_id)
        if unit is None or not unit.is_within(organiser.unit):
            raise NotFoundError(_l("Không tìm thấy đơn vị này trong phạm vi quản lý của bạn."))
        sub.files = [attachments.check_file(upload.filename, upload.read(config["FEEDBACK_ATTACHMENT_MAX_BYTES"] + 1),
                                            config["FEEDBACK_ATTACHMENT_MAX_BYTES"])
                     for upload in uploads[:config["FEEDBACK_MAX_ATTACHMENTS"]]]
        feedback, _ = services.submit(sub, now=utcnow(), zone=local_zone(), calendar=load_calendar(),
                                      rng=random.SystemRandom(), storage=config["FEEDBACK_STORAGE"], actor=organiser)
    except Rejected as error:
        refused(error)
        return render_template("feedback/log.html", values=values, errors=error.details.get("fields", {}),
                               message=error.message, **context), 400
    except AppError as error:
        refused(error)
        return render_template("feedback/log.html", values=values, errors={}, message=error.message,
                               **context), error.status
    flash(_l("Đã ghi nhận phản ánh %(code)s.", code=feedback.code), "info")
    return redirect(url_for(".detail", code=feedback.code), 303)


def _detail_page(feedback: Feedback, error=None, status: int = 200, answer_text: str | None = None):
    organiser = current_organiser()
    templates = services.templates_for(feedback.unit)
    chosen = _int_arg("mau")
    if answer_text is None:
        template = next((item for item in templates if item.id == chosen), None)
        answer_text = template.body if template else (feedback.answer.text if feedback.answer else "")
    others = db.session.scalars(sa.select(Unit).where(Unit.is_active.is_(True), Unit.id != feedback.unit_id)
                                .order_by(Unit.path)).all()
    return render_template(
        "feedback/detail.html", feedback=feedback, actions=services.allowed_actions(organiser, feedback, _approver()),
        action_labels=ACTION_LABELS, may_identity=services.may_see_identity(organiser, feedback), error=error,
        templates=templates, answer_text=answer_text, other_units=others, today=_today(),
        overdue=services.is_overdue(feedback, _today())), status


@bp.get("/<code>")
@organiser_required
def detail(code: str):
    """One PAKN: what was sent, its clock and history, the answer, and only the actions its state allows."""
    return _detail_page(services.get_for_staff(current_organiser(), code))


@bp.get("/<code>/nguoi-gui")
@organiser_required("organiser")
def identity(code: str):
    """The sender's identity, for permitted roles at the receiving unit; the view is logged."""
    organiser = current_organiser()
    feedback = services.get_for_staff(organiser, code)
    sender = services.read_identity(organiser, feedback, utcnow())
    return render_template("feedback/identity.html", feedback=feedback, sender=sender)


@bp.get("/<code>/tep/<int:attachment_id>")
@organiser_required
def attachment(code: str, attachment_id: int):
    """A file sent with the PAKN, or the answer's letter."""
    feedback = services.get_for_staff(current_organiser(), code)
    item = next((item for item in feedback.attachments if item.id == attachment_id), None)
    if item is None:
        raise NotFoundError(_l("Không tìm thấy tệp."))
    fmt = {"application/pdf": "pdf", "image/png": "png"}.get(item.mime)
    data = attachments.read(current_app.config["FEEDBACK_STORAGE"], item.stored_name)
    if fmt is None:
        from flask import Response

        response = Response(data, mimetype=item.mime)
        response.headers["Content-Disposition"] = f'inline; filename="{item.stored_name}"'
        response.headers["Cache-Control"] = "no-store"
        return response
    return download(data, fmt, item.stored_name, attachment=False)


def _days(text: str) -> int:
    return int(text) if text.isdigit() and len(text) < 4 else 0


@bp.post("/<code>/<action>")
@organiser_required("organiser")
def act(code: str, action: str):
    """Take one action on a PAKN (only those its state allows); refusals are explained on the page."""
    organiser = current_organiser()
    feedback = services.get_for_staff(organiser, code)
    form = request.form
    now = utcnow()
    base_url = current_app.config["BASE_URL"]
    try:
        if action == "accept":
            services.accept(feedback, organiser, now, base_url=base_url)
        elif action == "refuse":
            services.refuse(feedback, organiser, form.get("reason", ""), form.get("note", "")[:2000] or None, now)
        elif action == "transfer":
            target = db.session.scalar(sa.select(Unit).where(Unit.code == form.get("unit", "")[:32]))
            services.transfer(feedback, organiser, target, form.get("note", "")[:2000] or None, now)
        elif action in ("start", "ask_sender", "resume", "insufficient", "complete"):
            services.simple(feedback, action, organiser, now, form.get("note", "")[:2000] or None)
        elif action == "answer":
            services.draft_answer(feedback, organiser, form.get("text", "")[:20000], now)
            letter = request.files.get("letter")
            if letter is not None and letter.filename:
                cap = current_app.config["FEEDBACK_ATTACHMENT_MAX_BYTES"]
                services.attach_letter(feedback, organiser, attachments.check_file(
                    letter.filename, letter.read(cap + 1), cap, pdf_only=True),
                    current_app.config["FEEDBACK_STORAGE"], now)
        elif action == "approve":
            services.approve(feedback, organiser, now, local_zone(), _approver(), base_url=base_url)
        elif action == "extend":
            services.extend(feedback, organiser, _days(form.get("days", "")), form.get("reason", "")[:2000], now,
                            load_calendar())
        elif action == "redact":
            services.redact(feedback, organiser, form.get("title", "")[:300], form.get("content", "")[:20000],
                            form.get("answer", "")[:20000], now)
        elif action == "publish":
            services.publish([feedback], organiser, now)
        elif action == "hide":
            services.hide(feedback, organiser, form.get("reason", "")[:200], now)
        else:
            raise NotFoundError(_l("Không tìm thấy trang bạn yêu cầu."))
    except RequestEntityTooLarge:
        db.session.rollback()
        return _detail_page(feedback, _l("Tệp đính kèm quá lớn."), 413)
    except AppError as error:
        refused(error)
        feedback = services.get_for_staff(organiser, code) if action != "transfer" else feedback
        return _detail_page(feedback, error.message, error.status,
                            form.get("text") if action == "answer" else None)
    flash(_l("Đã thực hiện: %(action)s.", action=ACTION_LABELS.get(action, action)), "info")
    if not feedback.unit.is_within(organiser.unit) and not feedback.received_unit.is_within(organiser.unit):
        return redirect(url_for(".inbox"), 303)
    return redirect(url_for(".detail", code=feedback.code), 303)


@bp.post("/cong-khai")
@organiser_required("organiser")
def publish_many():
    """Publish several answered PAKN at once (all or none)."""
    organiser = current_organiser()
    try:
        chosen = [services.get_for_staff(organiser, code) for code in request.form.getlist("codes")[:200]]
        codes = services.publish(chosen, organiser, utcnow())
    except AppError as error:
        flash(str(refused(error).message), "error")
        return redirect(url_for(".inbox", **{"trang-thai": "answered"}), 303)
    flash(_l("Đã công khai %(n)d phản ánh.", n=len(codes)), "info")
    return redirect(url_for(".inbox"), 303)


@bp.route("/mau-tra-loi", methods=["GET", "POST"])
@organiser_required
def templates():
    """The answer templates of the organiser's unit (and those above it)."""
    organiser = current_organiser()
    error = None
    status = 200
    if request.method == "POST":
        if organiser.role == "viewer":
            raise AppError(_l("Tài khoản của bạn không có quyền thực hiện thao tác này."), status=403)
        try:
            services.add_template(organiser, organiser.unit, request.form.get("name", "")[:200],
                                  request.form.get("body", "")[:20000], utcnow())
        except AppError as refusal:
            error, status = refused(refusal).message, refusal.status
        else:
            flash(_l("Đã thêm mẫu trả lời."), "info")
            return redirect(url_for(".templates"), 303)
    return render_template("feedback/templates.html", templates=services.templates_for(organiser.unit),
                           error=error), status
