"""The citizen's survey through HTTP: form, submit, idempotency, tampering and every kind of bad input."""
from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import (concurrent_posts, count_responses, form_fields, full_answers, new_visit_page,
                             stored_responses)

SUBMISSION_KEY_MESSAGE = "Mã gửi phiếu không hợp lệ. Vui lòng tải lại trang và gửi lại."
CSRF_MESSAGE = ("Phiên làm việc đã hết hạn hoặc biểu mẫu không hợp lệ. Các câu trả lời vẫn còn bên dưới: "
                "vui lòng bấm “Gửi đánh giá” lần nữa.")
INVALID_VALUE_MESSAGE = "Giá trị không hợp lệ cho câu này."
NOT_FOUND_MESSAGE = "Mã QR hoặc đường dẫn không hợp lệ. Vui lòng quét lại mã tại quầy hoặc hỏi cán bộ hướng dẫn."


@pytest.fixture
def counter(make):
    return make.counter(name="Quầy Hộ tịch")


def answers(client, path: str, **changes) -> dict:
    """Load a new visit's form and answer every radio question with 4, then apply `changes` (None removes a field).

    A client that has just sent a response follows the "rate another visit" link (new_visit_page).
    """
    data = full_answers(new_visit_page(client, path))
    for name, value in changes.items():
        if value is None:
            data.pop(name, None)
        else:
            data[name] = value
    return data


def text(response) -> str:
    return response.get_data(as_text=True)


# --- the form -------------------------------------------------------------------------------------------------


def test_counter_form_shows_each_criterion_as_its_own_radio_group(client, make):
    counter = make.counter(name="Quầy Hộ tịch")
    page = client.get(counter.path)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Quầy Hộ tịch" in html and "Rất hài lòng" in html
    assert html.count("<fieldset") >= 22
    assert page.headers["Referrer-Policy"] == "no-referrer"


class _FormStructure(HTMLParser):
    """Collect, per fieldset, its legend text and the names of the inputs inside it; and every other input."""

    def __init__(self) -> None:
        super().__init__()
        self.fieldsets: list[dict] = []
        self.loose_inputs: list[str] = []
        self.scripts = 0
        self._open: dict | None = None
        self._in_legend = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "fieldset":
            self._open = {"legend": "", "names": set()}
        elif tag == "legend" and self._open is not None:
            self._in_legend = True
        elif tag == "input" and attributes.get("type") in ("radio", "checkbox"):
            if self._open is not None:
                self._open["names"].add(attributes["name"])
            else:
                self.loose_inputs.append(attributes["name"])
        elif tag == "script":
            self.scripts += 1

    def handle_endtag(self, tag):
        if tag == "fieldset" and self._open is not None:
            self.fieldsets.append(self._open)
            self._open = None
        elif tag == "legend":
            self._in_legend = False

    def handle_data(self, data):
        if self._in_legend:
            self._open["legend"] += data


def test_every_criterion_is_its_own_fieldset_with_a_legend_and_no_grid(app, client, counter):
    from app.surveys.instruments import load_instrument
    from tests.factories import ROOT

    instrument = load_instrument(ROOT / "surveys" / "sipas-counter-v1.yaml")
    structure = _FormStructure()
    structure.feed(text(client.get(counter.path)))
    assert structure.loose_inputs == []
    by_name = {}
    for fieldset in structure.fieldsets:
        assert len(fieldset["names"]) == 1, "a fieldset must hold exactly one question"
        assert fieldset["legend"].strip(), "every fieldset needs a visible legend"
        by_name[next(iter(fieldset["names"]))] = fieldset["legend"]
    for item in instrument.items:
        if item.type != "text":
            assert item.text["vi"] in by_name[item.code]
    assert "field" in by_name and "<table" not in text(client.get(counter.path))


def test_form_page_and_stylesheet_weigh_under_60_kb_and_need_no_external_host(app, client, counter):
    page = client.get(counter.path)
    html = page.get_data()
    stylesheets = re.findall(r'<link rel="stylesheet" href="([^"]+)"', html.decode())
    css = b"".join(client.get(href).get_data() for href in stylesheets)
    assert stylesheets and css
    assert len(html) + len(css) < 60 * 1024
    # One small same-origin script improves the page (the count of answers); the form works without it.
    assert re.findall(r"<script[^>]*>", html.decode()) == ['<script src="/static/js/survey.js" defer>']
    assert len(client.get("/static/js/survey.js").get_data()) < 3 * 1024
    base = app.config["BASE_URL"]
    for url in re.findall(rb"https?://[^\s\"'<>)]+", html + css):
        assert url.decode().startswith(base), url
    assert re.search(r'<form method="post" action="/s/[^"]+"', html.decode())
    assert '<button type="submit"' in html.decode()


