"""Two sibling units: neither sees the other's PAKN, on every staff page and API route; only permitted roles at
the receiving unit see the sender's identity, and every view of it is logged; the identity is never public."""
from __future__ import annotations

import logging

import sqlalchemy as sa

from tests.factories import csrf_from
from tests.feedback.conftest import SENDER_NAME, SENDER_PHONE


def make_feedback(app, unit_code="T01-A", **changes):
    import random
    from zoneinfo import ZoneInfo

    from app.database import utcnow
    from app.extensions import db
    from app.feedback import services
    from app.feedback.calendar import load_calendar
    from app.units.services import get_unit_by_code

    with app.app_context():
        data = {"name": SENDER_NAME, "address": "12 Lê Lợi, phường Bến Thành", "phone": SENDER_PHONE,
                "email": "ngoc@example.vn", "kind": "behaviour", "title": "Hẹn trả kết quả quá lâu",
                "content": "Hồ sơ nộp từ lâu mà chưa có kết quả.", "consent_data": "1", "consent_publish": "1",
                "unit": str(get_unit_by_code(unit_code).id), **changes}
        feedback, _ = services.submit(services.read_submission(data), now=utcnow(),
                                      zone=ZoneInfo("Asia/Ho_Chi_Minh"), calendar=load_calendar(),
                                      rng=random.Random(), storage=app.config["FEEDBACK_STORAGE"])
        db.session.commit()
        return feedback.code


def test_a_sibling_unit_sees_nothing(app, world, login):
    code = make_feedback(app)
    other = app.test_client()
    login(world.b_organiser, on=other)
    assert code not in other.get("/quan-tri/phan-anh").get_data(as_text=True)
    for path in (f"/quan-tri/phan-anh/{code}", f"/quan-tri/phan-anh/{code}/nguoi-gui",
                 f"/quan-tri/phan-anh/{code}/tep/1"):
        assert other.get(path).status_code == 404, path
    html = other.get("/quan-tri/phan-anh").get_data(as_text=True)
    for action in ("accept", "refuse", "transfer", "answer", "approve", "publish", "extend", "redact"):
        response = other.post(f"/quan-tri/phan-anh/{code}/{action}", data={"csrf_token": csrf_from(html)})
        assert response.status_code == 404, action
    response = other.post("/quan-tri/phan-anh/cong-khai", data={"csrf_token": csrf_from(html), "codes": [code]})
    assert response.status_code == 303
    own = app.test_client()
    login(world.a_organiser, on=own)
    assert code in own.get("/quan-tri/phan-anh").get_data(as_text=True)


def test_identity_only_for_permitted_roles_at_the_receiving_unit_and_logged(app, world, login):
    from app.auth.models import AuditEntry
    from app.extensions import db

    code = make_feedback(app)
    viewer = app.test_client()
    login(world.a_viewer, on=viewer)
    page = viewer.get(f"/quan-tri/phan-anh/{code}").get_data(as_text=True)
    assert SENDER_NAME not in page and SENDER_PHONE not in page
    assert viewer.get(f"/quan-tri/phan-anh/{code}/nguoi-gui").status_code == 403
    staff = app.test_client()
    login(world.a_organiser, on=staff)
    page = staff.get(f"/quan-tri/phan-anh/{code}").get_data(as_text=True)
    assert SENDER_NAME not in page
    identity = staff.get(f"/quan-tri/phan-anh/{code}/nguoi-gui").get_data(as_text=True)
    assert SENDER_NAME in identity and SENDER_PHONE in identity
    with app.app_context():
        entries = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "feedback.identity_view")).all()
        assert [(entry.organiser_id, entry.object_id) for entry in entries] == [(world.a_organiser.id, code)]
    # after a transfer, the handling sibling works on it but never sees who sent it
    html = staff.get(f"/quan-tri/phan-anh/{code}").get_data(as_text=True)
    staff.post(f"/quan-tri/phan-anh/{code}/accept", data={"csrf_token": csrf_from(html)})
    staff.post(f"/quan-tri/phan-anh/{code}/transfer", data={"csrf_token": csrf_from(html), "unit": "T01-B"})
    other = app.test_client()
    login(world.b_admin, on=other)
    assert other.get(f"/quan-tri/phan-anh/{code}").status_code == 200
    assert other.get(f"/quan-tri/phan-anh/{code}/nguoi-gui").status_code == 403


