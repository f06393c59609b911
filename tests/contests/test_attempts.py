"""The timed attempt: snapshot, keys kept on the server, autosave, idempotent submit, tampering, windows, expiry."""
from __future__ import annotations

import datetime as dt
import re
import threading

import numpy as np
import pytest
import sqlalchemy as sa

from tests.contests.helpers import (
    ZONE,
    Participant,
    answers_for,
    count_rows,
    local,
    now_utc,
    option_fields,
    register,
    start,
    submit,
)


def attempt_row(app, attempt_id: int):
    from app.contests.models import Attempt
    from app.extensions import db

    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        db.session.expunge(attempt)
        return attempt


@pytest.fixture
def live(make_contest):
    """An open contest whose round runs now (HTTP tests use the real clock)."""
    return make_contest(opens=now_utc() - dt.timedelta(hours=1), closes=now_utc() + dt.timedelta(days=1),
                        question_count=5)


@pytest.fixture
def browser(client, live, units):
    """A registered, signed-in participant of the live contest."""
    person = Participant(client, live.slug)
    assert person.register("0912000111", units["T-SNV"]).status_code == 303
    return person


def test_attempt_page_and_answers_never_carry_the_answer_key(app, browser, live):
    attempt_id, html = browser.started_attempt()
    fields = option_fields(html)
    assert len(fields) == 5 and all(values == ["0", "1", "2", "3"] for values in fields.values())
    lowered = html.lower()
    assert "correct" not in lowered and "đáp án" not in lowered and "giải thích câu" not in lowered
    assert 'data-deadline-ms="' in html and "<script>" not in html
    saved = browser.post(attempt_id, "luu", {qid: ["1"] for qid in fields}, Accept="application/json")
    assert saved.get_json() == {"status": "saved"}
    done = browser.post(attempt_id, "nop", {qid: ["1"] for qid in fields}, Accept="application/json")
    assert set(done.get_json()) == {"status", "score", "max_score"}
    result = browser.client.get(f"/thi/{live.slug}/bai-thi/{attempt_id}/ket-qua").get_data(as_text=True)
    # The round is still open and shows keys only after it closes.
    assert "(đáp án)" not in result and "Giải thích câu" not in result and "(bạn chọn)" in result