def test_each_visit_gets_fresh_submission_and_csrf_tokens_from_the_cached_page(client, counter):
    first = form_fields(text(client.get(counter.path)))
    second = form_fields(text(client.get(counter.path)))
    assert first["k"] != second["k"]
    assert first["csrf_token"] and second["csrf_token"]
    assert "\x00" not in text(client.get(counter.path))


# --- a good submission ------------------------------------------------------------------------------------------


def test_submitted_response_is_stored_once_and_thanks_the_citizen(app, client, make):
    counter = make.counter()
    data = full_answers(client.get(counter.path).get_data(as_text=True))
    first = client.post(counter.path, data=data)
    replay = client.post(counter.path, data=data)
    assert first.status_code == replay.status_code == 303
    assert first.headers["Location"] == replay.headers["Location"] == f"{counter.path}/cam-on"
    assert count_responses(app) == 1
    assert "Cảm ơn" in client.get(f"{counter.path}/cam-on").get_data(as_text=True)


def test_optional_answers_and_a_vietnamese_comment_are_stored_as_given(app, client, counter):
    comment = "Cán bộ nhiệt tình, nhưng chỗ ngồi chờ còn chật.\x00"
    data = answers(client, counter.path, TC1="5", MONG_DOI=["4", "2"], GIOI_TINH="2", Y_KIEN=comment)
    data.pop("PAKN1")
    assert client.post(counter.path, data=data).status_code == 303
    [row] = stored_responses(app)
    assert row.texts == {"Y_KIEN": "Cán bộ nhiệt tình, nhưng chỗ ngồi chờ còn chật."}
    assert row.answers["MONG_DOI"] == [2, 4] and row.answers["GIOI_TINH"] == 2
    assert row.scores[0] == 5 and row.scores[1] == 4
    assert row.service_field_id is not None and row.duration_ms is not None


def test_a_comment_of_exactly_the_maximum_length_in_vietnamese_letters_is_accepted(app, client, counter):
    data = answers(client, counter.path, Y_KIEN="ệ" * 1000)
    assert client.post(counter.path, data=data).status_code == 303
    assert stored_responses(app)[0].texts["Y_KIEN"] == "ệ" * 1000


# --- bad input: each one is a 4xx with a Vietnamese message and nothing stored --------------------------------


@pytest.mark.parametrize("value", ["9", "0", "6", "-1", "4.0", "bốn", " 4", "４"])
def test_out_of_range_scale_value_is_rejected(app, client, counter, value):
    response = client.post(counter.path, data=answers(client, counter.path, TC1=value))
    assert response.status_code == 400
    assert INVALID_VALUE_MESSAGE in text(response)
    assert count_responses(app) == 0


def test_unknown_item_code_is_rejected_and_named(app, client, counter):
    response = client.post(counter.path, data=answers(client, counter.path, XYZ9="5"))
    assert response.status_code == 400
    assert "Phiếu có câu hỏi không thuộc biểu mẫu: XYZ9" in text(response)
    assert count_responses(app) == 0


def test_missing_required_answer_is_rejected_with_a_vietnamese_message(app, client, make):
    counter = make.counter()
    data = full_answers(client.get(counter.path).get_data(as_text=True))
    del data["TC1"]
    response = client.post(counter.path, data=data)
    assert response.status_code == 400
    assert "Vui lòng trả lời câu này." in response.get_data(as_text=True)
    assert count_responses(app) == 0


def test_rejected_form_is_shown_again_with_the_answers_kept_and_the_problem_marked(client, counter):
    data = answers(client, counter.path, TC2=None, TC3="5")
    html = text(client.post(counter.path, data=data))
    assert 'class="q invalid scale" id="q-TC2"' in html
    assert 'name="TC3" value="5" checked' in html
    assert '<li><a href="#q-TC2">Trang thiết bị phục vụ người dân đầy đủ</a></li>' in html  # unanswered: named only
    assert '<p class="err" id="e-TC2">Vui lòng trả lời câu này.</p>' in html


def test_more_choices_than_allowed_are_rejected(app, client, counter):
    response = client.post(counter.path, data=answers(client, counter.path, MONG_DOI=["1", "2", "3", "4"]))
    assert response.status_code == 400
    assert "Chọn tối đa 3 phương án." in text(response)
    assert count_responses(app) == 0


