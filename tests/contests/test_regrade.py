"""Re-grading after the fact: a key corrected and a question voided once attempts exist. Scores, maxima, ranks and
prizes afterwards must equal a recomputation written here from the exported attempts and the chosen options,
without the grading code."""
from __future__ import annotations

import datetime as dt
import struct

import numpy as np

from tests.contests.helpers import ZONE, answers_for, local, register, start, submit

PEOPLE = 24


def exported(app, contest_id: int) -> dict[int, dict]:
    """Return participant id → the row of `export attempts` (round 1) as a dict with marks by question id."""
    from app.contests.models import Contest
    from app.contests.reports import attempt_table
    from app.extensions import db

    with app.app_context():
        headers, rows = attempt_table(db.session.get(Contest, contest_id), ZONE, 1)
        found = {}
        for row in rows:
            record = dict(zip(headers, row))
            marks = {int(name): int(value) for name, value in record.items() if name.isdigit() and value is not None}
            found[int(record["participant_id"])] = {"score": float(record["score"]), "rank": record["rank"],
                                                    "duration_ms": float(record["duration_ms"]), "marks": marks}
        return found


def chosen_options(app, contest_id: int) -> dict[int, dict[int, int]]:
    """Return participant id → {question id: the original index of the option they chose}, read from the rows."""
    from app.contests.models import Attempt
    from app.extensions import db

    with app.app_context():
        chosen = {}
        for attempt in db.session.query(Attempt).filter_by(contest_id=contest_id):
            ids = struct.unpack(f"<{len(attempt.question_ids) // 4}I", attempt.question_ids)
            chosen[attempt.participant_id] = {qid: mask.bit_length() - 1 for qid, mask in zip(ids, attempt.answers)}
        return chosen


def recompute(rows: dict[int, dict], chosen: dict[int, dict[int, int]], corrected: int, new_key: int,
              voided: int) -> dict[int, dict]:
    """Score, maximum, rank (score desc, then shorter time) and prize of each participant, from scratch."""
    people = {}
    for pid, row in rows.items():
        marks = dict(row["marks"])
        if corrected in marks:
            marks[corrected] = int(chosen[pid][corrected] == new_key)
        marks.pop(voided, None)
        people[pid] = {"score": sum(marks.values()), "max": len(marks), "duration_ms": row["duration_ms"]}
    order = sorted(people, key=lambda pid: (-people[pid]["score"], people[pid]["duration_ms"]))
    for place, pid in enumerate(order, start=1):
        people[pid]["rank"] = place
        people[pid]["prize"] = "Giải Nhất" if place == 1 else "Giải Nhì" if place <= 3 else None
    return people


def test_a_corrected_key_and_a_voided_question_regrade_scores_ranks_and_prizes(app, make_contest, units, runner):
    from app.auth.audit import COMMAND_LINE
    from app.contests.models import Attempt, Contest, Correction, Question
    from app.contests.regrade import contest_question, parse_key, regrade_question
    from app.contests.results import contest_results
    from app.extensions import db

    contest = make_contest(opens=local("2026-03-02 06:00"), closes=local("2026-03-02 12:00"), question_count=6,
                           ranking={"criteria": ["score", "duration"]}, leaderboard={"visibility": "public"},
                           round={"prediction": {"enabled": False}},
                           prizes={"round": {"cbccvc": [{"label": "Giải Nhất", "count": 1, "amount": 1},
                                                        {"label": "Giải Nhì", "count": 2, "amount": 1}]}})
    rng = np.random.default_rng(7)
    for index in range(PEOPLE):
        pid = register(app, contest.id, f"09125000{index:02d}", units=units, now=local("2026-03-02 06:00"),
                       name=f"Người Thứ {chr(65 + index)}")
        attempt = start(app, contest.id, pid, now=local("2026-03-02 08:00"), seed=index + 1)
        right = list(rng.random(6) < 0.6)
        submit(app, attempt, pid, answers_for(app, attempt, right), None,
               now=local("2026-03-02 08:00") + dt.timedelta(seconds=60 + 7 * index))

    before = exported(app, contest.id)
    chosen = chosen_options(app, contest.id)
    drawn = {}
    for row in before.values():
        for qid in row["marks"]:
            drawn[qid] = drawn.get(qid, 0) + 1
    corrected, voided = sorted(drawn, key=lambda qid: (-drawn[qid], qid))[:2]
    with app.app_context():
        question = db.session.get(Question, corrected)
        new_key = (question.correct[0] + 1) % len(question.options)
        code_corrected, code_voided = question.code, db.session.get(Question, voided).code
        row = db.session.get(Contest, contest.id)
        done = regrade_question(row, contest_question(row, code_corrected),
                                key=parse_key("ABCDEFGH"[new_key], question), void=False, actor=COMMAND_LINE,
                                now=local("2026-03-03 09:00"))
        db.session.commit()
        assert done.attempts == drawn[corrected] and done.changed == done.attempts  # every mark on it flips
    result = runner.invoke(args=["contests", "regrade", contest.slug, "--question", code_voided, "--void"])
    assert result.exit_code == 0, result.output
    assert f"Đã chấm lại {drawn[voided]} bài thi có câu {code_voided}" in result.output
    again = runner.invoke(args=["contests", "regrade", contest.slug, "--question", code_voided, "--void"])
    assert again.exit_code != 0 and "đã bị huỷ" in again.output

    expected = recompute(before, chosen, corrected, new_key, voided)
    after = exported(app, contest.id)
    assert {pid: row["score"] for pid, row in after.items()} == {pid: p["score"] for pid, p in expected.items()}
    assert {pid: row["rank"] for pid, row in after.items()} == {pid: p["rank"] for pid, p in expected.items()}
    with app.app_context():
        maxima = {a.participant_id: a.max_score for a in db.session.query(Attempt).filter_by(contest_id=contest.id)}
        assert maxima == {pid: p["max"] for pid, p in expected.items()}
        results = contest_results(db.session.get(Contest, contest.id), ZONE)
        prizes = {award.participant_id: award.label for award in results.awards}
        assert prizes == {pid: p["prize"] for pid, p in expected.items() if p["prize"]}
        corrections = db.session.query(Correction).order_by(Correction.id).all()
        assert [(c.kind, c.question_code) for c in corrections] == [("key", code_corrected), ("void", code_voided)]
        from app.auth.models import AuditEntry
        audits = [e.detail for e in db.session.query(AuditEntry).filter_by(action="contest.regrade")]
        assert [a["kind"] for a in audits] == ["key", "void"]
        assert {"full_marks_before", "full_marks_after", "changed_scores", "attempts"} <= set(audits[0])
        # A voided question is no longer drawn; the corrected key is what new attempts are graded with.
        assert db.session.get(Question, voided).is_active is False
        assert db.session.get(Question, corrected).correct == [new_key]


