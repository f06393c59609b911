"""Results through the service layer: stored attempts → report, checked against the reference test vectors."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
import yaml

from app.contests.reports import RANKING_COLUMNS
from tests.contests.helpers import (ZONE, answers_for, finished_attempt, local, question_rows, register, start,
                                   submit)

# contest.md §6: (label, score of 10, prediction, duration s, submitted at local time on the round's day)
RANKING_VECTOR = [
    ("P1", 10, "5", 300, "09:00"),
    ("P2", 10, "2", 250, "09:05"),
    ("P3", 10, "4", 200, "09:10"),
    ("P4", 9, "3", 100, "08:00"),
    ("P5", 10, "2", 250, "08:59"),
    ("P6", 10, None, 90, "07:00"),
]

# item-analysis.md §6: attempts A–J × questions Q1–Q6.
ITEM_MATRIX = np.array([
    [1, 1, 1, 1, 1, 0],
    [1, 1, 1, 1, 1, 0],
    [1, 1, 1, 1, 0, 1],
    [1, 1, 1, 0, 1, 0],
    [1, 1, 0, 0, 0, 1],
    [1, 0, 1, 1, 0, 0],
    [1, 0, 0, 0, 0, 1],
    [0, 0, 0, 0, 0, 1],
    [0, 0, 0, 0, 0, 1],
    [0, 0, 0, 0, 0, 0],
])


def run_ranking_vector(app, make_contest, units):
    """Store the six attempts of contest.md §6 through the services; return (contest id, participant ids)."""
    contest = make_contest(opens=local("2026-03-02 06:00"), closes=local("2026-03-02 12:00"), question_count=10)
    ids = {}
    for index, (label, score, prediction, seconds, at) in enumerate(RANKING_VECTOR):
        pid = register(app, contest.id, f"09123450{index:02d}", units=units, now=local("2026-03-02 06:00"))
        submitted = local(f"2026-03-02 {at}")
        attempt = start(app, contest.id, pid, now=submitted - dt.timedelta(seconds=seconds), seed=index)
        right = [True] * score + [False] * (10 - score)
        outcome = submit(app, attempt, pid, answers_for(app, attempt, right), prediction, now=submitted)
        assert (outcome.status, outcome.score) == ("submitted", score)
        ids[pid] = label
    return contest, ids


def report(app, contest_id: int, number: int | None = 1) -> dict:
    from app.contests.models import Contest
    from app.contests.reports import contest_report
    from app.extensions import db

    with app.app_context():
        return contest_report(db.session.get(Contest, contest_id), ZONE, number)


def test_ranking_vector_of_contest_md_section_6_comes_out_of_stored_attempts(app, make_contest, units):
    from app.auth.audit import COMMAND_LINE
    from app.contests import lifecycle
    from app.contests.models import Contest
    from app.extensions import db

    contest, labels = run_ranking_vector(app, make_contest, units)
    with app.app_context():
        round_ = db.session.get(Contest, contest.id).rounds[0]
        lifecycle.set_prediction_actual(round_, 3.0, actor=COMMAND_LINE, now=local("2026-03-02 12:30"))
        db.session.commit()
    document = report(app, contest.id)
    assert document["prediction_actual"] == 3.0
    assert [labels[row["participant_id"]] for row in document["ranking"]] == ["P3", "P5", "P2", "P1", "P6", "P4"]
    assert [row["rank"] for row in document["ranking"]] == [1, 2, 3, 4, 5, 6]
    by_label = {labels[row["participant_id"]]: row for row in document["ranking"]}
    assert by_label["P5"]["duration_ms"] == by_label["P2"]["duration_ms"] == 250_000
    assert by_label["P6"]["prediction"] is None and by_label["P4"]["prediction"] == 3
    assert by_label["P1"]["submitted_at"] == "2026-03-02T02:00:00.000Z"
    assert all(list(row) == RANKING_COLUMNS for row in document["ranking"])  # the document's keys, in this order


def test_prediction_value_is_the_number_of_persons_with_full_marks_when_not_fixed(app, make_contest, units):
    contest, labels = run_ranking_vector(app, make_contest, units)
    document = report(app, contest.id)
    # Five persons have 10/10; distances to 5: P1 0, P3 1, P5 3 (250 s, 08:59), P2 3 (250 s, 09:05), P6 none.
    assert document["prediction_actual"] == 5.0
    assert [labels[row["participant_id"]] for row in document["ranking"]] == ["P1", "P3", "P5", "P2", "P6", "P4"]


def test_equal_entries_share_a_competition_rank(app, make_contest, units):
    contest = make_contest(opens=local("2026-03-02 06:00"), closes=local("2026-03-02 12:00"), question_count=4,
                           ranking={"criteria": ["score", "duration"]})
    ranks = {}
    for index, (score, seconds) in enumerate([(4, 100), (3, 50), (3, 50), (2, 10)]):
        pid, _ = finished_attempt(app, contest.id, f"09123451{index:02d}", score, units=units, seed=index,
                                  submitted=local("2026-03-02 08:00") + dt.timedelta(seconds=seconds))
        ranks[pid] = index
    rows = report(app, contest.id)["ranking"]
    assert [row["rank"] for row in rows] == [1, 2, 2, 4]
    assert [row["tied"] for row in rows] == [False, True, True, False]


def moodle_item_statistics(x: np.ndarray) -> dict[str, np.ndarray]:
    """Compute Moodle's item statistics of a fixed form independently (item-analysis.md §6.4), in percent."""
    s = x.shape[0]
    total = x.sum(1)
    rest = total[:, None] - x

    def cov(a, b):
        return ((a - a.mean()) * (b - b.mean())).sum() / (s - 1)

    di = np.array([cov(x[:, j], rest[:, j]) / np.sqrt(x[:, j].var(ddof=1) * rest[:, j].var(ddof=1))
                   for j in range(x.shape[1])])
    de = np.array([cov(x[:, j], rest[:, j]) / cov(np.sort(x[:, j]), np.sort(rest[:, j])) for j in range(x.shape[1])])
    cov_total = np.array([cov(x[:, j], total) for j in range(x.shape[1])])
    positive = cov_total >= 0
    ew = np.where(positive, np.sqrt(np.clip(cov_total, 0, None)) / np.sqrt(cov_total[positive]).sum(), np.nan)
    return {"facility": 100 * x.mean(0), "sd": 100 * x.std(0, ddof=1), "discrimination_index": 100 * di,
            "discriminative_efficiency": 100 * de, "effective_weight": 100 * ew}