def test_a_repeated_value_of_a_multiple_choice_item_is_rejected(app, client, counter):
    response = client.post(counter.path, data=answers(client, counter.path, MONG_DOI=["2", "2"]))
    assert response.status_code == 400
    assert "Mỗi phương án chỉ được chọn một lần." in text(response)
    assert count_responses(app) == 0


def test_two_values_for_a_single_choice_item_are_rejected(app, client, counter):
    response = client.post(counter.path, data=answers(client, counter.path, TC1=["4", "5"]))
    assert response.status_code == 400
    assert "Câu này chỉ chọn một phương án." in text(response)
    assert count_responses(app) == 0


def test_a_comment_just_over_the_maximum_length_is_rejected(app, client, counter):
    response = client.post(counter.path, data=answers(client, counter.path, Y_KIEN="a" * 1001))
    assert response.status_code == 400
    assert "Nội dung dài quá 1000 ký tự." in text(response)
    assert count_responses(app) == 0


def test_a_ten_megabyte_comment_is_refused_as_too_large(app, client, counter):
    response = client.post(counter.path, data=answers(client, counter.path, Y_KIEN="x" * 10 * 1024 * 1024))
    assert response.status_code == 413
    assert "Dữ liệu gửi lên quá lớn." in text(response)
    assert count_responses(app) == 0


def test_a_body_over_the_survey_cap_sent_without_a_length_is_refused_as_too_large(app, client, counter):
    from urllib.parse import urlencode

    body = urlencode(answers(client, counter.path, Y_KIEN="x" * 100_000)).encode()

    # Chunked: the server learns the size only by reading, so the cap must hold while reading.
    response = client.post(counter.path, data=body, content_type="application/x-www-form-urlencoded",
                           headers={"Transfer-Encoding": "chunked"}, environ_overrides={"wsgi.input_terminated": True})
    assert response.status_code == 413
    assert "Dữ liệu gửi lên quá lớn." in text(response)
    assert count_responses(app) == 0


@pytest.mark.parametrize("content_type, body", [
    ("application/json", b'{"TC1": 5}'),
    ("text/plain", b"TC1=5"),
    ("multipart/form-data; boundary=xyz",
     b"--xyz\r\nContent-Disposition: form-data; name=\"TC1\"\r\n\r\n5\r\n--xyz--\r\n"),
    ("application/xml", b"<TC1>5</TC1>"),
])
def test_wrong_content_type_is_refused_with_415(app, client, counter, content_type, body):
    client.get(counter.path)
    response = client.post(counter.path, data=body, content_type=content_type)
    assert response.status_code == 415
    assert "Định dạng dữ liệu gửi lên không được hỗ trợ." in text(response)
    assert count_responses(app) == 0


def test_a_real_multipart_form_post_is_refused_with_415(app, client, counter):
    data = answers(client, counter.path)
    response = client.post(counter.path, data=data, content_type="multipart/form-data")
    assert response.status_code == 415
    assert count_responses(app) == 0


