"""A counter's public token: a random nonce (rotated to retire printed posters) and its keyed signature, and the
survey URL its QR code encodes. Short enough to type from a poster; no Flask, no database."""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

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


def counter_url(base_url: str, nonce: str, secret: str) -> str:
    """Return the survey URL a counter's QR code encodes."""
    return f"{base_url}/s/{counter_token(nonce, secret)}"
