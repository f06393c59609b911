"""The participant's pages under /thi: contest home, registration, login, the timed attempt, results, rankings.

Participants have their own signed session cookie, scoped to one contest's path and separate from the organisers'
Flask-Login session. The server clock rules every deadline; the page's countdown (static/js/timer.js) only shows it.
"""
from __future__ import annotations

import math
import secrets

import numpy as np
from flask import (Blueprint, Response, abort, current_app, g, jsonify, make_response, redirect, render_template,
                   request, url_for)
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from app.contests.attempts import (attempt_questions, attempts_of, get_attempt, open_attempt, review_questions,
                                   save_answers, shows_key, start_attempt, submit_attempt, unpack_ids)
from app.contests.certificates import achievements, certificates_pdf, prize_rounds, read_certificate_token
from app.contests.lifecycle import get_contest, get_round
from app.contests.models import Attempt, Contest, Participant
from app.contests.accounts import read_reset_token, request_reset, reset_password
from app.contests.participants import (Registration, authenticate, end_sessions, mask_name, normalise_phone,
                                       register_participant, registration_units)
from app.contests.regrade import attempt_corrections, corrections_of
from app.contests.reports import public_board
from app.contests.results import contest_results
from app.contests.rules import consent_text, contest_rules, duration_text, limit_text, number, round_rules
from app.contests.share import ShareCard, read_share_token, share_png, share_token
from app.contests.spec import contest_spec, round_spec
from app.database import utcnow
from app.errors import AppError, NotFoundError
from app.extensions import db, limiter
from app.i18n import local_zone
from app.security import client_address, client_hash
from app.validation import Rejected
from app.web import page_number, refused, wants_json

bp = Blueprint("contests", __name__)

COOKIE = "thi_phien"
SESSION_HOURS = 8
#: Answer forms are small; anything bigger is not a browser filling the attempt page.
MAX_ANSWER_BODY = 64 * 1024


#: A random id a browser keeps for a year: with the address and the browser's name, what "one device" means to the
#: sign-in and registration limits (a script that drops cookies is one device per address and browser name).
DEVICE_COOKIE = "thi_thiet_bi"


def _login_limit() -> str:
    return current_app.config.get("CONTEST_LOGIN_RATE_LIMIT", "20 per minute")


def _register_limit() -> str:
    return current_app.config.get("CONTEST_REGISTER_RATE_LIMIT", "30 per minute")


def _address_limit() -> str:
    return current_app.config.get("CONTEST_ADDRESS_RATE_LIMIT", "600 per minute")


def _device_key() -> str:
    """One device: its cookie (if it kept one), its address and its browser's name."""
    device = request.cookies.get(DEVICE_COOKIE, "")[:40]
    return f"device:{client_address()}|{device}|{request.user_agent.string[:200]}"


def _account_key() -> str:
    """The account tried: the contest and the phone number (normalised), whatever device or address tries it."""
    phone = normalise_phone(request.form.get("phone", "")) or request.form.get("phone", "")[:40]
    return f"account:{request.view_args.get('slug', '')}:{phone}"


def _address_key() -> str:
    return f"address:{client_address()}"


def _with_device_cookie(response: Response) -> Response:
    """Give a browser its device id on the sign-in and registration pages (kept a year, sent only to /thi)."""
    if not request.cookies.get(DEVICE_COOKIE):
        response.set_cookie(DEVICE_COOKIE, secrets.token_urlsafe(18), max_age=365 * 86400, path="/thi",
                            httponly=True, samesite="Lax", secure=current_app.config["SESSION_COOKIE_SECURE"])
    return response


def _reset_limit() -> str:
    return current_app.config.get("CONTEST_RESET_RATE_LIMIT", "5 per hour")


def _reset_phone_key() -> str:
    """Key the reset requests by the phone number asked about too, so spreading over addresses does not help."""
    return f"reset:{request.view_args.get('slug')}:{normalise_phone(request.form.get('phone', '')) or '-'}"