@pytest.mark.parametrize("bad", [b"Y_KIEN=\xff\xfe", b"Y_KIEN=%FF%FE", b"Y_KIEN=%C3%28", b"\xc3\x28=1"])
def test_bad_utf8_in_the_body_is_rejected_with_a_clear_message(app, client, counter, bad):
    from urllib.parse import urlencode

    body = urlencode(answers(client, counter.path)).encode() + b"&" + bad
    response = client.post(counter.path, data=body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert "Dữ liệu gửi lên không hợp lệ (sai mã hoá ký tự)" in text(response)
    assert count_responses(app) == 0


@pytest.mark.parametrize("csrf", [None, "", "abc", "IjEyMyI.ZZZ.bad"])
def test_missing_or_wrong_csrf_token_is_rejected(app, client, counter, csrf):
    response = client.post(counter.path, data=answers(client, counter.path, csrf_token=csrf))
    assert response.status_code == 400
    assert CSRF_MESSAGE in text(response)
    assert count_responses(app) == 0


def test_a_csrf_token_from_another_visitor_is_rejected(app, client, counter):
    data = answers(client, counter.path)
    stranger = app.test_client()
    response = stranger.post(counter.path, data=data)
    assert response.status_code == 400
    assert CSRF_MESSAGE in text(response)
    assert count_responses(app) == 0


@pytest.mark.parametrize("key", [None, "", "short", "x" * 41, "<script>alert(1)</script>xx",
                                 "khoá-gửi-phiếu-không-ascii",
                                 "abc def ghi jkl mno"])
def test_missing_or_garbled_submission_key_is_rejected(app, client, counter, key):
    response = client.post(counter.path, data=answers(client, counter.path, k=key))
    assert response.status_code == 400
    assert SUBMISSION_KEY_MESSAGE in text(response)
    assert "<script>alert" not in text(response)
    assert count_responses(app) == 0


def test_filled_honeypot_gets_the_thanks_page_but_nothing_is_stored(app, client, counter):
    response = client.post(counter.path, data=answers(client, counter.path, website="http://spam.example"))
    assert response.status_code == 303
    assert response.headers["Location"] == f"{counter.path}/cam-on"
    assert count_responses(app) == 0


@pytest.mark.parametrize("field", ["not-a-number", "999999", "", None, "other-counter"])
def test_service_field_outside_the_counters_list_is_rejected(app, client, make, counter, field):
    if field == "other-counter":
        other = make.counter(fields=("XAY_DUNG",))
        field = re.search(r'name="field" value="(\d+)"', text(client.get(other.path)))[1]
    response = client.post(counter.path, data=answers(client, counter.path, field=field))
    assert response.status_code == 400
    assert "Vui lòng chọn lĩnh vực thủ tục Ông/Bà vừa thực hiện." in text(response)
    assert count_responses(app) == 0


def test_a_counter_without_service_fields_does_not_ask_for_one(app, client, make):
    counter = make.counter(fields=())
    data = answers(client, counter.path)
    assert "field" not in data
    assert client.post(counter.path, data=data).status_code == 303
    assert stored_responses(app)[0].service_field_id is None


def test_too_many_fields_are_rejected_without_an_error_page(app, client, counter):
    data = answers(client, counter.path)
    data.update({f"x{n}": "1" for n in range(600)})
    response = client.post(counter.path, data=data)
    assert response.status_code == 400
    assert "Phiếu có quá nhiều trường dữ liệu." in text(response)
    assert count_responses(app) == 0


@pytest.mark.parametrize("method, suffix", [("post", "/cam-on"), ("put", ""), ("delete", ""), ("patch", "")])
def test_methods_a_path_does_not_serve_get_405_with_a_vietnamese_message(app, client, counter, method, suffix):
    response = getattr(client, method)(counter.path + suffix, data={"a": "b"})
    assert response.status_code == 405
    assert "Phương thức yêu cầu không được hỗ trợ cho địa chỉ này." in text(response)
    assert "GET" in response.headers["Allow"]
    assert count_responses(app) == 0


def test_errors_are_json_for_a_client_that_asks_for_json(app, client, counter):
    data = answers(client, counter.path, TC1="9")
    response = client.post(counter.path, data=data, headers={"Accept": "application/json"})
    assert response.status_code == 400
    assert response.json["error"]["fields"]["TC1"] == INVALID_VALUE_MESSAGE
    assert count_responses(app) == 0


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(junk=st.dictionaries(st.sampled_from(["TC1", "MONG_DOI", "Y_KIEN", "field", "k", "t", "GIOI_TINH", "zz"]),
                            st.lists(st.text(max_size=30), max_size=3), max_size=5))
def test_arbitrary_answers_never_cause_a_server_error(app, client, counter, junk):
    data = answers(client, counter.path)
    data.update(junk)
    response = client.post(counter.path, data=data)
    assert response.status_code in (303, 400)
    if response.status_code == 400:
        assert 'lang="vi"' in text(response)


# --- idempotency --------------------------------------------------------------------------------------------------


def test_a_retry_after_the_first_submit_succeeded_stores_nothing_new_and_thanks_again(app, client, counter):
    data = answers(client, counter.path)
    assert client.post(counter.path, data=data).status_code == 303
    retry = client.post(counter.path, data={**data, "TC1": "1"})  # a retry carries the same key
    assert retry.status_code == 303 and retry.headers["Location"] == f"{counter.path}/cam-on"
    assert [row.scores[0] for row in stored_responses(app)] == [4]


def test_two_visits_store_two_responses(app, client, counter):
    for _ in range(2):
        assert client.post(counter.path, data=answers(client, counter.path)).status_code == 303
    assert count_responses(app) == 2


def test_a_submission_key_reused_at_another_counter_is_rejected(app, client, make, counter):
    data = answers(client, counter.path)
    assert client.post(counter.path, data=data).status_code == 303
    other = make.counter()
    reused = answers(client, other.path, k=data["k"])
    response = client.post(other.path, data=reused)
    assert response.status_code == 400
    assert SUBMISSION_KEY_MESSAGE in text(response)
    assert count_responses(app) == 1


def test_concurrent_submits_with_the_same_key_store_exactly_one_response_and_both_see_thanks(app, client, counter):
    for round_number in range(4):
        data = answers(client, counter.path)
        results = concurrent_posts(app, counter.path, [data, data, data], client.get_cookie("session").value)
        assert [r.status_code for r in results] == [303, 303, 303]
        assert {r.headers["Location"] for r in results} == {f"{counter.path}/cam-on"}
        assert count_responses(app) == round_number + 1


# --- tokens ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mangle", [
    lambda token: token[:-1] + ("2" if token[-1] != "2" else "3"),  # signature changed
    lambda token: ("b" if token[0] != "b" else "c") + token[1:],  # nonce changed
    lambda token: token[:-3],  # truncated
    lambda token: token.split("-")[0],  # signature missing
    lambda token: token + "x",  # too long
    lambda token: token.upper(),  # case changed
    lambda token: token.replace("-", "_"),  # separator changed
    lambda token: "garbage",
    lambda token: "x" * 300,
    lambda token: "quầy-một-cửa",
    lambda token: "%F0%9F%98%80-%E2%80%8B",
    lambda token: token[:10] + "-" + "ả" * 8,
])
def test_tampered_truncated_garbage_and_unicode_tokens_get_the_clear_404_page(app, client, counter, mangle):
    token = counter.path.removeprefix("/s/")
    path = f"/s/{mangle(token)}"
    for response in (client.get(path), client.post(path, data=answers(client, counter.path)),
                     client.get(path + "/cam-on")):
        assert response.status_code == 404
        assert NOT_FOUND_MESSAGE in text(response)
    assert count_responses(app) == 0


