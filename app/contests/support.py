"""Organiser pages kept apart from the contest set-up (blueprint ``contest_support``, mounted beside
``contest_admin`` under /quan-tri/cuoc-thi): a one-time password-reset link for a participant who forgot their
password and gave no e-mail address, and the correction of a question after attempts exist (new key or void) with
its re-grading. Contests are loaded within the signed-in organiser's subtree, as in manage.py (404 otherwise)."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.auth.access import current_organiser, organiser_required
from app.contests.accounts import MAX_AGE, issue_reset_link
from app.contests.lifecycle import get_contest
from app.contests.models import Contest, Participant
from app.contests.participants import mask_phone
from app.contests.regrade import contest_question, corrections_of, key_letters, parse_key, regrade_question
from app.database import utcnow
from app.errors import AppError, NotFoundError
from app.extensions import db
from app.forms import ConfirmForm
from app.web import ConfirmPage, confirm_page, refused

bp = Blueprint("contest_support", __name__)


def _contest(slug: str) -> Contest:
    """Return a contest of the organiser's subtree, or 404 (other tenants' contests are not found)."""
    contest = get_contest(slug)
    if not contest.unit.is_within(current_organiser().unit):
        raise NotFoundError(_l("Không tìm thấy cuộc thi này."))
    return contest


@bp.route("/<slug>/thi-sinh/<int:participant_id>/dat-lai-mat-khau", methods=["GET", "POST"])
@organiser_required("organiser")
def reset_link(slug: str, participant_id: int):
    """Confirm, then show once a reset link to hand to the participant (valid 72 hours, single use; audited)."""
    found = _contest(slug)
    participant = db.session.get(Participant, participant_id)
    if participant is None or participant.contest_id != found.id or participant.erased_at is not None:
        raise NotFoundError(_l("Không tìm thấy người dự thi."))
    form = ConfirmForm()
    if not form.validate_on_submit():
        return confirm_page(form, ConfirmPage(
            title=_("Cấp liên kết đặt lại mật khẩu"),
            message=_("Cấp cho %(name)s (số điện thoại %(phone)s) một liên kết đặt lại mật khẩu, dùng được một lần "
                      "trong %(hours)d giờ. Chỉ gửi liên kết cho chính người dự thi, sau khi đã xác minh danh tính.",
                      name=participant.full_name, phone=mask_phone(participant.phone), hours=MAX_AGE["o"] // 3600),
            button=_("Cấp liên kết"), cancel=url_for("contest_admin.participants", slug=slug), danger=False))
    link = issue_reset_link(participant, actor=current_organiser(), now=utcnow(),
                            secret=current_app.config["SECRET_KEY"], base_url=current_app.config["BASE_URL"])
    response = current_app.make_response(render_template(
        "contests/manage/reset_link.html", contest=found, participant=participant, link=link,
        hours=MAX_AGE["o"] // 3600))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/<slug>/dinh-chinh", methods=["GET", "POST"])
@organiser_required("organiser")
def regrade(slug: str):
    """Correct a question's key or void it, after a confirmation that says what will change; then re-grade."""
    found = _contest(slug)
    values = {"cau": request.values.get("cau", "").strip(), "cach": request.values.get("cach", "key"),
              "dap_an": request.values.get("dap_an", "").strip()}
    context = dict(contest=found, values=values, corrections=corrections_of(found), key_letters=key_letters)
    if request.method == "GET":
        return render_template("contests/manage/regrade.html", **context, error=None, question=None)
    form = ConfirmForm()
    try:
        if not form.validate_on_submit():
            raise AppError(_l("Phiên làm việc đã hết hạn. Vui lòng gửi lại."))
        question = contest_question(found, values["cau"])
        void = values["cach"] == "void"
        key = None if void else parse_key(values["dap_an"], question)
        if request.form.get("xac_nhan") != "1":
            return render_template("contests/manage/regrade.html", **context, error=None, question=question,
                                   void=void, key=key)
        done = regrade_question(found, question, key=key, void=void, actor=current_organiser(), now=utcnow())
    except AppError as error:
        refused(error)
        return render_template("contests/manage/regrade.html", **context, error=error.message, question=None), \
            error.status
    flash(_("Đã chấm lại %(n)d bài thi có câu %(code)s; %(changed)d bài đổi điểm.", n=done.attempts,
            code=question.code, changed=done.changed), "info")
    return redirect(url_for(".regrade", slug=slug), 303)