def test_item_analysis_vector_of_item_analysis_md_section_6_comes_out_of_stored_attempts(app, make_contest, units):
    from app.auth.audit import COMMAND_LINE
    from app.contests.banks import import_questions
    from app.contests.imports import parse_questions
    from app.extensions import db

    rows = question_rows(6, bank_prefix="Q")
    for row, code in zip(rows, ("Q1", "Q2", "Q3", "Q4", "Q5", "Q6")):
        row["code"] = code
    with app.app_context():
        import_questions("six", parse_questions("six.yaml", yaml.safe_dump({"questions": rows},
                                                                           allow_unicode=True).encode()),
                         actor=COMMAND_LINE, now=local("2026-01-01 08:00"))
        db.session.commit()
    contest = make_contest(opens=local("2026-03-02 06:00"), closes=local("2026-03-02 12:00"), bank="six",
                           question_count=6)
    for index, marks in enumerate(ITEM_MATRIX):
        pid = register(app, contest.id, f"09123452{index:02d}", units=units, now=local("2026-03-02 06:00"))
        attempt = start(app, contest.id, pid, now=local("2026-03-02 07:00"), seed=index)
        with app.app_context():
            from app.contests.models import Attempt
            from app.contests.attempts import unpack_ids
            from app.contests.banks import question_texts

            drawn = unpack_ids(db.session.get(Attempt, attempt).question_ids)
            codes = [question_texts(drawn)[qid].code for qid in drawn]
        right = [bool(marks[int(code[1]) - 1]) for code in codes]
        submit(app, attempt, pid, answers_for(app, attempt, right), None, now=local("2026-03-02 07:10"))

    document = report(app, contest.id)
    items = {item["code"]: item for item in document["items"]}
    expected = moodle_item_statistics(ITEM_MATRIX.astype(float))
    for j, code in enumerate(("Q1", "Q2", "Q3", "Q4", "Q5", "Q6")):
        assert items[code]["n"] == 10
        for name in ("facility", "sd", "discrimination_index", "discriminative_efficiency"):
            assert items[code][name] == pytest.approx(expected[name][j], abs=5e-5), (code, name)
        if code == "Q6":
            assert items[code]["effective_weight"] is None and "negative_covariance" in items[code]["flags"]
        else:
            assert items[code]["effective_weight"] == pytest.approx(expected["effective_weight"][j], abs=5e-5)
    # The printed values of item-analysis.md §6.1 and §6.2, at their printed precision.
    assert round(items["Q1"]["discrimination_index"], 2) == 71.70
    assert round(items["Q2"]["discriminative_efficiency"], 2) == 83.33
    assert round(items["Q6"]["discrimination_index"], 2) == -51.03
    assert round(items["Q1"]["effective_weight"], 2) == 20.07
    assert "di_negative" in items["Q6"]["flags"]
    test = document["test"]
    total = ITEM_MATRIX.sum(1)
    alpha = 6 / 5 * (1 - ITEM_MATRIX.var(0, ddof=1).sum() / total.var(ddof=1))
    assert test["n"] == 10
    assert test["mean"] == pytest.approx(100 * total.mean() / 6, abs=5e-5)
    assert test["sd"] == pytest.approx(100 * total.std(ddof=1) / 6, abs=5e-5)
    assert test["alpha"] == pytest.approx(alpha, abs=5e-5) and round(test["alpha"], 4) == 0.6524
    assert test["error_ratio"] == pytest.approx(100 * np.sqrt(1 - alpha), abs=5e-5)
    assert round(test["error_ratio"], 2) == 58.96 and round(test["standard_error"], 2) == 18.21


