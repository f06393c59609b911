"""One-time dossier links /d/<token>: one rating per dossier, expiry, tampering, and `flask dossier-link`."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from tests.factories import concurrent_posts, count_responses, decode_qr, form_fields, stored_responses

RATED_MESSAGE = "Hồ sơ này đã được đánh giá. Cảm ơn Ông/Bà đã góp ý."
NOT_FOUND_MESSAGE = "Mã QR hoặc đường dẫn không hợp lệ"


@pytest.fixture
def counter(make):
    return make.counter(name="Quầy Đất đai", fields=("DAT_DAI",))


def rating(client, path: str, value: str = "3", **extra) -> dict:
    """Load the dossier form and rate it `value` (3 = Rất hài lòng, 1 = Không hài lòng) in the only field."""
    html = client.get(path).get_data(as_text=True)
    data = form_fields(html)
    data["DANH_GIA"] = value
    data["field"] = re.search(r'name="field" value="(\d+)"', html)[1]
    data.update(extra)
    return data


def text(response) -> str:
    return response.get_data(as_text=True)


def test_dossier_link_serves_the_three_level_rating_and_stores_it_with_the_dossier_code(app, client, make, counter):
    path = make.dossier_path(counter, "HS-000777")
    page = client.get(path)
    assert page.status_code == 200
    html = text(page)
    assert "Rất hài lòng" in html and "Không hài lòng" in html and "Rất không hài lòng" not in html
    assert page.headers["Referrer-Policy"] == "no-referrer"
    response = client.post(path, data=rating(client, path, "2"))
    assert response.status_code == 303 and response.headers["Location"] == f"{path}/cam-on"
    assert "Cảm ơn" in text(client.get(f"{path}/cam-on"))
    [row] = stored_responses(app)
    assert row.dossier_code == "HS-000777" and row.counter_id == counter.id and row.scores == bytes([2])


def test_dissatisfied_rating_without_a_reason_is_rejected(app, client, make, counter):
    path = make.dossier_path(counter)
    for reason in (None, "   "):
        data = rating(client, path, "1")
        if reason is not None:
            data["LY_DO"] = reason
        response = client.post(path, data=data)
        assert response.status_code == 400
        assert "Vui lòng cho biết lý do." in text(response)
    assert count_responses(app) == 0


def test_dissatisfied_rating_with_a_reason_is_stored(app, client, make, counter):
    path = make.dossier_path(counter)
    response = client.post(path, data=rating(client, path, "1", LY_DO="Trả kết quả trễ hẹn 5 ngày."))
    assert response.status_code == 303
    assert stored_responses(app)[0].texts == {"LY_DO": "Trả kết quả trễ hẹn 5 ngày."}


def test_a_reason_is_optional_for_a_satisfied_rating(app, client, make, counter):
    path = make.dossier_path(counter)
    assert client.post(path, data=rating(client, path, "3")).status_code == 303
    assert count_responses(app) == 1


@pytest.mark.parametrize("value", ["0", "4", "5", "x"])
def test_a_rating_outside_the_three_levels_is_rejected(app, client, make, counter, value):
    path = make.dossier_path(counter)
    response = client.post(path, data=rating(client, path, value))
    assert response.status_code == 400
    assert "Giá trị không hợp lệ cho câu này." in text(response)
    assert count_responses(app) == 0


def test_a_second_use_of_the_link_shows_already_rated(app, client, make, counter):
    path = make.dossier_path(counter)
    first = rating(client, path)
    second = rating(client, path)  # another tab, opened before the first was sent: a new submission key
    assert client.post(path, data=first).status_code == 303
    again = client.get(path)
    assert again.status_code == 410 and RATED_MESSAGE in text(again)
    response = client.post(path, data=second)
    assert response.status_code == 409 and RATED_MESSAGE in text(response)
    invalid = client.post(path, data={**second, "DANH_GIA": "1"})  # even an incomplete second rating
    assert invalid.status_code == 409 and RATED_MESSAGE in text(invalid)
    assert count_responses(app) == 1


def test_replaying_the_first_submission_of_a_dossier_shows_thanks_again(app, client, make, counter):
    path = make.dossier_path(counter)
    data = rating(client, path)
    assert client.post(path, data=data).status_code == 303
    replay = client.post(path, data=data)
    assert replay.status_code == 303 and replay.headers["Location"] == f"{path}/cam-on"
    assert count_responses(app) == 1


def test_two_links_for_the_same_dossier_share_one_rating(app, client, make, counter):
    first, second = make.dossier_path(counter, "HS-1", days=10), make.dossier_path(counter, "HS-1", days=20)
    assert first != second
    assert client.post(first, data=rating(client, first)).status_code == 303
    assert client.get(second).status_code == 410
    assert count_responses(app) == 1


def test_concurrent_ratings_of_one_dossier_with_different_keys_store_one(app, client, make, counter):
    path = make.dossier_path(counter)
    bodies = [rating(client, path) for _ in range(3)]
    results = concurrent_posts(app, path, bodies, client.get_cookie("session").value)
    assert sorted(r.status_code for r in results) == [303, 409, 409]
    assert count_responses(app) == 1


def test_the_database_refuses_a_second_response_for_one_dossier(app, client, make, counter):
    from app.database import utcnow
    from app.extensions import db
    from app.surveys.models import SurveyResponse

    path = make.dossier_path(counter, "HS-42")
    assert client.post(path, data=rating(client, path)).status_code == 303
    [stored] = stored_responses(app)
    with app.app_context():
        now = utcnow()
        db.session.add(SurveyResponse(
            instrument_version_id=stored.instrument_version_id, counter_id=counter.id, unit_id=counter.unit_id,
            submission_key="another-key-0000000000", dossier_code="HS-42", submitted_at=now,
            local_day=now.date(), scores=bytes([3]), answers={}, texts={}))
        with pytest.raises(sa.exc.IntegrityError):
            db.session.flush()
        db.session.rollback()
        with pytest.raises(sa.exc.IntegrityError):
            db.session.execute(sa.insert(SurveyResponse.__table__).values(
                instrument_version_id=stored.instrument_version_id, counter_id=counter.id, unit_id=counter.unit_id,
                submission_key="yet-another-key-000000", dossier_code="HS-42", submitted_at=now, local_day=now.date(),
                scores=bytes([3]), answers={}, texts={}))
        db.session.rollback()
    assert count_responses(app) == 1


def test_an_expired_link_answers_410(app, client, make, counter):
    fresh = make.dossier_path(counter)
    data = rating(client, fresh)
    path = make.dossier_path(counter, days=-1)
    for response in (client.get(path), client.post(path, data=data)):
        assert response.status_code == 410
        assert "Đường dẫn đánh giá hồ sơ đã hết hạn." in text(response)
    assert count_responses(app) == 0


@pytest.mark.parametrize("mangle", [
    lambda token: token[:-2] + ("AA" if not token.endswith("AA") else "BB"),
    lambda token: token[:20],
    lambda token: token.replace(".", "", 1),
    lambda token: "garbage",
    lambda token: "hồ-sơ-số-1",
    lambda token: "x" * 400,
])
def test_a_tampered_link_answers_404(app, client, make, counter, mangle):
    token = make.dossier_path(counter).removeprefix("/d/")
    path = f"/d/{mangle(token)}"
    for response in (client.get(path), client.post(path, data={"k": "x"}), client.get(f"{path}/cam-on")):
        assert response.status_code == 404
        assert NOT_FOUND_MESSAGE in text(response)
    assert count_responses(app) == 0


def test_a_link_signed_with_another_secret_answers_404(app, client, counter):
    import datetime as dt

    from app.database import utcnow
    from app.units.tokens import DossierClaim, dossier_token

    token = dossier_token(DossierClaim("HS-1", counter.id, utcnow() + dt.timedelta(days=1)), "another-secret")
    assert client.get(f"/d/{token}").status_code == 404


def test_a_link_for_a_deactivated_counter_answers_410(app, client, make, counter):
    from app.database import utcnow
    from app.extensions import db
    from app.units.services import get_counter_by_code, set_counter_active

    path = make.dossier_path(counter)
    data = rating(client, path)
    with app.app_context():
        set_counter_active(get_counter_by_code(counter.code), False, utcnow())
        db.session.commit()
    for response in (client.get(path), client.post(path, data=data)):
        assert response.status_code == 410
        assert "Quầy này đã ngừng nhận đánh giá." in text(response)
    assert count_responses(app) == 0


def test_a_link_for_a_counter_that_does_not_exist_answers_404(app, client, make, counter):
    from dataclasses import replace

    path = make.dossier_path(replace(counter, id=counter.id + 1000))
    assert client.get(path).status_code == 404


def test_dossier_link_command_prints_the_url_and_writes_a_qr_that_decodes_to_it(app, client, runner, counter,
                                                                                tmp_path):
    qr_path = tmp_path / "hs.png"
    result = runner.invoke(args=["dossier-link", "--counter", counter.code, "--dossier", "HS-2026-9",
                                 "--qr", str(qr_path)])
    assert result.exit_code == 0, result.output
    url = result.output.strip()
    assert url.startswith("http://hailong.test/d/")
    assert decode_qr(qr_path) == [url]
    path = url.removeprefix("http://hailong.test")
    assert client.get(path).status_code == 200
    assert client.post(path, data=rating(client, path)).status_code == 303
    assert stored_responses(app)[0].dossier_code == "HS-2026-9"


@pytest.mark.parametrize("args, message", [
    (["--counter", "NO-SUCH", "--dossier", "HS-1"], "Không tìm thấy quầy có mã “NO-SUCH”."),
    (["--dossier", "   "], "Mã hồ sơ phải có từ 1 đến 64 ký tự."),
    (["--dossier", "H" * 65], "Mã hồ sơ phải có từ 1 đến 64 ký tự."),
])
def test_dossier_link_command_refuses_bad_input_with_a_clear_message(runner, counter, args, message):
    if "--counter" not in args:
        args = ["--counter", counter.code, *args]
    result = runner.invoke(args=["dossier-link", *args])
    assert result.exit_code != 0
    assert message in result.output


def _urlencoded(data: dict) -> bytes:
    from urllib.parse import urlencode

    return urlencode(data, doseq=True).encode()


@pytest.mark.parametrize("change, status, message", [
    ({"LY_DO": "x" * 501, "DANH_GIA": "1"}, 400, "Nội dung dài quá 500 ký tự."),
    ({"TC1": "5"}, 400, "Phiếu có câu hỏi không thuộc biểu mẫu: TC1"),
    ({"DANH_GIA": ["3", "2"]}, 400, "Câu này chỉ chọn một phương án."),
    ({"DANH_GIA": None}, 400, "Vui lòng trả lời câu này."),
    ({"field": "0"}, 400, "Vui lòng chọn lĩnh vực thủ tục Ông/Bà vừa thực hiện."),
    ({"csrf_token": None}, 400, "Phiên làm việc đã hết hạn hoặc biểu mẫu không hợp lệ."),
    ({"k": "ngắn"}, 400, "Mã gửi phiếu không hợp lệ."),
    ({"Y_KIEN": "x" * 10 * 1024 * 1024}, 413, "Dữ liệu gửi lên quá lớn."),
])
def test_bad_input_on_a_dossier_link_is_refused_and_the_link_stays_usable(app, client, make, counter, change, status,
                                                                           message):
    path = make.dossier_path(counter)
    data = rating(client, path)
    for name, value in change.items():
        if value is None:
            data.pop(name)
        else:
            data[name] = value
    response = client.post(path, data=data)
    assert response.status_code == status
    assert message in text(response)
    assert count_responses(app) == 0
    again = client.get(path)
    assert again.status_code in (200, 400) and 'name="DANH_GIA"' in text(again)
    assert client.post(path, data=rating(client, path)).status_code == 303
    assert count_responses(app) == 1


@pytest.mark.parametrize("content_type, body", [
    ("application/json", b'{"DANH_GIA": 3}'),
    ("text/plain", b"DANH_GIA=3"),
    ("multipart/form-data; boundary=b",
     b'--b\r\nContent-Disposition: form-data; name="DANH_GIA"\r\n\r\n3\r\n--b--\r\n'),
])
def test_a_dossier_rating_in_another_content_type_is_refused_with_415(app, client, make, counter, content_type, body):
    path = make.dossier_path(counter)
    client.get(path)
    response = client.post(path, data=body, content_type=content_type)
    assert response.status_code == 415
    assert "Định dạng dữ liệu gửi lên không được hỗ trợ." in text(response)
    assert count_responses(app) == 0


def test_bad_utf8_in_a_dossier_rating_is_refused_with_a_clear_message(app, client, make, counter):
    path = make.dossier_path(counter)
    body = _urlencoded(rating(client, path, "1")) + b"&LY_DO=%C3%28"
    response = client.post(path, data=body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert "sai mã hoá ký tự" in text(response)
    assert count_responses(app) == 0


def test_a_bot_filling_the_honeypot_is_thanked_and_the_dossier_stays_unrated(app, client, make, counter):
    path = make.dossier_path(counter)
    response = client.post(path, data=rating(client, path, website="http://spam.example"))
    assert response.status_code == 303 and response.headers["Location"] == f"{path}/cam-on"
    assert count_responses(app) == 0
    assert client.post(path, data=rating(client, path)).status_code == 303
    assert count_responses(app) == 1


@pytest.mark.parametrize("method, suffix", [("put", ""), ("delete", ""), ("post", "/cam-on")])
def test_methods_a_dossier_path_does_not_serve_get_405(app, client, make, counter, method, suffix):
    path = make.dossier_path(counter)
    response = getattr(client, method)(path + suffix)
    assert response.status_code == 405
    assert "Phương thức yêu cầu không được hỗ trợ cho địa chỉ này." in text(response)
