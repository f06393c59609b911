"""A contest set up in forms: general information, audience groups, rounds, ranking and prizes. Each page saves
through the same validation as the YAML file (which stays as import and export), shows refusals on the fields in
words, and stores nothing when anything is wrong."""
from __future__ import annotations

import html as html_module
from html.parser import HTMLParser

import pytest
import yaml

from tests.contests.helpers import finished_attempt, local
from tests.factories import log_in

BASE = "/quan-tri/cuoc-thi"


@pytest.fixture
def organiser(app, client, make, units):
    account = make.organiser(unit="T")
    assert log_in(client, account.email, account.password).status_code == 303
    return account


@pytest.fixture
def contest(make_contest):
    """A draft contest of one round (2–20 March 2026) drawing 6 of the bank's 30 questions; two audience groups."""
    return make_contest(open_it=False, opens=local("2026-03-02 08:00"), closes=local("2026-03-20 17:00"))


class _Form(HTMLParser):
    """What a browser sends from the page's form that holds ``marker``: enabled inputs, selects and textareas."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.values: dict[str, list[str]] = {}
        self.select: str | None = None
        self.textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        name = values.get("name")
        if "disabled" in values or name is None and tag != "option":
            return
        if tag == "input" and values.get("type") not in ("submit", "button"):
            if values.get("type") == "checkbox":
                if "checked" in values:
                    self.values.setdefault(name, []).append(values.get("value", "y"))
            else:
                self.values.setdefault(name, []).append(values.get("value", ""))
        elif tag == "select":
            self.select = name
            self.values.setdefault(name, [])
            self.first = None
        elif tag == "option" and self.select:
            self.first = self.first if self.first is not None else values.get("value", "")
            if "selected" in values:
                self.values[self.select].append(values.get("value", ""))
        elif tag == "textarea":
            self.textarea = name
            self.values[name] = [""]

    def handle_endtag(self, tag):
        if tag == "select" and self.select:
            if not self.values[self.select] and "multiple" not in self.get_starttag_text() and self.first is not None:
                self.values[self.select] = [self.first]  # a single select sends its first option by default
            self.select = None
        if tag == "textarea" and self.textarea:
            text = self.values[self.textarea][0]  # a browser drops the newline that opens a textarea
            self.values[self.textarea][0] = text[2:] if text.startswith("\r\n") else text.removeprefix("\n")
            self.textarea = None

    def handle_data(self, data):
        if self.textarea:
            self.values[self.textarea][0] += data


def page_form(html: str) -> dict[str, list[str]]:
    """Return the values a browser would submit from the page's form (the last form: the settings form)."""
    start = html.rfind("<form", 0, html.find('name="csrf_token"', html.find("<main")) + 1)
    parser = _Form()
    parser.feed(html[start:])
    return parser.values


def submit(client, path: str, changes: dict | None = None, *, drop: tuple[str, ...] = ()):
    """Open a settings page, change some values as a person would, and send it."""
    data = page_form(client.get(path).get_data(as_text=True))
    data.update({key: value if isinstance(value, list) else [value] for key, value in (changes or {}).items()})
    for key in drop:
        data.pop(key, None)
    return client.post(path, data=data)


def stored(app, contest_id: int) -> dict:
    from app.contests.models import Contest
    from app.extensions import db

    with app.app_context():
        return db.session.get(Contest, contest_id).definition


def text(response) -> str:
    return html_module.unescape(response.get_data(as_text=True))