def test_a_person_keeps_only_their_highest_prize(app, make_contest, units):
    prizes = {"round": {"cbccvc": [{"label": "Nhất vòng", "count": 1, "amount": 1000},
                                   {"label": "Nhì vòng", "count": 1, "amount": 500}]},
              "overall": {"cbccvc": [{"label": "Đặc biệt", "count": 1, "amount": 5000}]}}
    contest = make_contest(opens=local("2026-03-02 06:00"), closes=local("2026-03-02 12:00"), question_count=4,
                           prizes=prizes)
    people = []
    for index, score in enumerate([4, 3, 2]):
        pid, _ = finished_attempt(app, contest.id, f"09123453{index:02d}", score, units=units, seed=index)
        people.append(pid)
    awards = {(a["participant_id"], a["label"]) for a in report(app, contest.id, None)["prizes"]}
    # The winner of the round also tops the overall list and keeps the bigger prize; the round's first prize is
    # not passed down (a committee decision), the second goes to the runner-up.
    assert awards == {(people[0], "Đặc biệt"), (people[1], "Nhì vòng")}


def test_units_are_ranked_by_participation_rate_against_headcount(app, make_contest, units):
    collective = {"min_rate": 25, "split_by_block": False,
                  "prizes": [{"label": "Tập thể Nhất", "count": 1, "amount": 1000}]}
    contest = make_contest(opens=local("2026-03-02 06:00"), closes=local("2026-03-02 12:00"), question_count=4,
                           collective=collective)
    # Department: 2 of 10 take part (20 %, below the threshold); commune: 2 of 4 (50 %).
    for index, unit in enumerate(["T-SNV", "T-SNV", "T-XA", "T-XA"]):
        finished_attempt(app, contest.id, f"09123454{index:02d}", 2, unit=unit, units=units, seed=index)
    rows = {row["unit"]: row for row in report(app, contest.id, None)["units"]}
    assert (rows["T-SNV"]["completers"], rows["T-SNV"]["rate"], rows["T-SNV"]["eligible"]) == (2, 20.0, False)
    assert (rows["T-XA"]["completers"], rows["T-XA"]["rate"], rows["T-XA"]["rank"]) == (2, 50.0, 1)
    assert rows["T-XA"]["prize"] == "Tập thể Nhất" and rows["T-SNV"]["prize"] is None


