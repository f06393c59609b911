"""The state machine on the staff pages: only legal actions offered, illegal ones refused (409), refusal with a
reason (a misfiled complaint), hiding, bulk publication, the signed letter, logging from another channel, the
citizen's one clarification, per-unit deadlines."""
from __future__ import annotations

import io

import sqlalchemy as sa

from tests.factories import csrf_from
from tests.feedback.conftest import SENDER_NAME, SENDER_PHONE
from tests.feedback.test_tenancy import make_feedback

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def act(client, code, action, **data):
    html = client.get(f"/quan-tri/phan-anh/{code}").get_data(as_text=True)
    return client.post(f"/quan-tri/phan-anh/{code}/{action}", data={"csrf_token": csrf_from(html), **data},
                       content_type="multipart/form-data")


def answered(app, world, login, client=None, **changes):
    code = make_feedback(app, **changes)
    boss = client or app.test_client()
    if client is None:
        login(world.a_admin, on=boss)
    for action, data in (("accept", {}), ("answer", {"text": "Cơ quan đã xử lý theo quy định."}), ("approve", {})):
        assert act(boss, code, action, **data).status_code == 303, action
    return code, boss


def test_only_legal_actions_are_offered_and_others_refused(app, world, login):
    code = make_feedback(app)
    staff = app.test_client()
    login(world.a_organiser, on=staff)
    page = staff.get(f"/quan-tri/phan-anh/{code}").get_data(as_text=True)
    for offered in ("/accept", "/refuse", "/transfer"):
        assert f"{code}{offered}" in page
    for hidden in ("/approve", "/publish", "/complete", "/redact"):
        assert f"{code}{hidden}" not in page
    response = act(staff, code, "publish")
    assert response.status_code == 409 and "chưa có câu trả lời được duyệt" in response.get_data(as_text=True)
    assert act(staff, code, "complete").status_code == 409
    assert act(staff, code, "nonsense").status_code == 404
    viewer = app.test_client()
    login(world.a_viewer, on=viewer)
    assert f"{code}/accept" not in viewer.get(f"/quan-tri/phan-anh/{code}").get_data(as_text=True)
    assert act(viewer, code, "accept").status_code == 403


def test_a_misfiled_complaint_is_closed_with_its_reason_and_never_published(app, world, login):
    code = make_feedback(app)
    staff = app.test_client()
    login(world.a_organiser, on=staff)
    assert act(staff, code, "refuse", reason="bogus").status_code == 400
    assert act(staff, code, "refuse", reason="complaint", note="Là đơn tố cáo").status_code == 303
    page = staff.get(f"/quan-tri/phan-anh/{code}").get_data(as_text=True)
    assert "Không tiếp nhận" in page and "khiếu nại, tố cáo" in page
    assert act(staff, code, "publish").status_code == 409
    assert app.test_client().get(f"/phan-anh/{code}").status_code == 404


def test_bulk_publish_all_or_nothing_then_hide_keeps_it_counted(app, world, login):
    from app.database import utcnow
    from app.feedback.figures import feedback_figures
    from app.periods import parse_period
    from app.units.services import get_unit_by_code

    first, boss = answered(app, world, login)
    second, _ = answered(app, world, login, client=boss)
    private, _ = answered(app, world, login, client=boss, consent_publish="")
    html = boss.get("/quan-tri/phan-anh").get_data(as_text=True)
    refused = boss.post("/quan-tri/phan-anh/cong-khai", data={"csrf_token": csrf_from(html),
                                                              "codes": [first, second, private]})
    assert refused.status_code == 303
    assert "không đồng ý công khai" in boss.get("/quan-tri/phan-anh").get_data(as_text=True)
    public = app.test_client()
    assert public.get(f"/phan-anh/{first}").status_code == 404  # all or nothing
    done = boss.post("/quan-tri/phan-anh/cong-khai", data={"csrf_token": csrf_from(html), "codes": [first, second]})
    assert done.status_code == 303
    assert public.get(f"/phan-anh/{first}").status_code == 200 and public.get(f"/phan-anh/{second}").status_code == 200
    assert act(boss, first, "hide", reason="Lộ thông tin cá nhân").status_code == 303
    assert public.get(f"/phan-anh/{first}").status_code == 404 and first not in public.get("/phan-anh").get_data(
        as_text=True)
    with app.app_context():
        today = utcnow()
        figures = feedback_figures(get_unit_by_code("T01-A"), parse_period(str(today.year)), today)
        assert figures["answered"] == 3


