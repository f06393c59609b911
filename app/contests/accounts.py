"""Participants' forgotten passwords, without SMS: a one-time reset link issued by an organiser, or sent by e-mail
when the participant gave an address and the server has an SMTP relay (MAIL_URL = smtp://host:port).

A link carries a signed claim (participant, kind, a fingerprint of the current password hash and session version),
so it expires (itsdangerous max age) and works once: the reset changes both, and every other session ends with it.
Requests are answered the same way whether or not the phone number exists (the mail leaves from a thread), audited,
and rate-limited by the views.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import threading
from email.message import EmailMessage

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from werkzeug.security import generate_password_hash

from app.auth.audit import Actor, Unsigned, record
from app.contests.models import Contest, Participant
from app.contests.participants import MIN_PASSWORD_LENGTH, end_sessions, normalise_phone
from app.extensions import db
from app.mail import send
from app.validation import Problem, Rejected

#: Who resets a password with a link, or asks for one: a participant, not an organiser.
PARTICIPANT = Unsigned("participant")
#: How long a link stays valid: sent by e-mail (the participant asked for it now), or handed over by an organiser.
MAX_AGE = {"e": 3600, "o": 72 * 3600}
_SALT = "contest-password-reset"


def _fingerprint(participant: Participant) -> str:
    text = f"{participant.password_hash or ''}|{participant.session_version}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def reset_token(participant: Participant, kind: str, secret: str) -> str:
    """Return a reset token for the participant: kind "o" (organiser-issued) or "e" (e-mailed)."""
    return URLSafeTimedSerializer(secret, salt=_SALT).dumps(
        {"p": participant.id, "c": participant.contest_id, "k": kind, "f": _fingerprint(participant)})


def read_reset_token(contest: Contest, token: str, secret: str) -> tuple[Participant, str] | None:
    """Return (participant, kind) for a valid, unused, unexpired token of this contest; None otherwise."""
    serializer = URLSafeTimedSerializer(secret, salt=_SALT)
    try:
        claim = serializer.loads(token, max_age=max(MAX_AGE.values()))
        if not isinstance(claim, dict) or claim.get("k") not in MAX_AGE:
            return None
        serializer.loads(token, max_age=MAX_AGE[claim["k"]])
    except (BadSignature, SignatureExpired):
        return None
    participant = db.session.get(Participant, claim.get("p")) if isinstance(claim.get("p"), int) else None
    if participant is None or participant.contest_id != contest.id or claim.get("c") != contest.id \
            or participant.erased_at is not None or claim.get("f") != _fingerprint(participant):
        return None
    return participant, claim["k"]


def issue_reset_link(participant: Participant, *, actor: Actor, now: dt.datetime, secret: str,
                     base_url: str) -> str:
    """Return a one-time reset link for an organiser to hand over (valid 72 hours); audited."""
    contest = participant.contest
    record(actor, contest.unit_id, "participant.reset_link", "participant", participant.id, {"contest": contest.slug},
           now)
    return f"{base_url}/thi/{contest.slug}/dat-lai-mat-khau/{reset_token(participant, 'o', secret)}"


def request_reset(contest: Contest, phone_text: str, *, now: dt.datetime, secret: str, base_url: str,
                  mail_url: str | None, sender: str) -> bool:
    """Send a reset link to the participant's e-mail if this phone has an account with one; audited either way.

    Returns whether a message was handed to the mail thread (the view never tells the visitor).
    """
    phone = normalise_phone(phone_text)
    participant = None
    if phone is not None:
        participant = db.session.scalar(sa.select(Participant).where(
            Participant.contest_id == contest.id, Participant.phone == phone, Participant.erased_at.is_(None)))
    sent = bool(participant is not None and participant.email and mail_url)
    record(PARTICIPANT, contest.unit_id, "participant.reset_requested", "participant",
           participant.id if participant is not None else None, {"sent": sent}, now)
    if sent:
        link = f"{base_url}/thi/{contest.slug}/dat-lai-mat-khau/{reset_token(participant, 'e', secret)}"
        message = reset_message(contest, participant, link, sender)
        threading.Thread(target=send, args=(mail_url, message), daemon=True).start()
    return sent


def reset_message(contest: Contest, participant: Participant, link: str, sender: str) -> EmailMessage:
    """Return the e-mail that carries a reset link (plain text, Vietnamese)."""
    message = EmailMessage()
    message["Subject"] = f"Đặt lại mật khẩu dự thi: {contest.title}"[:200]
    message["From"] = sender
    message["To"] = participant.email
    message.set_content(
        f"Xin chào {participant.full_name},\n\n"
        f"Có yêu cầu đặt lại mật khẩu cho tài khoản dự thi \"{contest.title}\" của số điện thoại "
        f"***{(participant.phone or '')[-4:]}.\n\n"
        f"Mở liên kết sau để đặt mật khẩu mới (dùng được một lần, trong 60 phút):\n{link}\n\n"
        "Nếu bạn không yêu cầu, hãy bỏ qua thư này; mật khẩu hiện tại vẫn giữ nguyên.\n\n"
        f"Ban Tổ chức — {contest.unit.name}\n"
    )
    return message


def reset_password(participant: Participant, kind: str, password: str, again: str, *, now: dt.datetime) -> None:
    """Set a new password from a reset link: the link stops working and every other session ends; audited.

    :raise Rejected: a password too short, or the two entries differ (nothing is changed).
    """
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise Rejected([Problem(_l("Mật khẩu phải có ít nhất %(n)d ký tự.", n=MIN_PASSWORD_LENGTH),
                                path="password")])
    if password != again:
        raise Rejected([Problem(_l("Hai lần nhập mật khẩu không khớp."), path="password_again")])
    participant.password_hash = generate_password_hash(password)
    participant.failed_logins = 0
    participant.locked_until = None
    end_sessions(participant)
    record(PARTICIPANT, participant.contest.unit_id, "participant.password_reset", "participant", participant.id,
           {"via": "organiser_link" if kind == "o" else "email"}, now)