def test_excluded_participants_leave_the_ranking_but_not_the_statistics_of_attempts(app, make_contest, units):
    from app.auth.audit import COMMAND_LINE
    from app.contests import participants
    from app.contests.models import Participant
    from app.extensions import db

    contest = make_contest(opens=local("2026-03-02 06:00"), closes=local("2026-03-02 12:00"), question_count=4)
    ids = []
    for index in range(3):
        pid, _ = finished_attempt(app, contest.id, f"09123455{index:02d}", 4 - index, units=units, seed=index)
        ids.append(pid)
    with app.app_context():
        participants.set_excluded(db.session.get(Participant, ids[0]), True, "Thành viên Tổ thư ký",
                              actor=COMMAND_LINE, now=local("2026-03-02 13:00"))
        db.session.commit()
    document = report(app, contest.id)
    assert [row["participant_id"] for row in document["ranking"]] == ids[1:]
    assert document["rounds"][0]["attempts"] == 3


def test_best_attempt_counts_when_a_round_allows_two(app, make_contest, units):
    contest = make_contest(opens=local("2026-03-02 06:00"), closes=local("2026-03-02 12:00"), question_count=4,
                           round={"attempts_allowed": 2, "counts": "best"})
    pid = register(app, contest.id, "0912345600", units=units, now=local("2026-03-02 06:00"))
    first = start(app, contest.id, pid, now=local("2026-03-02 08:00"), seed=1)
    submit(app, first, pid, answers_for(app, first, [True, True, True, False]), None, now=local("2026-03-02 08:05"))
    second = start(app, contest.id, pid, now=local("2026-03-02 09:00"), seed=2)
    submit(app, second, pid, answers_for(app, second, [True, False, False, False]), None,
           now=local("2026-03-02 09:05"))
    rows = report(app, contest.id)["ranking"]
    assert [(row["participant_id"], row["score"]) for row in rows] == [(pid, 3)]


def test_the_public_leaderboard_freezes_before_close_but_final_results_count_everything(app, client, make_contest,
                                                                                       units):
    from app.auth.audit import COMMAND_LINE
    from app.contests import lifecycle
    from app.contests.models import Contest
    from app.contests.results import contest_results
    from app.extensions import db
    from tests.contests.helpers import ZONE

    contest = make_contest(opens=local("2026-03-02 06:00"), closes=local("2026-03-02 12:00"), question_count=4,
                           leaderboard={"visibility": "public", "freeze_minutes": 60})
    early = register(app, contest.id, "0912345700", units=units, now=local("2026-03-02 06:00"))
    late = register(app, contest.id, "0912345701", units=units, now=local("2026-03-02 06:00"), name="Lê Thị Bảo")
    for pid, at, score in ((early, "10:30", 2), (late, "11:30", 4)):
        attempt = start(app, contest.id, pid, now=local(f"2026-03-02 {at}") - dt.timedelta(minutes=5))
        submit(app, attempt, pid, answers_for(app, attempt, [True] * score + [False] * (4 - score)), None,
               now=local(f"2026-03-02 {at}"))
    with app.app_context():
        row = db.session.get(Contest, contest.id)
        frozen = contest_results(row, ZONE, frozen=True)
        full = contest_results(row, ZONE)
        assert list(frozen.rounds[0].standing.participant_id) == [early]
        assert list(full.rounds[0].standing.participant_id[full.rounds[0].standing.ranking.order]) == [late, early]
    board = client.get(f"/thi/{contest.slug}/xep-hang?vong=1").get_data(as_text=True)
    assert "Nguyễn V. A." in board and "Lê T. B." not in board and "ngừng cập nhật 60 phút" in board
    with app.app_context():
        row = db.session.get(Contest, contest.id)
        lifecycle.change_status(row, "close", actor=COMMAND_LINE, now=local("2026-03-02 12:30"), zone=ZONE)
        lifecycle.change_status(row, "publish_results", actor=COMMAND_LINE, now=local("2026-03-02 12:31"), zone=ZONE)
        db.session.commit()
    final = client.get(f"/thi/{contest.slug}/xep-hang?vong=1").get_data(as_text=True)
    assert final.index("Lê T. B.") < final.index("Nguyễn V. A.")


