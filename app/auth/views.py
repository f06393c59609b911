"""Organiser sign-in and sign-out, one's own password, and (administrators) accounts and the audit log."""
from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user, logout_user

from app.auth import services
from app.auth.access import current_organiser, get_visible_unit, organiser_required
from app.auth.audit import audit_page
from app.auth.forms import ROLE_LABELS, AccountForm, LoginForm, PasswordChangeForm, PasswordResetForm
from app.database import utcnow
from app.errors import AppError
from app.extensions import limiter, login_manager
from app.forms import choice_list
from app.i18n import local_zone
from app.units.services import list_units
from app.web import ConfirmPage, confirm_then, page_number, refused

bp = Blueprint("auth", __name__)

#: Where a signed-in organiser lands when the login page had no safe `next`.
HOME_ENDPOINT = "organiser.home"
_LOGIN_AT = "auth_at"
_SEEN_AT = "auth_seen"


@bp.record_once
def _configure_login(state) -> None:
    """Point Flask-Login at our login page, with a notice in the visitor's language and strong session protection."""
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Vui lòng đăng nhập để vào khu vực quản trị.")
    login_manager.login_message_category = "info"
    # Flask-Login passes the message through this before flashing it: str() renders it in the request's language
    # and keeps a lazy string out of the session.
    login_manager.localize_callback = str
    login_manager.session_protection = "strong"
    state.app.before_request(_end_expired_session)


@bp.app_template_filter("role_label")
def role_label(role: str) -> str:
    """Name a role as organisers read it."""
    return str(ROLE_LABELS.get(role, role))


def _end_expired_session() -> None:
    """Sign out a session idle for AUTH_SESSION_IDLE_SECONDS, or older than AUTH_SESSION_MAX_SECONDS."""
    if "_user_id" not in session:
        return
    config = current_app.config
    now = int(utcnow().timestamp())
    started = session.get(_LOGIN_AT)
    seen = session.get(_SEEN_AT, started)
    if started is None or now - started > config["AUTH_SESSION_MAX_SECONDS"] or \
            now - seen > config["AUTH_SESSION_IDLE_SECONDS"]:
        logout_user()
        session.clear()
    elif now - seen >= 60:  # a minute's precision is enough, and spares rewriting the cookie on every request
        session[_SEEN_AT] = now


def _login_limit() -> str:
    return current_app.config["AUTH_LOGIN_RATE_LIMIT"]


def _login_email_key() -> str:
    """Rate-limit key for the account being tried, whatever address the attempts come from."""
    return "login-email:" + services.normalise_email(request.form.get("email", ""))[:254]


def _safe_next(target: str | None) -> str:
    """Return `next` only when it stays inside the organiser area of this site (no open redirect)."""
    if target:
        parts = urlsplit(target)
        if (not parts.scheme and not parts.netloc and target.startswith("/quan-tri") and "\\" not in target
                and target.isprintable() and target.isascii()):  # no CR/LF (header splitting), nothing invisible
            return target
    return url_for(HOME_ENDPOINT)


def _start_session(organiser) -> None:
    """Issue a fresh session for the organiser (nothing of the anonymous session survives: no fixation)."""
    # Not a permanent session: it ends with the browser, and Flask-Login's "strong" protection only applies to
    # non-permanent sessions (a cookie replayed from another address or browser is emptied).
    session.clear()
    login_user(organiser)
    session[_LOGIN_AT] = session[_SEEN_AT] = int(utcnow().timestamp())


