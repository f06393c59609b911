"""The app factory: configuration layers, the instance secret key, health probes, security headers, language."""
from __future__ import annotations

import os
import re
import stat

import pytest
from flask import Flask

from tests.factories import separate_app

CONTRACT_VARIABLES = ("DATABASE_URL", "SECRET_KEY", "REDIS_URL", "BASE_URL", "TIMEZONE", "TRUSTED_PROXIES")


@pytest.fixture
def instance(tmp_path, monkeypatch):
    """Point new apps at an empty instance/ folder and clear the contract's environment variables."""
    folder = tmp_path / "instance"
    folder.mkdir()
    monkeypatch.setattr(Flask, "auto_find_instance_path", lambda self: str(folder))
    for name in CONTRACT_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name in [name for name in os.environ if name.startswith("HAILONG_")]:
        monkeypatch.delenv(name)
    return folder


def configured(**overrides) -> dict:
    """Return the configuration of an app built now (no test mapping beyond `overrides`)."""
    with separate_app(None, migrate=False, **overrides) as app:
        return dict(app.config)


# --- configuration layers -------------------------------------------------------------------------------------------


def test_defaults_apply_when_nothing_is_configured(instance):
    from app import create_app

    config = create_app().config
    assert config["BASE_URL"] == "http://127.0.0.1:5000"
    assert config["TIMEZONE"] == "Asia/Ho_Chi_Minh"
    assert config["TRUSTED_PROXIES"] == 0
    assert config["BABEL_DEFAULT_LOCALE"] == "vi"
    assert config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{instance / 'hailong.db'}"
    # Rate limits: a SQLite file beside the database, shared by every worker of the server (issue 17).
    assert config["RATELIMIT_STORAGE_URI"] == f"sqlite:///{instance / 'hailong.db'}.ratelimit"
    assert config["SESSION_COOKIE_SECURE"] is False


def test_instance_config_overrides_defaults_and_the_environment_overrides_both(instance, monkeypatch):
    (instance / "config.py").write_text('BASE_URL = "https://instance.example"\nTIMEZONE = "Asia/Bangkok"\n'
                                        'SURVEY_RATE_LIMIT = "9 per minute"\n', encoding="utf-8")
    from app import create_app

    config = create_app().config
    assert (config["BASE_URL"], config["TIMEZONE"], config["SURVEY_RATE_LIMIT"]) == (
        "https://instance.example", "Asia/Bangkok", "9 per minute")
    assert config["SESSION_COOKIE_SECURE"] is True  # derived from the https BASE_URL
    monkeypatch.setenv("BASE_URL", "https://env.example/")
    monkeypatch.setenv("TRUSTED_PROXIES", "2")
    monkeypatch.setenv("DATABASE_URL", "sqlite:////var/lib/hailong/env.db")
    monkeypatch.setenv("SECRET_KEY", "shared-by-every-node")  # required outside the embedded default
    config = create_app().config
    assert config["BASE_URL"] == "https://env.example"  # trailing slash removed: URLs are joined with "/s/…"
    assert config["TRUSTED_PROXIES"] == 2
    assert config["SQLALCHEMY_DATABASE_URI"] == "sqlite:////var/lib/hailong/env.db"
    assert config["TIMEZONE"] == "Asia/Bangkok"  # not set in the environment: the instance value stays


def test_the_callers_mapping_overrides_the_environment(instance, monkeypatch):
    from app import create_app

    monkeypatch.setenv("BASE_URL", "https://env.example")
    monkeypatch.setenv("SECRET_KEY", "from-the-environment")
    config = create_app({"BASE_URL": "http://mapping.test", "SECRET_KEY": "from-the-mapping"}).config
    assert (config["BASE_URL"], config["SECRET_KEY"]) == ("http://mapping.test", "from-the-mapping")
    assert create_app().config["SECRET_KEY"] == "from-the-environment"


