"""Review flags of survey responses (hurried, bursts, identical vectors) against cases worked out by hand."""

import numpy as np
import pytest

from app.stats.abuse import response_flags


def flags_of(counters, seconds, devices, scores, durations, **options):
    return response_flags(np.array(counters, dtype=np.int64), np.array(seconds, dtype=float),
                          np.array(devices, dtype=np.int64),
                          np.array(scores, dtype=np.uint8), np.array(durations, dtype=float), **options)


def test_a_completion_under_ten_seconds_is_fast_and_an_unknown_duration_is_not():
    result = flags_of([1, 1, 1, 1], [0, 1000, 2000, 3000], [-1, -1, -1, -1],
                      [[1], [2], [3], [4]], [9_999, 10_000, np.nan, 300])
    assert result.fast.tolist() == [True, False, False, True]


def test_the_third_response_of_one_device_within_ten_minutes_is_a_burst():
    # device 7 at counter 1: t = 0, 100, 500 (third within 600 s of the first) then 1200 (t − t[-2] = 700 > 600)
    result = flags_of([1, 1, 1, 1, 1], [0, 100, 500, 1200, 1250], [7, 7, 7, 7, 7],
                      [[1], [2], [3], [4], [5]], [60_000] * 5)
    # fifth: previous two are 500 and 1200 → 1250 − 500 = 750 > 600, not a burst
    assert result.burst.tolist() == [False, False, True, False, False]


def test_bursts_count_per_counter_and_per_known_device_only():
    # same device at two counters, and an unknown device (−1) five times at one counter
    result = flags_of([1, 2, 1, 3, 3, 3, 3], [0, 10, 20, 0, 1, 2, 3], [5, 5, 5, -1, -1, -1, -1],
                      [[1], [2], [3], [4], [5], [1], [2]], [60_000] * 7)
    assert not result.burst.any()


def test_input_order_does_not_change_the_burst_flags():
    counters, seconds, devices = [1, 1, 1], [500, 0, 100], [3, 3, 3]
    result = flags_of(counters, seconds, devices, [[1], [2], [3]], [60_000] * 3)
    assert result.burst.tolist() == [True, False, False]


def test_an_identical_vector_at_the_same_counter_within_the_window_is_a_duplicate():
    vector, other = [5, 4, 5], [5, 4, 4]
    result = flags_of([1, 1, 2, 1, 1, 1], [0, 300, 310, 400, 1100, 1200], [-1] * 6,
                      [vector, vector, vector, other, vector, [0, 0, 0]], [60_000] * 6)
    # second: 300 s after the first; third: other counter; fifth: 800 s after the second; empty never flagged
    assert result.duplicate.tolist() == [False, True, False, False, False, False]


def test_empty_vectors_are_never_duplicates_and_any_joins_the_flags():
    result = flags_of([1, 1, 1], [0, 1, 2], [-1, -1, -1], [[0, 0], [0, 0], [3, 3]], [5_000, 60_000, 60_000])
    assert result.duplicate.tolist() == [False, False, False]
    assert result.any.tolist() == [True, False, False]


def test_thresholds_can_be_changed():
    result = flags_of([1, 1], [0, 50], [2, 2], [[1], [2]], [20_000, 20_000], fast_ms=30_000, burst_size=2,
                      burst_seconds=60)
    assert result.fast.tolist() == [True, True]
    assert result.burst.tolist() == [False, True]


def test_no_responses_give_empty_flags():
    result = flags_of([], [], [], np.zeros((0, 3)), [])
    assert result.any.shape == (0,)


def test_inputs_of_different_lengths_are_refused():
    with pytest.raises(ValueError, match="seconds has 1 values, expected 2"):
        flags_of([1, 2], [0], [1, 1], [[1], [1]], [1, 1])
    with pytest.raises(ValueError, match="burst_size"):
        flags_of([1], [0], [1], [[1]], [1], burst_size=1)


def test_long_vectors_that_do_not_fit_one_number_are_compared_exactly():
    # 40 items of a 5-point scale need 104 bits: the fallback numbering must still tell them apart
    first = np.full(40, 5)
    second = first.copy()
    second[-1] = 4
    result = flags_of([1, 1, 1], [0, 10, 20], [-1, -1, -1], [first, second, first], [60_000] * 3)
    assert result.duplicate.tolist() == [False, False, True]


def test_a_missing_or_implausible_start_time_is_a_review_signal():
    """Issue 17: leaving out the signed start time dodged every flag (30 stuffed responses, none flagged)."""
    result = flags_of([1, 2, 3, 4, 5], [0, 1000, 2000, 3000, 4000], [-1] * 5, [[1], [2], [3], [4], [5]],
                      [np.nan, 86_400_000, 6 * 3_600_000, 6 * 3_600_000 - 1, 60_000])
    assert result.untimed.tolist() == [True, True, True, False, False]
    assert result.fast.tolist() == [False] * 5
    assert result.any.tolist() == [True, True, True, False, False]


def test_rotating_user_agents_and_varied_answers_without_a_start_time_are_all_flagged():
    rng = np.random.default_rng(17)
    size = 30
    result = flags_of([1] * size, np.arange(size) * 40.0, np.arange(size), rng.integers(1, 6, (size, 6)),
                      [np.nan] * size)
    assert result.any.all()