@bp.route("/dang-nhap", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
@limiter.limit(_login_limit, methods=["POST"], key_func=_login_email_key)
def login():
    """Sign in with email and password."""
    form = LoginForm()
    if current_user.is_authenticated and request.method == "GET":
        return redirect(_safe_next(request.args.get("next")))
    if not form.validate_on_submit():
        return render_template("auth/login.html", form=form), 400 if request.method == "POST" else 200
    config = current_app.config
    policy = services.LoginPolicy(config["AUTH_MAX_FAILED_LOGINS"],
                                  dt.timedelta(minutes=config["AUTH_LOCKOUT_MINUTES"]))
    try:
        organiser = services.authenticate(form.email.data, form.password.data, utcnow(), local_zone(), policy,
                                          method=config["AUTH_PASSWORD_METHOD"])
    except services.LoginError as error:
        # Not refused(): the failure count, the lock and the audit entry are kept (the request commits them).
        return render_template("auth/login.html", form=form, error=error.message), error.status
    _start_session(organiser)
    return redirect(_safe_next(request.args.get("next")), 303)


@bp.post("/dang-xuat")
@organiser_required
def logout():
    """Sign out: this session and any copy of its cookie stop working."""
    services.end_sessions(current_organiser(), utcnow())
    logout_user()
    session.clear()
    flash(_("Bạn đã đăng xuất."), "info")
    return redirect(url_for(".login"), 303)


@bp.route("/doi-mat-khau", methods=["GET", "POST"])
@organiser_required
def change_password():
    """Change one's own password; every other session of the account ends."""
    form = PasswordChangeForm()
    if not form.validate_on_submit():
        return render_template("auth/password.html", form=form), 400 if request.method == "POST" else 200
    organiser = current_organiser()
    services.change_password(organiser, form.current_password.data, form.new_password.data, utcnow(),
                             method=current_app.config["AUTH_PASSWORD_METHOD"])
    _start_session(organiser)
    flash(_("Đã đổi mật khẩu. Các phiên đăng nhập khác của tài khoản đã kết thúc."), "info")
    return redirect(url_for(HOME_ENDPOINT), 303)


@bp.get("/tai-khoan")
@organiser_required("administrator")
def accounts():
    """List the accounts of the administrator's subtree."""
    organiser = current_organiser()
    return render_template("auth/accounts.html", accounts=services.list_accounts(organiser.unit), now=utcnow())


@bp.route("/tai-khoan/moi", methods=["GET", "POST"])
@organiser_required("administrator")
def account_new():
    """Create an account for a unit of the subtree."""
    organiser = current_organiser()
    form = AccountForm()
    form.unit.choices = choice_list((unit.id, f"{unit.name} ({unit.code})") for unit in list_units(organiser.unit)
                                    if unit.is_active)
    if not form.validate_on_submit():
        return render_template("auth/account_new.html", form=form), 400 if request.method == "POST" else 200
    unit = get_visible_unit(organiser, form.unit.data or 0)
    try:
        account = services.create_account(organiser, email=form.email.data, name=form.name.data, unit=unit,
                                          role=form.role.data, password=form.new_password.data, now=utcnow(),
                                          method=current_app.config["AUTH_PASSWORD_METHOD"])
    except AppError as error:
        return render_template("auth/account_new.html", form=form, error=refused(error).message), error.status
    flash(_("Đã tạo tài khoản %(email)s.", email=account.email), "info")
    return redirect(url_for(".accounts"), 303)


@bp.route("/tai-khoan/<int:organiser_id>/vo-hieu-hoa", methods=["GET", "POST"])
@organiser_required("administrator")
def account_deactivate(organiser_id: int):
    """Deactivate an account after confirmation (its sessions end at once)."""
    return _set_account_active(organiser_id, False)


@bp.route("/tai-khoan/<int:organiser_id>/kich-hoat", methods=["GET", "POST"])
@organiser_required("administrator")
def account_reactivate(organiser_id: int):
    """Reactivate an account after confirmation."""
    return _set_account_active(organiser_id, True)


def _set_account_active(organiser_id: int, active: bool):
    organiser = current_organiser()
    account = services.get_visible_account(organiser, organiser_id)
    if active:
        page = ConfirmPage(_("Kích hoạt lại tài khoản %(email)s", email=account.email),
                           _("Tài khoản sẽ đăng nhập được trở lại."), _("Kích hoạt lại"), url_for(".accounts"),
                           danger=False)
        done = _("Đã kích hoạt lại tài khoản %(email)s.", email=account.email)
    else:
        page = ConfirmPage(_("Vô hiệu hoá tài khoản %(email)s", email=account.email),
                           _("Tài khoản sẽ không đăng nhập được nữa và mọi phiên đang mở kết thúc ngay. Nhật ký thao "
                             "tác của tài khoản được giữ nguyên."), _("Vô hiệu hoá"), url_for(".accounts"))
        done = _("Đã vô hiệu hoá tài khoản %(email)s.", email=account.email)
    return confirm_then(lambda: page, lambda: services.set_account_active(organiser, account, active, utcnow()),
                        done=done, back=url_for(".accounts"))


@bp.route("/tai-khoan/<int:organiser_id>/dat-lai-mat-khau", methods=["GET", "POST"])
@organiser_required("administrator")
def account_reset_password(organiser_id: int):
    """Set a new password for another account of the subtree (its sessions end, any lock is lifted)."""
    organiser = current_organiser()
    account = services.get_visible_account(organiser, organiser_id)
    form = PasswordResetForm()
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template("auth/account_password.html", form=form, account=account), status
    services.reset_password(organiser, account, form.new_password.data, utcnow(),
                            method=current_app.config["AUTH_PASSWORD_METHOD"])
    flash(_("Đã đặt lại mật khẩu cho %(email)s.", email=account.email), "info")
    return redirect(url_for(".accounts"), 303)


@bp.get("/nhat-ky")
@organiser_required("administrator")
def audit():
    """Read the audit log of the subtree, newest first."""
    page = page_number()
    entries = audit_page(current_organiser().unit, page)
    return render_template("auth/audit.html", entries=entries, lines=[_audit_line(entry) for entry in entries.items])


#: What each audit action means, for the log page.
AUDIT_ACTIONS = {
    "login.success": _l("Đăng nhập"),
    "login.failure": _l("Đăng nhập sai"),
    "login.lockout": _l("Tạm khoá do đăng nhập sai nhiều lần"),
    "login.locked": _l("Đăng nhập khi đang bị khoá"),
    "login.inactive": _l("Đăng nhập bằng tài khoản đã vô hiệu hoá"),
    "logout": _l("Đăng xuất"),
    "password.change": _l("Đổi mật khẩu"),
    "account.create": _l("Tạo tài khoản"),
    "account.deactivate": _l("Vô hiệu hoá tài khoản"),
    "account.reactivate": _l("Kích hoạt lại tài khoản"),
    "account.password_reset": _l("Đặt lại mật khẩu"),
    "unit.create": _l("Tạo đơn vị"),
    "unit.edit": _l("Sửa đơn vị"),
    "unit.deactivate": _l("Ngừng hoạt động đơn vị"),
    "unit.reactivate": _l("Kích hoạt lại đơn vị"),
    "field.create": _l("Tạo lĩnh vực"),
    "field.edit": _l("Sửa lĩnh vực"),
    "counter.create": _l("Tạo quầy"),
    "counter.edit": _l("Sửa quầy"),
    "counter.deactivate": _l("Ngừng hoạt động quầy"),
    "counter.reactivate": _l("Kích hoạt lại quầy"),
    "counter.rotate_token": _l("Đổi mã QR của quầy"),
    "import.units": _l("Nhập danh sách đơn vị"),
    "import.counters": _l("Nhập danh sách quầy"),
    "export.responses": _l("Xuất phiếu trả lời"),
    "responses.archive": _l("Lưu trữ rồi xoá phiếu trả lời cũ (số liệu báo cáo giữ nguyên)"),
    "bank.import": _l("Nhập ngân hàng câu hỏi"),
    "contest.create": _l("Tạo cuộc thi"),
    "contest.update": _l("Sửa cuộc thi"),
    "contest.open": _l("Mở cuộc thi"),
    "contest.close": _l("Đóng cuộc thi"),
    "contest.reopen": _l("Mở lại cuộc thi"),
    "contest.publish_results": _l("Công bố kết quả cuộc thi"),
    "contest.archive": _l("Lưu trữ cuộc thi"),
    "contest.prediction_actual": _l("Ghi đáp án câu hỏi dự đoán"),
    "contest.export.ranking": _l("Xuất bảng xếp hạng"),
    "contest.export.attempts": _l("Xuất danh sách bài thi"),
    "contest.export.report": _l("Xuất báo cáo cuộc thi"),
    "contest.export.results": _l("Xuất kết quả cuộc thi"),
    "participant.preissue": _l("Cấp trước tài khoản thí sinh"),
    "participant.erase": _l("Xoá dữ liệu cá nhân của thí sinh"),
    "participant.export": _l("Xuất danh sách thí sinh"),
    "participant.exclude": _l("Loại thí sinh khỏi xếp hạng"),
    "participant.include": _l("Đưa thí sinh trở lại xếp hạng"),
    "documents.settings": _l("Sửa thông tin văn bản của đơn vị"),
}

#: What an audited object is, in words.
AUDIT_OBJECTS = {
    "organiser": _l("Tài khoản"), "unit": _l("Đơn vị"), "counter": _l("Quầy"), "field": _l("Lĩnh vực"),
    "contest": _l("Cuộc thi"), "round": _l("Vòng thi"), "bank": _l("Ngân hàng câu hỏi"),
    "participant": _l("Thí sinh"), "instrument": _l("Phiếu khảo sát"),
}

#: The keys of an entry's details, in words (values are shown as they are; lists and changes in words too).
AUDIT_DETAILS = {
    "email": _l("Email"), "role": _l("Vai trò"), "failures": _l("Số lần đăng nhập sai liên tiếp"),
    "code": _l("Mã"), "parent": _l("Đơn vị cấp trên"), "changes": _l("Thay đổi"), "before": _l("Trước đó"),
    "count": _l("Số lượng"), "codes": _l("Các mã"), "format": _l("Định dạng tệp"), "unit": _l("Đơn vị"),
    "period": _l("Kỳ"), "value": _l("Giá trị"), "fields": _l("Các mục"), "name": _l("Tên"),
    "name_en": _l("Tên tiếng Anh"), "kind": _l("Loại"), "headcount": _l("Biên chế"), "block": _l("Khối"),
    "instrument": _l("Phiếu khảo sát"), "service_fields": _l("Lĩnh vực"), "is_active": _l("Đang hoạt động"),
}


def _audit_value(value: object) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return str(_("có") if value else _("không"))
    if isinstance(value, dict):
        return "; ".join(f"{AUDIT_DETAILS.get(key, _('Ghi chú'))}: {_audit_value(item)}" for key, item in value.items())
    if isinstance(value, (list, tuple)):
        if len(value) == 2 and not any(isinstance(item, (list, dict)) for item in value):
            return f"{_audit_value(value[0])} → {_audit_value(value[1])}"
        return ", ".join(_audit_value(item) for item in value)
    if isinstance(value, str) and value in ROLE_LABELS:
        return str(ROLE_LABELS[value])
    return str(value)


def _audit_line(entry) -> dict:
    """Return what the log page shows of an entry: who by name, what and on what in words, details in words."""
    if entry.organiser is not None:
        who = entry.organiser.name
        email = entry.organiser.email
    else:
        who = _("Người chưa đăng nhập") if entry.action.startswith("login.") else _("Dòng lệnh trên máy chủ")
        email = None
    action = AUDIT_ACTIONS.get(entry.action)
    if action is None:
        action = _("Thao tác khác")
    target = ""
    if entry.object_type:
        target = str(AUDIT_OBJECTS.get(entry.object_type, _("Đối tượng")))
        if entry.object_type == "organiser" and entry.organiser is not None and entry.object_id == str(
                entry.organiser_id):
            target = f"{target}: {entry.organiser.name}"
        elif entry.object_id:
            target = _("%(kind)s số %(id)s", kind=target, id=entry.object_id)
    details = [(str(AUDIT_DETAILS.get(key, _("Ghi chú"))), _audit_value(value))
               for key, value in (entry.detail or {}).items()]
    return {"at": entry.at, "who": who, "email": email, "unit": entry.unit.name if entry.unit else "",
            "action": action, "target": target, "details": details}
