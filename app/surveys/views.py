"""The citizen's pages: the counter survey /s/<token>, one-time dossier links /d/<token>, and thanks."""
from __future__ import annotations

import secrets
import time
from urllib.parse import parse_qsl

from cachetools import TTLCache
from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import generate_csrf, validate_csrf
from itsdangerous import BadSignature, Signer
from markupsafe import Markup
from wtforms import ValidationError

from app.database import utcnow
from app.errors import AppError, GoneError, NotFoundError
from app.extensions import csrf, db, limiter
from app.i18n import local_zone
from app.security import client_address, client_hash
from app.surveys import services
from app.surveys.forms import HONEYPOT, SurveyInputError
from app.surveys.tokens import read_dossier_token

bp = Blueprint("surveys", __name__)

#: Rendered counter forms with placeholders for the per-visitor tokens (the page is otherwise identical).
_pages: TTLCache = TTLCache(maxsize=4096, ttl=300)
_PLACEHOLDERS = ("\x00csrf\x00", "\x00key\x00", "\x00start\x00")


def _survey_limit() -> str:
    return current_app.config["SURVEY_RATE_LIMIT"]


def _client_at_counter() -> str:
    """Rate-limit key: one client at one counter (or one dossier link)."""
    return f"{client_address()}|{request.view_args.get('token', '')[:24]}"


def _start_signer() -> Signer:
    return Signer(current_app.config["SECRET_KEY"], salt="survey-form-start")


def _form_page(counter, form, action: str, *, errors=None, values=None, dossier: bool = False) -> str:
    """Render the form; the clean page is cached per counter and language, only the tokens change per visit."""
    locale = str(get_locale())
    context = dict(counter=counter, form=form, action=action, locale=locale, dossier=dossier)
    if errors is not None or dossier:
        return render_template("surveys/fill.html", errors=errors or {}, values=values or {},
                               csrf_value=generate_csrf(), submission_key=_new_key(),
                               start_value=_start_signer().sign(str(int(time.time() * 1000))).decode(), **context)
    key = (counter.id, counter.updated_at, form.instrument_version_id, locale, action)
    page = _pages.get(key)
    if page is None:
        page = render_template("surveys/fill.html", errors={}, values={}, csrf_value=Markup(_PLACEHOLDERS[0]),
                               submission_key=Markup(_PLACEHOLDERS[1]), start_value=Markup(_PLACEHOLDERS[2]),
                               **context)
        _pages[key] = page
    start = _start_signer().sign(str(int(time.time() * 1000))).decode()
    return (page.replace(_PLACEHOLDERS[0], generate_csrf()).replace(_PLACEHOLDERS[1], _new_key())
            .replace(_PLACEHOLDERS[2], start))


def _new_key() -> str:
    return secrets.token_urlsafe(18)


def _read_form_body() -> dict[str, list[str]]:
    """Parse an urlencoded body strictly: size cap, content type, valid UTF-8, CSRF token."""
    if request.mimetype != "application/x-www-form-urlencoded":
        abort(415)
    limit = current_app.config["SURVEY_MAX_BODY"]
    if request.content_length is not None and request.content_length > limit:
        abort(413)
    raw = request.get_data(cache=False)
    if len(raw) > limit:
        abort(413)
    try:
        pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, errors="strict", max_num_fields=500)
    except (UnicodeDecodeError, ValueError):
        raise AppError(_l("Dữ liệu gửi lên không hợp lệ (sai mã hoá ký tự). Vui lòng tải lại trang và gửi lại."))
    data: dict[str, list[str]] = {}
    for name, value in pairs:
        data.setdefault(name, []).append(value)
    try:
        validate_csrf((data.get("csrf_token") or [""])[0])
    except ValidationError:
        raise AppError(_l("Phiên làm việc đã hết hạn hoặc biểu mẫu không hợp lệ. Vui lòng tải lại trang và gửi lại."))
    return data


def _submission_key(data: dict[str, list[str]]) -> str:
    key = (data.get("k") or [""])[0]
    if not (16 <= len(key) <= 40) or not all(c.isalnum() or c in "-_" for c in key):
        raise AppError(_l("Mã gửi phiếu không hợp lệ. Vui lòng tải lại trang và gửi lại."))
    return key


