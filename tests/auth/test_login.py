"""Organiser sign-in through HTTP: credentials, lockout, rate limits, session renewal and invalidation, cookies."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from tests.factories import csrf_from, log_in

AREA = "/quan-tri/don-vi"


def account_row(app, account_id: int):
    from app.auth.models import Organiser
    from app.extensions import db

    with app.app_context():
        return db.session.execute(
            sa.select(Organiser.failed_logins, Organiser.locked_until, Organiser.session_version)
            .where(Organiser.id == account_id)
        ).one()


def audit_actions(app) -> list[str]:
    from app.auth.models import AuditEntry
    from app.extensions import db

    with app.app_context():
        return list(db.session.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.id)))


def session_cookie(client) -> str | None:
    cookie = client.get_cookie("session")
    return cookie.value if cookie else None


def test_login_page_is_vietnamese_and_offers_no_remember_me(client):
    html = client.get("/quan-tri/dang-nhap").get_data(as_text=True)
    assert "Đăng nhập khu vực quản trị" in html
    assert 'name="csrf_token"' in html
    assert "remember" not in html.lower() and "ghi nhớ" not in html.lower()


def test_anonymous_visitor_is_sent_to_login_with_a_vietnamese_notice(client):
    response = client.get(AREA)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/quan-tri/dang-nhap?next=")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Vui lòng đăng nhập để vào khu vực quản trị." in page


def test_the_login_notice_is_in_the_visitors_language(client, english):
    # The notice is flashed (kept in the session) as plain text in the language of the request that was turned away.
    response = client.get(f"{AREA}?lang=en")
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Please sign in to access the administration area." in page
    assert "Vui lòng đăng nhập" not in page


def test_correct_credentials_open_the_organiser_area_and_are_logged(app, client, make):
    account = make.organiser()
    response = log_in(client, account.email.upper(), account.password)
    assert response.status_code == 303
    assert client.get(AREA).status_code == 200
    assert audit_actions(app) == ["login.success"]


def test_next_parameter_never_leaves_the_organiser_area(client, make):
    account = make.organiser()
    token = csrf_from(client.get("/quan-tri/dang-nhap").get_data(as_text=True))
    response = client.post("/quan-tri/dang-nhap?next=https://evil.example/quan-tri",
                           data={"csrf_token": token, "email": account.email, "password": account.password})
    assert response.status_code == 303
    assert response.headers["Location"] == "/quan-tri/"


def test_wrong_password_is_refused_in_vietnamese_and_counted(app, client, make):
    account = make.organiser()
    response = log_in(client, account.email, "sai-mat-khau-hoan-toan")
    assert response.status_code == 401
    assert "Email hoặc mật khẩu không đúng." in response.get_data(as_text=True)
    assert account_row(app, account.id).failed_logins == 1
    assert client.get(AREA).status_code == 302
    assert audit_actions(app) == ["login.failure"]


def test_unknown_email_gets_the_same_answer_as_a_wrong_password(app, client, make):
    make.organiser()
    response = log_in(client, "khong-ton-tai@thu.gov.vn", "mat-khau-bat-ky-123")
    assert response.status_code == 401
    assert "Email hoặc mật khẩu không đúng." in response.get_data(as_text=True)
    assert audit_actions(app) == ["login.failure"]


def test_five_failures_lock_the_account_and_say_until_when_in_vietnam_time(app, client, make):
    account = make.organiser()
    before = dt.datetime.now(dt.timezone.utc)
    responses = [log_in(client, account.email, f"sai-mat-khau-lan-{n}") for n in range(5)]
    assert [r.status_code for r in responses] == [401, 401, 401, 401, 429]
    locked_until = account_row(app, account.id).locked_until
    assert dt.timedelta(minutes=14, seconds=55) < locked_until - before < dt.timedelta(minutes=15, seconds=30)
    local = locked_until.astimezone(ZoneInfo("Asia/Ho_Chi_Minh"))
    message = responses[-1].get_data(as_text=True)
    assert "Tài khoản tạm khoá do đăng nhập sai nhiều lần" in message
    assert f"{local:%H:%M} ngày {local:%d/%m/%Y}" in message
    assert "login.lockout" in audit_actions(app)


def test_locked_account_refuses_even_the_right_password_until_the_lock_ends(app, client, make):
    from app.auth.models import Organiser
    from app.extensions import db

    account = make.organiser()
    for n in range(5):
        log_in(client, account.email, f"sai-mat-khau-lan-{n}")
    assert log_in(client, account.email, account.password).status_code == 429
    assert client.get(AREA).status_code == 302
    with app.app_context():
        db.session.get(Organiser, account.id).locked_until = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)
        db.session.commit()
    assert log_in(client, account.email, account.password).status_code == 303
    assert account_row(app, account.id).failed_logins == 0


def test_login_attempts_are_rate_limited_per_address(client, make):
    make.organiser()
    statuses = [log_in(client, f"nguoi{n}@thu.gov.vn", "mat-khau-bat-ky-123").status_code for n in range(11)]
    assert statuses[:10] == [401] * 10
    assert statuses[10] == 429


def test_login_attempts_are_rate_limited_per_email_across_addresses(app):
    statuses = []
    for n in range(11):
        visitor = app.test_client()
        visitor.environ_base["REMOTE_ADDR"] = f"10.0.0.{n + 1}"
        statuses.append(log_in(visitor, "muc-tieu@thu.gov.vn", "mat-khau-bat-ky-123").status_code)
    assert statuses[:10] == [401] * 10
    assert statuses[10] == 429


def test_session_is_renewed_at_login_so_a_planted_cookie_stays_anonymous(app, client, make):
    account = make.organiser()
    client.get("/quan-tri/dang-nhap")
    planted = session_cookie(client)
    assert planted
    log_in(client, account.email, account.password)
    assert session_cookie(client) not in (None, planted)
    attacker = app.test_client()
    attacker.set_cookie("session", planted)
    assert attacker.get(AREA).status_code == 302


def test_logout_makes_a_copied_session_cookie_useless(app, client, make, login):
    account = make.organiser()
    login(account)
    copy = app.test_client()
    copy.set_cookie("session", session_cookie(client))
    assert copy.get(AREA).status_code == 200
    token = csrf_from(client.get(AREA).get_data(as_text=True))
    response = client.post("/quan-tri/dang-xuat", data={"csrf_token": token})
    assert response.status_code == 303
    assert client.get(AREA).status_code == 302
    assert copy.get(AREA).status_code == 302
    assert audit_actions(app)[-1] == "logout"


def test_logout_is_only_a_post(client, make, login):
    login(make.organiser())
    assert client.get("/quan-tri/dang-xuat").status_code == 405
    assert client.get(AREA).status_code == 200


def change_password(client, current: str, new: str):
    token = csrf_from(client.get("/quan-tri/doi-mat-khau").get_data(as_text=True))
    return client.post("/quan-tri/doi-mat-khau", data={"csrf_token": token, "current_password": current,
                                                       "new_password": new, "confirm_password": new})


def test_password_change_ends_other_sessions_but_keeps_this_one(app, client, make, login):
    account = make.organiser()
    other = login(account, app.test_client())
    login(account)
    response = change_password(client, account.password, "mot-mat-khau-moi-rat-dai")
    assert response.status_code == 303
    assert client.get(AREA).status_code == 200
    assert other.get(AREA).status_code == 302
    assert log_in(app.test_client(), account.email, account.password).status_code == 401
    assert log_in(app.test_client(), account.email, "mot-mat-khau-moi-rat-dai").status_code == 303
    assert "password.change" in audit_actions(app)


def test_password_change_requires_the_current_password(app, client, make, login):
    account = make.organiser()
    login(account)
    version = account_row(app, account.id).session_version
    response = change_password(client, "khong-phai-mat-khau-cu", "mot-mat-khau-moi-rat-dai")
    assert response.status_code == 400
    assert "Mật khẩu hiện tại không đúng." in response.get_data(as_text=True)
    assert account_row(app, account.id).session_version == version


def test_password_change_rejects_a_short_password(client, make, login):
    account = make.organiser()
    login(account)
    response = change_password(client, account.password, "ngan")
    assert response.status_code == 400
    assert "ít nhất 12 ký tự" in response.get_data(as_text=True)


def test_session_ends_after_its_absolute_lifetime_even_when_active(app, client, make, login):
    login(make.organiser())
    with client.session_transaction() as session:
        session["auth_at"] -= app.config["AUTH_SESSION_MAX_SECONDS"] + 1
    assert client.get(AREA).status_code == 302


def test_session_ends_after_inactivity_and_activity_keeps_it(app, client, make, login):
    login(make.organiser())
    idle = app.config["AUTH_SESSION_IDLE_SECONDS"]
    with client.session_transaction() as session:
        session["auth_at"] -= idle - 30
        session["auth_seen"] -= idle - 30
    assert client.get(AREA).status_code == 200  # still active, and seen again now
    with client.session_transaction() as session:
        session["auth_seen"] -= 60
    assert client.get(AREA).status_code == 200
    with client.session_transaction() as session:
        session["auth_seen"] -= idle + 1
    assert client.get(AREA).status_code == 302


def test_session_cookie_is_httponly_and_samesite_lax(client, make, login):
    account = make.organiser()
    response = log_in(client, account.email, account.password)
    header = next(value for value in response.headers.getlist("Set-Cookie") if value.startswith("session="))
    assert "HttpOnly" in header and "SameSite=Lax" in header
    assert "Secure" not in header  # BASE_URL is http in tests


def test_session_cookie_is_secure_when_the_site_is_https(app, make, database_url):
    from app import create_app

    account = make.organiser()
    secure_app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "k" * 32,
                             "BASE_URL": "https://hailong.example"})
    assert secure_app.config["SESSION_COOKIE_SECURE"] and secure_app.config["REMEMBER_COOKIE_SECURE"]
    client = secure_app.test_client()
    response = log_in(client, account.email, account.password)
    assert response.status_code == 303
    header = next(value for value in response.headers.getlist("Set-Cookie") if value.startswith("session="))
    assert "Secure" in header and "HttpOnly" in header and "SameSite=Lax" in header


@pytest.mark.parametrize("role", ["viewer", "organiser", "administrator"])
def test_deactivated_account_cannot_sign_in(app, client, make, role):
    from app.auth.models import Organiser
    from app.extensions import db

    account = make.organiser(role=role)
    with app.app_context():
        db.session.get(Organiser, account.id).is_active_account = False
        db.session.commit()
    response = log_in(client, account.email, account.password)
    assert response.status_code == 401
    assert "đã bị vô hiệu hoá" in response.get_data(as_text=True)


def test_passwords_are_stored_as_scrypt_with_the_production_work_factor_by_default(app, make):
    from app.auth.models import Organiser
    from app.auth.services import create_organiser
    from app.config import Config
    from app.database import utcnow
    from app.extensions import db
    from app.units.models import Unit

    unit_id = make.unit()
    with app.app_context():
        account = create_organiser("manh@thu.gov.vn", "Mạnh", db.session.get(Unit, unit_id), "viewer",
                                   "mat-khau-that-su-dai", utcnow())
        db.session.commit()
        stored = db.session.get(Organiser, account.id).password_hash
    assert Config.AUTH_PASSWORD_METHOD == "scrypt"
    assert stored.startswith("scrypt:32768:8:1$") and "mat-khau-that-su-dai" not in stored


def test_a_session_cookie_replayed_from_another_browser_is_not_signed_in(app, client, make, login):
    login(make.organiser())
    thief = app.test_client()
    thief.environ_base["HTTP_USER_AGENT"] = "Trình duyệt khác/1.0"
    thief.set_cookie("session", session_cookie(client))
    assert thief.get(AREA).status_code == 302
