"""JSON API v1: bearer-token authentication scoped to a unit subtree; every answer is JSON."""
from __future__ import annotations

import functools

from flask import Blueprint, current_app, g, jsonify, request
from flask_babel import lazy_gettext as _l

from app.api import services
from app.api.openapi import openapi_document
from app.config import token_keys
from app.database import utcnow
from app.errors import AppError
from app.extensions import csrf, limiter
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

FEEDBACK_ACTIONS = ("accept", "refuse", "transfer", "answer", "approve", "publish")


def _scoped_feedback(code: str):
    """A PAKN handled or received inside the token's subtree, or 404."""
    from app.feedback import services as feedback_services

    feedback = None
    try:
        feedback = feedback_services.by_code(code)
    except AppError:
        pass
    scope = g.api_token.unit
    if feedback is None or not (feedback.unit.is_within(scope) or feedback.received_unit.is_within(scope)):
        raise AppError(_l("Không tìm thấy phản ánh, kiến nghị này trong phạm vi token."), status=404)
    return feedback


def _feedback_json(feedback) -> dict:
    """A PAKN for the agency's other system: state, clock and texts; never the sender's identity."""
    from app.feedback import services as feedback_services

    data = feedback_services.public_view(feedback)
    data.update(title=feedback.title, content=feedback.content, proposal=feedback.proposal,
                public_title=feedback.public_title, public_content=feedback.public_content,
                channel=feedback.channel, external_code=feedback.external_code,
                received_unit=feedback.received_unit.code, reason=feedback.reason_code,
                transfer_due_on=feedback.transfer_due_on.isoformat() if feedback.transfer_due_on else None,
                extended_due_on=feedback.extended_due_on.isoformat() if feedback.extended_due_on else None,
                published=feedback.published_at is not None and not feedback.hidden,
                answer_status=feedback.answer.status if feedback.answer else None,
                answer=feedback.answer.text if feedback.answer else None)
    return data


@bp.get("/feedback")
@limiter.limit("120 per minute", key_func=_token_key)
@token_required
def feedback_list():
    """Published PAKN with their answers in the token's subtree (for the provincial portal), newest first."""
    from app.extensions import db
    from app.feedback import services as feedback_services

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
    import random

    from app.feedback import services as feedback_services
    from app.feedback.calendar import load_calendar
    from app.i18n import local_zone
    from app.units.models import Unit

    body = _json_body()
    data = {key: value for key, value in body.items() if isinstance(value, (str, int, bool)) and key != "unit"}
    data = {key: str(value) if not isinstance(value, bool) else ("1" if value else "") for key, value in data.items()}
    unit_code = body.get("unit")
    unit = None
    if isinstance(unit_code, str):
        from app.extensions import db
        import sqlalchemy as sa

        unit = db.session.scalar(sa.select(Unit).where(Unit.code == unit_code))
    if unit is None or not unit.is_within(g.api_token.unit):
        raise AppError(_l("Không tìm thấy đơn vị này trong phạm vi token."), status=404)
    if body.get("consent_data") is not True:
        raise AppError(_l("Cần “consent_data”: true (người gửi đồng ý xử lý dữ liệu cá nhân)."))
    data["unit"] = str(unit.id)
    data.setdefault("channel", "national_portal")
    sub = feedback_services.read_submission(data, staff=True)
    feedback, created = feedback_services.submit(sub, now=utcnow(), zone=local_zone(), calendar=load_calendar(),
                                                 rng=random.SystemRandom(),
                                                 storage=current_app.config["FEEDBACK_STORAGE"],
                                                 actor=_api_actor())
    return jsonify(code=feedback.code, status=feedback.status, due_on=feedback.effective_due_on.isoformat(),
                   created=created), 201 if created else 200


def _api_actor():
    from app.auth.audit import Unsigned

    return Unsigned(f"api:{g.api_token.name}"[:64])


@bp.get("/feedback/<code>")
@limiter.limit("120 per minute", key_func=_token_key)
@token_required
def feedback_get(code: str):
    """One PAKN in the token's subtree, for the agency's other system (no sender identity)."""
    return jsonify(_feedback_json(_scoped_feedback(code)))


@bp.post("/feedback/<code>/<action>")
@limiter.limit("120 per minute", key_func=_token_key)
@token_required
def feedback_action(code: str, action: str):
    """accept, refuse, transfer, answer, approve, publish: the same rules, states and audit as the web pages."""
    import sqlalchemy as sa

    from app.extensions import db
    from app.feedback import services as feedback_services
    from app.i18n import local_zone
    from app.units.models import Unit

    if action not in FEEDBACK_ACTIONS:
        raise AppError(_l("Thao tác không hợp lệ: %(actions)s.", actions=", ".join(FEEDBACK_ACTIONS)), status=404)
    feedback = _scoped_feedback(code)
    if not feedback.unit.is_within(g.api_token.unit):
        raise AppError(_l("Phản ánh này đang do một cơ quan ngoài phạm vi token xử lý."), status=403)
    body = _json_body() if request.content_length else {}
    text = {key: value for key, value in body.items() if isinstance(value, str)}
    actor, now, base_url = _api_actor(), utcnow(), current_app.config["BASE_URL"]
    if action == "accept":
        feedback_services.accept(feedback, actor, now, base_url=base_url)
    elif action == "refuse":
        feedback_services.refuse(feedback, actor, text.get("reason", ""), text.get("note"), now)
    elif action == "transfer":
        target = db.session.scalar(sa.select(Unit).where(Unit.code == text.get("unit", "")[:32]))
        feedback_services.transfer(feedback, actor, target, text.get("note"), now)
    elif action == "answer":
        feedback_services.draft_answer(feedback, actor, text.get("text", ""), now)
    elif action == "approve":
        feedback_services.approve(feedback, actor, now, local_zone(), base_url=base_url)
    else:
        feedback_services.publish([feedback], actor, now)
    return jsonify(_feedback_json(feedback))
