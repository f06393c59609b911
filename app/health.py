"""Liveness and readiness probes for load balancers and operators, and the icon browsers ask for at the root."""
from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from app.extensions import db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """Say the process is up."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    """Say whether the database answers; 503 when it does not."""
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:  # any driver error means "not ready"; the reason goes to the log
        db.session.rollback()
        return jsonify(status="unavailable", database=False), 503
    return jsonify(status="ok", database=True)


@bp.get("/favicon.ico")
def favicon():
    """Serve the site icon where browsers look for it without being told (pages name the SVG one)."""
    response = current_app.send_static_file("favicon.ico")
    response.cache_control.max_age = 7 * 86400
    return response