def _answer_limit() -> str:
    return current_app.config.get("CONTEST_ANSWER_RATE_LIMIT", "120 per minute")


def _participant_key() -> str:
    """Key the answer routes by participant (an office may share one address), else by address."""
    data = _session()
    return f"participant:{data['p']}" if data and isinstance(data.get("p"), int) else client_address()


def _serializer() -> URLSafeTimedSerializer:
    config = current_app.config  # signs with the current key, accepts the fallbacks while keys rotate
    return URLSafeTimedSerializer([*(config.get("SECRET_KEY_FALLBACKS") or ()), config["SECRET_KEY"]],
                                  salt="contest-participant-session")


def _session() -> dict | None:
    """Return the participant session of the cookie ({p: id, c: contest id, v: version}), or None.

    Read once per request (the rate limiter's key and the view both need it).
    """
    if "contest_session" not in g:
        g.contest_session = _read_session(request.cookies.get(COOKIE))
    return g.contest_session


def _read_session(token: str | None) -> dict | None:
    if not token:
        return None
    try:
        data = _serializer().loads(token, max_age=SESSION_HOURS * 3600)
    except (BadSignature, SignatureExpired):
        return None
    return data if isinstance(data, dict) else None


def _participant_id() -> int:
    """Return the signed-in participant's id without a database read (save and submit check the attempt's owner).

    The cookie is scoped to one contest's path, and an attempt is found only for its own participant.
    """
    data = _session()
    if data is None or not isinstance(data.get("p"), int):
        raise AppError(_l("Vui lòng đăng nhập để làm bài."), status=401)
    return data["p"]


def _session_version() -> int:
    """Return the session version of the cookie (checked against the participant's on save and submit)."""
    data = _session() or {}
    return data["v"] if isinstance(data.get("v"), int) else -1


def _participant(contest: Contest) -> Participant | None:
    """Return the signed-in participant of this contest, or None (a stale or erased session is no session)."""
    data = _session()
    if data is None or data.get("c") != contest.id:
        return None
    participant = db.session.get(Participant, data.get("p"))
    if participant is None or participant.session_version != data.get("v") or participant.erased_at is not None:
        return None
    return participant


def _require_participant(contest: Contest) -> Participant:
    participant = _participant(contest)
    if participant is None:
        raise AppError(_l("Vui lòng đăng nhập để tiếp tục."), status=401)
    return participant


def _sign_in(response: Response, contest: Contest, participant: Participant) -> Response:
    token = _serializer().dumps({"p": participant.id, "c": contest.id, "v": participant.session_version})
    response.set_cookie(COOKIE, token, max_age=SESSION_HOURS * 3600, path=f"/thi/{contest.slug}", httponly=True,
                        samesite="Lax", secure=current_app.config["SESSION_COOKIE_SECURE"])
    return response


def _client_hash() -> str:
    now = utcnow()
    return client_hash(current_app.config["SECRET_KEY"], client_address(), request.user_agent.string,
                       now.astimezone(local_zone()).date())


@bp.get("/<slug>")
def home(slug: str):
    """Show the contest: rules, rounds and the participant's own attempts."""
    contest = get_contest(slug)
    if contest.status == "draft":
        raise NotFoundError(_l("Không tìm thấy cuộc thi này."))
    zone = local_zone()
    participant = _participant(contest)
    attempts = attempts_of(participant) if participant else {}
    spec = contest_spec(contest, zone)
    return render_template("contests/home.html", contest=contest, spec=spec, participant=participant,
                           attempts=attempts, now=utcnow(), rules=contest_rules(spec, zone))


