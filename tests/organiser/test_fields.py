"""Service fields (lĩnh vực): a list shared by the whole tree; organisers add, administrators rename."""
from __future__ import annotations

import sqlalchemy as sa

from tests.factories import csrf_from


def fields(app) -> dict[str, tuple[str, str]]:
    from app.extensions import db
    from app.units.models import ServiceField

    with app.app_context():
        return {row[0]: (row[1], row[2]) for row in
                db.session.execute(sa.select(ServiceField.code, ServiceField.name, ServiceField.name_en))}


def post_form(client, path: str, data: dict):
    token = csrf_from(client.get(path).get_data(as_text=True))
    return client.post(path, data={"csrf_token": token, **data})


def test_organiser_adds_a_field_and_the_english_name_defaults_to_the_vietnamese(app, client, make, login):
    login(make.organiser())
    response = post_form(client, "/quan-tri/linh-vuc/moi", {"code": "TU_PHAP", "name": "Tư pháp", "name_en": ""})
    assert response.status_code == 303
    assert fields(app)["TU_PHAP"] == ("Tư pháp", "Tư pháp")
    assert "Tư pháp" in client.get("/quan-tri/linh-vuc").get_data(as_text=True)


def test_duplicate_field_code_is_refused_on_the_form(app, client, make, login):
    make.counter(fields=("HO_TICH",))
    login(make.organiser())
    response = post_form(client, "/quan-tri/linh-vuc/moi", {"code": "HO_TICH", "name": "Hộ tịch 2"})
    assert response.status_code == 409
    assert "Mã lĩnh vực “HO_TICH” đã tồn tại." in response.get_data(as_text=True)
    assert fields(app)["HO_TICH"][0] == "Lĩnh vực HO_TICH"


def test_only_administrators_rename_a_field_and_counters_show_the_new_name(app, client, make, login):
    counter = make.counter(fields=("HO_TICH",))
    with app.app_context():
        from app.extensions import db
        from app.units.models import ServiceField

        field_id = db.session.scalar(sa.select(ServiceField.id).where(ServiceField.code == "HO_TICH"))
    assert "Lĩnh vực HO_TICH" in client.get(counter.path).get_data(as_text=True)
    organiser = login(make.organiser(counter.unit_code), app.test_client())
    assert organiser.get(f"/quan-tri/linh-vuc/{field_id}/sua").status_code == 403
    login(make.organiser(counter.unit_code, role="administrator"))
    response = post_form(client, f"/quan-tri/linh-vuc/{field_id}/sua", {"name": "Hộ tịch", "name_en": "Civil status"})
    assert response.status_code == 303
    assert fields(app)["HO_TICH"] == ("Hộ tịch", "Civil status")
    page = client.get(counter.path).get_data(as_text=True)
    assert "Hộ tịch" in page and "Lĩnh vực HO_TICH" not in page


def test_viewer_reads_fields_but_cannot_add_one(app, client, make, login):
    login(make.organiser(role="viewer"))
    assert client.get("/quan-tri/linh-vuc").status_code == 200
    token = csrf_from(client.get("/quan-tri/linh-vuc").get_data(as_text=True))
    response = client.post("/quan-tri/linh-vuc/moi", data={"csrf_token": token, "code": "X", "name": "X"})
    assert response.status_code == 403
    assert fields(app) == {}


def test_unknown_field_is_not_found(client, make, login):
    login(make.organiser(role="administrator"))
    assert client.get("/quan-tri/linh-vuc/999999/sua").status_code == 404


def test_an_administrator_below_the_top_level_cannot_rename_a_shared_field(app, client, make, login):
    make.unit("TINH", "Tỉnh Thử", kind="province")
    make.unit("XA", "Xã Thử", parent="TINH")
    counter = make.counter(unit="XA", fields=("HO_TICH",))
    with app.app_context():
        from app.extensions import db
        from app.units.models import ServiceField

        field_id = db.session.scalar(sa.select(ServiceField.id).where(ServiceField.code == "HO_TICH"))
    login(make.organiser("XA", role="administrator"))
    assert client.get(f"/quan-tri/linh-vuc/{field_id}/sua").status_code == 403
    response = client.post(f"/quan-tri/linh-vuc/{field_id}/sua", data={"name": "Đổi tên", "name_en": "Renamed"})
    assert response.status_code in (400, 403)
    assert fields(app)["HO_TICH"][0] == "Lĩnh vực HO_TICH"
    assert "Lĩnh vực HO_TICH" in client.get(counter.path).get_data(as_text=True)
