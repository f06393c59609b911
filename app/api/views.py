"""JSON API v1: bearer-token authentication scoped to a unit subtree; every answer is JSON."""
from __future__ import annotations

import functools
import random

from flask import Blueprint, current_app, g, jsonify, request
from flask_babel import lazy_gettext as _l

from app.api import services
from app.api.openapi import openapi_document
from app.config import token_keys
from app.database import utcnow
from app.errors import AppError
from app.extensions import csrf, db, limiter
from app.feedback import services as feedback_services
from app.feedback.calendar import load_calendar
from app.i18n import local_zone
from app.organiser.report_files import report_data
from app.organiser.reports import cached_report_for_code
from app.units.services import counter_short_url, list_counters, list_units
from app.units.tokens import counter_url

bp = Blueprint("api", __name__)
csrf.exempt(bp)  # bearer tokens, never cookies: no cross-site request can carry one


def _token_key() -> str:
    return request.headers.get("Authorization", "")[-16:] or request.remote_addr or "anonymous"


def token_required(view):
    """Authenticate the bearer token; the token's unit is the scope of everything the view returns."""
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
        token = services.authenticate_token(secret.strip(), utcnow()) if scheme.lower() == "bearer" else None
        if token is None:
            response = jsonify(error={"status": 401, "message": str(_l("Thiếu hoặc sai token truy cập API."))})
            response.status_code = 401
            response.headers["WWW-Authenticate"] = 'Bearer realm="hailong"'
            return response
        g.api_token = token
        return view(*args, **kwargs)
    return wrapper


def _json_body() -> dict:
    if not request.is_json:
        raise AppError(_l("Nội dung phải là JSON (Content-Type: application/json)."), status=415)
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise AppError(_l("Nội dung JSON không hợp lệ."))
    return body


@bp.get("/openapi.json")
def openapi():
    """Describe the API (OpenAPI 3.1)."""
    return jsonify(openapi_document(current_app.config["BASE_URL"]))


@bp.get("/units")
@limiter.limit("120 per minute", key_func=_token_key)
@token_required
def units():
    """List the units of the token's subtree."""
    return jsonify(units=[{"code": u.code, "name": u.name, "kind": u.kind, "parent": u.parent.code if u.parent else None,
                           "active": u.is_active} for u in list_units(g.api_token.unit)])


@bp.get("/counters")
@limiter.limit("120 per minute", key_func=_token_key)
@token_required
def counters():
    """List the counters of the token's subtree with their survey URLs."""
    config = current_app.config
    return jsonify(counters=[{"code": c.code, "name": c.name, "unit": c.unit.code, "active": c.is_active,
                              "url": counter_url(config["BASE_URL"], c.token_nonce, token_keys(config)),
                              "short_url": counter_short_url(c, config["BASE_URL"]), "instrument": c.instrument_code}
                             for c in list_counters(g.api_token.unit)])


@bp.post("/dossier-links")
@limiter.limit("600 per minute", key_func=_token_key)
@token_required
def dossier_links():
    """Mint a one-time rating link for a returned dossier."""
    body = _json_body()
    counter, dossier = body.get("counter"), body.get("dossier_code")
    days = body.get("days", current_app.config["DOSSIER_LINK_DAYS"])
    field = body.get("service_field")
    if not isinstance(counter, str) or not isinstance(dossier, str) or not isinstance(days, int) \
            or isinstance(days, bool) or not (field is None or isinstance(field, str)):
        raise AppError(_l("Cần “counter” (chuỗi), “dossier_code” (chuỗi), và không bắt buộc “days” (số nguyên), "
                          "“service_field” (mã lĩnh vực)."))
    link = services.mint_dossier_link(g.api_token.unit, counter, dossier, days, service_field_code=field or None,
                                      now=utcnow(), base_url=current_app.config["BASE_URL"],
                                      secret=token_keys(current_app.config))
    return jsonify(url=link.url, dossier_code=link.dossier_code, counter=link.counter_code,
                   service_field=link.service_field_code, expires_at=link.expires_at.isoformat()), 201


@bp.get("/reports/sipas")
@limiter.limit("30 per minute", key_func=_token_key)
@token_required
def sipas_report():
    """Report SIPAS indices of a unit inside the token's subtree for a period (the JSON of `flask report sipas`)."""
    unit, period = request.args.get("unit", "").strip(), request.args.get("period", "").strip()
    if not unit or not period:
        raise AppError(_l("Cần tham số “unit” (mã đơn vị) và “period” (ví dụ 2026-Q3)."))
    return jsonify(report_data(cached_report_for_code(unit, period, now=utcnow(), scope=g.api_token.unit)))


# --- feedback and recommendations (PAKN) ---------------------------------------------------------------------------


@bp.get("/feedback")
@limiter.limit("120 per minute", key_func=_token_key)
@token_required
def feedback_list():
    """Published PAKN with their answers in the token's subtree (for the provincial portal), newest first."""
    page = request.args.get("page", "1")
    page = min(int(page), 10_000) if page.isdigit() and len(page) < 6 and int(page) > 0 else 1
    query = feedback_services.published_query(request.args.get("q", "")[:100] or None, g.api_token.unit)
    pagination = db.paginate(query, page=page, per_page=50, error_out=False)
    return jsonify(items=[feedback_services.public_view(row) for row in pagination.items], page=page,
                   total=pagination.total)


@bp.post("/feedback")
@limiter.limit("120 per minute", key_func=_token_key)
@token_required
def feedback_create():
    """Take in a PAKN received through another channel; return its tracking code."""
    feedback, created = services.take_in_feedback(
        _json_body(), g.api_token.unit, actor=services.api_actor(g.api_token), now=utcnow(), zone=local_zone(),
        calendar=load_calendar(), rng=random.SystemRandom(), storage=current_app.config["FEEDBACK_STORAGE"])
    return jsonify(code=feedback.code, status=feedback.status, due_on=feedback.effective_due_on.isoformat(),
                   created=created), 201 if created else 200


@bp.get("/feedback/<code>")
@limiter.limit("120 per minute", key_func=_token_key)
@token_required
def feedback_get(code: str):
    """One PAKN in the token's subtree, for the agency's other system (no sender identity)."""
    return jsonify(services.feedback_document(services.scoped_feedback(code, g.api_token.unit)))


@bp.post("/feedback/<code>/<action>")
@limiter.limit("120 per minute", key_func=_token_key)
@token_required
def feedback_action(code: str, action: str):
    """accept, refuse, transfer, answer, approve, publish: the same rules, states and audit as the web pages."""
    feedback = services.scoped_feedback(code, g.api_token.unit)
    services.act_on_feedback(feedback, action, _json_body() if request.content_length else {}, g.api_token.unit,
                             actor=services.api_actor(g.api_token), now=utcnow(), zone=local_zone(),
                             base_url=current_app.config["BASE_URL"])
    return jsonify(services.feedback_document(feedback))