def test_the_signed_letter_is_a_pdf_and_is_published_with_the_answer(app, world, login):
    code = make_feedback(app)
    boss = app.test_client()
    login(world.a_admin, on=boss)
    act(boss, code, "accept")
    bad = act(boss, code, "answer", text="Cơ quan đã xử lý theo quy định.",
              letter=(io.BytesIO(b"\x89PNG\r\n\x1a\n fake"), "cong-van.pdf"))
    assert bad.status_code == 415 and "không phải tệp PDF" in bad.get_data(as_text=True)
    good = act(boss, code, "answer", text="Cơ quan đã xử lý theo quy định.", letter=(io.BytesIO(PDF), "cv.pdf"))
    assert good.status_code == 303
    act(boss, code, "approve")
    act(boss, code, "publish")
    page = app.test_client().get(f"/phan-anh/{code}").get_data(as_text=True)
    import re

    link = re.search(r'href="(/phan-anh/[^"]+/cong-van/\d+)"', page).group(1)
    letter = app.test_client().get(link)
    assert letter.status_code == 200 and letter.data == PDF and letter.mimetype == "application/pdf"


def test_staff_log_a_phone_call_on_the_citizens_behalf(app, world, login):
    from app.auth.models import AuditEntry
    from app.extensions import db
    from app.feedback.models import Feedback

    staff = app.test_client()
    login(world.a_organiser, on=staff)
    form = staff.get("/quan-tri/phan-anh/ghi-nhan").get_data(as_text=True)
    import re

    unit_id = re.search(r'<option value="(\d+)" selected>Sở Tư pháp', form).group(1)
    data = {"csrf_token": csrf_from(form), "key": "k-phone-1", "channel": "phone", "sender_type": "individual",
            "name": SENDER_NAME, "address": "12 Lê Lợi", "phone": SENDER_PHONE, "kind": "other",
            "title": "Gọi điện phản ánh", "content": "Người dân gọi điện phản ánh thủ tục rườm rà.", "unit": unit_id}
    response = staff.post("/quan-tri/phan-anh/ghi-nhan", data=data, content_type="multipart/form-data")
    assert response.status_code == 303
    with app.app_context():
        feedback = db.session.scalar(sa.select(Feedback))
        assert feedback.channel == "phone" and feedback.status == "received"
        assert db.session.scalar(sa.select(AuditEntry.organiser_id).where(AuditEntry.action == "feedback.logged")) \
            == world.a_organiser.id
    other = app.test_client()
    login(world.b_organiser, on=other)
    form = other.get("/quan-tri/phan-anh/ghi-nhan").get_data(as_text=True)
    outside = other.post("/quan-tri/phan-anh/ghi-nhan", data={**data, "csrf_token": csrf_from(form), "key": "k2"},
                         content_type="multipart/form-data")
    assert outside.status_code == 404


def test_the_citizen_asks_once_for_clarification(app, world, login):
    code, boss = answered(app, world, login)
    citizen = app.test_client()
    form = citizen.get("/phan-anh/tra-cuu").get_data(as_text=True)
    citizen.post("/phan-anh/tra-cuu", data={"csrf_token": csrf_from(form), "code": code, "digits": "5678"})
    page = citizen.get(f"/phan-anh/tra-cuu/{code}").get_data(as_text=True)
    asked = citizen.post(f"/phan-anh/tra-cuu/{code}/hoi-lai", data={"csrf_token": csrf_from(page),
                                                                    "text": "Xin nói rõ thời gian trả kết quả."})
    assert asked.status_code == 303
    again = citizen.post(f"/phan-anh/tra-cuu/{code}/hoi-lai", data={"csrf_token": csrf_from(page),
                                                                    "text": "Hỏi thêm lần nữa được không?"})
    assert again.status_code == 409
    staff_page = boss.get(f"/quan-tri/phan-anh/{code}").get_data(as_text=True)
    assert "Xin nói rõ thời gian trả kết quả." in staff_page and "Đang xử lý" in staff_page
    # someone else's browser cannot open the status page without the phone digits
    assert app.test_client().get(f"/phan-anh/tra-cuu/{code}").status_code == 404


def test_a_units_own_deadline_applies_to_new_feedback(app, world, runner):
    import datetime as dt

    from app.extensions import db
    from app.feedback.models import Feedback

    result = runner.invoke(args=["feedback", "deadline", "--unit", "T01", "--answer-days", "5"])
    assert result.exit_code == 0, result.output
    code = make_feedback(app)
    with app.app_context():
        feedback = db.session.scalar(sa.select(Feedback).where(Feedback.code == code))
        from app.feedback.calendar import load_calendar

        assert feedback.due_on == load_calendar().add_working_days(feedback.received_on, 5)
        assert feedback.due_on - feedback.received_on <= dt.timedelta(days=9)
    assert runner.invoke(args=["feedback", "deadline", "--unit", "T01", "--answer-days", "0"]).exit_code == 1