def test_a_round_added_in_the_form_appears_in_the_yaml_export(app, client, organiser, contest):
    path = f"{BASE}/{contest.slug}/thiet-lap/vong-thi/moi"
    page = client.get(path).get_data(as_text=True)
    assert 'type="datetime-local"' in page
    # Topics are offered by name; the value sent is the bank's code.
    assert '<option value="chi_so">Chỉ số cải cách hành chính, mức độ hài lòng</option>' in text(client.get(path))
    response = submit(client, path, {
        "name": "Tuần 2", "opens_at": "2026-03-21T08:00", "closes_at": "2026-03-28T17:30", "question_count": "10",
        "draw_mode": "blueprint", "parts-0-topic": "chi_so", "parts-0-difficulty": "", "parts-0-count": "4",
        "parts-1-topic": "", "parts-1-difficulty": "3", "parts-1-count": "2", "time_limit_minutes": "20",
        "attempts_allowed": "2", "counts": "last", "prediction_enabled": "y", "prediction_target":
        "persons_participating", "prediction_question": "Bao nhiêu người thi tuần này?"})
    assert response.status_code == 303, text(response)
    exported = yaml.safe_load(client.get(f"{BASE}/{contest.slug}/dinh-nghia.yaml").data)
    added = exported["rounds"][1]
    assert (added["name"], added["opens_at"], added["closes_at"]) == ("Tuần 2", "2026-03-21 08:00", "2026-03-28 17:30")
    assert added["draw"]["blueprint"] == [{"topic": "chi_so", "difficulty": None, "count": 4},
                                          {"topic": None, "difficulty": 3, "count": 2}]
    assert (added["question_count"], added["time_limit_seconds"], added["attempts_allowed"], added["counts"]) == \
        (10, 1200, 2, "last")
    assert added["prediction"]["target"] == "persons_participating"
    assert added["prediction"]["question"] == "Bao nhiêu người thi tuần này?"
    assert exported["rounds"][0] == stored(app, contest.id)["rounds"][0]  # the first round is untouched


def test_a_yaml_import_shows_in_the_forms(app, client, organiser, contest):
    from tests.contests.test_flow import post_form

    definition = stored(app, contest.id)
    definition["rounds"][0].update(name="Vòng sơ khảo", closes_at="2026-03-21 09:15", question_count=8)
    definition["prizes"]["round"] = {"nguoi_dan": [{"label": "Giải Nhất", "count": 2, "amount": 1500000}]}
    definition["audience_groups"][1]["name"] = "Người dân trên địa bàn"
    saved = post_form(client, f"{BASE}/{contest.slug}/dinh-nghia",
                      {"definition": yaml.safe_dump(definition, allow_unicode=True)})
    assert saved.status_code == 303, text(saved)

    round_page = page_form(client.get(f"{BASE}/{contest.slug}/thiet-lap/vong-thi/1").get_data(as_text=True))
    assert round_page["name"] == ["Vòng sơ khảo"] and round_page["closes_at"] == ["2026-03-21T09:15"]
    assert round_page["question_count"] == ["8"]
    prizes = page_form(client.get(f"{BASE}/{contest.slug}/thiet-lap/giai-thuong").get_data(as_text=True))
    assert (prizes["rows-0-scope"], prizes["rows-0-group"], prizes["rows-0-label"], prizes["rows-0-count"],
            prizes["rows-0-amount"]) == (["round"], ["nguoi_dan"], ["Giải Nhất"], ["2"], ["1500000"])
    groups = client.get(f"{BASE}/{contest.slug}/thiet-lap/doi-tuong").get_data(as_text=True)
    assert "Người dân trên địa bàn" in groups


