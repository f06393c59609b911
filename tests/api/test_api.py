"""JSON API v1: bearer tokens scoped to a unit subtree, the dossier-link endpoint and the OpenAPI document."""
from __future__ import annotations

import re

import pytest


@pytest.fixture
def tenants(app, make):
    """Two sibling communes under one province, each with a counter, and a token for the first."""
    from app.api.services import issue_token
    from app.database import utcnow
    from app.extensions import db
    from app.units.services import get_unit_by_code

    make.unit("P", "Tỉnh Thử", kind="province")
    make.unit("A", "Xã A", parent="P")
    make.unit("B", "Xã B", parent="P")
    counter_a = make.counter(unit="A", code="QA")
    counter_b = make.counter(unit="B", code="QB")
    with app.app_context():
        _, secret = issue_token("Hệ thống một cửa xã A", get_unit_by_code("A"), utcnow())
        db.session.commit()
    return {"secret": secret, "a": counter_a, "b": counter_b}


def auth(secret: str) -> dict:
    return {"Authorization": f"Bearer {secret}"}


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer hl_wrong", "Basic abc", "Bearer " + "x" * 500])
def test_requests_without_a_valid_token_are_refused(client, tenants, header):
    response = client.get("/api/v1/units", headers={"Authorization": header} if header else {})
    assert response.status_code == 401
    assert response.is_json and "token" in response.get_json()["error"]["message"]


def test_a_token_sees_only_its_own_subtree(client, tenants):
    units = client.get("/api/v1/units", headers=auth(tenants["secret"])).get_json()["units"]
    counters = client.get("/api/v1/counters", headers=auth(tenants["secret"])).get_json()["counters"]
    assert [u["code"] for u in units] == ["A"]
    assert [c["code"] for c in counters] == ["QA"]
    assert counters[0]["url"] == f"http://hailong.test{tenants['a'].path}"


def test_a_revoked_token_stops_working(app, client, tenants):
    from app.api.models import ApiToken
    from app.api.services import revoke_token
    from app.database import utcnow
    from app.extensions import db

    with app.app_context():
        revoke_token(db.session.query(ApiToken).one(), utcnow())
        db.session.commit()
    assert client.get("/api/v1/units", headers=auth(tenants["secret"])).status_code == 401


def test_a_minted_dossier_link_opens_the_rating_form_once(client, tenants):
    response = client.post("/api/v1/dossier-links", headers=auth(tenants["secret"]),
                           json={"counter": "QA", "dossier_code": "H12.34-250101-0001", "days": 7})
    assert response.status_code == 201
    path = response.get_json()["url"].removeprefix("http://hailong.test")
    page = client.get(path)
    assert page.status_code == 200 and "Rất hài lòng" in page.get_data(as_text=True)


@pytest.mark.parametrize("body, status", [
    ({"counter": "QB", "dossier_code": "D1"}, 404),          # a sibling's counter: not visible
    ({"counter": "NOPE", "dossier_code": "D1"}, 404),
    ({"counter": "QA", "dossier_code": ""}, 400),
    ({"counter": "QA", "dossier_code": "x" * 65}, 400),
    ({"counter": "QA", "dossier_code": "D1", "days": 0}, 400),
    ({"counter": "QA", "dossier_code": "D1", "days": "7"}, 400),
    ({"counter": 5, "dossier_code": "D1"}, 400),
    (["QA", "D1"], 400),
])
def test_bad_dossier_link_requests_get_a_clear_4xx(client, tenants, body, status):
    response = client.post("/api/v1/dossier-links", headers=auth(tenants["secret"]), json=body)
    assert response.status_code == status
    assert response.get_json()["error"]["message"]


def test_dossier_link_requests_must_be_json(client, tenants):
    response = client.post("/api/v1/dossier-links", headers=auth(tenants["secret"]), data="counter=QA")
    assert response.status_code == 415


def test_the_openapi_document_describes_every_api_route(app, client):
    document = client.get("/api/v1/openapi.json").get_json()
    assert document["openapi"].startswith("3.")
    described = {f"/api/v1{path}" for path in document["paths"]}
    # Flask's <code> is OpenAPI's {code} (the PAKN routes were the first with path parameters).
    routes = {re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule) for rule in app.url_map.iter_rules()
              if rule.rule.startswith("/api/v1/") and rule.endpoint != "api.openapi"}
    assert routes == described