def api_token(app, unit_code):
    from app.api.services import issue_token
    from app.database import utcnow
    from app.extensions import db
    from app.units.services import get_unit_by_code

    with app.app_context():
        _, secret = issue_token("Hệ thống một cửa", get_unit_by_code(unit_code), utcnow())
        db.session.commit()
        return {"Authorization": f"Bearer {secret}"}


def test_api_scopes_and_workflow(app, client, world, caplog):
    caplog.set_level(logging.DEBUG)
    a, b = api_token(app, "T01-A"), api_token(app, "T01-B")
    body = {"unit": "T01-A", "kind": "unsuited", "title": "Quy định chưa phù hợp", "content":
            "Thủ tục yêu cầu bản sao chứng thực dù đã có dữ liệu dân cư.", "name": SENDER_NAME,
            "address": "12 Lê Lợi, phường Bến Thành", "phone": SENDER_PHONE, "consent_data": True,
            "consent_publish": True, "channel": "national_portal", "external_code": "PAKN.1761647228267",
            "key": "dvcqg-1761647228267"}
    assert client.post("/api/v1/feedback", json=body, headers=b).status_code == 404
    for refused in ({**body, "consent_data": False}, {key: value for key, value in body.items() if key != "unit"}):
        answer = client.post("/api/v1/feedback", json=refused, headers=a)
        assert answer.status_code in (400, 404) and answer.get_json()["error"]["message"]
    created = client.post("/api/v1/feedback", json=body, headers=a)
    assert created.status_code == 201, created.get_json()
    code = created.get_json()["code"]
    again = client.post("/api/v1/feedback", json=body, headers=a)
    assert again.status_code == 200 and again.get_json()["code"] == code
    bad = client.post("/api/v1/feedback", json={**body, "name": "", "key": "other"}, headers=a)
    assert bad.status_code == 400 and "name" in bad.get_json()["error"]["fields"]
    assert client.get(f"/api/v1/feedback/{code}", headers=b).status_code == 404
    assert client.post(f"/api/v1/feedback/{code}/accept", headers=b).status_code == 404
    assert client.post(f"/api/v1/feedback/{code}/approve", headers=a).status_code == 409
    unknown = client.post(f"/api/v1/feedback/{code}/delete", headers=a)
    assert unknown.status_code == 404 and "accept" in unknown.get_json()["error"]["message"]
    for action, data in (("accept", None), ("transfer", {"unit": "T01-B"})):
        response = client.post(f"/api/v1/feedback/{code}/{action}", json=data, headers=a)
        assert response.status_code == 200, response.get_json()
    assert client.post(f"/api/v1/feedback/{code}/answer", json={"text": "Trả lời đủ dài."},
                       headers=a).status_code == 403
    for action, data in (("answer", {"text": "Sở Xây dựng đã đề nghị sửa quy định."}), ("approve", None),
                         ("publish", None)):
        response = client.post(f"/api/v1/feedback/{code}/{action}", json=data, headers=b)
        assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "answered" and response.get_json()["published"] is True
    listing = client.get("/api/v1/feedback", headers=b).get_data(as_text=True)
    assert code in listing
    for text in (listing, client.get(f"/api/v1/feedback/{code}", headers=b).get_data(as_text=True),
                 client.get(f"/phan-anh/{code}").get_data(as_text=True),
                 client.get("/phan-anh").get_data(as_text=True), caplog.text):
        assert SENDER_NAME not in text and SENDER_PHONE not in text


def test_openapi_describes_every_feedback_field_with_an_example(client):
    document = client.get("/api/v1/openapi.json").get_json()
    intake = document["paths"]["/feedback"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert {"unit", "kind", "name", "address", "phone", "consent_data"} <= set(intake["required"])
    assert all("example" in spec for spec in intake["properties"].values())
    assert "enum" in intake["properties"]["kind"]
    action = document["paths"]["/feedback/{code}/{action}"]["post"]
    assert action["parameters"][1]["schema"]["enum"] == ["accept", "refuse", "transfer", "answer", "approve",
                                                         "publish"]
    created = document["paths"]["/feedback"]["post"]["responses"]["201"]["content"]["application/json"]["schema"]
    assert "code" in created["required"]
