"""The contest participant's session cookie: flags, scope, tampering and fixation (organisers' sessions are tested
in tests/auth/test_login.py)."""
from __future__ import annotations

from tests.factories import csrf_from

COOKIE = "thi_phien"


def sign_in(client, world, base_url: str = "http://localhost"):
    path = f"/thi/{world.a.contest_slug}/dang-nhap"
    token = csrf_from(client.get(path, base_url=base_url).get_data(as_text=True))
    # Over HTTPS Flask-WTF also checks that the Referer is this site.
    return client.post(path, base_url=base_url, headers={"Referer": base_url + path},
                       data={"csrf_token": token, "phone": world.a.phone, "password": world.a.participant_password})


def participant_cookie(response) -> str:
    return next(value for value in response.headers.getlist("Set-Cookie") if value.startswith(COOKIE + "="))


def test_the_participant_cookie_is_httponly_lax_and_scoped_to_its_contest(app, client, world):
    cookie = participant_cookie(sign_in(client, world)).lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    assert f"path=/thi/{world.a.contest_slug}" in cookie
    assert "; secure" not in cookie  # plain HTTP in tests; the next test covers HTTPS


def test_over_https_the_participant_cookie_is_secure(app, world, monkeypatch):
    monkeypatch.setitem(app.config, "SESSION_COOKIE_SECURE", True)
    client = app.test_client()
    response = sign_in(client, world, base_url="https://hailong.test")
    assert "; secure" in participant_cookie(response).lower()


def test_a_tampered_or_planted_participant_cookie_is_anonymous_and_login_replaces_it(app, client, world):
    home = f"/thi/{world.a.contest_slug}"
    planted = "eyJwIjoyLCJjIjoxLCJ2IjoxfQ.forged.signature"
    client.set_cookie(COOKIE, planted, path=home)
    page = client.get(home).get_data(as_text=True)
    assert "Đăng nhập" in page and "Đăng xuất" not in page
    issued = participant_cookie(sign_in(client, world)).split(";")[0].split("=", 1)[1]
    assert issued != planted
    assert "Đăng xuất" in client.get(home).get_data(as_text=True)
