"""Public tokens: a counter's token (a random nonce, rotated to retire printed posters, and its keyed signature), the
short code typed from a poster, and one-time dossier links (a signed claim that a dossier was returned at a counter).
No Flask, no database."""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeSerializer

NONCE_LENGTH = 10
SIGNATURE_LENGTH = 8
_ALPHABET = set("abcdefghijklmnopqrstuvwxyz234567")
#: Letters and digits of a short code: none that a reader can take for another (no 0/O, 1/l/I), lower case stored,
#: any case accepted.
SHORT_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
#: 31 ** 7: about 27 billion codes, so guessing one of a province's counters takes millions of tries.
SHORT_LENGTH = 7


def new_nonce() -> str:
    """Return a fresh random counter nonce (50 bits, lowercase base32)."""
    return base64.b32encode(secrets.token_bytes(8)).decode().lower()[:NONCE_LENGTH]


def new_short_code() -> str:
    """Return a fresh random short code (7 characters of SHORT_ALPHABET)."""
    return "".join(secrets.choice(SHORT_ALPHABET) for _ in range(SHORT_LENGTH))


def read_short_code(text: str) -> str | None:
    """Return the short code a person typed, in the stored (lower) case; None when it cannot be one."""
    code = text.strip().strip("/").lower()
    if len(code) != SHORT_LENGTH or not set(code) <= set(SHORT_ALPHABET):
        return None
    return code


#: A signing key, or the keys in order: the current one (signs) and older ones (still accepted) while keys rotate.
Keys = str | Sequence[str]


def _keys(secret: Keys) -> tuple[str, ...]:
    return (secret,) if isinstance(secret, str) else tuple(secret)


def _counter_signature(nonce: str, secret: str) -> str:
    digest = hmac.new(secret.encode(), f"counter:{nonce}".encode(), hashlib.sha256).digest()
    return base64.b32encode(digest).decode().lower()[:SIGNATURE_LENGTH]


def counter_token(nonce: str, secret: Keys) -> str:
    """Return the public token of a counter: its nonce and a keyed signature, e.g. "k7qf2m9xab-3plqa7b2"."""
    return f"{nonce}-{_counter_signature(nonce, _keys(secret)[0])}"


def nonce_from_token(token: str, secret: Keys) -> str | None:
    """Return the nonce of a counter token signed with any of the keys, or None for anything tampered or malformed."""
    nonce, _, signature = token.partition("-")
    if len(nonce) != NONCE_LENGTH or len(signature) != SIGNATURE_LENGTH or not set(nonce + signature) <= _ALPHABET:
        return None  # also keeps non-ASCII text away from compare_digest, which refuses it
    if not any([hmac.compare_digest(signature, _counter_signature(nonce, key)) for key in _keys(secret)]):
        return None
    return nonce


def counter_url(base_url: str, nonce: str, secret: Keys) -> str:
    """Return the survey URL a counter's QR code encodes."""
    return f"{base_url}/s/{counter_token(nonce, secret)}"


def short_url(base_url: str, short_code: str) -> str:
    """Return the short address printed under a counter's QR code, upper case to be read aloud and typed."""
    return f"{base_url}/q/{short_code.upper()}"


@dataclass(frozen=True)
class DossierClaim:
    """What a one-time dossier link asserts: which dossier, returned at which counter (and in which service field,
    when the one-stop system said), valid until when."""

    dossier_code: str
    counter_id: int
    expires_at: dt.datetime
    service_field_id: int | None = None

    def is_expired(self, now: dt.datetime) -> bool:
        """Tell whether the link may no longer be used."""
        return now >= self.expires_at


def _dossier_serializer(secret: Keys) -> URLSafeSerializer:
    # itsdangerous signs with the last key of a list and accepts every one of them.
    return URLSafeSerializer(list(reversed(_keys(secret))), salt="dossier-link")


def dossier_token(claim: DossierClaim, secret: Keys) -> str:
    """Sign a dossier claim into a URL-safe token (links minted without a service field keep their old shape)."""
    payload = [claim.dossier_code, claim.counter_id, int(claim.expires_at.timestamp())]
    if claim.service_field_id is not None:
        payload.append(claim.service_field_id)
    return _dossier_serializer(secret).dumps(payload)


def read_dossier_token(token: str, secret: Keys) -> DossierClaim | None:
    """Return the claim of a well-signed dossier token, or None when it was tampered with."""
    try:
        payload = _dossier_serializer(secret).loads(token)
    except (BadSignature, ValueError, TypeError):
        return None
    if not isinstance(payload, list) or len(payload) not in (3, 4):
        return None
    code, counter_id, expires, *rest = payload
    field_id = rest[0] if rest else None
    if not isinstance(code, str) or not all(_is_int(value) for value in (counter_id, expires)) \
            or not (field_id is None or _is_int(field_id)):
        return None
    return DossierClaim(code, counter_id, dt.datetime.fromtimestamp(expires, dt.timezone.utc), field_id)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