def _duration_ms(data: dict[str, list[str]], now_ms: int) -> int | None:
    try:
        started = int(_start_signer().unsign((data.get("t") or [""])[0]))
    except (BadSignature, ValueError):
        return None
    return max(0, min(now_ms - started, 86_400_000))


def _receive(counter, form, action: str, thanks_url: str, dossier_code: str | None = None):
    """Validate and store one submission, then send the citizen to the thanks page (303)."""
    data = _read_form_body()
    if any(v.strip() for v in data.get(HONEYPOT, [])):
        return redirect(thanks_url, 303)  # silently dropped: tell a bot nothing
    key = _submission_key(data)
    try:
        answers = form.validate(data)
    except SurveyInputError as error:
        page = _form_page(counter, form, action, errors=error.errors, values=data, dossier=dossier_code is not None)
        return page, 400
    now = utcnow()
    zone = local_zone()
    services.submit_response(
        counter, form, answers, submission_key=key, now=now, zone=zone,
        duration_ms=_duration_ms(data, int(now.timestamp() * 1000)),
        client_hash=client_hash(current_app.config["SECRET_KEY"], client_address(),
                                request.user_agent.string, now.astimezone(zone).date()),
        dossier_code=dossier_code,
    )
    db.session.commit()
    return redirect(thanks_url, 303)


@bp.get("/s/<token>")
def fill(token: str):
    """Show a counter's survey form."""
    counter = services.get_counter_for_token(token, current_app.config["SECRET_KEY"])
    form = services.get_response_form(counter)
    return _form_page(counter, form, url_for(".submit", token=token))


@bp.post("/s/<token>")
@csrf.exempt  # the token is checked in _read_form_body, after the strict parse
@limiter.limit(_survey_limit, key_func=_client_at_counter)
def submit(token: str):
    """Store a counter survey response."""
    counter = services.get_counter_for_token(token, current_app.config["SECRET_KEY"])
    form = services.get_response_form(counter)
    return _receive(counter, form, url_for(".submit", token=token), url_for(".thanks", token=token))


@bp.get("/s/<token>/cam-on")
def thanks(token: str):
    """Thank the citizen (also shown for a replayed submission)."""
    counter = services.get_counter_for_token(token, current_app.config["SECRET_KEY"])
    return render_template("surveys/thanks.html", counter=counter, again_url=url_for(".fill", token=token))


def _dossier_claim(token: str):
    claim = read_dossier_token(token, current_app.config["SECRET_KEY"])
    if claim is None:
        raise NotFoundError(services.NOT_FOUND_MESSAGE)
    if claim.is_expired(utcnow()):
        raise GoneError(_l("Đường dẫn đánh giá hồ sơ đã hết hạn."))
    return claim


@bp.get("/d/<token>")
def rate_dossier(token: str):
    """Show the one-time rating form of a returned dossier."""
    claim = _dossier_claim(token)
    if services.is_dossier_rated(claim.dossier_code):
        raise GoneError(services.DOSSIER_RATED_MESSAGE)
    counter = services.get_counter_by_id(claim.counter_id)
    form = services.get_response_form(counter, services.DOSSIER_INSTRUMENT)
    return _form_page(counter, form, url_for(".submit_dossier", token=token), dossier=True)


@bp.post("/d/<token>")
@csrf.exempt  # checked in _read_form_body
@limiter.limit(_survey_limit, key_func=_client_at_counter)
def submit_dossier(token: str):
    """Store the rating of a dossier, once."""
    claim = _dossier_claim(token)
    counter = services.get_counter_by_id(claim.counter_id)
    form = services.get_response_form(counter, services.DOSSIER_INSTRUMENT)
    return _receive(counter, form, url_for(".submit_dossier", token=token),
                    url_for(".dossier_thanks", token=token), dossier_code=claim.dossier_code)


@bp.get("/d/<token>/cam-on")
def dossier_thanks(token: str):
    """Thank the citizen for rating a dossier."""
    claim = read_dossier_token(token, current_app.config["SECRET_KEY"])
    if claim is None:
        raise NotFoundError(services.NOT_FOUND_MESSAGE)
    counter = services.get_counter_by_id(claim.counter_id)
    return render_template("surveys/thanks.html", counter=counter, again_url=None)