@pytest.mark.parametrize("path", ["/s/abc/def", "/s/..%2F..%2Fetc%2Fpasswd", "/d/x/y/z", "/s/{token}/cam-on/extra"])
def test_a_link_with_extra_path_segments_gets_the_same_clear_404(client, counter, path):
    response = client.get(path.format(token=counter.token))
    assert response.status_code == 404
    assert NOT_FOUND_MESSAGE in text(response)


def test_a_well_signed_token_for_an_unknown_counter_gets_404(app, client, counter):
    from app.units.tokens import counter_token, new_nonce

    response = client.get(f"/s/{counter_token(new_nonce(), app.config['SECRET_KEY'])}")
    assert response.status_code == 404
    assert NOT_FOUND_MESSAGE in text(response)


def test_a_token_signed_with_another_secret_gets_404(app, client, counter):
    from app.units.tokens import counter_token

    nonce = counter.token.split("-")[0]
    assert client.get(f"/s/{counter_token(nonce, 'another-secret')}").status_code == 404


def _change_counter(app, code: str, change) -> None:
    from app.database import utcnow
    from app.extensions import db
    from app.units.services import get_counter_by_code

    with app.app_context():
        change(get_counter_by_code(code), utcnow())
        db.session.commit()


def test_a_deactivated_counter_answers_410_on_every_page(app, client, counter):
    from app.units.services import set_counter_active

    data = answers(client, counter.path)
    _change_counter(app, counter.code, lambda c, now: set_counter_active(c, False, now))
    for response in (client.get(counter.path), client.post(counter.path, data=data)):
        assert response.status_code == 410
        assert "Quầy này đã ngừng nhận đánh giá qua mã QR. Xin cảm ơn Ông/Bà." in text(response)
    assert count_responses(app) == 0
    _change_counter(app, counter.code, lambda c, now: set_counter_active(c, True, now))
    assert client.get(counter.path).status_code == 200


def test_a_counter_of_a_deactivated_unit_answers_410(app, client, counter):
    from app.extensions import db
    from app.units.services import get_unit_by_code

    with app.app_context():
        get_unit_by_code(counter.unit_code).is_active = False
        db.session.commit()
    response = client.get(counter.path)
    assert response.status_code == 410
    assert "ngừng nhận đánh giá" in text(response)


