"""Pure rules: graders, draws, packing, the contest state machine and definition parsing."""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
EXAMPLE = Path(__file__).resolve().parents[2] / "app/contests/examples/cchc-2026.yaml"


@pytest.mark.parametrize("kind, answer, key, right", [
    ("single", 0b0100, 0b0100, True), ("single", 0b0010, 0b0100, False), ("single", 0, 0b0100, False),
    ("true_false", 0b01, 0b01, True), ("true_false", 0b10, 0b01, False),
    ("multiple", 0b0101, 0b0101, True), ("multiple", 0b0001, 0b0101, False), ("multiple", 0b0111, 0b0101, False),
])
def test_graders_give_all_or_nothing_marks(kind, answer, key, right):
    from app.contests.grading import GRADERS

    assert GRADERS[kind](answer, key) is right


def test_an_attempt_is_graded_from_its_packed_snapshot():
    from app.contests.grading import QUESTION_TYPES, grade_attempt, random_guess

    types = bytes(QUESTION_TYPES.index(kind) for kind in ("single", "multiple", "true_false"))
    assert grade_attempt(types, bytes([4, 5, 2]), bytes([4, 1, 2])) == bytes([1, 0, 1])
    assert random_guess("single", 4) == 0.25 and np.isnan(random_guess("multiple", 5))


def test_packed_ids_and_option_orders_round_trip():
    from app.contests.attempts import pack_ids, pack_orders, unpack_ids, unpack_orders

    assert unpack_ids(pack_ids([1, 70000, 2**32 - 1])) == (1, 70000, 2**32 - 1)
    assert unpack_orders(pack_orders([[2, 0, 1, 3], [1, 0]])) == [(2, 0, 1, 3), (1, 0)]


def pool():
    from app.contests.draw import PoolQuestion

    return [PoolQuestion(i, ("a", "b", "c")[i % 3], 1 + (i // 3) % 3, 4) for i in range(1, 31)]


def test_a_blueprint_draw_takes_each_part_then_fills_from_the_filtered_pool():
    from app.contests.draw import BlueprintPart, DrawRule, draw_questions

    rule = DrawRule("blueprint", topics=("a", "b"), blueprint=(BlueprintPart(3, topic="a"),
                                                               BlueprintPart(2, difficulty=3)))
    for seed in range(20):
        drawn = draw_questions(pool(), 8, rule, np.random.default_rng(seed))
        assert len({q.id for q in drawn}) == 8 and all(q.topic in ("a", "b") for q in drawn)
        assert sum(q.topic == "a" for q in drawn) >= 3 and sum(q.difficulty == 3 for q in drawn) >= 2


def test_a_draw_avoids_questions_seen_before_while_the_pool_allows():
    from app.contests.draw import DrawRule, draw_questions

    seen = set(range(1, 21))
    drawn = draw_questions(pool(), 10, DrawRule(), np.random.default_rng(3), avoid=seen)
    assert {q.id for q in drawn} == set(range(21, 31))
    more = draw_questions(pool(), 12, DrawRule(), np.random.default_rng(3), avoid=seen)
    assert set(range(21, 31)) <= {q.id for q in more}


def test_a_pool_too_small_is_reported():
    from app.contests.draw import BlueprintPart, DrawError, DrawRule, draw_questions, shortfalls

    rule = DrawRule("blueprint", blueprint=(BlueprintPart(11, topic="a"),))
    assert shortfalls(pool(), 5, rule) == ["blueprint part 1 needs 11 questions, pool has 10"]
    with pytest.raises(DrawError):
        draw_questions(pool(), 5, rule, np.random.default_rng(1))


def test_the_contest_state_machine_allows_only_its_transitions():
    from app.contests.models import Contest, ContestStateError

    now = dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc)
    contest = Contest(status="draft")
    with pytest.raises(ContestStateError):
        contest.close(now)
    contest.open(now)
    contest.close(now)
    contest.reopen(now)
    contest.close(now)
    contest.publish_results(now)
    assert (contest.status, contest.results_published_at) == ("results_published", now)
    with pytest.raises(ContestStateError):
        contest.open(now)
    contest.archive(now)
    assert contest.status == "archived" and contest.results_public


def test_the_example_contest_parses_with_utc_windows_and_reparses_to_the_same_definition():
    from app.contests.spec import load_contest_file, parse_contest

    spec = load_contest_file(EXAMPLE.read_bytes(), ZONE)
    first = spec.rounds[0]
    assert first.opens_at == dt.datetime(2026, 3, 2, 3, 0, tzinfo=dt.timezone.utc)
    assert (first.question_count, first.time_limit_seconds, first.draw.mode) == (20, 900, "blueprint")
    assert spec.ranking.criteria == ("score", "prediction_distance", "duration", "submitted_at")
    assert [g.code for g in spec.groups] == ["cbccvc", "nguoi_dan"]
    assert parse_contest(spec.definition, ZONE).definition == spec.definition


def test_every_problem_of_a_definition_is_reported_with_its_path():
    from app.contests.spec import parse_contest
    from app.validation import Rejected

    data = {"slug": "x", "title": "T", "unit": "U", "rankings": 1, "ranking": {"criteria": ["duration", "score"]},
            "leaderboard": {"visibility": "all"},
            "rounds": [{"opens_at": "2026-03-02 10:00", "closes_at": "2026-03-01 10:00", "bank": "b",
                        "question_count": 5, "draw": {"mode": "blueprint"},
                        "prediction": {"target": "lucky", "required": True, "enabled": False}}]}
    with pytest.raises(Rejected) as error:
        parse_contest(data, ZONE)
    assert [str(p) for p in error.value.problems] == [
        "rankings: khoá không được hỗ trợ",
        "leaderboard.visibility: “all” không hợp lệ; chọn một trong: hidden, top_n, public",
        "ranking.criteria: tiêu chí đầu tiên phải là score (điểm)",
        "rounds[0].closes_at: phải sau thời điểm mở (opens_at)",
        "rounds[0].draw.blueprint: chế độ blueprint cần danh sách phần (topic/difficulty, count)",
        "rounds[0].prediction.target: “lucky” không hợp lệ; chọn một trong: persons_full_marks, attempts_full_marks, "
        "persons_participating, attempts_participating, percent_persons_full_marks",
        "rounds[0].prediction.required: câu dự đoán đang tắt (enabled: false)",
    ]