def test_a_top_n_leaderboard_shows_the_first_names_with_scores_and_times(app, client, make_contest, units):
    contest = make_contest(opens=local("2026-03-02 06:00"), closes=local("2026-03-02 12:00"), question_count=4,
                           leaderboard={"visibility": "top_n", "top_n": 1})
    for index, score in enumerate([1, 3]):
        finished_attempt(app, contest.id, f"09123457{index:02d}", score, units=units, seed=index,
                         name=("Trần Văn Cao", "Đỗ Thị Dung")[index])
    board = client.get(f"/thi/{contest.slug}/xep-hang?vong=1").get_data(as_text=True)
    assert "Đỗ T. D." in board and "Trần V. C." not in board and ">Điểm<" in board
    assert '<td class="num">3</td><td class="num time">5 phút 00 giây</td>' in board


def test_attempts_load_in_id_order_with_their_own_columns_and_exact_predictions(app, make_contest, units):
    import sqlalchemy as sa

    from app.contests.models import Attempt
    from app.contests.results import load_attempts
    from app.contests.attempts import unpack_ids
    from app.extensions import db

    contest = make_contest(opens=local("2026-03-02 06:00"), closes=local("2026-03-02 12:00"), question_count=4)
    attempt_ids = []
    for index in range(4):
        _, attempt = finished_attempt(app, contest.id, f"09123452{index:02d}", index, units=units, seed=index,
                                      submitted=local("2026-03-02 08:00") + dt.timedelta(seconds=30 + index))
        attempt_ids.append(attempt)
    start(app, contest.id, register(app, contest.id, "0912345299", units=units, now=local("2026-03-02 06:00")),
          now=local("2026-03-02 08:00"))  # still running: not loaded
    with app.app_context():
        # The last attempt expired, earlier ones were submitted: an index on the state reads it first.
        db.session.execute(sa.update(Attempt).where(Attempt.id == attempt_ids[3]).values(state="expired"))
        db.session.execute(sa.update(Attempt).where(Attempt.id == attempt_ids[1]).values(prediction=1 / 3))
        db.session.commit()
        table = load_attempts(contest.id)
        stored = {row.id: row for row in db.session.scalars(sa.select(Attempt).where(Attempt.id.in_(attempt_ids)))}
    assert table.attempt_id.tolist() == attempt_ids
    for position, attempt_id in enumerate(attempt_ids):
        row, entries = stored[attempt_id], slice(table.offsets[position], table.offsets[position + 1])
        assert table.participant_id[position] == row.participant_id and table.score[position] == row.score == position
        assert table.duration_ms[position] == row.duration_ms and table.group[position] == "cbccvc"
        assert table.submitted_ms[position] == round(row.submitted_at.timestamp() * 1000)
        assert tuple(table.question_id[entries].tolist()) == unpack_ids(row.question_ids)
        assert bytes(table.mark[entries]) == row.marks and bytes(table.answer[entries]) == row.answers
    assert table.prediction[1] == 1 / 3 and np.isnan(table.prediction[[0, 2, 3]]).all()


def test_the_cycle_collector_pauses_while_results_are_built_and_resumes_after():
    import gc

    from app.contests.results import no_cycle_collection

    assert gc.isenabled()
    with no_cycle_collection():
        assert not gc.isenabled()
        with no_cycle_collection():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the inner pause leaves the outer one in force
    assert gc.isenabled()
    with pytest.raises(RuntimeError), no_cycle_collection():
        raise RuntimeError("a failed report")
    assert gc.isenabled()
