"""Issue 11 through HTTP: the compact scale, the quick instrument, honest words, never doubled or lost, the dossier
page, short addresses, the thanks page's next steps, plain error pages."""
from __future__ import annotations

import datetime as dt
import json
import re

import pytest
import sqlalchemy as sa

from tests.factories import (count_responses, form_fields, full_answers, new_visit_page, separate_app,
                             stored_responses)


@pytest.fixture
def counter(make):
    return make.counter(name="Quầy Hộ tịch")


def text(response) -> str:
    return response.get_data(as_text=True)


def new_visit(client, path: str, **changes) -> dict:
    """A new visit's form, every radio answered 4 (or its first option), then `changes` (None removes a field)."""
    data = full_answers(new_visit_page(client, path))
    for name, value in changes.items():
        if value is None:
            data.pop(name, None)
        else:
            data[name] = value
    return data


def _change(app, code: str, change) -> None:
    from app.database import utcnow
    from app.extensions import db
    from app.units.services import get_counter_by_code

    with app.app_context():
        change(get_counter_by_code(code), utcnow())
        db.session.commit()


def _current_path(app, code: str) -> str:
    from app.units.services import get_counter_by_code
    from app.units.tokens import counter_token

    with app.app_context():
        return "/s/" + counter_token(get_counter_by_code(code).token_nonce, app.config["SECRET_KEY"])


# --- the compact scale and honest words ------------------------------------------------------------------------------


def test_each_criterion_is_one_row_of_numbered_choices_whose_labels_carry_the_scale_words(client, counter):
    html = text(client.get(counter.path))
    row = re.search(r'<fieldset class="q scale" id="q-TC1".*?</fieldset>', html, re.S)[0]
    labels = re.findall(r'<label class="n">(.*?)</label>', row, re.S)
    assert [re.search(r'<span class="num">(\d)</span>', label)[1] for label in labels] == ["1", "2", "3", "4", "5"]
    assert 'class="sr-only"> Rất không hài lòng' in labels[0] and 'class="sr-only"> Rất hài lòng' in labels[4]
    # The scale's ends stay in view above the rows, once.
    assert html.count("1 = Rất không hài lòng") == 1 and html.count("5 = Rất hài lòng") == 1


def test_the_intro_states_the_real_number_of_questions_and_time(client, make):
    full = make.counter(fields=("HO_TICH",))
    quick = make.counter(fields=("HO_TICH",), instrument_code="sipas-quick")
    full_page, quick_page = text(client.get(full.path)), text(client.get(quick.path))
    # 19 required items of sipas-counter v2 and the service field; 10 optional items; 188 s.
    assert "20 câu cần trả lời, 10 câu không bắt buộc." in full_page and "khoảng 3 phút" in full_page
    assert "6 câu cần trả lời, 2 câu không bắt buộc." in quick_page and "chưa đến một phút" in quick_page
    assert "một phút" not in full_page.split('class="effort"')[0]  # the instrument's own words promise no time


def test_no_help_text_is_shown_twice(client, counter):
    html = text(client.get(counter.path))
    assert html.count("Ông/Bà có thể bỏ qua nếu chưa từng góp ý, phản ánh, kiến nghị.") == 1
    assert html.count("Chọn tối đa 3") == 1
    assert html.count("(không bắt buộc)") == 4  # folded sections say it once, as do the expectations and comment


def test_the_english_page_has_no_vietnamese_left_in_the_questions(client, counter, english):
    html = text(client.get(counter.path + "?lang=en"))
    form = html.split("<form", 1)[1]
    assert "(optional)" in form and "Choose up to 3 options." in form
    for vietnamese in ("không bắt buộc", "Chọn tối đa", "Rất hài lòng", "Lĩnh vực", "Gửi đánh giá", "Đã trả lời"):
        assert vietnamese not in form, vietnamese


