"""The database goes away: probes say so, citizens get a friendly retry page, and nothing is lost silently."""
from __future__ import annotations

import contextlib

import pytest
import sqlalchemy as sa

from tests.factories import count_responses, full_answers

RETRY_MESSAGE = "Hệ thống đang tạm thời gián đoạn. Vui lòng thử lại sau ít phút"


@contextlib.contextmanager
def database_down(app):
    """Make every new database connection fail, as when the server is stopped or the file unreachable."""
    from app.extensions import db

    with app.app_context():
        engine = db.engine

    def refuse(dialect, connection_record, cargs, cparams):
        raise dialect.loaded_dbapi.OperationalError("connection refused (simulated outage)")

    sa.event.listen(engine, "do_connect", refuse)
    engine.dispose()  # pooled connections would hide the outage
    try:
        yield
    finally:
        sa.event.remove(engine, "do_connect", refuse)
        engine.dispose()


def test_readyz_fails_while_the_database_is_down_and_recovers_after(app, client):
    assert client.get("/readyz").status_code == 200
    with database_down(app):
        down = client.get("/readyz")
        assert client.get("/healthz").status_code == 200
    assert down.status_code == 503
    assert down.get_json()["database"] is False
    assert client.get("/readyz").status_code == 200


def test_survey_page_shows_a_vietnamese_retry_message_during_an_outage(app, client, make):
    counter = make.counter()
    with database_down(app):
        page = client.get(counter.path)
    assert page.status_code == 503
    assert RETRY_MESSAGE in page.get_data(as_text=True)
    assert page.headers["Retry-After"]
    assert page.headers["Content-Type"].startswith("text/html")


def test_submission_during_an_outage_gets_503_not_thanks_and_succeeds_on_retry(app, client, make):
    counter = make.counter()
    data = full_answers(client.get(counter.path).get_data(as_text=True))
    with database_down(app):
        refused = client.post(counter.path, data=data)
    assert refused.status_code == 503
    assert "cam-on" not in refused.headers.get("Location", "")
    assert RETRY_MESSAGE in refused.get_data(as_text=True)
    assert count_responses(app) == 0

    retried = client.post(counter.path, data=data)  # the same form, sent again once the database is back
    assert retried.status_code == 303 and retried.headers["Location"].endswith("/cam-on")
    assert count_responses(app) == 1


def _drop_pooled_connections(app) -> None:
    """End every server process of the app's database, as a PostgreSQL restart does to idle pooled connections."""
    url = sa.engine.make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    admin = sa.create_engine(url, poolclass=sa.pool.NullPool, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        ended = connection.execute(sa.text(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()")).scalar_one()
    admin.dispose()
    assert ended >= 1  # the app had a connection in its pool


def test_connections_dropped_by_a_server_restart_are_replaced_after_an_idle_spell(app, client, make, monkeypatch):
    from app import engine

    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("SQLite has no server to restart")
    counter = make.counter()
    form = client.get(counter.path).get_data(as_text=True)

    # Without the idle check (a connection used a moment ago), a dead connection costs one request its answer …
    monkeypatch.setattr(engine, "IDLE_PING_SECONDS", 3600.0)
    _drop_pooled_connections(app)
    assert client.post(counter.path, data=full_answers(form)).status_code == 503
    assert count_responses(app) == 0

    # … with it (every connection has now been idle long enough), the dead one is replaced before it serves.
    client.get(counter.path)
    monkeypatch.setattr(engine, "IDLE_PING_SECONDS", 0.0)
    _drop_pooled_connections(app)
    assert client.post(counter.path, data=full_answers(form)).status_code == 303
    assert count_responses(app) == 1
