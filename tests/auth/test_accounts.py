"""Account management and the audit log: administrators only, within their own subtree."""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from tests.factories import csrf_from, log_in


def accounts(app) -> dict[str, tuple]:
    from app.auth.models import Organiser
    from app.extensions import db

    with app.app_context():
        rows = db.session.execute(sa.select(Organiser.email, Organiser.role, Organiser.unit_id,
                                            Organiser.is_active_account, Organiser.session_version))
        return {row[0]: tuple(row[1:]) for row in rows}


@pytest.fixture
def tree(make):
    """A province with two communes; returns unit ids by code."""
    return {code: make.unit(code, parent=parent, kind=kind)
            for code, parent, kind in (("T", None, "province"), ("T-A", "T", "commune"), ("T-B", "T", "commune"))}


def post_form(client, path: str, data: dict):
    token = csrf_from(client.get(path).get_data(as_text=True))
    return client.post(path, data={"csrf_token": token, **data})


def new_account(unit_id: int, **overrides) -> dict:
    return {"email": "moi@thu.gov.vn", "name": "Nguyễn Văn Mới", "unit": unit_id, "role": "viewer",
            "new_password": "mat-khau-ban-dau-dai", "confirm_password": "mat-khau-ban-dau-dai", **overrides}


def test_administrator_lists_only_the_accounts_of_the_subtree(client, make, login, tree):
    admin = make.organiser("T-A", role="administrator")
    mine = make.organiser("T-A", email="cung-xa@thu.gov.vn")
    theirs = make.organiser("T-B", email="xa-khac@thu.gov.vn")
    above = make.organiser("T", email="cap-tinh@thu.gov.vn")
    login(admin)
    html = client.get("/quan-tri/tai-khoan").get_data(as_text=True)
    assert admin.email in html and mine.email in html
    assert theirs.email not in html and above.email not in html


@pytest.mark.parametrize("role", ["viewer", "organiser"])
def test_only_administrators_reach_accounts_and_the_audit_log(client, make, login, role):
    login(make.organiser(role=role))
    for path in ("/quan-tri/tai-khoan", "/quan-tri/tai-khoan/moi", "/quan-tri/nhat-ky"):
        response = client.get(path)
        assert response.status_code == 403
        assert "không có quyền" in response.get_data(as_text=True)


def test_administrator_creates_an_account_that_can_sign_in(app, client, make, login, tree):
    login(make.organiser("T", role="administrator"))
    response = post_form(client, "/quan-tri/tai-khoan/moi", new_account(tree["T-A"], email="Moi@Thu.gov.vn"))
    assert response.status_code == 303
    assert accounts(app)["moi@thu.gov.vn"][:3] == ("viewer", tree["T-A"], True)
    assert log_in(app.test_client(), "moi@thu.gov.vn", "mat-khau-ban-dau-dai").status_code == 303


def test_account_for_a_unit_outside_the_subtree_is_refused(app, client, make, login, tree):
    login(make.organiser("T-A", role="administrator"))
    response = post_form(client, "/quan-tri/tai-khoan/moi", new_account(tree["T-B"]))
    assert response.status_code == 404
    assert "moi@thu.gov.vn" not in accounts(app)


@pytest.mark.parametrize("change, message", [
    ({"email": "khong-phai-email"}, "Địa chỉ email không hợp lệ."),
    ({"new_password": "ngan", "confirm_password": "ngan"}, "ít nhất 12 ký tự"),
    ({"confirm_password": "khac-mat-khau-dai-qua"}, "Hai lần nhập mật khẩu không khớp."),
    ({"role": "superuser"}, "Lựa chọn không hợp lệ"),
])
def test_bad_account_details_are_refused_and_nothing_is_created(app, client, make, login, tree, change, message):
    login(make.organiser("T", role="administrator"))
    response = post_form(client, "/quan-tri/tai-khoan/moi", new_account(tree["T-A"], **change))
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert len(accounts(app)) == 1


def test_duplicate_email_is_a_clear_conflict(app, client, make, login, tree):
    login(make.organiser("T", role="administrator"))
    make.organiser("T-A", email="moi@thu.gov.vn")
    response = post_form(client, "/quan-tri/tai-khoan/moi", new_account(tree["T-A"]))
    assert response.status_code == 409
    assert "đã có tài khoản" in response.get_data(as_text=True)


def test_deactivation_asks_for_confirmation_then_ends_the_accounts_sessions(app, client, make, login, tree):
    login(make.organiser("T", role="administrator"))
    target = make.organiser("T-A")
    their_client = login(target, app.test_client())
    path = f"/quan-tri/tai-khoan/{target.id}/vo-hieu-hoa"
    page = client.get(path)
    assert page.status_code == 200 and "Vô hiệu hoá tài khoản" in page.get_data(as_text=True)
    assert accounts(app)[target.email][2] is True
    assert post_form(client, path, {}).status_code == 303
    assert accounts(app)[target.email][2] is False
    assert their_client.get("/quan-tri/don-vi").status_code == 302
    assert post_form(client, f"/quan-tri/tai-khoan/{target.id}/kich-hoat", {}).status_code == 303
    assert accounts(app)[target.email][2] is True


def test_administrator_cannot_deactivate_their_own_account(app, client, make, login):
    admin = make.organiser(role="administrator")
    login(admin)
    response = post_form(client, f"/quan-tri/tai-khoan/{admin.id}/vo-hieu-hoa", {})
    assert response.status_code == 403
    assert accounts(app)[admin.email][2] is True