# Limits per device and per phone number, and a far higher one per address: an office or a mobile carrier's shared
# address at a deadline is not locked out, one device or one account tried over and over still is.
@bp.route("/<slug>/dang-ky", methods=["GET", "POST"])
@limiter.limit(_register_limit, methods=["POST"], key_func=_device_key)
@limiter.limit(_register_limit, methods=["POST"], key_func=_account_key)
@limiter.limit(_address_limit, methods=["POST"], key_func=_address_key)
def register(slug: str):
    """Register for a contest (contest.md §5.2) and sign in."""
    contest = get_contest(slug)
    zone = local_zone()
    if contest.status == "draft":
        raise NotFoundError(_l("Không tìm thấy cuộc thi này."))
    spec = contest_spec(contest, zone)
    units = registration_units(contest)
    context = dict(contest=contest, spec=spec, units=units, errors={}, values={}, consent=consent_text(spec))
    if request.method == "GET":
        return _with_device_cookie(make_response(render_template("contests/register.html", **context)))
    form = request.form
    data = Registration(
        phone=form.get("phone", ""), full_name=form.get("full_name", ""), birth_date=form.get("birth_date", ""),
        unit_id=form.get("unit_id", ""), group=form.get("group", ""), cccd=form.get("cccd", ""),
        password=form.get("password", ""), password_again=form.get("password_again", ""),
        consent=form.get("consent") == "1", email=form.get("email", ""),
    )
    try:
        participant = register_participant(contest, data, now=utcnow(), zone=zone,
                                                    secret=current_app.config["SECRET_KEY"])
    except Rejected as error:
        refused(error)
        values = {key: form.get(key, "") for key in ("phone", "full_name", "birth_date", "unit_id", "group", "cccd",
                                                     "email")}
        return render_template("contests/register.html", **dict(context, errors=error.by_field(), values=values)), 400
    return _sign_in(redirect(url_for(".home", slug=slug), 303), contest, participant)