def test_concurrent_starts_leave_one_attempt(app, make_contest, units):
    from app.contests import attempts
    from app.contests.models import Attempt, Contest
    from app.contests.models import Participant as ParticipantRow
    from app.extensions import db

    contest = make_contest(opens=local("2026-03-02 06:00"), closes=local("2026-03-02 12:00"), question_count=5)
    pid = register(app, contest.id, "0912000222", units=units, now=local("2026-03-02 07:00"))
    barrier = threading.Barrier(4)
    found, failures = [], []

    def run(seed: int) -> None:
        try:
            with app.app_context():
                contest_row = db.session.get(Contest, contest.id)
                person = db.session.get(ParticipantRow, pid)
                barrier.wait(timeout=10)
                attempt = attempts.start_attempt(contest_row, contest_row.rounds[0], person,
                                                 now=local("2026-03-02 08:00"), zone=ZONE,
                                                 rng=np.random.default_rng(seed))
                db.session.commit()
                found.append(attempt.id)
        except Exception as error:  # collected and asserted below, so a thread failure fails the test
            failures.append(error)

    threads = [threading.Thread(target=run, args=(seed,)) for seed in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert failures == [] and len(found) == 4
    assert len(set(found)) == 1
    assert count_rows(app, Attempt) == 1


def test_the_database_refuses_a_second_active_attempt(app, make_contest, units):
    from app.contests.models import Attempt
    from app.extensions import db

    contest = make_contest(opens=local("2026-03-02 06:00"), closes=local("2026-03-02 12:00"), question_count=5,
                           round={"attempts_allowed": 3})
    pid = register(app, contest.id, "0912000333", units=units, now=local("2026-03-02 07:00"))
    attempt_id = start(app, contest.id, pid, now=local("2026-03-02 08:00"))
    with app.app_context():
        row = {c.name: getattr(db.session.get(Attempt, attempt_id), c.name) for c in Attempt.__table__.columns}
        row.update(id=None, number=2)
        with pytest.raises(sa.exc.IntegrityError):
            db.session.execute(sa.insert(Attempt).values(**row))
        db.session.rollback()
    assert count_rows(app, Attempt) == 1


def test_replayed_submit_stores_one_result_and_the_prediction_cannot_change(app, browser, live):
    attempt_id, html = browser.started_attempt()
    answers = {qid: ["0"] for qid in option_fields(html)}
    first = browser.post(attempt_id, "nop", answers, prediction="12")
    stored = attempt_row(app, attempt_id)
    replay = browser.post(attempt_id, "nop", {qid: ["3"] for qid in answers}, prediction="99")
    late_save = browser.post(attempt_id, "luu", answers, prediction="50")
    after = attempt_row(app, attempt_id)
    assert first.status_code == replay.status_code == 303
    assert first.headers["Location"] == replay.headers["Location"]
    assert late_save.status_code == 409 and "đã được nộp" in late_save.get_data(as_text=True)
    assert (after.state, after.prediction, after.answers, after.score) == ("submitted", 12.0, stored.answers,
                                                                           stored.score)


@pytest.mark.parametrize("tamper", ["unknown_question", "not_drawn", "bad_option", "two_for_single",
                                    "malformed_name"])
def test_tampered_answers_are_refused_with_400_and_nothing_is_stored(app, browser, live, tamper):
    from app.contests.models import Question
    from app.extensions import db

    attempt_id, html = browser.started_attempt()
    answers = {qid: ["0"] for qid in option_fields(html)}
    first = next(iter(answers))
    if tamper == "unknown_question":
        answers[999999] = ["0"]
    elif tamper == "not_drawn":
        with app.app_context():
            other = db.session.scalar(sa.select(Question.id).where(Question.id.not_in(list(answers))).limit(1))
        answers[other] = ["1"]
    elif tamper == "bad_option":
        answers[first] = ["7"]
    elif tamper == "two_for_single":
        answers[first] = ["0", "1"]
    before = attempt_row(app, attempt_id)
    if tamper == "malformed_name":
        response = browser.client.post(f"/thi/{live.slug}/bai-thi/{attempt_id}/nop",
                                       data={"csrf_token": browser.csrf(), "qabc": "1"})
    else:
        response = browser.post(attempt_id, "nop", answers)
    after = attempt_row(app, attempt_id)
    assert response.status_code == 400
    assert "Vui lòng tải lại trang" in response.get_data(as_text=True) or "chỉ được chọn một" in \
        response.get_data(as_text=True)
    assert (after.state, after.answers, after.score) == ("active", before.answers, None)


def test_another_participants_attempt_is_not_found(app, client, browser, live, units):
    attempt_id, html = browser.started_attempt()
    client.delete_cookie("thi_phien", path=f"/thi/{live.slug}/")
    intruder = Participant(client, live.slug)
    assert intruder.register("0912000444", units["T-SNV"]).status_code == 303
    response = intruder.post(attempt_id, "nop", {qid: ["0"] for qid in option_fields(html)})
    assert response.status_code == 404
    assert attempt_row(app, attempt_id).state == "active"


@pytest.mark.parametrize("when, status", [("before", 409), ("after", 410)])
def test_starting_outside_the_round_window_is_refused_and_stores_nothing(app, client, make_contest, units, when,
                                                                          status):
    from app.contests.models import Attempt

    now = now_utc()
    opens, closes = (now + dt.timedelta(hours=1), now + dt.timedelta(days=1)) if when == "before" else \
        (now - dt.timedelta(days=1), now - dt.timedelta(minutes=5))
    contest = make_contest(opens=opens, closes=closes, question_count=5)
    person = Participant(client, contest.slug)
    assert person.register("0912000555", units["T-SNV"]).status_code == 303
    response = person.start()
    assert response.status_code == status
    assert ("chưa mở" if when == "before" else "đã kết thúc") in response.get_data(as_text=True)
    assert count_rows(app, Attempt) == 0


def test_a_closed_contest_refuses_to_start(app, client, live, units):
    from app.auth.audit import COMMAND_LINE
    from app.contests import lifecycle
    from app.contests.models import Attempt, Contest
    from app.extensions import db

    person = Participant(client, live.slug)
    assert person.register("0912000666", units["T-SNV"]).status_code == 303
    with app.app_context():
        lifecycle.change_status(db.session.get(Contest, live.id), "close", actor=COMMAND_LINE, now=now_utc(), zone=ZONE)
        db.session.commit()
    assert person.start().status_code == 409
    assert count_rows(app, Attempt) == 0


def test_late_submit_is_auto_submitted_with_the_saved_answers(app, browser, live):
    from app.contests.models import Attempt
    from app.extensions import db

    attempt_id, html = browser.started_attempt()
    fields = list(option_fields(html))
    saved = {qid: ["2"] for qid in fields[:3]}
    assert browser.post(attempt_id, "luu", saved).status_code == 303
    saved_answers = attempt_row(app, attempt_id).answers
    with app.app_context():
        # The clock moves past the deadline and the grace: the server's deadline is what counts.
        db.session.execute(sa.update(Attempt).where(Attempt.id == attempt_id).values(
            started_at=now_utc() - dt.timedelta(minutes=20), deadline_at=now_utc() - dt.timedelta(minutes=5)))
        db.session.commit()
    late = browser.post(attempt_id, "nop", {qid: ["0"] for qid in fields}, prediction="7")
    after = attempt_row(app, attempt_id)
    assert late.status_code == 409 and "Đã hết thời gian làm bài" in late.get_data(as_text=True)
    assert after.state == "expired" and after.answers == saved_answers and after.prediction is None
    assert after.submitted_at == after.deadline_at and after.duration_ms == 15 * 60 * 1000
    assert after.score == sum(after.marks)


def test_submit_within_the_grace_is_accepted_and_the_grace_is_not_counted(app, make_contest, units):
    contest = make_contest(opens=local("2026-03-02 06:00"), closes=local("2026-03-02 12:00"), question_count=5)
    pid = register(app, contest.id, "0912000777", units=units, now=local("2026-03-02 07:00"))
    attempt_id = start(app, contest.id, pid, now=local("2026-03-02 08:00"))
    outcome = submit(app, attempt_id, pid, answers_for(app, attempt_id, [True] * 5), None,
                     now=local("2026-03-02 08:15:08"))
    row = attempt_row(app, attempt_id)
    assert outcome.status == "submitted" and outcome.score == 5
    assert row.duration_ms == 15 * 60 * 1000


def test_the_participant_coming_back_after_expiry_finds_the_attempt_submitted(app, browser, live):
    from app.contests.models import Attempt
    from app.extensions import db

    attempt_id, _ = browser.started_attempt()
    with app.app_context():
        db.session.execute(sa.update(Attempt).where(Attempt.id == attempt_id).values(
            deadline_at=now_utc() - dt.timedelta(minutes=1)))
        db.session.commit()
    page = browser.client.get(f"/thi/{live.slug}/bai-thi/{attempt_id}")
    assert page.status_code == 303 and page.headers["Location"].endswith("/ket-qua")
    assert attempt_row(app, attempt_id).state == "expired"


def test_finalize_expired_command_submits_overdue_attempts(app, runner, make_contest, units):
    contest = make_contest(opens=now_utc() - dt.timedelta(hours=2), closes=now_utc() + dt.timedelta(hours=2),
                           question_count=5)
    pid = register(app, contest.id, "0912000888", units=units, now=now_utc())
    attempt_id = start(app, contest.id, pid, now=now_utc() - dt.timedelta(hours=1))
    result = runner.invoke(args=["contests", "finalize-expired"])
    assert result.exit_code == 0 and "1" in result.output
    assert attempt_row(app, attempt_id).state == "expired"
    again = runner.invoke(args=["contests", "finalize-expired"])
    assert "0" in again.output


def test_autosave_without_script_returns_to_the_page_with_the_answers_ticked(app, browser, live):
    attempt_id, html = browser.started_attempt()
    qid = next(iter(option_fields(html)))
    response = browser.post(attempt_id, "luu", {qid: ["2"]}, prediction="15")
    assert response.status_code == 303 and "da-luu=1" in response.headers["Location"]
    page = browser.client.get(response.headers["Location"]).get_data(as_text=True)
    assert f'name="q{qid}" value="2" checked' in page and 'value="15"' in page and "Đã lưu" in page


def test_a_required_prediction_and_a_malformed_one_are_refused(app, client, make_contest, units):
    contest = make_contest(opens=now_utc() - dt.timedelta(hours=1), closes=now_utc() + dt.timedelta(days=1),
                           question_count=5, round={"prediction": {"required": True}})
    person = Participant(client, contest.slug)
    assert person.register("0912000999", units["T-SNV"]).status_code == 303
    attempt_id, html = person.started_attempt()
    answers = {qid: ["0"] for qid in option_fields(html)}
    missing = person.post(attempt_id, "nop", answers)
    malformed = person.post(attempt_id, "nop", answers, prediction="mười")
    negative = person.post(attempt_id, "nop", answers, prediction="-3")
    assert missing.status_code == malformed.status_code == negative.status_code == 400
    assert "Vui lòng trả lời câu hỏi dự đoán" in missing.get_data(as_text=True)
    assert attempt_row(app, attempt_id).state == "active"
    assert person.post(attempt_id, "nop", answers, prediction="1.234").status_code == 303
    # Whole-number targets read "1.234" the Vietnamese way: one thousand two hundred thirty-four.
    assert attempt_row(app, attempt_id).prediction == 1234.0


def test_a_second_attempt_is_refused_when_one_is_allowed(app, browser, live):
    attempt_id, html = browser.started_attempt()
    browser.post(attempt_id, "nop", {qid: ["0"] for qid in option_fields(html)})
    again = browser.start()
    assert again.status_code == 409 and "hết số lượt" in again.get_data(as_text=True)


def test_the_participant_session_does_not_open_the_organiser_area(app, browser, live):
    response = browser.client.get("/quan-tri/cuoc-thi/")
    assert response.status_code in (302, 401)


def test_pages_need_a_participant_session(app, client, live):
    response = client.post(f"/thi/{live.slug}/bai-thi/1/nop", data={})
    assert response.status_code in (400, 401)


def test_the_contest_home_shows_the_participants_rounds_and_results(app, browser, live):
    home = browser.client.get(f"/thi/{live.slug}").get_data(as_text=True)
    assert "Xin chào" in home and "Bắt đầu làm bài" in home
    attempt_id, html = browser.started_attempt()
    assert "Tiếp tục làm bài" in browser.client.get(f"/thi/{live.slug}").get_data(as_text=True)
    browser.post(attempt_id, "nop", {qid: ["0"] for qid in option_fields(html)})
    home = browser.client.get(f"/thi/{live.slug}").get_data(as_text=True)
    assert re.search(r"<strong>\d/5</strong>", home) and "Xem bài" in home and "Bắt đầu làm bài" not in home
