"""Tenant isolation: an administrator of commune A tries every organiser route with commune B's ids.

The routes come from the URL map (blueprints "auth", "organiser" and "units" under /quan-tri), so a route added later
is tried too. Every answer must be 403/404 (or a page that shows nothing of B), and nothing may change in the database.
"""
from __future__ import annotations

import io

import pytest
import sqlalchemy as sa

from tests.factories import csrf_from
from tests.factories import job_file

#: B's names: none of them may appear in anything A is shown.
B_MARKERS = ("Xã Bên Kia", "Thôn Bên Kia", "Quầy Bên Kia", "BÍ MẬT CỦA B", "can-bo-b@ben-kia.vn")

#: Service fields are one list shared by every unit: there is no tenant to cross.
SHARED = {"units.field_new", "units.field_edit"}
#: These POSTs act on the signed-in account itself (sign in, sign out, own password), never on an id.
OWN_ACCOUNT = {"auth.login", "auth.logout", "auth.change_password"}


def organiser_rules() -> list[tuple[str, str]]:
    """Return (endpoint, method) for every organiser route, read from the application's URL map."""
    from app import create_app

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "x"})
    pairs = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/quan-tri") and rule.endpoint.split(".")[0] in ("auth", "organiser", "units"):
            pairs.update((rule.endpoint, method) for method in rule.methods - {"HEAD", "OPTIONS"})
    return sorted((endpoint, method) for endpoint, method in pairs
                  if endpoint not in SHARED and not (method == "POST" and endpoint in OWN_ACCOUNT))


RULES = organiser_rules()


def snapshot(app) -> dict[str, list]:
    from app.extensions import db

    with app.app_context():
        return {table.name: sorted(map(repr, db.session.execute(sa.select(table)).all()))
                for table in db.metadata.sorted_tables}


@pytest.fixture
def tenants(app, make, login):
    """Communes A and B under one province, each with a hamlet, a counter and an account; A's administrator
    is signed in. Returns B's ids by argument name."""
    make.unit("T", name="Tỉnh Chung", kind="province")
    make.unit("A", name="Xã Bên Này", parent="T")
    make.unit("A-1", name="Thôn Bên Này", parent="A", kind="other")
    b_unit = make.unit("B", name="Xã Bên Kia", parent="T")
    b_hamlet = make.unit("B-1", name="Thôn Bên Kia", parent="B", kind="other")
    make.counter("A", code="QA", name="Quầy Bên Này", fields=("HO_TICH",))
    b_counter = make.counter("B-1", code="QB", name="Quầy Bên Kia", fields=("HO_TICH",))
    make.response(b_counter, comment="BÍ MẬT CỦA B")
    b_account = make.organiser("B", role="administrator", email="can-bo-b@ben-kia.vn")
    login(make.organiser("A", role="administrator"))
    return {"unit_id": b_hamlet, "unit": b_unit, "counter_id": b_counter.id, "organiser_id": b_account.id}


def url_for_b(app, endpoint: str, b: dict) -> str:
    """Build the route's URL with B's ids in the path and in every query argument an id could travel in."""
    from flask import url_for

    rule = next(rule for rule in app.url_map.iter_rules() if rule.endpoint == endpoint)
    values = {}
    for name, converter in rule._converters.items():
        if name in b:
            values[name] = b[name]
        elif hasattr(converter, "items"):
            values[name] = sorted(converter.items)[0]
        else:
            values[name] = "x"
    query = {"unit": b["unit"], "parent": b["unit"], "counter": b["counter_id"], "instrument": "sipas-counter",
             "format": "csv", "per_page": 1}
    with app.test_request_context():
        return url_for(endpoint, **values, **query)


def b_form(token: str, b: dict) -> dict:
    """A complete submission for any organiser form, with B's ids wherever a form takes one."""
    import_file = "Mã đơn vị,Tên đơn vị,Loại,Mã đơn vị cấp trên\r\nLAN-SAN,Lấn sân,,B\r\n".encode()
    return {"csrf_token": token, "unit": b["unit"], "parent": b["unit"], "code": "LAN-SAN", "name": "Lấn sân",
            "kind": "other", "instrument_code": "sipas-counter", "fields": [], "email": "lan-san@thu.gov.vn",
            "role": "administrator", "new_password": "mat-khau-lan-san-dai", "confirm_password": "mat-khau-lan-san-dai",
            "file": (io.BytesIO(import_file), "lan-san.csv")}


@pytest.mark.parametrize("endpoint, method", RULES, ids=[f"{method} {endpoint}" for endpoint, method in RULES])
def test_another_tenants_ids_reach_nothing_and_change_nothing(app, client, tenants, endpoint, method):
    url = url_for_b(app, endpoint, tenants)
    before = snapshot(app)
    if method == "GET":
        response = client.get(url)
    else:
        token = csrf_from(client.get("/quan-tri/doi-mat-khau").get_data(as_text=True))
        response = client.post(url, data=b_form(token, tenants), content_type="multipart/form-data")
    body = response.get_data(as_text=True) if response.mimetype.startswith("text/") else ""
    if endpoint == "units.import_table" and method == "POST":
        assert response.status_code == 400 and "phạm vi quản lý của bạn" in body
    elif response.status_code not in (403, 404):
        assert response.status_code in (200, 302, 303), f"{url}: {response.status_code}"
        assert response.mimetype.startswith("text/"), f"{url} answered {response.mimetype} with B's ids"
        leaked = [marker for marker in B_MARKERS if marker in body]
        assert not leaked, f"{url} shows {leaked}"
    assert snapshot(app) == before


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_another_tenants_export_is_not_found_in_any_format(client, tenants, fmt):
    response = job_file(client, f"/quan-tri/xuat-du-lieu/tai-ve?unit={tenants['unit']}&instrument=sipas-counter"
                          f"&format={fmt}&period=2026")
    assert response.status_code == 404
    assert "BÍ MẬT CỦA B" not in response.get_data(as_text=True)


def test_own_lists_show_nothing_of_the_sibling_tenant(client, tenants):
    for path in ("/quan-tri/don-vi", "/quan-tri/quay", "/quan-tri/y-kien", "/quan-tri/tai-khoan", "/quan-tri/nhat-ky",
                 "/quan-tri/xuat-du-lieu", "/quan-tri/quay/moi", "/quan-tri/don-vi/moi", "/quan-tri/tai-khoan/moi"):
        body = client.get(path).get_data(as_text=True)
        assert not [marker for marker in B_MARKERS if marker in body], path


def test_the_parametrised_routes_cover_the_management_routes():
    endpoints = {endpoint for endpoint, _ in RULES}
    assert {"units.counter_edit", "units.counter_rotate", "units.unit_deactivate", "organiser.comments",
            "organiser.export_download", "units.unit_posters", "auth.account_reset_password"} <= endpoints


@pytest.mark.parametrize("path", ["/quan-tri/quay/{big}", "/quan-tri/quay/{big}/qr.png", "/quan-tri/don-vi/{big}/sua",
                                  "/quan-tri/tai-khoan/{big}/vo-hieu-hoa", "/quan-tri/linh-vuc/{big}/sua",
                                  "/quan-tri/quay?unit={big}", "/quan-tri/ap-phich.pdf?unit={big}&per_page=1",
                                  "/quan-tri/y-kien?unit={big}"])
def test_ids_beyond_any_key_are_not_found(client, tenants, path):
    response = client.get(path.format(big=10**30))
    assert response.status_code == 404