def test_the_quick_instrument_is_served_to_a_counter_set_to_it_and_stored_apart(app, client, make, runner):
    counter = make.counter()
    result = runner.invoke(args=["counters", "set", counter.code, "--instrument", "sipas-quick"])
    assert result.exit_code == 0, result.output
    html = text(client.get(counter.path))
    assert "Đánh giá nhanh sự phục vụ" in html and html.count('class="q scale"') == 6
    assert client.post(counter.path, data=new_visit(client, counter.path, TIEP_CAN="5")).status_code == 303
    [row] = stored_responses(app)
    from app.extensions import db
    from app.surveys.models import InstrumentVersion

    with app.app_context():
        assert db.session.get(InstrumentVersion, row.instrument_version_id).code == "sipas-quick"
    assert row.scores == bytes([5, 4, 4, 4, 4, 4])


def test_setting_an_unknown_instrument_is_refused(runner, make):
    counter = make.counter()
    result = runner.invoke(args=["counters", "set", counter.code, "--instrument", "dossier-rating"])
    assert result.exit_code != 0 and "chưa được công bố hoặc không phải phiếu SIPAS" in result.output


# --- error summary ---------------------------------------------------------------------------------------------------


def test_an_empty_form_comes_back_through_a_redirect_listing_each_question_in_page_order(app, counter):
    from flask.testing import FlaskClient

    client = FlaskClient(app, app.response_class)  # sees the redirect itself
    data = form_fields(text(client.get(counter.path)))
    refused = client.post(counter.path, data=data, follow_redirects=False)
    assert refused.status_code == 303 and refused.location == counter.path
    page = client.get(counter.path)
    assert page.status_code == 400
    summary = re.search(r'<div class="alert".*?</div>', text(page), re.S)[0]
    links = re.findall(r'<a href="#q-([A-Z_a-z0-9]+)">([^<]+)</a>', summary)
    assert [code for code, _ in links][:3] == ["field", "TC1", "TC2"]
    assert len(links) == 20 and len({label for _, label in links}) == 20  # each names its question
    assert ("TC1", "Nơi ngồi chờ có đủ chỗ ngồi") in links
    assert "Còn 20 câu cần xem lại:" in summary and "Vui lòng trả lời câu này." not in summary
    assert count_responses(app) == 0


def test_refused_answers_survive_a_reload_and_are_sent_once_fixed(app, client, counter):
    data = new_visit(client, counter.path, TC2=None, Y_KIEN="Chỗ ngồi chờ chật.")
    client.post(counter.path, data=data)
    again = text(client.get(counter.path))  # a reload of the page that shows the refusal
    assert "Chỗ ngồi chờ chật." in again and 'name="TC3" value="4" checked' in again
    assert form_fields(again)["k"] == data["k"]  # the same visit: a double tap stays one response
    fixed = {**data, **form_fields(again), "TC2": "3"}
    assert client.post(counter.path, data=fixed).status_code == 303
    assert client.post(counter.path, data=fixed).status_code == 303
    assert count_responses(app) == 1


# --- never doubled ---------------------------------------------------------------------------------------------------


def test_back_after_sending_shows_that_the_visit_was_recorded_and_sending_again_stores_nothing(app, client, counter):
    data = new_visit(client, counter.path)
    assert client.post(counter.path, data=data).status_code == 303
    back = client.get(counter.path)
    assert back.status_code == 200 and "Lượt đánh giá này đã được ghi nhận" in text(back)
    assert 'name="k"' not in text(back) and f"?moi={data['k'][:8]}" in text(back)
    assert client.post(counter.path, data={**data, "TC1": "1"}).headers["Location"].endswith("/cam-on")
    assert [row.scores[0] for row in stored_responses(app)] == [4]


# --- rotation grace --------------------------------------------------------------------------------------------------


def test_a_form_fetched_before_a_rotation_is_accepted_within_the_grace_period(app, client, counter, runner):
    data = new_visit(client, counter.path)
    result = runner.invoke(args=["counters", "rotate", counter.code])
    assert result.exit_code == 0, result.output
    old = client.get(counter.path)
    assert old.status_code == 410 and "Mã QR này đã được quầy thay bằng mã mới." in text(old)
    assert client.post(counter.path, data=data).status_code == 303
    assert count_responses(app) == 1
    assert client.get(_current_path(app, counter.code)).status_code == 200


