"""Tests for contest integrity signals (flag for review, never disqualify)."""

import datetime
import unicodedata

import numpy as np
import pytest

from app.stats.integrity import (
    DUPLICATE_IDENTITY,
    IDENTICAL_ANSWERS,
    SHARED_DEVICE,
    TOO_FAST_FULL_MARKS,
    FlagGroup,
    duplicate_identities,
    identical_answer_sequences,
    shared_devices,
    too_fast_full_marks,
)


def test_full_marks_below_the_reading_time_are_flagged_with_their_evidence():
    # 15 questions × 4 s = 60 s threshold; only full-mark attempts count.
    signal = too_fast_full_marks(
        ["t1", "t2", "t3", "t4"], [15, 15, 14, 15], 15, [59_999, 60_000, 10_000, 30_000], 15,
        min_seconds_per_question=4,
    )
    assert signal.reason == TOO_FAST_FULL_MARKS
    assert signal.groups == (
        FlagGroup(("t1",), "duration_ms=59999;threshold_ms=60000"),
        FlagGroup(("t4",), "duration_ms=30000;threshold_ms=60000"),
    )
    assert signal.flagged_ids == ("t1", "t4")


def test_too_fast_uses_each_attempts_own_question_count_and_max_score():
    signal = too_fast_full_marks(
        [1, 2], [10, 20], [10, 20], [25_000, 25_000], [10, 20], min_seconds_per_question=3,
    )
    # Attempt 1: 30 s threshold -> flagged; attempt 2: 60 s threshold -> flagged as well.
    assert signal.flagged_ids == (1, 2)
    assert too_fast_full_marks([1], [10], 10, [25_000], 5, min_seconds_per_question=3).groups == ()


def test_too_fast_rejects_bad_thresholds_and_missing_durations():
    with pytest.raises(ValueError, match="min_seconds_per_question must be a positive number"):
        too_fast_full_marks([1], [1], 1, [1], 1, min_seconds_per_question=0)
    with pytest.raises(ValueError, match="durations_ms must not contain nan"):
        too_fast_full_marks([1], [1], 1, [np.nan], 1, min_seconds_per_question=2)
    with pytest.raises(ValueError, match="question_counts must be at least 1"):
        too_fast_full_marks([1], [1], 1, [1], 0, min_seconds_per_question=2)


def test_no_attempts_give_no_flags():
    assert too_fast_full_marks([], [], 10, [], 10, min_seconds_per_question=2).groups == ()
    empty = np.zeros((0, 3), dtype=int)
    assert identical_answer_sequences([], empty, empty, min_answered=1).groups == ()
    assert shared_devices([], []).groups == ()
    assert duplicate_identities([], [], [], []).groups == ()


QUESTIONS = np.array([[11, 12, 13, 14], [14, 13, 12, 11], [11, 12, 13, 14], [11, 12, 13, 15], [11, 12, 13, 14]])
ANSWERS = np.array([[1, 5, 9, 13], [13, 9, 5, 1], [1, 5, 9, 13], [1, 5, 9, 13], [1, 5, 9, 14]])


def test_same_questions_and_answers_in_any_order_are_flagged_across_participants():
    signal = identical_answer_sequences(["an", "binh", "an", "chi", "dung"], QUESTIONS, ANSWERS, min_answered=4)
    # an and binh share a sequence (binh saw it shuffled); chi drew another question, dung answered differently,
    # and an's second identical attempt does not make a group on its own.
    assert signal.reason == IDENTICAL_ANSWERS
    assert [group.ids for group in signal.groups] == [("an", "binh")]
    assert signal.groups[0].evidence.startswith("answers=")


def test_a_person_repeating_their_own_answers_is_not_flagged():
    signal = identical_answer_sequences(["an", "an"], QUESTIONS[:1].repeat(2, axis=0), ANSWERS[:1].repeat(2, axis=0),
                                        min_answered=4)
    assert signal.groups == ()


def test_short_or_mostly_blank_attempts_are_ignored():
    blank = np.array([[1, -1, -1, -1], [1, -1, -1, -1]])
    same_questions = QUESTIONS[[0, 2]]
    assert identical_answer_sequences(["an", "binh"], same_questions, blank, min_answered=2).groups == ()
    signal = identical_answer_sequences(["an", "binh"], same_questions, blank, min_answered=1)
    assert signal.flagged_ids == ("an", "binh")


def test_identical_answers_reject_mismatched_matrices():
    with pytest.raises(ValueError, match="must be matrices of shape"):
        identical_answer_sequences(["an"], QUESTIONS[:1], ANSWERS[:2])
    with pytest.raises(ValueError, match="integer ids"):
        identical_answer_sequences(["an"], QUESTIONS[:1].astype(float), ANSWERS[:1])


def test_a_device_used_by_enough_distinct_participants_is_flagged():
    signal = shared_devices(
        ["an", "binh", "chi", "an", "an", "dung", "em"], ["d1", "d1", "d1", "d1", "d2", "d2", None],
        min_participants=3,
    )
    assert signal.reason == SHARED_DEVICE
    assert signal.groups == (FlagGroup(("an", "binh", "chi"), "device=d1"),)
    # The same person on one device many times is not a shared device.
    assert shared_devices(["an"] * 5, ["d9"] * 5, min_participants=2).groups == ()


def test_shared_devices_reject_a_threshold_below_two_and_a_length_mismatch():
    with pytest.raises(ValueError, match="min_participants must be at least 2"):
        shared_devices(["an"], ["d1"], min_participants=1)
    with pytest.raises(ValueError, match="device_hashes has 1 values, expected 2"):
        shared_devices(["an", "binh"], ["d1"])


def test_duplicate_identities_match_cccd_hashes_and_normalised_names_with_birth_dates():
    decomposed = unicodedata.normalize("NFD", "Nguyễn Văn An")
    signal = duplicate_identities(
        [1, 2, 3, 4, 5, 6],
        ["h1", None, "h1", "", "h2", None],
        ["Nguyễn Văn An", f"  {decomposed.upper()} ", "Lê Thị B", "Lệ Thị B", "Trần C", None],
        [datetime.date(1990, 1, 2), "1990-01-02", "1985-05-05", "1985-05-05", "2000-01-01", "2000-01-01"],
    )
    assert signal.reason == DUPLICATE_IDENTITY
    assert signal.groups == (
        FlagGroup((1, 2), "name_birth_date=nguyễn văn an|1990-01-02"),
        FlagGroup((1, 3), "cccd=h1"),
    )  # groups sorted by their ids
    assert signal.flagged_ids == (1, 2, 3)


def test_same_name_with_another_birth_date_is_not_a_duplicate():
    signal = duplicate_identities([1, 2], [None, None], ["Phạm D", "Phạm D"], ["1990-01-01", "1991-01-01"])
    assert signal.groups == ()