def test_password_reset_ends_sessions_and_lifts_the_lock(app, client, make, login, tree):
    from app.auth.models import Organiser
    from app.extensions import db

    login(make.organiser("T", role="administrator"))
    target = make.organiser("T-A")
    their_client = login(target, app.test_client())
    with app.app_context():
        db.session.get(Organiser, target.id).locked_until = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1)
        db.session.commit()
    response = post_form(client, f"/quan-tri/tai-khoan/{target.id}/dat-lai-mat-khau",
                         {"new_password": "mat-khau-dat-lai-dai", "confirm_password": "mat-khau-dat-lai-dai"})
    assert response.status_code == 303
    assert their_client.get("/quan-tri/don-vi").status_code == 302
    assert log_in(app.test_client(), target.email, "mat-khau-dat-lai-dai").status_code == 303


def test_audit_log_shows_the_subtree_newest_first(app, client, make, login, tree):
    from app.auth.audit import COMMAND_LINE, record
    from app.extensions import db

    admin = make.organiser("T-A", role="administrator")
    start = dt.datetime(2026, 3, 1, 1, 0, tzinfo=dt.timezone.utc)
    with app.app_context():
        record(COMMAND_LINE, tree["T-A"], "unit.edit", "unit", 1, {"note": "cũ hơn"}, start)
        record(COMMAND_LINE, tree["T-A"], "unit.create", "unit", 2, {"note": "mới hơn"}, start + dt.timedelta(hours=1))
        record(COMMAND_LINE, tree["T-B"], "unit.create", "unit", 3, {"note": "xã khác"}, start)
        record(COMMAND_LINE, None, "login.failure", "organiser", None, {"email": "la@thu.gov.vn"}, start)
        db.session.commit()
    login(admin)
    html = client.get("/quan-tri/nhat-ky").get_data(as_text=True)
    assert "xã khác" not in html and "la@thu.gov.vn" not in html
    assert html.index("Đăng nhập") < html.index("mới hơn") < html.index("cũ hơn")


def test_audit_log_without_unit_is_shown_to_a_root_administrator(app, client, make, login, tree):
    from app.auth.audit import COMMAND_LINE, record
    from app.extensions import db

    with app.app_context():
        record(COMMAND_LINE, None, "login.failure", "organiser", None, {"email": "la@thu.gov.vn"},
               dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc))
        db.session.commit()
    login(make.organiser("T", role="administrator"))
    assert "la@thu.gov.vn" in client.get("/quan-tri/nhat-ky").get_data(as_text=True)


def test_audit_log_is_paginated(app, client, make, login):
    from app.auth.audit import COMMAND_LINE, record
    from app.extensions import db

    admin = make.organiser(role="administrator")
    start = dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc)
    with app.app_context():
        for n in range(55):
            record(COMMAND_LINE, admin.unit_id, "unit.edit", "unit", n, {"so": f"muc-{n:02d}"},
                   start + dt.timedelta(minutes=n))
        db.session.commit()
    login(admin)
    first = client.get("/quan-tri/nhat-ky").get_data(as_text=True)
    second = client.get("/quan-tri/nhat-ky?trang=2").get_data(as_text=True)
    # 56 entries, 50 a page: the sign-in (newest), muc-54 … muc-06 | muc-05 … muc-00
    assert "muc-54" in first and "muc-06" in first and "muc-05" not in first
    assert "muc-05" in second and "muc-00" in second and "muc-06" not in second
    assert "Trang sau" in first and "Trang trước" in second


@pytest.mark.parametrize("page", ["0", "-1", "abc", str(10**30)])
def test_audit_log_reads_odd_page_numbers_without_an_error(client, make, login, page):
    login(make.organiser(role="administrator"))
    assert client.get(f"/quan-tri/nhat-ky?trang={page}").status_code == 200


def test_the_audit_log_speaks_in_words_with_the_actors_name(app, client, make, login, tree):
    from app.auth.audit import COMMAND_LINE, record
    from app.auth.models import Organiser
    from app.extensions import db

    admin = make.organiser("T", role="administrator", name="Trần Văn Quản")
    start = dt.datetime(2026, 3, 1, 1, 0, tzinfo=dt.timezone.utc)
    with app.app_context():
        account = db.session.get(Organiser, admin.id)
        record(account, tree["T"], "contest.publish_results", "contest", 7, {}, start)
        record(account, tree["T"], "bank.import", "bank", 2, {"count": 91}, start)
        record(account, tree["T"], "login.failure", "organiser", admin.id, {"failures": 1}, start)
        record(COMMAND_LINE, tree["T"], "unit.edit", "unit", 3, {"changes": {"headcount": [10, 12]}}, start)
        db.session.commit()
    login(admin)
    html = client.get("/quan-tri/nhat-ky").get_data(as_text=True)
    for words in ("Công bố kết quả cuộc thi", "Nhập ngân hàng câu hỏi", "Trần Văn Quản", "Tài khoản: Trần Văn Quản",
                  "Số lần đăng nhập sai liên tiếp: 1", "Dòng lệnh trên máy chủ", "Biên chế: 10 → 12",
                  "Số lượng: 91"):
        assert words in html, words
    for code in ("contest.publish_results", "bank.import", "organiser #", "failures:", "headcount"):
        assert code not in html, code