def test_after_the_grace_period_the_answers_wait_on_the_phone_for_the_new_qr_code(app, client, counter):
    from app.units.models import Counter

    data = new_visit(client, counter.path, Y_KIEN="Giữ giúp tôi câu trả lời này.")
    _change(app, counter.code, lambda c, now: __import__("app.units.services", fromlist=["x"]).rotate_token(c, now))
    from app.extensions import db

    with app.app_context():
        db.session.execute(sa.update(Counter).where(Counter.code == counter.code)
                           .values(rotated_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=31)))
        db.session.commit()
    refused = client.post(counter.path, data=data)
    assert refused.status_code == 410 and "vui lòng quét mã QR đang dán tại quầy" in text(refused)
    assert count_responses(app) == 0
    page = text(client.get(_current_path(app, counter.code)))
    assert "Giữ giúp tôi câu trả lời này." in page and "đã được thay" in page
    assert client.post(_current_path(app, counter.code), data={**data, **form_fields(page)}).status_code == 303
    assert count_responses(app) == 1


def test_the_grace_period_is_configurable(tmp_path):
    with separate_app(f"sqlite:///{tmp_path / 'grace.db'}", SURVEY_ROTATION_GRACE_MINUTES=0) as app:
        from tests.factories import Factories

        make = Factories(app)
        counter = make.counter()
        client = app.test_client()
        data = full_answers(text(client.get(counter.path)))
        _change(app, counter.code, lambda c, now: __import__("app.units.services", fromlist=["x"]).rotate_token(c, now))
        assert client.post(counter.path, data=data).status_code == 410
        assert count_responses(app) == 0


# --- rate limit ------------------------------------------------------------------------------------------------------


def test_a_rate_limited_submission_shows_the_answers_again(tmp_path):
    with separate_app(f"sqlite:///{tmp_path / 'rate.db'}", SURVEY_RATE_LIMIT="1 per minute") as app:
        from tests.factories import Factories

        counter = Factories(app).counter()
        client = app.test_client()
        assert client.post(counter.path, data=new_visit(client, counter.path)).status_code == 303
        limited = client.post(counter.path, data=new_visit(client, counter.path, Y_KIEN="Đừng mất câu này."))
        assert limited.status_code == 429
        assert "Đừng mất câu này." in text(limited) and "vui lòng chờ một lát" in text(limited)
        assert count_responses(app) == 1


# --- short addresses -------------------------------------------------------------------------------------------------


def test_the_short_address_opens_the_survey_in_any_case_with_or_without_a_slash(app, client, counter, runner):
    [row] = [r for r in json.loads(runner.invoke(args=["counters", "list", "--format", "json"]).output)
             if r["code"] == counter.code]
    code = row["short_url"].rsplit("/", 1)[1]
    assert not set(code) & set("0O1lI")
    for typed in (code, code.lower(), code.lower() + "/", code.swapcase() + "/"):
        response = client.get(f"/q/{typed}")
        assert response.status_code == 302 and response.location == counter.path, typed
    assert client.get(f"/q/{code}", follow_redirects=True).status_code == 200
    assert client.get("/q/ABCDEF0").status_code == 404 and client.get("/q/zzzzzzz").status_code == 404


def test_a_rotated_counter_gets_a_new_short_address_and_the_old_one_says_it_was_replaced(app, client, counter, runner):
    def short() -> str:
        rows = json.loads(runner.invoke(args=["counters", "list", "--format", "json"]).output)
        return next(r["short_url"] for r in rows if r["code"] == counter.code).rsplit("/", 1)[1]

    before = short()
    runner.invoke(args=["counters", "rotate", counter.code])
    assert short() != before
    assert client.get(f"/q/{before}", follow_redirects=True).status_code == 410


# --- the dossier link ------------------------------------------------------------------------------------------------


