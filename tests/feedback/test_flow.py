"""The whole PAKN cycle through the pages: a citizen sends from a counter's QR code with an attachment, unit A
accepts and transfers to its sibling B, B answers, approves, redacts and publishes, the public page shows question
and answer without the sender, the citizen looks it up and rates the answer."""
from __future__ import annotations

import io
import re

import sqlalchemy as sa

from tests.factories import csrf_from
from tests.feedback.conftest import SENDER_NAME, SENDER_PHONE, citizen_fields, form_values, jpeg_with_exif


def send(client, world, **changes):
    page = client.get(f"/phan-anh/gui?unit=T01-A&counter={world.counter.code}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "không nhận ẩn danh" in html
    unit_id = re.search(r'<option value="(\d+)" selected>', html).group(1)
    data = {**form_values(html), **citizen_fields(unit=unit_id, counter=str(world.counter.id)), **changes}
    return client.post("/phan-anh/gui", data=data, content_type="multipart/form-data")


def act(client, code, action, **data):
    html = client.get(f"/quan-tri/phan-anh/{code}").get_data(as_text=True)
    return client.post(f"/quan-tri/phan-anh/{code}/{action}", data={"csrf_token": csrf_from(html), **data},
                       content_type="multipart/form-data")


def test_the_whole_cycle(app, client, world, login):
    from app.extensions import db
    from app.feedback.models import Feedback, FeedbackAttachment

    response = send(client, world, files=(io.BytesIO(jpeg_with_exif()), "anh.jpg"))
    assert response.status_code == 303, response.get_data(as_text=True)
    thanks = client.get(response.headers["Location"]).get_data(as_text=True)
    code = re.search(r"PA-[A-Z2-9]{4}-[A-Z2-9]{4}", thanks).group(0)
    with app.app_context():
        feedback = db.session.scalar(sa.select(Feedback).where(Feedback.code == code))
        assert feedback.channel == "counter" and feedback.counter_id == world.counter.id
        stored = db.session.scalar(sa.select(FeedbackAttachment))
        data = open(f"{app.config['FEEDBACK_STORAGE']}/{stored.stored_name}", "rb").read()
        assert b"GPS-SECRET" not in data and data[:2] == b"\xff\xd8"

    staff_a = app.test_client()
    login(world.a_organiser, on=staff_a)
    assert act(staff_a, code, "accept").status_code == 303
    response = act(staff_a, code, "transfer", unit="T01-B", note="Thuộc thẩm quyền Sở Xây dựng")
    assert response.status_code == 303

    staff_b = app.test_client()
    login(world.b_organiser, on=staff_b)
    assert act(staff_b, code, "answer", text="Sở Xây dựng đã chấn chỉnh bộ phận một cửa; hồ sơ của Ông/Bà "
               "Nguyễn Thị Bích Ngọc đã có kết quả.").status_code == 303
    # an organiser may not approve: the button is not offered and the action is refused
    page = staff_b.get(f"/quan-tri/phan-anh/{code}").get_data(as_text=True)
    assert "/approve" not in page
    assert act(staff_b, code, "approve").status_code == 403
    boss_b = app.test_client()
    login(world.b_admin, on=boss_b)
    assert act(boss_b, code, "approve").status_code == 303
    assert act(boss_b, code, "redact", title="Hẹn trả kết quả quá lâu",
               content="Hồ sơ cấp bản sao trích lục hộ tịch nộp từ lâu mà chưa có kết quả.",
               answer="Sở Xây dựng đã chấn chỉnh bộ phận một cửa; hồ sơ của người gửi đã có kết quả.",
               ).status_code == 303
    assert act(boss_b, code, "publish").status_code == 303

    public = app.test_client()
    listing = public.get("/phan-anh").get_data(as_text=True)
    assert code in listing
    page = public.get(f"/phan-anh/{code}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "chấn chỉnh bộ phận một cửa" in html and "Sở Xây dựng" in html
    assert "biên tập" in html
    assert re.search(r"Ngày gửi</dt><dd>\d{2}/\d{2}/\d{4}</dd>", html)  # dates the Vietnamese way
    for secret in (SENDER_NAME, SENDER_PHONE, "Bích Ngọc", "ngoc@example.vn", "12 Lê Lợi"):
        assert secret not in html and secret not in listing

    # the citizen looks it up and rates the answer
    citizen = app.test_client()
    form = citizen.get("/phan-anh/tra-cuu").get_data(as_text=True)
    wrong = citizen.post("/phan-anh/tra-cuu", data={"csrf_token": csrf_from(form), "code": code, "digits": "0000"})
    assert wrong.status_code == 404 and "Không tìm thấy phản ánh" in wrong.get_data(as_text=True)
    right = citizen.post("/phan-anh/tra-cuu", data={"csrf_token": csrf_from(form), "code": code.lower(),
                                                     "digits": "5678"})
    assert right.status_code == 303
    status = citizen.get(right.headers["Location"]).get_data(as_text=True)
    assert "Đã trả lời" in status
    rated = citizen.post(f"/phan-anh/tra-cuu/{code}/danh-gia", data={"csrf_token": csrf_from(status),
                                                                     "rating": "satisfied"})
    assert rated.status_code == 303
    assert "Hoàn thành" in citizen.get(f"/phan-anh/tra-cuu/{code}").get_data(as_text=True)
    with app.app_context():
        feedback = db.session.scalar(sa.select(Feedback).where(Feedback.code == code))
        assert feedback.rating == "satisfied" and feedback.status == "completed"
        assert [t.to_status for t in feedback.transitions] == ["received", "accepted", "transferred",
                                                                "in_progress", "answered", "completed"]