@pytest.mark.parametrize("url, expected", [
    ("postgres://u:p@db.example:5432/hailong", "postgresql+psycopg://u:p@db.example:5432/hailong"),
    ("postgresql://u@db/hailong", "postgresql+psycopg://u@db/hailong"),
    ("postgresql+psycopg://u@db/hailong", "postgresql+psycopg://u@db/hailong"),
    ("sqlite:////tmp/x.db", "sqlite:////tmp/x.db"),
])
def test_database_url_from_the_environment_uses_psycopg_3(instance, monkeypatch, url, expected):
    from app import create_app

    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("SECRET_KEY", "shared-by-every-node")
    config = create_app().config
    assert config["SQLALCHEMY_DATABASE_URI"] == expected


def test_redis_url_makes_rate_limits_shared(instance, monkeypatch):
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/15")
    assert configured()["RATELIMIT_STORAGE_URI"] == "redis://127.0.0.1:6379/15"


def test_trusted_proxies_from_the_environment_wraps_the_app_in_proxyfix(instance, monkeypatch):
    from werkzeug.middleware.proxy_fix import ProxyFix

    from app import create_app

    assert not isinstance(create_app().wsgi_app, ProxyFix)
    monkeypatch.setenv("TRUSTED_PROXIES", "2")
    wrapped = create_app().wsgi_app
    assert isinstance(wrapped, ProxyFix) and wrapped.x_for == 2


def test_a_trusted_proxies_value_that_is_not_a_number_is_a_clear_startup_error(instance, monkeypatch):
    from app import create_app

    monkeypatch.setenv("TRUSTED_PROXIES", "two")
    with pytest.raises(ValueError, match="TRUSTED_PROXIES"):
        create_app()


def test_the_secret_key_is_generated_once_into_the_instance_folder_and_reused(instance):
    from app import create_app

    first = create_app().config["SECRET_KEY"]
    key_file = instance / "secret_key"
    assert key_file.read_text().strip() == first and len(first) >= 40
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert create_app().config["SECRET_KEY"] == first
    assert [path.name for path in instance.iterdir()] == ["secret_key"]  # no leftover drafts


