"""SQLite settings for the embedded default: WAL, foreign keys, a busy timeout."""
from __future__ import annotations

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine


def set_sqlite_pragmas(dbapi_connection, connection_record) -> None:
    """Apply the pragmas on every new SQLite connection."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def init_app(app: Flask) -> None:
    """Hook the pragmas into the engine when the database is SQLite."""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        return
    from app.extensions import db

    with app.app_context():
        engine: Engine = db.engine
        if not event.contains(engine, "connect", set_sqlite_pragmas):
            event.listen(engine, "connect", set_sqlite_pragmas)