@pytest.mark.parametrize(("changes", "message"), [
    ({"closes_at": "2026-03-01T08:00"}, "phải sau thời điểm mở"),
    ({"closes_at": "2026-02-30T08:00"}, "Ngày giờ không hợp lệ"),
    ({"opens_at": "mai lúc 8 giờ"}, "Ngày giờ không hợp lệ"),
    ({"question_count": "31"}, "Ngân hàng không đủ câu hỏi (có 30 câu phù hợp, cần 31)"),
    ({"question_count": "500"}, "phải từ 1 đến 200"),
    ({"question_count": "mười"}, "Vui lòng nhập một số nguyên."),
    ({"draw_mode": "blueprint", "question_count": "12", "parts-0-topic": "chi_so", "parts-0-count": "11"},
     "Ngân hàng không đủ câu hỏi (phần 1 của cơ cấu đề cần 11 câu, chỉ có 10)"),
    ({"bank": "khong-co"}, "Lựa chọn không hợp lệ"),
])
def test_a_round_with_a_mistake_is_refused_on_its_field_and_nothing_is_stored(app, client, organiser, contest,
                                                                             changes, message):
    before = stored(app, contest.id)
    response = submit(client, f"{BASE}/{contest.slug}/thiet-lap/vong-thi/1", changes)
    page = text(response)
    assert response.status_code == 400
    assert "Chưa lưu gì." in page and message[:1].upper() + message[1:] in page
    assert 'class="err"' in page  # shown on the field it concerns
    assert "rounds[" not in page and "opens_at" not in page.split("<main", 1)[1].split("<form", 1)[0]
    assert stored(app, contest.id) == before


def test_a_form_without_its_csrf_token_is_refused_and_nothing_is_stored(app, client, organiser, contest):
    before = stored(app, contest.id)
    for path, changes in ((f"{BASE}/{contest.slug}/thiet-lap", {"title": "Đổi tên"}),
                          (f"{BASE}/{contest.slug}/thiet-lap/vong-thi/1", {"name": "Đổi tên"}),
                          (f"{BASE}/{contest.slug}/thiet-lap/doi-tuong", {"rows-0-name": "Đổi tên"}),
                          (f"{BASE}/{contest.slug}/thiet-lap/giai-thuong", {"top_n": "3"})):
        response = submit(client, path, changes, drop=("csrf_token",))
        assert response.status_code == 400, path
        assert "Phiên làm việc đã hết hạn hoặc biểu mẫu không hợp lệ" in text(response), path
    assert stored(app, contest.id) == before


def test_general_information_is_saved_and_an_empty_title_refused(app, client, organiser, contest):
    path = f"{BASE}/{contest.slug}/thiet-lap"
    refused = submit(client, path, {"title": "  "})
    assert refused.status_code == 400 and "Bắt buộc, không được để trống." in text(refused)
    saved = submit(client, path, {"title": "Tìm hiểu cải cách hành chính", "legal_basis": "Kế hoạch 15/KH-UBND"})
    assert saved.status_code == 303
    definition = stored(app, contest.id)
    assert (definition["title"], definition["legal_basis"]) == ("Tìm hiểu cải cách hành chính", "Kế hoạch 15/KH-UBND")
    with app.app_context():  # recorded in the audit log for the organiser ("Sửa cuộc thi")
        from app.auth.models import AuditEntry
        from app.extensions import db

        actions = db.session.scalars(db.select(AuditEntry.action).where(AuditEntry.organiser_id == organiser.id,
                                                                         AuditEntry.action.like("contest.%")))
        assert list(actions) == ["contest.update"]  # one entry: the refused save recorded nothing


def test_audience_groups_are_named_in_words_and_their_codes_made_for_them(app, client, organiser, contest):
    path = f"{BASE}/{contest.slug}/thiet-lap/doi-tuong"
    page = client.get(path).get_data(as_text=True)
    shown = html_module.unescape(page.split("<main", 1)[1])
    assert "Người dân" in shown and "nguoi_dan" not in shown.replace('value="nguoi_dan"', "")
    response = submit(client, path, {"rows-1-name": "Người dân địa phương", "rows-2-name": "Đoàn viên, thanh niên"})
    assert response.status_code == 303, text(response)
    groups = stored(app, contest.id)["audience_groups"]
    assert groups == [{"code": "cbccvc", "name": "Cán bộ, công chức, viên chức"},
                      {"code": "nguoi_dan", "name": "Người dân địa phương"},  # renamed: registrations still match
                      {"code": "doan_vien_thanh_nien", "name": "Đoàn viên, thanh niên"}]
    removed = submit(client, path, {"rows-2-remove": "y"})
    assert removed.status_code == 303
    assert [group["code"] for group in stored(app, contest.id)["audience_groups"]] == ["cbccvc", "nguoi_dan"]