def test_workers_starting_together_agree_on_one_secret_key(instance):
    import threading

    from app.config import instance_secret_key

    keys: list[str] = []
    barrier = threading.Barrier(8)

    def start() -> None:
        barrier.wait()
        keys.append(instance_secret_key(str(instance)))

    threads = [threading.Thread(target=start) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(keys) == 8 and len(set(keys)) == 1
    assert [path.name for path in instance.iterdir()] == ["secret_key"]


def test_an_empty_secret_key_variable_does_not_count_as_a_key(instance, monkeypatch):
    from app import create_app

    monkeypatch.setenv("SECRET_KEY", "")
    assert create_app().config["SECRET_KEY"] == (instance / "secret_key").read_text().strip()


@pytest.mark.parametrize("url", ["postgresql://u@db/hailong", "sqlite:////var/lib/hailong/other.db"])
def test_outside_the_embedded_default_a_generated_key_stops_the_process(instance, monkeypatch, url):
    from app import create_app
    from app.config import ConfigurationError

    monkeypatch.setenv("DATABASE_URL", url)
    with pytest.raises(ConfigurationError, match="SECRET_KEY chưa được đặt.*biến môi trường SECRET_KEY"):
        create_app()
    assert not (instance / "secret_key").exists()  # nothing generated that one node would use alone
    (instance / "config.py").write_text('SECRET_KEY = "from-the-instance-file"\n', encoding="utf-8")
    assert create_app().config["SECRET_KEY"] == "from-the-instance-file"


def test_creating_the_app_does_no_database_work(instance, monkeypatch):
    from app import create_app

    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    monkeypatch.setenv("SECRET_KEY", "shared-by-every-node")
    app = create_app()  # would raise if it tried to connect
    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql+psycopg://")


# --- probes ---------------------------------------------------------------------------------------------------------


def test_healthz_says_the_process_is_up(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json == {"status": "ok"}


def test_readyz_says_the_database_answers_at_the_schema_head_and_the_queue_is_readable(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": True, "schema": True, "queue": True}


def test_readyz_is_503_when_the_database_is_unreachable():
    with separate_app("postgresql+psycopg://nobody@127.0.0.1:1/none", migrate=False) as app:
        client = app.test_client()
        response = client.get("/readyz")
        assert response.status_code == 503
        assert (response.json["status"], response.json["database"], response.json["schema"]) == (
            "unavailable", False, False)
        assert client.get("/healthz").status_code == 200
        from app.health import startup_problems

        assert ["không kết nối được cơ sở dữ liệu" in problem for problem in startup_problems(app)] == [True]


def test_readyz_is_503_and_the_process_would_not_start_on_a_database_without_the_schema(tmp_path):
    from app.health import startup_problems

    with separate_app(f"sqlite:///{tmp_path / 'empty.db'}", migrate=False) as app:
        response = app.test_client().get("/readyz")
        assert response.status_code == 503 and response.json["database"] is True and response.json["schema"] is False
        assert "flask --app app init-db" in startup_problems(app)[0]


def test_readyz_is_503_with_a_clear_log_when_redis_is_down(app, database_url, caplog, monkeypatch):
    import logging

    from app.cache import caches
    from app.health import startup_problems

    # Alembic's logging set-up (the migrations this run applied) disables loggers created before it: not in a server.
    monkeypatch.setattr(logging.getLogger("app"), "disabled", False)

    try:
        with separate_app(database_url, migrate=False, REDIS_URL="redis://127.0.0.1:1/0") as app:
            response = app.test_client().get("/readyz")
            assert response.status_code == 503
            assert (response.json["redis"], response.json["queue"]) == (False, False)
            assert "127.0.0.1:1/0 unreachable (rate limits fall back to this process" in caplog.text
            assert any("Redis" in problem for problem in startup_problems(app))
    finally:
        caches.connect(None)


def test_a_page_that_needs_the_database_explains_the_outage_with_503():
    with separate_app("postgresql+psycopg://nobody@127.0.0.1:1/none", migrate=False) as app:
        response = app.test_client().get("/s/aaaaaaaaaa-bbbbbbbb")
        assert response.status_code == 404  # a badly signed token is refused before any query
        from app.units.tokens import counter_token

        token = counter_token("aaaaaaaaaa", app.config["SECRET_KEY"])
        response = app.test_client().get(f"/s/{token}")
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "30"
        assert "Hệ thống đang tạm thời gián đoạn." in response.get_data(as_text=True)


# --- security headers and language ----------------------------------------------------------------------------------


def test_every_page_gets_a_strict_content_security_policy_and_no_sniffing(client, make):
    counter = make.counter()
    for path in ("/healthz", counter.path, "/khong-co-trang-nay"):
        headers = client.get(path).headers
        policy = headers["Content-Security-Policy"]
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
        assert re.search(r"(^|; )frame-ancestors 'none'(;|$)", policy)
        assert re.search(r"(^|; )script-src 'self'(;|$)", policy)
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"


def test_token_pages_send_no_referrer_and_others_same_origin(client, make):
    counter = make.counter()
    dossier = make.dossier_path(counter)
    for path in (counter.path, f"{counter.path}/cam-on", dossier, "/s/bad-token", "/d/bad-token"):
        assert client.get(path).headers["Referrer-Policy"] == "no-referrer", path
    assert client.get("/healthz").headers["Referrer-Policy"] == "same-origin"


def test_pages_are_vietnamese_by_default_and_english_on_request(client, make):
    counter = make.counter()
    assert '<html lang="vi">' in client.get(counter.path).get_data(as_text=True)
    assert '<html lang="vi">' in client.get(counter.path, headers={"Accept-Language": "fr, de"}).get_data(as_text=True)
    english = client.get(counter.path, headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert '<html lang="en">' in english.get_data(as_text=True)
    chosen = client.get(f"{counter.path}?lang=en")
    assert '<html lang="en">' in chosen.get_data(as_text=True)
    assert '<html lang="en">' in client.get(counter.path).get_data(as_text=True)  # the choice is remembered
    assert '<html lang="vi">' in client.get(f"{counter.path}?lang=vi").get_data(as_text=True)


def test_the_cached_form_is_kept_apart_per_language(client, make):
    counter = make.counter()
    vietnamese = client.get(counter.path).get_data(as_text=True)
    english = client.get(counter.path, headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Nơi ngồi chờ có đủ chỗ ngồi" in vietnamese
    assert "There are enough seats in the waiting area" in english
    assert "There are enough seats" not in client.get(counter.path).get_data(as_text=True)
