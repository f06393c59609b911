"""Client address behind trusted proxies, keyed client hashes and the security headers of every response."""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac

from flask import Flask, Response, request
from werkzeug.middleware.proxy_fix import ProxyFix

#: First path segments of the pages whose URL carries a token (/s/…, /d/…, /thi/…): never leak it in a Referer header.
TOKEN_SECTIONS = frozenset({"s", "d", "thi"})

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)


def client_address() -> str:
    """Return the client's address as seen through the configured number of trusted proxies."""
    return request.remote_addr or "unknown"


def client_hash(secret: str, address: str, user_agent: str, day: dt.date) -> str:
    """Return a keyed hash of the client that changes every day, for burst detection without storing the IP."""
    key = hmac.new(secret.encode(), f"client-hash:{day.isoformat()}".encode(), hashlib.sha256).digest()
    return hmac.new(key, f"{address}|{user_agent}".encode(), hashlib.sha256).hexdigest()[:16]


def set_security_headers(response: Response) -> Response:
    """Add the security headers every page gets (CSP, nosniff, framing, referrer)."""
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    if not getattr(response, "frameable", False):
        headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    section, slash, _ = request.path[1:].partition("/")
    referrer = "no-referrer" if section in TOKEN_SECTIONS and slash else "same-origin"
    headers.setdefault("Referrer-Policy", referrer)
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    return response


def allow_framing(response: Response, origins) -> Response:
    """Let the listed origins (e.g. the province's own portal) frame this one response; every other page keeps
    ``frame-ancestors 'none'``. Without origins the response stays unframeable."""
    allowed = " ".join(origin for origin in origins if _is_origin(origin))
    if allowed:
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY.replace(
            "frame-ancestors 'none'", f"frame-ancestors {allowed}")
        response.frameable = True
    return response


def _is_origin(origin: str) -> bool:
    """Accept only scheme://host[:port] origins: nothing that could end or extend the policy."""
    scheme, sep, rest = origin.partition("://")
    return (scheme in ("http", "https") and bool(sep) and bool(rest)
            and all(char.isalnum() or char in ".-:[]" for char in rest))


def init_security(app: Flask) -> None:
    """Trust exactly TRUSTED_PROXIES hops of X-Forwarded-* and add the headers to every response."""
    hops = int(app.config.get("TRUSTED_PROXIES") or 0)
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    app.after_request(set_security_headers)
