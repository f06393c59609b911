"""Connections per backend: SQLite pragmas, idle checks for PostgreSQL, and connections outside a transaction."""
from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

from flask import Flask
from sqlalchemy import event, exc
from sqlalchemy.engine import Connection, Engine

from app.extensions import db

#: A pooled PostgreSQL connection left unused for longer than this is pinged before it is handed out. A restarted
#: server leaves dead connections in the pool; pinging at every checkout (pool_pre_ping) would instead add two round
#: trips (BEGIN and the ping) to every request. A connection busy more recently than this is known to be alive.
IDLE_PING_SECONDS = 10.0


def set_sqlite_pragmas(dbapi_connection, connection_record) -> None:
    """Apply the pragmas on every new SQLite connection."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def note_checkin(dbapi_connection, connection_record) -> None:
    """Remember when a connection went back to the pool."""
    connection_record.info["idle_since"] = time.monotonic()


def ping_if_idle(dbapi_connection, connection_record, connection_proxy) -> None:
    """Check a connection that sat idle in the pool; a dead one is replaced (the pool retries the checkout)."""
    idle_since = connection_record.info.get("idle_since")
    if idle_since is None or time.monotonic() - idle_since < IDLE_PING_SECONDS:
        return
    try:
        cursor = dbapi_connection.cursor()
        cursor.execute(";")
        cursor.close()
        dbapi_connection.rollback()  # the ping opened a transaction; the request begins its own
    except Exception as error:  # any failure means the connection cannot serve: let the pool open a new one
        raise exc.DisconnectionError(f"idle connection failed its ping: {error}") from error


@contextlib.contextmanager
def single_statement_connection() -> Iterator[Connection]:
    """A connection for work that needs no transaction of its own: reads, or one write statement (atomic by itself).

    Inside the session's open transaction, that transaction's connection: the work joins it. Otherwise a pooled
    connection in autocommit mode, outside the ORM session, so each statement is its own transaction: as durable as
    BEGIN; statement; COMMIT without those two round trips, and without the session's bookkeeping.
    """
    session = db.session()
    if session.in_transaction():
        yield session.connection()
        return
    with db.engine.connect() as connection:
        yield connection.execution_options(isolation_level="AUTOCOMMIT")


def init_app(app: Flask) -> None:
    """Hook the backend's settings into the engine."""
    with app.app_context():
        engine: Engine = db.engine
    hooks = ([("connect", set_sqlite_pragmas)] if engine.dialect.name == "sqlite"
             else [("checkin", note_checkin), ("checkout", ping_if_idle)])
    for name, hook in hooks:
        if not event.contains(engine, name, hook):
            event.listen(engine, name, hook)
