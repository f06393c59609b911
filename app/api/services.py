"""Issuing, checking and revoking API tokens; minting one-time dossier links for one-stop systems."""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from app.api.models import ApiToken
from app.errors import AppError, NotFoundError
from app.extensions import db
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
