"""Every POST route of the organiser area refuses a request without a valid CSRF token, and changes nothing."""
from __future__ import annotations

import io

import pytest

from tests.factories import csrf_from
from tests.organiser.test_isolation import snapshot


def post_routes() -> list[str]:
    """Return the endpoint of every POST route under /quan-tri, read from the URL map."""
    from app import create_app

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "x"})
    return sorted({rule.endpoint for rule in app.url_map.iter_rules()
                   if rule.rule.startswith("/quan-tri") and "POST" in rule.methods
                   and rule.endpoint.split(".")[0] in ("auth", "organiser", "units")})


ROUTES = post_routes()


@pytest.fixture
def own(app, make, login):
    """An administrator signed in on their own unit, with a counter, a field and a second account; their ids."""
    make.unit("T", kind="province")
    counter = make.counter("T", code="Q1", fields=("HO_TICH",))
    other = make.organiser("T", email="khac@thu.gov.vn")
    admin = make.organiser("T", role="administrator")
    login(admin)
    from app.extensions import db
    from app.units.models import ServiceField

    with app.app_context():
        field_id = db.session.query(ServiceField.id).scalar()
    return {"unit_id": counter.unit_id, "counter_id": counter.id, "organiser_id": other.id, "field_id": field_id,
            "kind": "don-vi", "fmt": "csv"}


def own_url(app, endpoint: str, ids: dict) -> str:
    from flask import url_for

    rule = next(rule for rule in app.url_map.iter_rules() if rule.endpoint == endpoint)
    values = {}
    for name in rule.arguments:
        choices = getattr(rule._converters.get(name), "items", None)  # an any(): its first choice unless ours fits
        values[name] = ids[name] if not choices or ids[name] in choices else sorted(choices)[0]
    with app.test_request_context():
        return url_for(endpoint, **values)


def complete_form(ids: dict) -> dict:
    """Valid answers for any of the forms, so that only the missing token can be the reason for a refusal."""
    return {"unit": ids["unit_id"], "parent": ids["unit_id"], "code": "MOI", "name": "Tên mới", "kind": "other",
            "instrument_code": "sipas-counter", "email": "moi@thu.gov.vn", "role": "viewer",
            "current_password": "mat-khau-thu-nghiem-dai", "new_password": "mat-khau-moi-rat-dai",
            "confirm_password": "mat-khau-moi-rat-dai", "password": "mat-khau-thu-nghiem-dai",
            "file": (io.BytesIO("Mã đơn vị,Tên đơn vị,Loại,Mã đơn vị cấp trên\r\nMOI,Mới,,T\r\n".encode()), "moi.csv")}


@pytest.mark.parametrize("endpoint", ROUTES)
@pytest.mark.parametrize("token", ["missing", "forged"])
def test_post_without_a_valid_csrf_token_is_refused(app, client, own, endpoint, token):
    url = own_url(app, endpoint, own)
    data = complete_form(own)
    if token == "forged":
        stranger = app.test_client()
        data["csrf_token"] = csrf_from(stranger.get("/quan-tri/dang-nhap").get_data(as_text=True))
    before = snapshot(app)
    response = client.post(url, data=data, content_type="multipart/form-data")
    assert response.status_code == 400
    assert "Phiên làm việc đã hết hạn hoặc biểu mẫu không hợp lệ" in response.get_data(as_text=True)
    assert snapshot(app) == before
    assert client.get("/quan-tri/don-vi").status_code == 200  # still signed in: logout needs the token too


def test_the_same_form_with_its_token_goes_through(app, client, own):
    token = csrf_from(client.get("/quan-tri/don-vi/moi").get_data(as_text=True))
    response = client.post("/quan-tri/don-vi/moi", data={**complete_form(own), "csrf_token": token},
                           content_type="multipart/form-data")
    assert response.status_code == 303


def test_every_post_route_is_covered():
    assert {"auth.login", "auth.logout", "auth.change_password", "units.counter_rotate",
            "units.import_table", "auth.account_new"} <= set(ROUTES)