@pytest.mark.parametrize(("changes", "message"), [
    ({"rows-1-name": ""}, "bắt buộc, không được để trống"),
    ({"rows-2-name": "người dân"}, "Trùng tên với một đối tượng ở trên"),
    ({"rows-0-remove": "y", "rows-1-remove": "y"}, "phải là danh sách các đối tượng"),
])
def test_audience_groups_with_a_mistake_are_refused(app, client, organiser, contest, changes, message):
    before = stored(app, contest.id)
    response = submit(client, f"{BASE}/{contest.slug}/thiet-lap/doi-tuong", changes)
    assert response.status_code == 400 and message.casefold() in text(response).casefold()
    assert stored(app, contest.id) == before


def test_another_blank_row_is_offered_without_saving(app, client, organiser, contest):
    before = stored(app, contest.id)
    response = submit(client, f"{BASE}/{contest.slug}/thiet-lap/doi-tuong", {"them_dong": "1", "rows-2-name": "Mới"})
    assert response.status_code == 200 and 'name="rows-3-name"' in response.get_data(as_text=True)
    assert stored(app, contest.id) == before


def test_prizes_and_ranking_are_saved_by_group(app, client, organiser, contest):
    path = f"{BASE}/{contest.slug}/thiet-lap/giai-thuong"
    response = submit(client, path, {
        "preset": "youth_union", "visibility": "top_n", "top_n": "5",
        "rows-0-scope": "round", "rows-0-group": "cbccvc", "rows-0-label": "Giải Nhất", "rows-0-count": "1",
        "rows-0-amount": "2000000",
        "rows-1-scope": "overall", "rows-1-group": "nguoi_dan", "rows-1-label": "Giải Đặc biệt", "rows-1-count": "1",
        "rows-1-amount": "5000000", "awarded_to": "threshold", "min_score_percent": "90", "signer_name": "Trần Văn B"})
    assert response.status_code == 303, text(response)
    definition = stored(app, contest.id)
    assert definition["ranking"]["criteria"] == ["score", "duration", "started_at"]
    assert definition["leaderboard"]["visibility"] == "top_n" and definition["leaderboard"]["top_n"] == 5
    assert definition["prizes"]["round"] == {"cbccvc": [{"label": "Giải Nhất", "count": 1, "amount": 2000000.0}]}
    assert definition["prizes"]["overall"] == {"nguoi_dan": [{"label": "Giải Đặc biệt", "count": 1,
                                                              "amount": 5000000.0}]}
    assert definition["certificate"]["awarded_to"] == "threshold"
    assert definition["certificate"]["min_score_percent"] == 90.0
    assert definition["certificate"]["signer_name"] == "Trần Văn B"


@pytest.mark.parametrize(("changes", "message"), [
    ({"rows-0-label": "Giải Nhất", "rows-0-count": "0"}, "phải từ 1 đến 10000"),
    ({"rows-0-label": "Giải Nhất", "rows-0-count": "1", "rows-0-amount": "100",
      "rows-1-label": "Giải Nhì", "rows-1-count": "1", "rows-1-amount": "500"}, "các giải phải xếp từ giá trị cao"),
    ({"rows-0-label": "Giải Nhất", "rows-0-count": "1", "rows-0-group": "khong_co"}, "Lựa chọn không hợp lệ"),
    ({"rows-0-label": "", "rows-0-count": "2"}, "bắt buộc, không được để trống"),
])
def test_prizes_with_a_mistake_are_refused(app, client, organiser, contest, changes, message):
    before = stored(app, contest.id)
    response = submit(client, f"{BASE}/{contest.slug}/thiet-lap/giai-thuong", changes)
    assert response.status_code == 400 and message.casefold() in text(response).casefold()
    assert stored(app, contest.id) == before


