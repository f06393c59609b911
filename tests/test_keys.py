"""Keys rotate without reprinting posters: counter tokens and dossier links have their own key (TOKEN_SECRET_KEY,
default SECRET_KEY) with fallbacks, and sessions accept SECRET_KEY_FALLBACKS."""
from __future__ import annotations

from tests.factories import log_in, separate_app


def test_posters_and_dossier_links_survive_a_rotation_of_both_keys(app, database_url, make):
    counter = make.counter()  # its poster was printed with the test app's key
    dossier = make.dossier_path(counter, "HS-0001")
    old = app.config["SECRET_KEY"]
    rotated = {"SECRET_KEY": "a-new-session-key", "TOKEN_SECRET_KEY": "a-new-token-key",
               "TOKEN_SECRET_KEY_FALLBACKS": [old], "SECRET_KEY_FALLBACKS": [old]}
    with separate_app(database_url, migrate=False, **rotated) as new:
        client = new.test_client()
        assert client.get(counter.path).status_code == 200  # the printed poster still opens the form
        assert client.get(dossier).status_code == 200  # and so does a dossier link already handed out
        from app.units.tokens import counter_token

        with new.app_context():
            from app.extensions import db
            from app.units.models import Counter

            nonce = db.session.get(Counter, counter.id).token_nonce
        fresh = counter_token(nonce, ("a-new-token-key",))
        assert fresh != counter.token and client.get(f"/s/{fresh}").status_code == 200  # new posters: new key
        assert client.get(f"/s/{counter_token(nonce, 'somebody-elses-key')}").status_code == 404
    without = {"SECRET_KEY": "a-new-session-key", "TOKEN_SECRET_KEY": "a-new-token-key"}
    with separate_app(database_url, migrate=False, **without) as forgetful:
        assert forgetful.test_client().get(counter.path).status_code == 404  # what fallbacks are for


def test_keeping_the_token_key_while_the_session_key_rotates_keeps_posters(app, database_url, make):
    counter = make.counter()
    with separate_app(database_url, migrate=False, SECRET_KEY="rotated", TOKEN_SECRET_KEY=app.config["SECRET_KEY"]
                      ) as new:
        assert new.test_client().get(counter.path).status_code == 200


def test_a_session_signed_with_the_previous_key_stays_signed_in(app, database_url, make):
    make.unit("T")
    account = make.organiser("T", role="viewer")
    client = app.test_client()
    assert log_in(client, account.email, account.password).status_code == 303
    cookie = client.get_cookie("session").value
    with separate_app(database_url, migrate=False, SECRET_KEY="rotated",
                      SECRET_KEY_FALLBACKS=[app.config["SECRET_KEY"]]) as new:
        visitor = new.test_client()
        visitor.set_cookie("session", cookie)
        assert visitor.get("/quan-tri/tac-vu").status_code == 200
    with separate_app(database_url, migrate=False, SECRET_KEY="rotated") as new:
        visitor = new.test_client()
        visitor.set_cookie("session", cookie)
        assert visitor.get("/quan-tri/tac-vu").status_code == 302


def test_the_fallbacks_come_from_the_environment_as_comma_separated_lists(tmp_path, monkeypatch):
    from app.config import finish_config, load_environment, token_keys

    monkeypatch.setenv("TOKEN_SECRET_KEY", "current")
    monkeypatch.setenv("TOKEN_SECRET_KEY_FALLBACKS", "older, oldest")
    monkeypatch.setenv("SECRET_KEY_FALLBACKS", "previous")
    config = {"SECRET_KEY": "session-key", "BASE_URL": "http://x", "SQLALCHEMY_DATABASE_URI": "sqlite://"}
    load_environment(config, str(tmp_path))
    finish_config(config, str(tmp_path))
    assert token_keys(config) == ("current", "older", "oldest")
    assert config["SECRET_KEY_FALLBACKS"] == ["previous"]
    assert token_keys({"SECRET_KEY": "k", "TOKEN_SECRET_KEY": "k"}) == ("k",)
