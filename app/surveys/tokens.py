"""One-time dossier links: a signed claim that a dossier was returned at a counter, valid until a moment."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeSerializer


@dataclass(frozen=True)
class DossierClaim:
    """What a one-time dossier link asserts: which dossier, returned at which counter, valid until when."""

    dossier_code: str
    counter_id: int
    expires_at: dt.datetime

    def is_expired(self, now: dt.datetime) -> bool:
        """Tell whether the link may no longer be used."""
        return now >= self.expires_at


def _dossier_serializer(secret: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt="dossier-link")


def dossier_token(claim: DossierClaim, secret: str) -> str:
    """Sign a dossier claim into a URL-safe token."""
    payload = [claim.dossier_code, claim.counter_id, int(claim.expires_at.timestamp())]
    return _dossier_serializer(secret).dumps(payload)


def read_dossier_token(token: str, secret: str) -> DossierClaim | None:
    """Return the claim of a well-signed dossier token, or None when it was tampered with."""
    try:
        code, counter_id, expires = _dossier_serializer(secret).loads(token)
    except (BadSignature, ValueError, TypeError):
        return None
    if not isinstance(code, str) or not isinstance(counter_id, int) or not isinstance(expires, int):
        return None
    return DossierClaim(code, counter_id, dt.datetime.fromtimestamp(expires, dt.timezone.utc))