def test_a_group_with_prizes_cannot_be_removed_unnoticed(app, client, organiser, contest):
    submit(client, f"{BASE}/{contest.slug}/thiet-lap/giai-thuong",
           {"rows-0-group": "nguoi_dan", "rows-0-label": "Giải Nhất", "rows-0-count": "1"})
    before = stored(app, contest.id)
    assert before["prizes"]["round"]
    response = submit(client, f"{BASE}/{contest.slug}/thiet-lap/doi-tuong", {"rows-1-remove": "y"})
    assert response.status_code == 400 and "Đối tượng này đang có giải thưởng" in text(response)
    assert stored(app, contest.id) == before


def test_a_round_with_attempts_keeps_its_questions_and_says_why(app, client, organiser, make_contest, units):
    contest = make_contest(opens=local("2026-03-01 08:00"), closes=local("2026-03-20 17:00"))
    finished_attempt(app, contest.id, "0912345601", 4, units=units, questions=6)
    path = f"{BASE}/{contest.slug}/thiet-lap/vong-thi/1"
    page = text(client.get(path))
    assert "Vòng này đã có bài thi nên giữ nguyên" in page
    assert 'disabled id="question_count"' in page or 'id="question_count" disabled' in page or \
        ('name="question_count"' in page and "disabled" in page.split('id="question_count"', 1)[1].split(">", 1)[0])
    before = stored(app, contest.id)
    response = submit(client, path, {"name": "Vòng chính", "closes_at": "2026-03-22T17:00"})
    assert response.status_code == 303, text(response)
    after = stored(app, contest.id)["rounds"][0]
    assert (after["name"], after["closes_at"]) == ("Vòng chính", "2026-03-22 17:00")
    for key in ("opens_at", "bank", "question_count", "draw", "time_limit_seconds", "attempts_allowed", "prediction"):
        assert after[key] == before["rounds"][0][key], key
    rounds = text(client.get(f"{BASE}/{contest.slug}/thiet-lap/vong-thi"))
    assert "đã có bài thi" in rounds and "/vong-thi/1/xoa" not in rounds


def test_a_round_without_attempts_is_removed_after_confirmation(app, client, organiser, make_contest):
    from tests.contests.test_flow import post_form

    round_ = {"opens_at": "2026-03-02 08:00", "closes_at": "2026-03-09 08:00", "bank": "bank-a", "question_count": 5}
    contest = make_contest(open_it=False, opens=local("2026-03-02 08:00"), closes=local("2026-03-09 08:00"),
                           rounds=[dict(round_, name="Tuần 1"), dict(round_, name="Tuần 2")])
    path = f"{BASE}/{contest.slug}/thiet-lap/vong-thi/1/xoa"
    asked = client.get(path)
    assert asked.status_code == 200 and "Xoá vòng “Tuần 1”" in text(asked)
    assert len(stored(app, contest.id)["rounds"]) == 2
    assert post_form(client, path, {}).status_code == 303
    assert [r["name"] for r in stored(app, contest.id)["rounds"]] == ["Tuần 2"]


def test_a_new_contest_takes_date_time_inputs_and_refuses_a_malformed_one(app, client, organiser, bank):
    path = f"{BASE}/moi"
    page = client.get(path).get_data(as_text=True)
    assert page.count('type="datetime-local"') == 2 and "YYYY" not in page and "cbccvc" not in page
    values = {"slug": "thi-moi", "title": "Thi mới", "unit": "T", "bank": bank, "opens_at": "2026-05-01T08:00",
              "closes_at": "2026-04-31T08:00", "groups": "Cán bộ, công chức\nNgười dân"}
    refused = submit(client, path, values)
    assert refused.status_code == 400 and "Ngày giờ không hợp lệ" in text(refused)
    backwards = submit(client, path, dict(values, closes_at="2026-04-30T08:00"))
    assert backwards.status_code == 400 and "Phải sau thời điểm mở." in text(backwards)
    twice = submit(client, path, dict(values, closes_at="2026-05-08T17:00", groups="Người dân\nngười dân"))
    assert twice.status_code == 400 and "Trùng tên với một đối tượng ở trên" in text(twice)
    created = submit(client, path, dict(values, closes_at="2026-05-08T17:00"))
    assert created.status_code == 303, text(created)
    definition = client.get(f"{BASE}/thi-moi/dinh-nghia.yaml").data
    loaded = yaml.safe_load(definition)
    assert loaded["audience_groups"] == [{"code": "can_bo_cong_chuc", "name": "Cán bộ, công chức"},
                                         {"code": "nguoi_dan", "name": "Người dân"}]
    assert loaded["rounds"][0]["opens_at"] == "2026-05-01 08:00"
    assert loaded["rounds"][0]["closes_at"] == "2026-05-08 17:00"


