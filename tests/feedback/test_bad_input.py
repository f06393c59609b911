"""Bad input on the citizen's pages: a clear Vietnamese message, a 4xx, and nothing written."""
from __future__ import annotations

import io
import re

import pytest

from tests.factories import csrf_from
from tests.feedback.conftest import citizen_fields, form_values


def count(app) -> tuple[int, int]:
    import sqlalchemy as sa

    from app.extensions import db
    from app.feedback.models import Feedback, SenderIdentity

    with app.app_context():
        return (db.session.scalar(sa.select(sa.func.count()).select_from(Feedback)),
                db.session.scalar(sa.select(sa.func.count()).select_from(SenderIdentity)))


def post(client, **changes):
    html = client.get("/phan-anh/gui?unit=T01-A").get_data(as_text=True)
    unit_id = re.search(r'<option value="(\d+)" selected>', html).group(1)
    data = {**form_values(html), **citizen_fields(unit=unit_id), **changes}
    return client.post("/phan-anh/gui", data=data, content_type="multipart/form-data")


@pytest.mark.parametrize("field, message", [("name", "Vui lòng nhập họ và tên."),
                                            ("address", "Vui lòng nhập địa chỉ."),
                                            ("phone", "Vui lòng nhập số điện thoại.")])
def test_missing_sender_details_are_refused(app, client, world, field, message):
    response = post(client, **{field: ""})
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert count(app) == (0, 0)


def test_the_form_says_before_it_that_anonymous_feedback_is_not_accepted(client, world):
    html = client.get("/phan-anh/gui").get_data(as_text=True)
    assert html.index("không nhận ẩn danh") < html.index('name="name"')


def test_consent_to_processing_is_required(app, client, world):
    response = post(client, consent_data="")
    assert response.status_code == 400 and "đồng ý cho xử lý dữ liệu cá nhân" in response.get_data(as_text=True)
    assert count(app) == (0, 0)


@pytest.mark.parametrize("field", ["title", "content", "name", "proposal", "address"])
def test_script_in_a_text_field_is_refused(app, client, world, field):
    response = post(client, **{field: "Xem <script>alert(1)</script> nhé các bạn"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "không nhập mã HTML" in html and "<script>alert(1)" not in html
    assert count(app) == (0, 0)


def test_a_20_mb_attachment_is_refused(app, client, world):
    response = post(client, files=(io.BytesIO(b"\xff\xd8" + b"0" * (20 * 1024 * 1024)), "anh.jpg"))
    assert response.status_code == 413
    assert "Tệp đính kèm quá lớn" in response.get_data(as_text=True)
    assert count(app) == (0, 0)


def test_a_disguised_attachment_is_refused(app, client, world):
    response = post(client, files=(io.BytesIO(b"#!/bin/sh\nrm -rf /\n" * 20), "anh.jpg"))
    assert response.status_code == 415
    assert "không phải ảnh" in response.get_data(as_text=True)
    assert count(app) == (0, 0)


@pytest.mark.parametrize("code", ["PA-AAAA-AAAA", "../../etc/passwd", "PA-0000-0000", "x" * 300])
def test_unknown_or_forged_codes_are_404(client, world, code):
    for path in (f"/phan-anh/{code}", f"/phan-anh/tra-cuu/{code}", f"/phan-anh/gui/{code}"):
        response = client.get(path)
        assert response.status_code == 404
        assert "Không tìm thấy" in response.get_data(as_text=True)


def test_a_forged_code_in_the_lookup_gets_the_same_answer_as_wrong_digits(client, world):
    html = client.get("/phan-anh/tra-cuu").get_data(as_text=True)
    for code, digits in (("PA-AAAA-AAAA", "5678"), ("<script>", "5678"), ("PA-AAAA-AAAA", "abcd")):
        response = client.post("/phan-anh/tra-cuu", data={"csrf_token": csrf_from(html), "code": code,
                                                          "digits": digits})
        assert response.status_code == 404
        assert "Không tìm thấy phản ánh với mã và 4 số cuối điện thoại này" in response.get_data(as_text=True)


def test_sending_the_same_form_twice_stores_it_once(app, client, world):
    html = client.get("/phan-anh/gui?unit=T01-A").get_data(as_text=True)
    unit_id = re.search(r'<option value="(\d+)" selected>', html).group(1)
    data = {**form_values(html), **citizen_fields(unit=unit_id)}
    first = client.post("/phan-anh/gui", data=dict(data), content_type="multipart/form-data")
    second = client.post("/phan-anh/gui", data=dict(data), content_type="multipart/form-data")
    assert first.status_code == second.status_code == 303, (first.status_code, second.get_data(as_text=True)[-1200:])
    assert first.headers["Location"] == second.headers["Location"]
    assert count(app) == (1, 1)


def test_repeated_submissions_are_rate_limited(app, client, world):
    statuses = [post(client, title=f"Phản ánh số {index} về thủ tục").status_code for index in range(7)]
    assert statuses[:5] == [303] * 5
    assert statuses[5] == 429
    assert count(app) == (5, 5)


def test_guessing_phone_digits_is_rate_limited(client, world):
    html = client.get("/phan-anh/tra-cuu").get_data(as_text=True)
    statuses = [client.post("/phan-anh/tra-cuu", data={"csrf_token": csrf_from(html), "code": "PA-AAAA-AAAA",
                                                       "digits": f"{n:04d}"}).status_code for n in range(11)]
    assert statuses[:10] == [404] * 10 and statuses[10] == 429
