"""Replay cached public pages at the WSGI layer: a link shared to a million people costs a dictionary lookup.

The portal's views render a page once per state of what it shows (``app.portal.views.cached_page``) and mark the
request as replayable with that state. This middleware keeps the finished response (status, every header the app's
hooks added, body) in ``app.cache.portal_pages`` under the request's path, query, language inputs, the state and the
minute; while the state is fresh (``app.cache.portal_state``, at most a second old) the same request is answered
from it without entering Flask: no session, no rate limiter, no query. Anything else (a stale state, a response
setting a cookie, an error, a POST) goes through the application as usual.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from app import cache

#: The environ key a portal view sets to the state its response was rendered for.
MARK = "hailong.portal_state"
#: First path segments of the replayable public pages.
PREFIXES = ("/", "/thi", "/ket-qua", "/nhung/", "/anh/", "/robots.txt", "/sitemap.xml")


def _key(environ: dict, state: str) -> tuple:
    cookies = environ.get("HTTP_COOKIE", "")
    return ("wsgi", environ.get("PATH_INFO", ""), environ.get("QUERY_STRING", ""), cookies,
            environ.get("HTTP_ACCEPT_LANGUAGE", ""), state, int(time.time() // 60))


def _replayable(environ: dict) -> bool:
    location = environ.get("PATH_INFO", "")
    return environ.get("REQUEST_METHOD") == "GET" and (location == "/" or location.startswith(PREFIXES[1:]))


class PortalFastPath:
    """WSGI middleware in front of the application (see the module docstring)."""

    def __init__(self, app: Callable) -> None:
        self.app = app

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if not _replayable(environ):
            return self.app(environ, start_response)
        state = cache.portal_state.get("state")
        if state is not None:
            hit = cache.portal_pages.get(_key(environ, state))
            if hit is not None:
                return self._replay(environ, start_response, *hit)
        captured: dict = {}

        def capture(status: str, headers: list, exc_info=None):
            captured["status"], captured["headers"] = status, headers
            return start_response(status, headers, exc_info)

        body = self.app(environ, capture)
        rendered_for = environ.get(MARK)
        if (rendered_for is None or not captured.get("status", "").startswith("200")
                or any(name.lower() == "set-cookie" for name, _ in captured["headers"])):
            return body
        try:
            chunks = b"".join(body)
        finally:
            if hasattr(body, "close"):
                body.close()
        etag = next((value for name, value in captured["headers"] if name.lower() == "etag"), None)
        cache.portal_pages.put(_key(environ, rendered_for), (captured["headers"], chunks, etag))
        return [chunks]

    @staticmethod
    def _replay(environ: dict, start_response: Callable, headers: list, body: bytes, etag: str | None):
        match = environ.get("HTTP_IF_NONE_MATCH")
        if etag and match and (match.strip() == "*" or etag in [tag.strip() for tag in match.split(",")]):
            start_response("304 Not Modified", [(name, value) for name, value in headers
                                                 if name.lower() not in ("content-length", "content-type")])
            return [b""]
        start_response("200 OK", headers)
        return [body]


def install(app) -> None:
    """Put the fast path in front of the application, behind the trusted-proxy fix if there is one (so that fix
    stays outermost and the fast path sees the corrected request)."""
    from werkzeug.middleware.proxy_fix import ProxyFix

    if isinstance(app.wsgi_app, ProxyFix):
        app.wsgi_app.app = PortalFastPath(app.wsgi_app.app)
    else:
        app.wsgi_app = PortalFastPath(app.wsgi_app)