def test_the_dossier_page_names_the_counter_masks_the_code_and_says_when_a_reason_is_required(client, make):
    counter = make.counter(name="Quầy Đất đai", fields=("DAT_DAI",))
    html = text(client.get(make.dossier_path(counter, "HS-2026-000777")))
    assert "Hồ sơ số ••-••••-••0777, trả kết quả tại Quầy Đất đai." in html
    assert "HS-2026-000777" not in html
    box = re.search(r"<textarea id=\"LY_DO\"[^>]*>", html)[0]
    assert 'aria-describedby="h-LY_DO"' in box and 'data-required-if="DANH_GIA"' in box
    assert re.search(r'id="h-LY_DO">Bắt buộc khi Ông/Bà chọn “Không hài lòng”', html)
    reason_label = re.search(r'<label for="LY_DO"[^>]*>.*?</label>', html, re.S)[0]
    assert "không bắt buộc" not in reason_label


def test_a_dossier_link_minted_with_a_service_field_does_not_ask_for_it(app, client, make, runner):
    counter = make.counter(fields=("DAT_DAI", "HO_TICH"))
    result = runner.invoke(args=["dossier-link", "--counter", counter.code, "--dossier", "HS-9", "--field", "HO_TICH"])
    assert result.exit_code == 0, result.output
    path = result.output.strip().removeprefix("http://hailong.test")
    html = text(client.get(path))
    assert 'name="field"' not in html
    data = {**form_fields(html), "DANH_GIA": "3"}
    assert client.post(path, data=data).status_code == 303
    from app.extensions import db
    from app.units.models import ServiceField

    with app.app_context():
        field_id = db.session.scalar(sa.select(ServiceField.id).where(ServiceField.code == "HO_TICH"))
    assert stored_responses(app)[0].service_field_id == field_id


def test_a_dossier_link_refuses_a_field_the_counter_does_not_serve(runner, make):
    counter = make.counter(fields=("DAT_DAI",))
    result = runner.invoke(args=["dossier-link", "--counter", counter.code, "--dossier", "HS-9", "--field", "HO_TICH"])
    assert result.exit_code != 0 and "không phục vụ lĩnh vực" in result.output


def test_an_organiser_mints_a_dossier_link_with_its_qr_code_on_the_counter_page(app, client, make, login):
    from tests.factories import csrf_from, decode_qr

    unit = make.unit()
    counter = make.counter(unit=app_unit_code(app, unit), fields=("DAT_DAI",))
    login(make.organiser(counter.unit_code))
    page = f"/quan-tri/quay/{counter.id}/lien-ket-ho-so"
    token = csrf_from(text(client.get(page)))
    response = client.post(page, data={"csrf_token": token, "dossier_code": "HS-55", "service_field": "DAT_DAI",
                                       "days": "10"})
    html = text(response)
    assert response.status_code == 200 and "Đã tạo liên kết cho hồ sơ HS-55" in html
    url = re.search(r'<p class="url">(http://hailong\.test/d/[^<]+)</p>', html)[1]
    import base64

    svg = base64.b64decode(re.search(r'src="data:image/svg\+xml;base64,([^"]+)"', html)[1])
    assert svg.startswith(b"<?xml") or b"<svg" in svg
    assert 'name="field"' not in text(client.get(url.removeprefix("http://hailong.test")))


def app_unit_code(app, unit_id: int) -> str:
    from app.extensions import db
    from app.units.models import Unit

    with app.app_context():
        return db.session.get(Unit, unit_id).code


