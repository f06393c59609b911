"""Signed public tokens: one per counter (short enough to type) and one-time dossier links."""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeSerializer

NONCE_LENGTH = 10
SIGNATURE_LENGTH = 8
_ALPHABET = set("abcdefghijklmnopqrstuvwxyz234567")


def new_nonce() -> str:
    """Return a fresh random counter nonce (50 bits, lowercase base32)."""
    return base64.b32encode(secrets.token_bytes(8)).decode().lower()[:NONCE_LENGTH]


def _counter_signature(nonce: str, secret: str) -> str:
    digest = hmac.new(secret.encode(), f"counter:{nonce}".encode(), hashlib.sha256).digest()
    return base64.b32encode(digest).decode().lower()[:SIGNATURE_LENGTH]


def counter_token(nonce: str, secret: str) -> str:
    """Return the public token of a counter: its nonce and a keyed signature, e.g. "k7qf2m9xab-3plqa7b2"."""
    return f"{nonce}-{_counter_signature(nonce, secret)}"


def nonce_from_token(token: str, secret: str) -> str | None:
    """Return the nonce of a well-signed counter token, or None for anything tampered or malformed."""
    nonce, _, signature = token.partition("-")
    if len(nonce) != NONCE_LENGTH or len(signature) != SIGNATURE_LENGTH or not set(nonce + signature) <= _ALPHABET:
        return None  # also keeps non-ASCII text away from compare_digest, which refuses it
    if not hmac.compare_digest(signature, _counter_signature(nonce, secret)):
        return None
    return nonce


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
