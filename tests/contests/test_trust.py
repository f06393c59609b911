"""What makes participants trust the contest: rules stated from the settings before the clock, a summary of the
unanswered questions before submitting, their own rank, and sessions that really end on sign-out."""
from __future__ import annotations

import datetime as dt
import re

from tests.contests.helpers import Participant, answers_for, hidden_fields, now_utc


def open_contest(make_contest, **options):
    now = now_utc()
    return make_contest(opens=now - dt.timedelta(hours=1), closes=now + dt.timedelta(days=1), question_count=4,
                        **options)


def text_of(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


def test_the_confirm_page_states_the_rounds_rules_from_its_settings(app, make_contest, units):
    contest = open_contest(make_contest, round={"attempts_allowed": 2, "time_limit_minutes": 12},
                           registration={"retention_days": 90}, ranking={"preset": "ward_party"})
    person = Participant(app.test_client(), contest.slug)
    form = text_of(person.client.get(f"/thi/{contest.slug}/dang-ky"))
    assert "được lưu đến hết 90 ngày sau khi công bố kết quả" in form and "ghi trong thể lệ" not in form
    assert person.register("0912300001", units["T-SNV"]).status_code == 303
    home = text_of(person.client.get(f"/thi/{contest.slug}"))
    assert "Mỗi người được thi 2 lượt ở vòng này; tính lượt có kết quả tốt nhất." in home
    assert "90 ngày" in home
    page = person.client.get(f"/thi/{contest.slug}/vong/1/bat-dau")
    assert page.status_code == 200
    rules = text_of(page)
    assert "Mỗi lượt thi gồm 4 câu hỏi" in rules and "Thời gian làm bài: 12 phút" in rules
    assert "bằng điểm thì thời gian làm bài ít hơn xếp trên; vẫn bằng thì dự đoán gần với kết quả thực" in rules
    assert 'id="attempts-left">2<' in page.get_data(as_text=True)
    assert "Dự đoán: có bao nhiêu người trả lời đúng tất cả" in rules
    with app.app_context():  # the page starts nothing
        from app.contests.models import Attempt
        from app.extensions import db
        assert db.session.query(Attempt).count() == 0

    attempt_id, _html = person.started_attempt()
    assert person.post(attempt_id, "nop", answers_for(app, attempt_id, [True] * 4)).status_code == 303
    again = person.client.get(f"/thi/{contest.slug}/vong/1/bat-dau").get_data(as_text=True)
    assert 'id="attempts-left">1<' in again
    attempt_id, _html = person.started_attempt()
    assert person.post(attempt_id, "nop", answers_for(app, attempt_id, [True] * 4)).status_code == 303
    spent = text_of(person.client.get(f"/thi/{contest.slug}/vong/1/bat-dau"))
    assert "Bạn đã dùng hết lượt thi của vòng này." in spent and "bắt đầu làm bài" not in spent.lower().split(
        "thể lệ vòng thi")[1].split("quay lại")[0]


def test_submitting_first_shows_the_unanswered_questions_then_submits_the_saved_answers(app, make_contest, units):
    contest = open_contest(make_contest)
    person = Participant(app.test_client(), contest.slug)
    assert person.register("0912300002", units["T-SNV"]).status_code == 303
    attempt_id, html = person.started_attempt()
    assert 'class="q-nav"' in html and 'id="answered-n">0<' in html
    answers = answers_for(app, attempt_id, [True] * 4)
    first_two = dict(list(answers.items())[:2])
    reviewed = person.post(attempt_id, "xem-lai", first_two)
    assert reviewed.status_code == 303 and reviewed.headers["Location"].endswith(f"/bai-thi/{attempt_id}/xem-lai")
    page = person.client.get(reviewed.headers["Location"])
    summary = text_of(page)
    assert "Bạn đã trả lời 2/4 câu." in summary and "Còn 2 câu chưa trả lời: Câu 3 Câu 4" in summary
    # The attempt page now marks the two answered questions in the navigator (server-side, no script needed).
    attempt_page = person.client.get(f"/thi/{contest.slug}/bai-thi/{attempt_id}").get_data(as_text=True)
    assert 'id="answered-n">2<' in attempt_page and attempt_page.count('class="done"') == 2
    # Nothing is submitted yet; the confirmation posts the saved answers.
    fields = re.findall(r'<input type="hidden" name="(q\d+)" value="(\d+)">', page.get_data(as_text=True))
    assert len(fields) == 2
    data = {"csrf_token": hidden_fields(page.get_data(as_text=True))["csrf_token"], **dict(fields)}
    done = person.client.post(f"/thi/{contest.slug}/bai-thi/{attempt_id}/nop", data=data)
    assert done.status_code == 303 and done.headers["Location"].endswith("/ket-qua")
    result = text_of(person.client.get(done.headers["Location"]))
    assert "2/4" in result and re.search(r"\d+ giây", result)


def test_sign_out_revokes_the_session_on_the_server(app, make_contest, units):
    contest = open_contest(make_contest)
    person = Participant(app.test_client(), contest.slug)
    assert person.register("0912300003", units["T-SNV"]).status_code == 303
    attempt_id, _html = person.started_attempt()
    cookie = person.client.get_cookie("thi_phien", path=f"/thi/{contest.slug}").value
    answers = answers_for(app, attempt_id, [True] * 4)
    out = person.client.post(f"/thi/{contest.slug}/dang-xuat", data={"csrf_token": person.csrf()})
    assert out.status_code == 303

    thief = Participant(app.test_client(), contest.slug)
    thief.client.set_cookie("thi_phien", cookie, path=f"/thi/{contest.slug}")
    assert thief.client.get(f"/thi/{contest.slug}/bai-thi/{attempt_id}").status_code == 401
    saved = thief.post(attempt_id, "luu", answers, Accept="application/json")
    assert saved.status_code == 401 and "đăng nhập lại" in saved.get_json()["error"]["message"]
    assert thief.post(attempt_id, "nop", answers).status_code == 401
    with app.app_context():
        from app.contests.models import Attempt
        from app.extensions import db
        attempt = db.session.get(Attempt, attempt_id)
        assert attempt.state == "active" and attempt.answers == bytes(4)


def test_the_leaderboard_states_the_own_rank_outside_the_top_list(app, make_contest, units):
    contest = open_contest(make_contest, leaderboard={"visibility": "top_n", "top_n": 1})
    people = []
    for phone, name, right in [("0912300004", "Võ Thị Hồng", [True] * 4), ("0912300005", "Đặng Văn Tú", [True] * 2)]:
        person = Participant(app.test_client(), contest.slug)
        assert person.register(phone, units["T-SNV"], name=name).status_code == 303
        attempt_id, _html = person.started_attempt()
        right = right + [False] * (4 - len(right))
        assert person.post(attempt_id, "nop", answers_for(app, attempt_id, right)).status_code == 303
        people.append(person)
    second = people[1].client.get(f"/thi/{contest.slug}/xep-hang?vong=1").get_data(as_text=True)
    assert "Thứ hạng của bạn:" in second and "<strong>2 / 2</strong>" in second
    assert "Võ T. H." in second and "Đặng V. T." not in second and 'class="me"' not in second
    first = people[0].client.get(f"/thi/{contest.slug}/xep-hang?vong=1").get_data(as_text=True)
    assert "<strong>1 / 2</strong>" in first and 'class="me"' in first
    group = people[0].client.get(f"/thi/{contest.slug}/xep-hang?vong=1&doi-tuong=nguoi_dan").get_data(as_text=True)
    assert "Thứ hạng của bạn:" not in group and "Võ T. H." not in group
    anonymous = app.test_client().get(f"/thi/{contest.slug}/xep-hang?vong=1").get_data(as_text=True)
    assert "Thứ hạng của bạn:" not in anonymous


def test_a_participant_shares_a_result_card_with_its_own_open_graph_tags(app, make_contest, units):
    import io

    from PIL import Image

    from tests.e2e.conftest import ARTIFACTS

    contest = open_contest(make_contest, leaderboard={"visibility": "public"})
    person = Participant(app.test_client(), contest.slug)
    assert person.register("0912300009", units["T-SNV"], name="Trương Thị Ngọc Hân").status_code == 303
    attempt_id, _html = person.started_attempt()
    assert person.post(attempt_id, "nop", answers_for(app, attempt_id, [True, True, True, False])).status_code == 303
    result = person.client.get(f"/thi/{contest.slug}/bai-thi/{attempt_id}/ket-qua").get_data(as_text=True)
    link = re.search(r'<a href="(/thi/[^"]+/chia-se/[^"]+)">', result).group(1)

    visitor = app.test_client()  # a link preview fetches without any session
    page = visitor.get(link).get_data(as_text=True)
    image = re.search(r'<meta property="og:image" content="([^"]+)">', page).group(1)
    assert image.startswith("http://hailong.test/thi/") and image.endswith("/the.png")
    assert 'content="Trương T. N. H.: 3/4 điểm' in page and "0912300009" not in page and "Trương Thị" not in page
    png = visitor.get(image.removeprefix("http://hailong.test"))
    assert png.status_code == 200 and png.mimetype == "image/png"
    card = Image.open(io.BytesIO(png.data))
    assert card.size == (1200, 630)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    card.save(ARTIFACTS / "contest-share-card.png")
    assert visitor.get(link[:-3] + "xyz").status_code == 404