def test_the_api_mints_a_link_with_a_service_field_and_stays_compatible_without_one(app, client, make):
    from app.database import utcnow
    from app.extensions import db
    from app.api.services import issue_token
    from app.units.services import get_unit_by_code

    counter = make.counter(fields=("DAT_DAI",))
    with app.app_context():
        _, secret = issue_token("một cửa", get_unit_by_code(counter.unit_code), utcnow())
        db.session.commit()
    headers = {"Authorization": f"Bearer {secret}"}
    with_field = client.post("/api/v1/dossier-links", json={"counter": counter.code, "dossier_code": "A-1",
                                                            "service_field": "DAT_DAI"}, headers=headers)
    without = client.post("/api/v1/dossier-links", json={"counter": counter.code, "dossier_code": "A-2"},
                          headers=headers)
    wrong = client.post("/api/v1/dossier-links", json={"counter": counter.code, "dossier_code": "A-3",
                                                       "service_field": "HO_TICH"}, headers=headers)
    assert with_field.status_code == without.status_code == 201 and wrong.status_code == 400
    assert with_field.json["service_field"] == "DAT_DAI" and without.json["service_field"] is None
    assert 'name="field"' not in text(client.get(with_field.json["url"].removeprefix("http://hailong.test")))
    assert 'name="field"' in text(client.get(without.json["url"].removeprefix("http://hailong.test")))
    schema = client.get("/api/v1/openapi.json").json["paths"]["/dossier-links"]["post"]
    assert "service_field" in schema["requestBody"]["content"]["application/json"]["schema"]["properties"]


# --- the thanks page, error pages, favicon ---------------------------------------------------------------------------


def test_the_thanks_page_offers_the_open_contest_of_the_unit_or_above(app, client, make):
    from app.contests.models import Contest
    from app.extensions import db

    counter = make.counter()
    assert "Tham gia cuộc thi" not in text(client.get(counter.path + "/cam-on"))
    with app.app_context():
        db.session.add(Contest(slug="thi-cchc", title="Tìm hiểu CCHC 2026", unit_id=counter.unit_id, status="open",
                               definition={}))
        db.session.commit()
    html = text(client.get(counter.path + "/cam-on"))
    assert 'href="/thi/thi-cchc"' in html and "Tham gia cuộc thi: Tìm hiểu CCHC 2026" in html


def test_the_thanks_page_links_results_and_feedback_only_where_those_pages_exist(app, client, counter, tmp_path):
    from flask import Blueprint

    from app.next_steps import FEEDBACK_ENDPOINT, RESULTS_ENDPOINT

    html = text(client.get(counter.path + "/cam-on"))
    # The public portal is installed (its unit page exists); the feedback pages may not be yet.
    assert (f'href="/ket-qua/{counter.unit_code}"' in html) == (RESULTS_ENDPOINT in app.view_functions)
    assert ("Gửi phản ánh, kiến nghị" in html) == (FEEDBACK_ENDPOINT in app.view_functions)
    with separate_app(f"sqlite:///{tmp_path / 'steps.db'}", migrate=True) as other:
        for endpoint, rule in ((RESULTS_ENDPOINT, "/ket-qua/<unit>"), (FEEDBACK_ENDPOINT, "/phan-anh/gui")):
            if endpoint in other.view_functions:
                continue  # the real page is installed
            name, view = endpoint.split(".")
            stand_in = Blueprint(name, __name__)
            stand_in.add_url_rule(rule, view, lambda **_: "")
            other.register_blueprint(stand_in)
        from tests.factories import Factories

        there = Factories(other).counter()
        page = text(other.test_client().get(there.path + "/cam-on"))
        assert f'href="/ket-qua/{there.unit_code}"' in page
        assert f'href="/phan-anh/gui?unit={there.unit_code}&amp;from=survey"' in page


@pytest.mark.parametrize("path, status, headline", [
    ("/khong-co-trang-nay", 404, "Không tìm thấy trang này"),
    ("/s/abcdefghij-klmnopqr", 404, "Không tìm thấy trang này"),
])
def test_error_pages_say_what_happened_and_what_to_do_without_an_error_code(client, path, status, headline):
    response = client.get(path)
    html = text(response)
    assert response.status_code == status
    assert f"<h1>{headline}</h1>" in html and "Ông/Bà có thể" in html
    assert "Mã lỗi" not in html and '<meta name="description"' in html


def test_the_favicon_is_served_at_the_root(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200 and response.mimetype in ("image/x-icon", "image/vnd.microsoft.icon")
