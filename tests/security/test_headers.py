"""Security headers and cookie flags on every page of app.url_map, and pages that need no inline script or style."""
from __future__ import annotations

import re

import pytest

from tests.security.conftest import contest_login, paths, rules

TOKEN_PREFIXES = ("/s/", "/d/", "/thi/")
UNSAFE_SOURCES = {"'unsafe-inline'", "'unsafe-eval'", "*", "data:", "http:", "https:"}


def policy(header: str) -> dict[str, set[str]]:
    """Parse a Content-Security-Policy header into {directive: sources}."""
    parsed = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            parsed[words[0].lower()] = set(words[1:])
    return parsed


def header_problems(path: str, response) -> list[str]:
    """Return what is wrong with one response's security headers."""
    headers = response.headers
    problems = []
    csp = policy(headers.get("Content-Security-Policy", ""))
    scripts = csp.get("script-src", csp.get("default-src"))
    if scripts is None:
        problems.append("no CSP source list for scripts")
    elif scripts & UNSAFE_SOURCES:
        problems.append(f"CSP allows unsafe scripts: {sorted(scripts & UNSAFE_SOURCES)}")
    if csp.get("object-src", csp.get("default-src")) not in ({"'none'"},):
        problems.append("CSP does not forbid plugins (object-src 'none')")
    if csp.get("frame-ancestors") != {"'none'"} and headers.get("X-Frame-Options") != "DENY":
        problems.append("page may be framed (no frame-ancestors 'none' nor X-Frame-Options DENY)")
    if headers.get("X-Content-Type-Options") != "nosniff":
        problems.append("no X-Content-Type-Options: nosniff")
    referrer = headers.get("Referrer-Policy")
    if path.startswith(TOKEN_PREFIXES) and referrer != "no-referrer":
        problems.append(f"token page with Referrer-Policy {referrer!r} (must be no-referrer)")
    elif referrer not in ("no-referrer", "same-origin", "strict-origin", "strict-origin-when-cross-origin"):
        problems.append(f"Referrer-Policy {referrer!r}")
    return [f"{path}: {problem}" for problem in problems]


def markup_problems(path: str, html: str) -> list[str]:
    """Return inline scripts, inline styles and event-handler attributes, which the CSP would block."""
    problems = []
    if re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html, re.I):
        problems.append("inline <script>")
    if re.search(r"<style[\s>]", html, re.I) or re.search(r"\sstyle\s*=", html, re.I):
        problems.append("inline style")
    if re.search(r"<[^>]+\son[a-z]+\s*=", html, re.I):
        problems.append("event-handler attribute")
    return [f"{path}: {problem}" for problem in problems]


def cookie_problems(response, secure: bool) -> list[str]:
    """Return the Set-Cookie headers that lack HttpOnly, SameSite or (over HTTPS) Secure (deletions aside)."""
    problems = []
    for cookie in response.headers.getlist("Set-Cookie"):
        flags = cookie.lower()
        if "max-age=0" in flags:
            continue  # an emptied, expired cookie carries nothing
        if "httponly" not in flags or "samesite=" not in flags or (secure and "; secure" not in flags):
            problems.append(f"cookie without its flags: {cookie.split(';')[0].split('=')[0]} → {cookie}")
    return problems


def test_every_page_sends_the_security_headers_and_needs_no_inline_code(app, world, login):
    client = app.test_client()
    login(world.root, on=client)
    contest_login(client, world.a)
    problems, checked = [], 0
    for rule in rules(app, {"GET"}):
        for path in paths(rule, world.a, app):
            response = client.get(path)
            checked += 1
            problems += header_problems(path, response)
            problems += cookie_problems(response, secure=False)
            if response.mimetype == "text/html":
                problems += markup_problems(path, response.get_data(as_text=True))
    for path in ("/khong-co-trang-nay", "/s/sai-ma", "/api/v1/units"):  # error pages and JSON errors too
        response = client.get(path)
        problems += header_problems(path, response)
    assert not problems, "\n".join(problems)
    assert checked >= 40


@pytest.mark.parametrize("path_of", [lambda w: w.a.counter.path, lambda w: w.a.dossier_path,
                                     lambda w: f"/thi/{w.a.contest_slug}"], ids=["survey", "dossier", "contest"])
def test_token_pages_never_leak_their_url_in_a_referer(app, client, world, path_of):
    response = client.get(path_of(world))
    assert response.status_code == 200
    assert response.headers["Referrer-Policy"] == "no-referrer"


def test_over_https_pages_send_hsts_and_every_cookie_is_secure(app, world, login):
    app.config["SESSION_COOKIE_SECURE"] = True
    try:
        client = app.test_client()
        client.environ_base["wsgi.url_scheme"] = "https"
        page = client.get("/quan-tri/dang-nhap?lang=en", base_url="https://hailong.test")
        assert page.headers["Strict-Transport-Security"].startswith("max-age=")
        assert int(re.search(r"max-age=(\d+)", page.headers["Strict-Transport-Security"]).group(1)) >= 15_552_000
        assert page.headers.getlist("Set-Cookie"), "the page set no cookie to check"
        assert not cookie_problems(page, secure=True)
    finally:
        app.config["SESSION_COOKIE_SECURE"] = False
