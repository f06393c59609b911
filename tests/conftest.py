"""Fixtures: one migrated database per run (SQLite file, or PostgreSQL with --db postgresql), emptied after
each test; the app, its test client and CLI runner; fixture-factories for units, counters and instruments."""
from __future__ import annotations

import os
import uuid

import pytest
import sqlalchemy as sa

from tests.factories import Factories

STRICT = os.environ.get("STRICT") == "1"
POSTGRES_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--db", choices=("sqlite", "postgresql"), default="sqlite",
                     help="database backend for the suites that need one")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test that uses the app as a database test (the PostgreSQL pass runs only those)."""
    for item in items:
        if "app" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.database)


def unavailable(reason: str) -> None:
    """Skip a suite whose service is missing; under STRICT=1 (CI) that is a failure."""
    if STRICT:
        pytest.fail(f"STRICT=1: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """Yield the URL of an empty database for this run, and drop it afterwards."""
    if request.config.getoption("--db") == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
        return
    name = f"hailong_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as error:
        unavailable(f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL}: {error.orig}")
    yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def app_session(database_url: str, tmp_path_factory: pytest.TempPathFactory):
    """Create the app once and migrate its database with the real Alembic migrations."""
    from flask_migrate import upgrade

    from app import create_app

    app = create_app({
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SECRET_KEY": "test-secret-key-not-for-production",
        "BASE_URL": "http://hailong.test",
        "SURVEY_RATE_LIMIT": "1000 per minute",
        # Organiser passwords: still scrypt, with a smaller work factor so that sign-ins do not dominate the run.
        "AUTH_PASSWORD_METHOD": "scrypt:1024:8:1",
        # Jobs run in the test's process when their request commits (tests/test_jobs.py runs real workers).
        "JOBS_IMMEDIATE": True,
        "JOBS_DIR": str(tmp_path_factory.mktemp("jobs")),
        # PAKN attachments: a folder of this run, not the worktree's instance/.
        "FEEDBACK_STORAGE": str(tmp_path_factory.mktemp("feedback-files")),
    })
    with app.app_context():
        upgrade()
    from app.extensions import limiter
    from tests.factories import BrowserLikeClient

    app.test_client_class = BrowserLikeClient
    app.extensions["hailong_limiter_state"] = (limiter._storage, limiter._limiter)
    return app


@pytest.fixture
def app(app_session):
    """Yield the app; afterwards empty every table and forget every cache and rate-limit counter."""
    from app.extensions import limiter

    # The limiter is process-wide: an app built by another test (create_app) pointed it at its own store, which
    # may be gone with that test's folder. Counting starts again in the shared app's store.
    limiter._storage, limiter._limiter = app_session.extensions["hailong_limiter_state"]
    limiter._storage_dead = False
    yield app_session
    from app.cache import caches
    from app.extensions import db, limiter

    with app_session.app_context():
        db.session.rollback()
        for table in reversed(db.metadata.sorted_tables):
            db.session.execute(table.delete())
        db.session.commit()
    caches.clear()
    limiter.reset()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def make(app) -> Factories:
    """Fixture-factories: make.unit(), make.counter(), make.instruments() … with overridable defaults."""
    return Factories(app)


@pytest.fixture
def login(client):
    """Sign an organiser (an OrganiserInfo from make.organiser) in on a client (the default one unless given)."""
    from tests.factories import log_in

    def sign_in(account, on=None):
        response = log_in(on or client, account.email, account.password)
        assert response.status_code == 303, response.get_data(as_text=True)
        return on or client

    return sign_in


@pytest.fixture
def english(app, tmp_path, monkeypatch) -> None:
    """Serve the committed English catalogue, compiled here (the .mo files are build output, not in git)."""
    from pathlib import Path

    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po
    from flask_babel import get_babel

    from app.extensions import babel

    source = Path(__file__).resolve().parent.parent / "app" / "translations" / "en" / "LC_MESSAGES" / "messages.po"
    compiled = tmp_path / "translations" / "en" / "LC_MESSAGES" / "messages.mo"
    compiled.parent.mkdir(parents=True)
    with source.open("rb") as stream:
        catalogue = read_po(stream, locale="en")
    with compiled.open("wb") as stream:
        write_mo(stream, catalogue)
    with app.app_context():
        domain = babel.domain_instance
    monkeypatch.setattr(get_babel(app), "translation_directories", [str(compiled.parents[2])])
    monkeypatch.setattr(domain, "cache", {})
