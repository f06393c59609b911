"""Liveness and readiness probes for load balancers and operators, the checks a process runs before it serves, and
the icon browsers ask for at the root.

``/readyz`` answers 200 only when this node can serve: the database answers, its schema is at the migrations' head,
and, when configured, Redis answers and the job queue can be read. Each failure is logged with its reason (the
probe itself says only which check failed). ``startup_problems`` runs the same checks for `app.wsgi` (gunicorn) and
`flask jobs worker`, which refuse to start on a missing database or an old schema instead of answering 503 forever.
"""
from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Flask, current_app, jsonify
from sqlalchemy import text

from app.cache import constants
from app.extensions import db

bp = Blueprint("health", __name__)


@constants.memoise
def schema_head(migrations: str) -> str | None:
    """The newest revision of the migrations shipped with this code (read once per process)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", migrations)
    return ScriptDirectory.from_config(config).get_current_head()


def _migrations(app: Flask) -> str:
    return str(Path(app.root_path).parent / "migrations")


def readiness(app: Flask) -> dict[str, bool]:
    """Run every check that applies; True for each that passed."""
    checks: dict[str, bool] = {}
    try:
        current = db.session.execute(text("SELECT version_num FROM alembic_version")).scalar()
        checks["database"] = True
        checks["schema"] = current == schema_head(_migrations(app))
        if not checks["schema"]:
            current_app.logger.error("readiness: database schema at %s, this code needs %s (run `flask init-db`)", current,
                       schema_head(_migrations(app)))
    except Exception as error:  # any driver error means "not ready"; the reason goes to the log
        db.session.rollback()
        checks["database"] = _database_answers()
        checks["schema"] = False
        current_app.logger.error("readiness: %s", error if checks["database"] else f"database unreachable: {error}")
    finally:
        db.session.rollback()
    if app.config.get("REDIS_URL"):
        checks["redis"] = _redis_answers(app.config["REDIS_URL"])
    queue = app.extensions.get("hailong_jobs")
    if queue is not None:
        try:
            queue.pending()
            checks["queue"] = True
        except Exception as error:
            current_app.logger.error("readiness: job queue (%s) unreadable: %s", queue.store, error)
            checks["queue"] = False
    return checks


def _database_answers() -> bool:
    try:
        db.session.execute(text("SELECT 1"))
        return True
    except Exception:
        db.session.rollback()
        return False


def _redis_answers(url: str) -> bool:
    import redis

    try:
        redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5).ping()
        return True
    except Exception as error:
        current_app.logger.error("readiness: Redis at %s unreachable (rate limits fall back to this process, caches to their "
                   "lifetime, jobs cannot be queued): %s", url.rsplit("@", 1)[-1], error)
        return False


def startup_problems(app: Flask) -> list[str]:
    """What stops this process from serving correctly, in words for the operator (empty: start)."""
    with app.app_context():
        checks = readiness(app)
    problems = []
    if not checks["database"]:
        problems.append("không kết nối được cơ sở dữ liệu (DATABASE_URL): kiểm tra địa chỉ, tài khoản và máy chủ "
                        "PostgreSQL (database unreachable)")
    elif not checks["schema"]:
        problems.append("cơ sở dữ liệu chưa ở phiên bản mới nhất: chạy `flask --app app init-db` một lần "
                        "(schema not at head)")
    if checks.get("redis") is False:
        problems.append("không kết nối được Redis (REDIS_URL) (Redis unreachable)")
    return problems


@bp.get("/healthz")
def healthz():
    """Say the process is up."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    """Say whether this node can serve (database, schema at head, Redis and the queue); 503 when it cannot."""
    checks = readiness(current_app)
    ready = all(checks.values())
    return jsonify(status="ok" if ready else "unavailable", **checks), 200 if ready else 503


@bp.get("/favicon.ico")
def favicon():
    """Serve the site icon where browsers look for it without being told (pages name the SVG one)."""
    response = current_app.send_static_file("favicon.ico")
    response.cache_control.max_age = 7 * 86400
    return response