def test_settings_pages_speak_english_to_an_english_organiser(app, client, organiser, contest, english):
    client.get(f"{BASE}/{contest.slug}/thiet-lap?lang=en")
    response = submit(client, f"{BASE}/{contest.slug}/thiet-lap/vong-thi/1", {"closes_at": "2026-03-01T08:00"})
    assert response.status_code == 400 and "Must be later than the opening time." in text(response)


def test_group_codes_are_made_from_names():
    from app.contests.forms import group_code

    assert group_code("Cán bộ, công chức, viên chức", set()) == "can_bo_cong_chuc_vien_chuc"
    assert group_code("Đoàn viên", {"doan_vien"}) == "doan_vien_2"
    assert group_code("2026", set()) == "nhom_2026"
    assert group_code("!!!", set()) == "nhom"
    assert len(group_code("Người " * 20, set())) <= 32


def test_a_round_may_have_prizes_of_its_own(app, client, organiser, contest):
    path = f"{BASE}/{contest.slug}/thiet-lap/giai-thuong"
    page = client.get(path).get_data(as_text=True)
    assert '<option value="round-1">Riêng Vòng 1</option>' in page
    response = submit(client, path, {"rows-0-scope": "round-1", "rows-0-group": "cbccvc", "rows-0-label": "Giải tuần",
                                     "rows-0-count": "3", "rows-0-amount": "200000"})
    assert response.status_code == 303, text(response)
    definition = stored(app, contest.id)
    assert definition["rounds"][0]["prizes"] == {"cbccvc": [{"label": "Giải tuần", "count": 3, "amount": 200000.0}]}
    assert definition["prizes"]["round"] == {}
    shown = page_form(client.get(path).get_data(as_text=True))
    assert (shown["rows-0-scope"], shown["rows-0-label"]) == (["round-1"], ["Giải tuần"])
    refused = submit(client, path, {"rows-0-count": "0"})
    assert refused.status_code == 400 and "Phải từ 1 đến 10000." in text(refused)
    removed = submit(client, path, {"rows-0-remove": "y"})
    assert removed.status_code == 303 and stored(app, contest.id)["rounds"][0]["prizes"] is None


def test_who_may_register_is_set_with_the_general_information(app, client, organiser, contest):
    path = f"{BASE}/{contest.slug}/thiet-lap"
    refused = submit(client, path, {"min_age": "30", "max_age": "18"})
    assert refused.status_code == 400 and "Phải không nhỏ hơn tuổi tối thiểu." in text(refused)
    saved = submit(client, path, {"min_age": "16", "max_age": "", "cccd": "required", "retention_days": "90"})
    assert saved.status_code == 303, text(saved)
    registration = stored(app, contest.id)["registration"]
    assert (registration["min_age"], registration["max_age"], registration["cccd"], registration["retention_days"]) \
        == (16, None, "required", 90)
    from app.contests.spec import DEFAULT_CONSENT

    assert registration["consent_text"] == DEFAULT_CONSENT
    assert page_form(client.get(path).get_data(as_text=True))["consent_text"] == [""]  # the standard wording