@bp.route("/<slug>/dang-nhap", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"], key_func=_device_key)
@limiter.limit(_login_limit, methods=["POST"], key_func=_account_key)
@limiter.limit(_address_limit, methods=["POST"], key_func=_address_key)
def login(slug: str):
    """Sign in with the phone number and the password (or the code of a pre-issued account)."""
    contest = get_contest(slug)
    if contest.status == "draft":
        raise NotFoundError(_l("Không tìm thấy cuộc thi này."))
    if request.method == "GET":
        return _with_device_cookie(make_response(render_template("contests/login.html", contest=contest, error=None,
                                                                 phone="")))
    # A failure is counted (and may lock the account) even though the answer is a 401: the request commits it.
    participant = authenticate(contest, request.form.get("phone", ""), request.form.get("password", ""),
                                        now=utcnow())
    if participant is None:
        message = _l("Số điện thoại hoặc mật khẩu không đúng (sai nhiều lần, tài khoản tạm khoá 15 phút).")
        return render_template("contests/login.html", contest=contest, error=message,
                               phone=request.form.get("phone", "")), 401
    return _sign_in(redirect(url_for(".home", slug=slug), 303), contest, participant)


@bp.route("/<slug>/quen-mat-khau", methods=["GET", "POST"])
@limiter.limit(_reset_limit, methods=["POST"])
@limiter.limit(_reset_limit, methods=["POST"], key_func=_reset_phone_key)
def forgot(slug: str):
    """Ask for a reset link by e-mail; the answer is the same whether or not the number has an account."""
    contest = get_contest(slug)
    if contest.status == "draft":
        raise NotFoundError(_l("Không tìm thấy cuộc thi này."))
    mail = bool(current_app.config.get("MAIL_URL"))
    if request.method == "GET":
        return render_template("contests/forgot.html", contest=contest, mail=mail, asked=False)
    request_reset(contest, request.form.get("phone", ""), now=utcnow(), secret=current_app.config["SECRET_KEY"],
                  base_url=current_app.config["BASE_URL"], mail_url=current_app.config.get("MAIL_URL"),
                  sender=current_app.config["MAIL_FROM"])
    return render_template("contests/forgot.html", contest=contest, mail=mail, asked=True)


@bp.route("/<slug>/dat-lai-mat-khau/<token>", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def reset(slug: str, token: str):
    """Set a new password from a one-time link (organiser-issued or e-mailed), then sign in."""
    contest = get_contest(slug)
    found = read_reset_token(contest, token, current_app.config["SECRET_KEY"])
    if found is None:
        return render_template("contests/reset.html", contest=contest, valid=False, errors={}), 410
    participant, kind = found
    if request.method == "GET":
        response = Response(render_template("contests/reset.html", contest=contest, valid=True, errors={}))
    else:
        try:
            reset_password(participant, kind, request.form.get("password", ""),
                           request.form.get("password_again", ""), now=utcnow())
        except Rejected as error:
            refused(error)
            return render_template("contests/reset.html", contest=contest, valid=True,
                                   errors=error.by_field()), 400
        response = _sign_in(redirect(url_for(".home", slug=slug, **{"doi-mat-khau": "1"}), 303), contest,
                            participant)
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/<slug>/dang-xuat")
def logout(slug: str):
    """Sign out of this contest: the session is revoked on the server too, so a copied cookie opens nothing."""
    contest = get_contest(slug)
    participant = _participant(contest)
    if participant is not None:
        end_sessions(participant)
    response = redirect(url_for(".home", slug=slug), 303)
    response.delete_cookie(COOKIE, path=f"/thi/{slug}")
    return response


def _startable(contest: Contest, round_, participant: Participant, mine: list, now) -> bool:
    """Tell whether the participant may start a new attempt at this round now (what the start button offers)."""
    spec = round_spec(contest, round_, local_zone())
    return (contest.accepts_attempts and round_.window_state(now) == "open" and not (mine and mine[-1].is_active)
            and (not round_.attempts_allowed or len(mine) < round_.attempts_allowed)
            and (spec.audience_groups is None or participant.group_code in spec.audience_groups))


@bp.get("/<slug>/vong/<int:number>/bat-dau")
def confirm_start(slug: str, number: int):
    """Before the clock starts: the round's rules, generated from its settings, and a button that starts it."""
    contest = get_contest(slug)
    participant = _participant(contest)
    if participant is None:
        return redirect(url_for(".login", slug=slug), 303)
    round_ = get_round(contest, number)
    mine = attempts_of(participant).get(round_.id, [])
    if mine and mine[-1].is_active:
        return redirect(url_for(".attempt", slug=slug, attempt_id=mine[-1].id), 303)
    zone = local_zone()
    spec = contest_spec(contest, zone)
    left = round_.attempts_allowed - len(mine) if round_.attempts_allowed else None
    return render_template("contests/confirm_start.html", contest=contest, round=round_,
                           rspec=spec.rounds[round_.number - 1], rules=round_rules(spec, spec.rounds[round_.number - 1],
                                                                                  zone),
                           left=left, used=len(mine), startable=_startable(contest, round_, participant, mine,
                                                                          utcnow()))


@bp.post("/<slug>/vong/<int:number>/bat-dau")
@limiter.limit(_answer_limit, key_func=_participant_key)
def start(slug: str, number: int):
    """Start (or resume) the participant's attempt at a round."""
    contest = get_contest(slug)
    participant = _require_participant(contest)
    round_ = get_round(contest, number)
    attempt = start_attempt(contest, round_, participant, now=utcnow(), zone=local_zone(),
                                     rng=np.random.default_rng(), client_hash=_client_hash())
    return redirect(url_for(".attempt", slug=slug, attempt_id=attempt.id), 303)


@bp.get("/<slug>/bai-thi/<int:attempt_id>")
def attempt(slug: str, attempt_id: int):
    """Show a running attempt (never the answer keys); a finished or expired one leads to its result."""
    contest = get_contest(slug)
    participant = _require_participant(contest)
    now = utcnow()
    found = open_attempt(attempt_id, participant.id, now=now)
    if not found.is_active:
        return redirect(url_for(".result", slug=slug, attempt_id=attempt_id), 303)
    round_ = found.round
    spec = round_spec(contest, round_, local_zone())
    response = Response(render_template(
        "contests/attempt.html", contest=contest, round=round_, attempt=found, spec=spec,
        questions=attempt_questions(found), saved=request.args.get("da-luu") == "1",
        deadline_ms=int(found.deadline_at.timestamp() * 1000), now_ms=int(now.timestamp() * 1000),
        prediction=_prediction_text(found.prediction),
    ))
    response.headers["Cache-Control"] = "no-store"
    return response


def _prediction_text(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else f"{value:.9f}".rstrip("0").replace(".", ",")


def _answers_from_form() -> tuple[dict[int, list[int]], str | None]:
    """Read the attempt form: fields q<question id> → chosen display positions; 400 for anything malformed."""
    if request.content_length is not None and request.content_length > MAX_ANSWER_BODY:
        abort(413)
    answers: dict[int, list[int]] = {}
    for name in request.form:
        if name in ("csrf_token", "prediction", "action"):
            continue
        if not (name.startswith("q") and name[1:].isdigit() and len(name) < 12):
            raise AppError(_l("Dữ liệu bài thi không hợp lệ. Vui lòng tải lại trang."))
        values = request.form.getlist(name)
        if not all(value.isdigit() and len(value) < 3 for value in values):
            raise AppError(_l("Phương án trả lời không hợp lệ. Vui lòng tải lại trang."))
        answers[int(name[1:])] = [int(value) for value in values]
    return answers, request.form.get("prediction")


def _expired_response(slug: str, attempt_id: int):
    message = _l("Đã hết thời gian làm bài. Bài thi đã được nộp tự động với các câu trả lời đã lưu trước giờ "
                 "kết thúc; câu trả lời gửi sau giờ không được chấp nhận.")
    if wants_json():
        return jsonify(error={"status": 409, "message": str(message), "status_code": "expired",
                              "result_url": url_for(".result", slug=slug, attempt_id=attempt_id)}), 409
    return render_template("contests/expired.html", message=message, slug=slug, attempt_id=attempt_id), 409


def _store_answers(store, slug: str, attempt_id: int):
    """Store the posted answers with `store` (save_answers or submit_attempt); return its outcome and, when the time
    was up, the page that says so (else None)."""
    answers, prediction = _answers_from_form()
    outcome = store(attempt_id, _participant_id(), answers, prediction, now=utcnow(), session_version=_session_version())
    return outcome, _expired_response(slug, attempt_id) if outcome.status == "expired" else None


@bp.post("/<slug>/bai-thi/<int:attempt_id>/luu")
@limiter.limit(_answer_limit, key_func=_participant_key)
def save(slug: str, attempt_id: int):
    """Save the answers so far (autosave from the page's script, or the "Lưu bài" button without script)."""
    outcome, expired = _store_answers(save_answers, slug, attempt_id)
    if expired:
        return expired
    if wants_json():
        return jsonify(status="saved")
    return redirect(url_for(".attempt", slug=slug, attempt_id=attempt_id, **{"da-luu": "1"}), 303)


@bp.post("/<slug>/bai-thi/<int:attempt_id>/nop")
@limiter.limit(_answer_limit, key_func=_participant_key)
def submit(slug: str, attempt_id: int):
    """Submit the attempt: graded on the server from its snapshot; a replay shows the same result."""
    outcome, expired = _store_answers(submit_attempt, slug, attempt_id)
    if expired:
        return expired
    if wants_json():
        return jsonify(status=outcome.status, score=outcome.score, max_score=outcome.max_score)
    return redirect(url_for(".result", slug=slug, attempt_id=attempt_id), 303)


@bp.post("/<slug>/bai-thi/<int:attempt_id>/xem-lai")
@limiter.limit(_answer_limit, key_func=_participant_key)
def review_save(slug: str, attempt_id: int):
    """"Nộp bài" on the attempt page: save the answers, then show the summary that asks to confirm."""
    _, expired = _store_answers(save_answers, slug, attempt_id)
    if expired:
        return expired
    return redirect(url_for(".review", slug=slug, attempt_id=attempt_id), 303)


@bp.get("/<slug>/bai-thi/<int:attempt_id>/xem-lai")
def review(slug: str, attempt_id: int):
    """Before submitting: how many questions are answered, which are not (with links back), and a confirmation."""
    contest = get_contest(slug)
    participant = _require_participant(contest)
    now = utcnow()
    found = open_attempt(attempt_id, participant.id, now=now)
    if not found.is_active:
        return redirect(url_for(".result", slug=slug, attempt_id=attempt_id), 303)
    questions = attempt_questions(found)
    unanswered = [question.position for question in questions
                  if not any(checked for _value, _text, checked in question.options)]
    spec = round_spec(contest, found.round, local_zone())
    response = Response(render_template(
        "contests/review.html", contest=contest, round=found.round, attempt=found, spec=spec, questions=questions,
        unanswered=unanswered, deadline_ms=int(found.deadline_at.timestamp() * 1000),
        now_ms=int(now.timestamp() * 1000), prediction=_prediction_text(found.prediction),
    ))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/<slug>/bai-thi/<int:attempt_id>/ket-qua")
def result(slug: str, attempt_id: int):
    """Show a finished attempt: score and time; correct answers only when the round's rules allow it."""
    contest = get_contest(slug)
    participant = _require_participant(contest)
    found = get_attempt(attempt_id, participant.id)
    if found.is_active:
        return redirect(url_for(".attempt", slug=slug, attempt_id=attempt_id), 303)
    zone = local_zone()
    show_key = shows_key(contest, found.round, zone, utcnow())
    corrections = attempt_corrections(contest.id, unpack_ids(found.question_ids))
    share_url = url_for(".share", slug=slug, token=share_token(contest.id, found.id, current_app.config["SECRET_KEY"]))
    response = Response(render_template("contests/result.html", contest=contest, attempt=found, round=found.round,
                                        questions=review_questions(found, show_key), show_key=show_key,
                                        corrections=corrections, share_url=share_url))
    response.headers["Cache-Control"] = "no-store"
    return response


def _shared_attempt(slug: str, token: str):
    """Return (contest, attempt) of a genuine share token of a finished attempt, or 404."""
    contest = get_contest(slug)
    claim = read_share_token(token, current_app.config["SECRET_KEY"])
    found = db.session.get(Attempt, claim[1]) if claim and claim[0] == contest.id else None
    if found is None or found.contest_id != contest.id or found.is_active or found.participant.erased_at is not None:
        raise NotFoundError(_l("Không tìm thấy kết quả được chia sẻ."))
    return contest, found


def _share_card(contest: Contest, found: Attempt) -> ShareCard:
    zone = local_zone()
    mine = public_board(contest, zone, found.round.number, 1, me=found.participant_id).mine
    rank = f"{number(mine.rank)} / {number(mine.total)}" if mine else ""
    return ShareCard(contest.title, found.round.name, mask_name(found.participant.full_name),
                     found.participant.unit.name, f"{found.score}/{found.max_score}",
                     duration_text(found.duration_ms / 1000), rank)


@bp.get("/<slug>/chia-se/<token>")
def share(slug: str, token: str):
    """A participant's shared result: a page with its own Open Graph tags and the card."""
    contest, found = _shared_attempt(slug, token)
    card = _share_card(contest, found)
    image = current_app.config["BASE_URL"] + url_for(".share_image", slug=slug, token=token)
    page = current_app.config["BASE_URL"] + url_for(".share", slug=slug, token=token)
    return render_template("contests/share.html", contest=contest, card=card, image=image, page=page)


@bp.get("/<slug>/chia-se/<token>/the.png")
def share_image(slug: str, token: str):
    """The 1200×630 PNG card of a shared result."""
    contest, found = _shared_attempt(slug, token)
    response = Response(share_png(_share_card(contest, found)), mimetype="image/png")
    response.headers["Cache-Control"] = "public, max-age=600"
    return response


@bp.get("/<slug>/xep-hang")
def leaderboard(slug: str):
    """Show the ranking: final once results are published, otherwise as the leaderboard setting allows."""
    contest = get_contest(slug)
    if contest.status == "draft":
        raise NotFoundError(_l("Không tìm thấy cuộc thi này."))
    zone = local_zone()
    number = request.args.get("vong", type=int)
    participant = _participant(contest)
    board = public_board(contest, zone, number, page_number(), group=request.args.get("doi-tuong") or None,
                         me=participant.id if participant else None)
    return render_template("contests/leaderboard.html", contest=contest, spec=contest_spec(contest, zone),
                           board=board, number=number, corrections=corrections_of(contest))


@bp.get("/<slug>/chung-nhan.pdf")
def certificate(slug: str):
    """Download the signed-in participant's certificate once results are published."""
    contest = get_contest(slug)
    participant = _require_participant(contest)
    if not contest.results_public:
        raise NotFoundError(_l("Giấy chứng nhận có sau khi Ban Tổ chức công bố kết quả."))
    zone = local_zone()
    results = contest_results(contest, zone)
    earned = achievements(contest, results, zone)
    if participant.id not in earned:
        raise NotFoundError(_l("Bạn không thuộc danh sách được cấp giấy chứng nhận của cuộc thi này."))
    pdf = certificates_pdf(contest, {participant.id: earned[participant.id]}, zone,
                           base_url=current_app.config["BASE_URL"], secret=current_app.config["SECRET_KEY"],
                           rounds=prize_rounds(contest, results))
    return Response(pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="chung-nhan-{slug}.pdf"'})


@bp.get("/chung-nhan/<token>")
def verify(token: str):
    """Tell whether a certificate is genuine: who (masked), which contest, which prize."""
    claim = read_certificate_token(token, current_app.config["SECRET_KEY"])
    contest = db.session.get(Contest, claim[0]) if claim else None
    participant = db.session.get(Participant, claim[1]) if claim else None
    if contest is None or participant is None or participant.contest_id != contest.id:
        return render_template("contests/verify.html", valid=False, contest=None), 404
    zone = local_zone()
    earned = achievements(contest, contest_results(contest, zone), zone) if contest.results_public else {}
    valid = participant.id in earned and not participant.excluded
    return render_template("contests/verify.html", valid=valid, contest=contest, prize=earned.get(participant.id),
                           name=mask_name(participant.full_name), unit=participant.unit.name,
                           erased=participant.erased_at is not None), 200 if valid else 410


@bp.app_template_filter("seconds")
def seconds_filter(value: float | None) -> str:
    """Format a duration in seconds as minutes:seconds with milliseconds ("4:05,250"), or "–" (organisers' tables,
    where milliseconds break ties)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    minutes, seconds = divmod(float(value), 60)
    return f"{int(minutes)}:{seconds:06.3f}".replace(".", ",")


@bp.app_template_filter("contest_limit")
def limit_filter(value: int) -> str:
    """Format a time limit in seconds ("15 phút")."""
    return limit_text(value)


@bp.app_template_filter("contest_number")
def number_filter(value: float) -> str:
    """Format a number the Vietnamese way (1.234; 8,5)."""
    return number(round(float(value), 2))


@bp.app_template_filter("contest_duration")
def duration_filter(value: float | None) -> str:
    """Format a duration in seconds the way participants read it ("12 phút 05 giây"), or "–"."""
    return duration_text(value)