def test_rotating_a_token_retires_the_old_url_and_the_new_one_works(app, client, counter):
    from app.units.services import rotate_token

    _change_counter(app, counter.code, rotate_token)
    response = client.get(counter.path)
    assert response.status_code == 410
    assert "Mã QR này đã được quầy thay bằng mã mới." in text(response)
    with app.app_context():
        from app.units.tokens import counter_token
        from app.units.services import get_counter_by_code

        new_path = f"/s/{counter_token(get_counter_by_code(counter.code).token_nonce, app.config['SECRET_KEY'])}"
    assert new_path != counter.path
    assert client.post(new_path, data=answers(client, new_path)).status_code == 303
    assert count_responses(app) == 1


def _change_elsewhere(app, statement) -> None:
    """Change the database as another worker process would: this process's counter cache is not told."""
    from app.extensions import db

    with app.app_context(), db.engine.begin() as connection:
        connection.execute(statement)


@pytest.mark.parametrize("change, status", [
    ("counter off", 410), ("unit off", 410), ("token rotated", 404),
])
def test_a_counter_retired_by_another_worker_refuses_submissions_at_once(app, client, counter, change, status):
    import sqlalchemy as sa

    from app.units.models import Counter, Unit

    data = answers(client, counter.path)  # the form page leaves the counter in this worker's cache
    statement = {
        "counter off": sa.update(Counter).where(Counter.code == counter.code).values(is_active=False),
        "unit off": sa.update(Unit).where(Unit.code == counter.unit_code).values(is_active=False),
        "token rotated": sa.update(Counter).where(Counter.code == counter.code).values(token_nonce="rotated0"),
    }[change]
    _change_elsewhere(app, statement)
    assert client.get(counter.path).status_code == 200  # the cached page, for at most a few seconds
    refused = client.post(counter.path, data=data)
    assert refused.status_code == status
    assert count_responses(app) == 0


def test_a_response_is_stored_under_the_unit_the_counter_belongs_to_when_it_is_sent(app, client, make, counter):
    import sqlalchemy as sa

    from app.extensions import db
    from app.surveys.models import SurveyResponse
    from app.units.models import Counter
    data = answers(client, counter.path)
    new_unit_id = make.unit(parent=counter.unit_code)
    _change_elsewhere(app, sa.update(Counter).where(Counter.code == counter.code).values(unit_id=new_unit_id))
    assert client.post(counter.path, data=data).status_code == 303
    with app.app_context():
        assert db.session.scalar(sa.select(SurveyResponse.unit_id)) == new_unit_id


def test_names_on_the_page_are_escaped(client, make):
    counter = make.counter(name='<img src=x onerror="alert(1)">Quầy')
    html = text(client.get(counter.path))
    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;Quầy" in html


def _contrast(foreground: str, background: str) -> float:
    """WCAG 2.1 contrast ratio of two #rrggbb or #rgb colours (relative luminance, sRGB)."""
    def luminance(colour: str) -> float:
        if len(colour) == 4:  # #rgb
            colour = "#" + "".join(c * 2 for c in colour[1:])
        channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    lighter, darker = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def test_the_survey_colours_meet_wcag_aa_contrast_for_text():
    from tests.factories import ROOT

    css = (ROOT / "app" / "static" / "css" / "app.css").read_text(encoding="utf-8")
    hex_colour = r"(#[0-9a-f]{6}|#[0-9a-f]{3})\b"
    colour = dict(re.findall(r"--([a-z-]+):" + hex_colour, css))
    checked = re.search(r"\.o:has\(input:checked\)\{[^}]*background:" + hex_colour, css)[1]
    alert = re.search(r"\.alert\{[^}]*background:" + hex_colour, css)[1]
    pairs = [("ink", colour["bg"]), ("ink", colour["soft"]), ("ink", checked), ("muted", colour["bg"]),
             ("muted", colour["soft"]), ("brand", colour["bg"]), ("brand-ink", colour["brand"]),
             ("bad", colour["bg"]), ("bad", alert)]
    for name, background in pairs:
        assert _contrast(colour[name], background) >= 4.5, f"--{name} on {background}"
    assert round(_contrast("#000000", "#ffffff"), 1) == 21.0


def test_a_stale_session_keeps_the_answers_and_a_second_send_stores_them(app, client, counter):
    data = answers(client, counter.path)
    data["Y_KIEN"] = "Cán bộ nhiệt tình"
    stranger = app.test_client()
    refused = stranger.post(counter.path, data=data)
    page = text(refused)
    assert refused.status_code == 400 and CSRF_MESSAGE in page
    assert "Cán bộ nhiệt tình" in page and 'value="4" checked' in page
    resent = stranger.post(counter.path, data={**data, **form_fields(page)})
    assert resent.status_code == 303
    assert count_responses(app) == 1