def test_the_result_page_and_the_published_results_show_the_correction(app, make_contest, units, runner):
    from app.contests.models import Question
    from app.extensions import db
    from tests.contests.helpers import Participant, now_utc

    now = now_utc()
    contest = make_contest(opens=now - dt.timedelta(hours=1), closes=now + dt.timedelta(days=1), question_count=4,
                           leaderboard={"visibility": "public"})
    person = Participant(app.test_client(), contest.slug)
    assert person.register("0912600001", units["T-SNV"]).status_code == 303
    attempt_id, _html = person.started_attempt()
    assert person.post(attempt_id, "nop", answers_for(app, attempt_id, [True] * 4)).status_code == 303
    with app.app_context():
        from app.contests.models import Attempt
        first = struct.unpack("<4I", db.session.get(Attempt, attempt_id).question_ids)[0]
        code = db.session.get(Question, first).code
    assert runner.invoke(args=["contests", "regrade", contest.slug, "--question", code, "--void"]).exit_code == 0
    page = person.client.get(f"/thi/{contest.slug}/bai-thi/{attempt_id}/ket-qua").get_data(as_text=True)
    assert "3/3" in page and "Câu 1 đã được Ban Tổ chức huỷ" in page
    board = person.client.get(f"/thi/{contest.slug}/xep-hang").get_data(as_text=True)
    assert "Kết quả đã được đính chính ngày" in board


def test_an_organiser_previews_then_confirms_a_correction_in_the_browser(app, client, make, make_contest, units):
    from app.contests.models import Correction, Question
    from app.extensions import db
    from tests.contests.helpers import hidden_fields
    from tests.factories import log_in

    contest = make_contest(opens=local("2026-03-02 06:00"), closes=local("2026-03-02 12:00"), question_count=4)
    pid = register(app, contest.id, "0912700001", units=units, now=local("2026-03-02 06:00"))
    attempt = start(app, contest.id, pid, now=local("2026-03-02 08:00"))
    submit(app, attempt, pid, answers_for(app, attempt, [True] * 4), None, now=local("2026-03-02 08:03"))
    with app.app_context():
        from app.contests.models import Attempt
        qid = struct.unpack("<4I", db.session.get(Attempt, attempt).question_ids)[0]
        code = db.session.get(Question, qid).code
    account = make.organiser(unit="T")
    assert log_in(client, account.email, account.password).status_code == 303
    path = f"/quan-tri/cuoc-thi/{contest.slug}/dinh-chinh"
    page = client.get(f"{path}?cau={code}").get_data(as_text=True)
    token = hidden_fields(page)["csrf_token"]
    bad = client.post(path, data={"csrf_token": token, "cau": code, "cach": "key", "dap_an": "Z"})
    assert bad.status_code == 400 and "chữ cái" in bad.get_data(as_text=True)
    preview = client.post(path, data={"csrf_token": token, "cau": code, "cach": "void"})
    assert preview.status_code == 200 and "Xác nhận đính chính câu" in preview.get_data(as_text=True)
    assert count_corrections(app) == 0  # a preview changes nothing
    done = client.post(path, data={"csrf_token": token, "cau": code, "cach": "void", "xac_nhan": "1"})
    assert done.status_code == 303
    listed = client.get(path).get_data(as_text=True)
    assert code in listed and "Huỷ câu" in listed and count_corrections(app) == 1
    with app.app_context():
        assert db.session.query(Correction).one().changed == 1

    stranger = make.organiser(unit="X")
    other = app.test_client()
    assert log_in(other, stranger.email, stranger.password).status_code == 303
    assert other.get(path).status_code == 404


def count_corrections(app) -> int:
    from app.contests.models import Correction
    from app.extensions import db

    with app.app_context():
        return db.session.query(Correction).count()
