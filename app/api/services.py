"""Issuing, checking and revoking API tokens; minting one-time dossier links for one-stop systems; taking in and
acting on feedback (PAKN) for an agency's other system, under the same rules as the web pages."""
from __future__ import annotations

import datetime as dt
import hashlib
import random
import secrets
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from app.api.models import ApiToken
from app.auth.audit import Unsigned
from app.errors import AppError, NotFoundError
from app.extensions import db
from app.feedback import services as feedback_services
from app.feedback.calendar import Calendar
from app.feedback.models import Feedback
from app.units.models import Counter, Unit
from app.units.services import DossierLink
from app.units.services import mint_dossier_link as mint_counter_dossier_link

#: The public prefix of every token (not a secret).
TOKEN_PREFIX = "hl_"  # nosec B105


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_token(name: str, unit: Unit, now: dt.datetime, created_by_id: int | None = None) -> tuple[ApiToken, str]:
    """Create a token for a unit subtree; return it with its secret (shown once, stored only as a hash)."""
    name = name.strip()
    if not name or len(name) > 120:
        raise AppError(_l("Tên token phải có từ 1 đến 120 ký tự."))
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(name=name, token_hash=_digest(secret), prefix=secret[:10], unit=unit, created_at=now,
                     created_by_id=created_by_id)
    db.session.add(token)
    db.session.flush()
    return token, secret


def authenticate_token(secret: str, now: dt.datetime) -> ApiToken | None:
    """Return the live token for a presented secret, noting its use; None when unknown or revoked."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 100:
        return None
    token = db.session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == _digest(secret)))
    if token is None or token.revoked_at is not None or not token.unit.in_service:
        return None
    token.last_used_at = now
    return token


def revoke_token(token: ApiToken, now: dt.datetime) -> None:
    """Stop a token from working."""
    token.revoked_at = now
    db.session.flush()


def mint_dossier_link(scope: Unit, counter_code: str, dossier_code: str, days: int, *,
                      service_field_code: str | None = None, now: dt.datetime, base_url: str,
                      secret: str) -> DossierLink:
    """Sign a one-time rating link for a returned dossier at a counter inside the token's subtree."""
    counter = db.session.scalar(
        sa.select(Counter).join(Unit, Unit.id == Counter.unit_id)
        .where(Counter.code == counter_code, Unit.is_within(scope))
    )
    if counter is None:
        raise NotFoundError(_l("Không tìm thấy quầy “%(code)s” trong phạm vi của token.", code=counter_code))
    return mint_counter_dossier_link(counter, dossier_code, days, service_field_code=service_field_code, now=now,
                                     base_url=base_url, secret=secret)


# --- feedback and recommendations (PAKN) ---------------------------------------------------------------------------

#: What an agency's system may do to a PAKN: the web pages' own transitions.
FEEDBACK_ACTIONS = ("accept", "refuse", "transfer", "answer", "approve", "publish")


def api_actor(token: ApiToken) -> Unsigned:
    """The audit actor of calls made with `token`."""
    return Unsigned(f"api:{token.name}"[:64])


def scoped_feedback(code: str, scope: Unit) -> Feedback:
    """A PAKN handled or received inside `scope`'s subtree.

    :raise AppError 404: when the code is unknown or outside the subtree (the same answer, so codes cannot be probed).
    """
    try:
        feedback = feedback_services.by_code(code)
    except AppError:
        feedback = None
    if feedback is None or not (feedback.unit.is_within(scope) or feedback.received_unit.is_within(scope)):
        raise AppError(_l("Không tìm thấy phản ánh, kiến nghị này trong phạm vi token."), status=404)
    return feedback


def feedback_document(feedback: Feedback) -> dict:
    """A PAKN for the agency's other system: state, clock and texts; never the sender's identity."""
    data = feedback_services.public_view(feedback)
    data.update(title=feedback.title, content=feedback.content, proposal=feedback.proposal,
                public_title=feedback.public_title, public_content=feedback.public_content,
                channel=feedback.channel, external_code=feedback.external_code,
                received_unit=feedback.received_unit.code, reason=feedback.reason_code,
                transfer_due_on=feedback.transfer_due_on.isoformat() if feedback.transfer_due_on else None,
                extended_due_on=feedback.extended_due_on.isoformat() if feedback.extended_due_on else None,
                published=feedback.published_at is not None and not feedback.hidden,
                answer_status=feedback.answer.status if feedback.answer else None,
                answer=feedback.answer.text if feedback.answer else None)
    return data


def _unit_in(code: object, scope: Unit) -> Unit | None:
    if not isinstance(code, str):
        return None
    unit = db.session.scalar(sa.select(Unit).where(Unit.code == code[:32]))
    return unit if unit is not None and unit.is_within(scope) else None


def take_in_feedback(body: dict, scope: Unit, *, actor: Unsigned, now: dt.datetime, zone: ZoneInfo,
                     calendar: Calendar, rng: random.Random, storage: Path) -> tuple[Feedback, bool]:
    """Take in a PAKN received through another channel for a unit of `scope`; return it and whether it is new.

    Only scalar fields of the JSON body are read, as the web form's strings; the sender's consent must be explicit.
    """
    unit = _unit_in(body.get("unit"), scope)
    if unit is None:
        raise AppError(_l("Không tìm thấy đơn vị này trong phạm vi token."), status=404)
    if body.get("consent_data") is not True:
        raise AppError(_l("Cần “consent_data”: true (người gửi đồng ý xử lý dữ liệu cá nhân)."))
    fields = {key: ("1" if value else "") if isinstance(value, bool) else str(value)
              for key, value in body.items() if isinstance(value, (str, int, bool)) and key != "unit"}
    fields["unit"] = str(unit.id)
    fields.setdefault("channel", "national_portal")
    submission = feedback_services.read_submission(fields, staff=True)
    return feedback_services.submit(submission, now=now, zone=zone, calendar=calendar, rng=rng, storage=storage,
                                    actor=actor)


def act_on_feedback(feedback: Feedback, action: str, body: dict, scope: Unit, *, actor: Unsigned, now: dt.datetime,
                    zone: ZoneInfo, base_url: str) -> None:
    """Apply one of FEEDBACK_ACTIONS with the same rules, states and audit as the web pages.

    :raise AppError 404: for an unknown action; 403 when another agency outside `scope` handles the PAKN now.
    """
    if action not in FEEDBACK_ACTIONS:
        raise AppError(_l("Thao tác không hợp lệ: %(actions)s.", actions=", ".join(FEEDBACK_ACTIONS)), status=404)
    if not feedback.unit.is_within(scope):
        raise AppError(_l("Phản ánh này đang do một cơ quan ngoài phạm vi token xử lý."), status=403)
    text = {key: value for key, value in body.items() if isinstance(value, str)}
    if action == "accept":
        feedback_services.accept(feedback, actor, now, base_url=base_url)
    elif action == "refuse":
        feedback_services.refuse(feedback, actor, text.get("reason", ""), text.get("note"), now)
    elif action == "transfer":
        target = db.session.scalar(sa.select(Unit).where(Unit.code == text.get("unit", "")[:32]))
        feedback_services.transfer(feedback, actor, target, text.get("note"), now)
    elif action == "answer":
        feedback_services.draft_answer(feedback, actor, text.get("text", ""), now)
    elif action == "approve":
        feedback_services.approve(feedback, actor, now, zone, base_url=base_url)
    else:
        feedback_services.publish([feedback], actor, now)
