"""Tests for contest ranking, counted attempts, the prediction target, prizes and unit standings."""

import numpy as np
import pytest
from scipy.stats import rankdata

from app.stats.ranking import (
    PRESETS,
    PrizeTier,
    contest_ranking,
    counted_attempts,
    full_marks,
    prediction_actual,
    prize_awards,
    unit_ranking,
)

# contest.md §6: actual = 3, criteria score desc, |pred − actual| asc, duration asc, submitted_at asc.
REFERENCE_IDS = ["P1", "P2", "P3", "P4", "P5", "P6"]
REFERENCE = {
    "scores": [10, 10, 10, 9, 10, 10],
    "predictions": [5, 2, 4, 3, 2, np.nan],
    "actual": 3,
    "durations_ms": [300_000, 250_000, 200_000, 100_000, 250_000, 90_000],
    "submitted_at": np.array(
        ["2026-03-02T09:00", "2026-03-02T09:05", "2026-03-02T09:10", "2026-03-02T08:00", "2026-03-02T08:59",
         "2026-03-02T07:00"],
        dtype="datetime64[m]",
    ),
}


def ranked_ids(ranking, ids=REFERENCE_IDS):
    return [ids[position] for position in ranking.order]


def test_reference_vector_orders_p3_p5_p2_p1_p6_p4():
    ranking = contest_ranking(REFERENCE_IDS, **REFERENCE)
    assert ranked_ids(ranking) == ["P3", "P5", "P2", "P1", "P6", "P4"]
    assert ranking.rank.tolist() == [4, 3, 1, 6, 2, 5]
    assert not ranking.tied.any()
    assert ranking.criteria == ("score", "prediction_distance", "duration", "submitted_at")


def test_reference_vector_gives_the_same_order_with_epoch_millisecond_times():
    epoch_ms = REFERENCE["submitted_at"].astype("datetime64[ms]").astype(np.int64)
    ranking = contest_ranking(REFERENCE_IDS, **{**REFERENCE, "submitted_at": epoch_ms})
    assert ranked_ids(ranking) == ["P3", "P5", "P2", "P1", "P6", "P4"]


def test_prediction_distance_is_reported_with_nan_for_a_missing_prediction():
    distance = contest_ranking(REFERENCE_IDS, **REFERENCE).prediction_distance
    np.testing.assert_array_equal(distance, [2, 1, 1, 0, 1, np.nan])


def test_ward_party_preset_ranks_duration_before_prediction_and_shows_the_full_tie():
    ranking = contest_ranking(REFERENCE_IDS, **REFERENCE, criteria="ward_party")
    # P2 and P5: same score, same duration, same distance -> full tie, shared rank 3, listed by id.
    assert ranked_ids(ranking) == ["P6", "P3", "P2", "P5", "P1", "P4"]
    assert ranking.rank.tolist() == [5, 3, 2, 6, 3, 1]
    assert ranking.tied.tolist() == [False, True, False, False, True, False]


def test_youth_union_preset_breaks_equal_durations_by_earlier_start():
    ranking = contest_ranking(
        ["a", "b", "c"], [8, 8, 8], criteria="youth_union", durations_ms=[60_000, 60_000, 50_000],
        started_at=[2_000, 1_000, 3_000],
    )
    assert ranked_ids(ranking, ["a", "b", "c"]) == ["c", "b", "a"]
    assert PRESETS["youth_union"] == ("score", "duration", "started_at")


def test_entries_equal_on_every_criterion_share_a_rank_and_the_next_rank_is_skipped():
    ranking = contest_ranking([4, 3, 2, 1], [10, 9, 9, 8], criteria=["score"])
    assert ranking.rank.tolist() == [1, 2, 2, 4]
    # The full tie between ids 3 and 2 is listed by ascending id.
    assert ranking.order.tolist() == [0, 2, 1, 3]
    assert ranking.tied.tolist() == [False, True, True, False]


def test_all_tied_entries_share_rank_one_in_id_order():
    ranking = contest_ranking(["c", "a", "b"], [5, 5, 5], criteria=["score"])
    assert ranking.rank.tolist() == [1, 1, 1]
    assert ranked_ids(ranking, ["c", "a", "b"]) == ["a", "b", "c"]
    assert ranking.tied.all()


def test_missing_prediction_ranks_after_any_prediction_and_the_next_criterion_separates_missing_ones():
    ranking = contest_ranking(
        ["far", "none_slow", "none_fast"], [7, 7, 7], predictions=[1000, np.nan, np.nan], actual=3,
        durations_ms=[500, 400, 300], submitted_at=[1, 1, 1],
    )
    assert ranked_ids(ranking, ["far", "none_slow", "none_fast"]) == ["far", "none_fast", "none_slow"]


def test_no_predictions_at_all_lets_duration_decide():
    ranking = contest_ranking(
        ["a", "b", "c"], [7, 7, 7], predictions=[np.nan] * 3, actual=3, durations_ms=[300, 100, 200],
        submitted_at=[1, 1, 1],
    )
    assert ranking.order.tolist() == [1, 2, 0]
    assert ranking.rank.tolist() == [3, 1, 2]


def test_prefer_under_puts_the_under_estimate_before_the_over_estimate_at_equal_distance():
    arguments = {
        "predictions": [5, 1], "actual": 3, "durations_ms": [100, 200], "submitted_at": [1, 1],
    }
    assert contest_ranking(["over", "under"], [9, 9], **arguments).order.tolist() == [0, 1]
    assert contest_ranking(["over", "under"], [9, 9], prefer_under=True, **arguments).order.tolist() == [1, 0]


def test_distances_from_decimal_percentages_compare_equal():
    # 33.33332 and 33.33334 are both 0.00001 from 33.33333, but the raw float difference favours the first.
    assert abs(33.33332 - 33.33333) < abs(33.33334 - 33.33333)
    ranking = contest_ranking(
        ["a", "b"], [5, 5], predictions=[33.33332, 33.33334], actual=33.33333, durations_ms=[200, 100],
        submitted_at=[1, 1],
    )
    assert ranking.order.tolist() == [1, 0]


def test_group_ranks_are_competition_ranks_within_each_group():
    ranking = contest_ranking(REFERENCE_IDS, **REFERENCE, groups=["cbccvc", "hssv", "cbccvc", "hssv", "hssv", "cbccvc"])
    # cbccvc: P3, P1, P6 -> 1, 2, 3; hssv: P5, P2, P4 -> 1, 2, 3.
    assert ranking.group_rank.tolist() == [2, 2, 1, 3, 1, 3]
    assert ranking.rank.tolist() == [4, 3, 1, 6, 2, 5]


def test_ranks_match_scipy_rankdata_min_on_a_lexicographic_key_for_random_ties():
    rng = np.random.default_rng(20260302)
    count = 500
    scores = rng.integers(0, 4, count)
    predictions = np.where(rng.random(count) < 0.2, np.nan, rng.integers(0, 6, count))
    durations = rng.integers(0, 3, count)
    submitted = rng.integers(0, 3, count)
    groups = rng.integers(0, 3, count)
    ranking = contest_ranking(
        np.arange(count), scores, predictions=predictions, actual=2, durations_ms=durations,
        submitted_at=submitted, groups=groups,
    )
    distance = np.where(np.isnan(predictions), 99, np.abs(predictions - 2))
    key = (3 - scores) * 1_000_000 + distance * 1_000 + durations * 10 + submitted
    np.testing.assert_array_equal(ranking.rank, rankdata(key, method="min"))
    for group in range(3):
        members = groups == group
        np.testing.assert_array_equal(ranking.group_rank[members], rankdata(key[members], method="min"))
    ties = np.bincount(np.unique(key, return_inverse=True)[1])[np.unique(key, return_inverse=True)[1]] > 1
    np.testing.assert_array_equal(ranking.tied, ties)
    # The order is sorted by key, full ties by participant id.
    np.testing.assert_array_equal(ranking.order, np.lexsort((np.arange(count), key)))


def test_order_breaks_full_ties_by_participant_id_whatever_the_input_order():
    rng = np.random.default_rng(5)
    count = 2000
    ids = rng.permutation(count) * 7 + 3
    scores, durations, groups = rng.integers(0, 5, count), rng.integers(0, 4, count), rng.integers(0, 3, count)
    ranking = contest_ranking(ids, scores, criteria=["score", "duration"], durations_ms=durations, groups=groups)
    np.testing.assert_array_equal(ranking.order, np.lexsort((ids, durations, -scores)))
    for group in range(3):
        members = np.flatnonzero(groups == group)
        key = (4 - scores[members]) * 10 + durations[members]
        np.testing.assert_array_equal(ranking.group_rank[members], rankdata(key, method="min"))


def test_an_empty_round_gives_an_empty_ranking():
    ranking = contest_ranking([], [], criteria=["score", "duration"], durations_ms=[])
    assert ranking.order.size == 0 and ranking.rank.size == 0 and ranking.tied.size == 0


def test_a_single_entry_ranks_first():
    ranking = contest_ranking(["solo"], [3], predictions=[np.nan], actual=0, durations_ms=[1], submitted_at=[1])
    assert ranking.rank.tolist() == [1] and not ranking.tied[0]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"criteria": "olympic"}, "unknown ranking preset"),
        ({"criteria": ["score", "luck"]}, "unknown ranking criterion 'luck'"),
        ({"criteria": ["score", "score"]}, "must not repeat"),
        ({"criteria": []}, "at least one criterion"),
        ({"criteria": ["score", "duration"]}, "needs durations_ms"),
        ({"criteria": ["score", "prediction_distance"], "predictions": [1, 2]}, "needs both predictions"),
        ({"criteria": ["score"], "prefer_under": True}, "prefer_under needs"),
        ({"criteria": ["score", "duration"], "durations_ms": [1, -1]}, "must not be negative"),
        ({"criteria": ["score", "duration"], "durations_ms": [1]}, "has 1 values, expected 2"),
        ({"criteria": ["score", "submitted_at"], "submitted_at": [1, np.nan]}, "nan or inf"),
        ({"criteria": ["score", "prediction_distance"], "predictions": [1, 2], "actual": np.nan}, "finite"),
    ],
)
def test_bad_ranking_input_is_rejected_with_a_clear_message(arguments, message):
    with pytest.raises(ValueError, match=message):
        contest_ranking(["a", "b"], [1, 2], **arguments)


def test_duplicate_participants_and_missing_scores_are_rejected():
    with pytest.raises(ValueError, match="participant_ids must be unique; 'a' appears 2 times"):
        contest_ranking(["a", "a"], [1, 2], criteria=["score"])
    with pytest.raises(ValueError, match="scores must not contain nan"):
        contest_ranking(["a", "b"], [1, np.nan], criteria=["score"])


# Attempts of three people: (participant, score, submitted_at).
ATTEMPTS = [("an", 8, 30), ("an", 10, 20), ("binh", 7, 10), ("an", 10, 10), ("binh", 7, 5), ("chi", 3, 50)]


@pytest.mark.parametrize(
    ("rule", "expected_rows"),
    [
        ("best", [3, 4, 5]),  # an: two 10s, the earlier (t=10) counts; binh: two 7s, t=5 counts
        ("first", [3, 4, 5]),  # earliest per person: an t=10, binh t=5
        ("last", [0, 2, 5]),  # latest per person: an t=30, binh t=10
    ],
)
def test_counted_attempt_follows_the_rule(rule, expected_rows):
    ids, scores, times = zip(*ATTEMPTS, strict=True)
    counted = counted_attempts(ids, scores, times, rule)
    assert np.flatnonzero(counted).tolist() == expected_rows


def test_best_attempt_prefers_a_higher_score_over_an_earlier_time():
    counted = counted_attempts(["x", "x"], [5, 6], [1, 2], "best")
    assert counted.tolist() == [False, True]


@pytest.mark.parametrize("rule", ["best", "first", "last"])
def test_every_attempt_counts_when_each_participant_has_one(rule):
    counted = counted_attempts(["c", "a", "b"], [3, 9, 1], [5, 7, 6], rule)
    assert counted.tolist() == [True, True, True]
    with pytest.raises(ValueError, match="scores must not contain nan"):
        counted_attempts(["a", "b"], [1, np.nan], [1, 2], rule)


def test_counted_attempts_reject_an_unknown_rule_and_accept_an_empty_round():
    with pytest.raises(ValueError, match="rule must be one of best, first, last"):
        counted_attempts(["x"], [1], [1], "average")
    assert counted_attempts([], [], [], "best").size == 0


ROUND_IDS = ["an", "an", "binh", "chi", "dung", "dung"]
ROUND_SCORES = [10, 9, 10, 6, 10, 10]
ROUND_COUNTED = [True, False, True, True, True, False]


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("persons_full_marks", 3),  # an, binh, dung
        ("attempts_full_marks", 4),
        ("persons_participating", 4),
        ("attempts_participating", 6),
        ("percent_persons_full_marks", 75.0),
    ],
)
def test_prediction_actual_counts_the_named_target(target, expected):
    assert prediction_actual(target, ROUND_IDS, ROUND_SCORES, 10, ROUND_COUNTED) == expected


def test_persons_full_marks_counts_only_the_counted_attempt():
    # an's counted (first) attempt has 9 although a later one has 10.
    assert prediction_actual("persons_full_marks", ["an", "an"], [9, 10], 10, [True, False]) == 0


def test_percent_target_rounds_half_up_at_the_chosen_decimals():
    ids = ["a", "b", "c"]
    assert prediction_actual("percent_persons_full_marks", ids, [10, 10, 0], 10, [True] * 3) == 66.66667
    eight = list("abcdefgh")
    assert prediction_actual("percent_persons_full_marks", eight, [1] + [0] * 7, 1, [True] * 8, decimals=0) == 13.0
    assert prediction_actual("percent_persons_full_marks", [], [], 10, [], decimals=5) == 0.0


def test_full_marks_tolerate_sums_of_decimal_weights():
    tenths = sum([0.1] * 10)
    assert tenths != 1.0
    assert full_marks([tenths, 0.9], 1.0).tolist() == [True, False]


def test_prediction_actual_rejects_a_person_without_exactly_one_counted_attempt():
    with pytest.raises(ValueError, match="exactly one attempt per participant"):
        prediction_actual("persons_full_marks", ["a", "a"], [1, 1], 1, [True, True])
    with pytest.raises(ValueError, match="target must be one of"):
        prediction_actual("winners", ["a"], [1], 1, [True])


NHAT, NHI, BA = PrizeTier("Nhất", 1, 6_000_000), PrizeTier("Nhì", 1, 3_000_000), PrizeTier("Ba", 2, 2_000_000)


def test_a_person_winning_in_two_rounds_keeps_only_the_highest_prize():
    result = prize_awards([["an", "binh", "chi", "dung"], ["binh", "an", "em"]], [[NHAT, NHI, BA], [NHAT, NHI, BA]])
    kept = {(award.participant_id, award.standing, award.label) for award in result.awards}
    assert kept == {("an", 0, "Nhất"), ("binh", 1, "Nhất"), ("chi", 0, "Ba"), ("dung", 0, "Ba"), ("em", 1, "Ba")}
    forfeited = {(award.participant_id, award.standing, award.label) for award in result.forfeited}
    assert forfeited == {("binh", 0, "Nhì"), ("an", 1, "Nhì")}


def test_equal_prizes_keep_the_earliest_standing():
    result = prize_awards([["an"], ["an"]], [[NHI], [NHI]])
    assert [(award.standing, award.position) for award in result.awards] == [(0, 1)]
    assert [(award.standing, award.position) for award in result.forfeited] == [(1, 1)]


def test_prize_tables_must_be_ordered_from_highest_to_lowest():
    with pytest.raises(ValueError, match="from the highest value to the lowest"):
        prize_awards([["an", "binh"]], [[BA, NHAT]])
    with pytest.raises(ValueError, match="lists a participant twice"):
        prize_awards([["an", "an"]], [[NHAT]])
    with pytest.raises(ValueError, match="1 standings but 2 prize tables"):
        prize_awards([["an"]], [[NHAT], [NHAT]])


def test_fewer_entrants_than_prizes_leaves_the_rest_unawarded():
    result = prize_awards([["an"]], [[NHAT, NHI, BA]])
    assert [award.label for award in result.awards] == ["Nhất"] and result.forfeited == ()


UNITS = ["so_noi_vu", "so_tu_phap", "ubnd_xa_a", "ubnd_xa_b", "ubnd_xa_c"]
HEADCOUNTS = [10, 32, 4, 3, 10]
BLOCKS = ["so", "so", "xa", "xa", "xa"]


def unit_fixture():
    # so_noi_vu: 7 of 10 (70.00%), mean 8; so_tu_phap: 1 of 32 (3.125 -> 3.13%); ubnd_xa_a: 4 of 4 (100%), mean 6;
    # ubnd_xa_b: 3 of 3 (100%), mean 6 but more prize points; ubnd_xa_c: nobody.
    people = [("noi_vu", i) for i in range(7)] + [("tu_phap", 0)] + [("xa_a", i) for i in range(4)]
    people += [("xa_b", i) for i in range(3)]
    units = ["so_noi_vu"] * 7 + ["so_tu_phap"] + ["ubnd_xa_a"] * 4 + ["ubnd_xa_b"] * 3
    scores = [8] * 7 + [10] + [6] * 4 + [6] * 3
    points = [0] * 7 + [10] + [0] * 4 + [8, 0, 0]
    ids = [f"{unit}-{index}" for unit, index in people]
    return ids, units, scores, points


def test_unit_rates_are_rounded_half_up_to_two_decimals_and_gate_eligibility():
    ids, units, scores, points = unit_fixture()
    result = unit_ranking(UNITS, HEADCOUNTS, ids, units, scores, participant_points=points, blocks=BLOCKS)
    assert result.completers.tolist() == [7, 1, 4, 3, 0]
    assert result.rate.tolist() == [70.0, 3.13, 100.0, 100.0, 0.0]
    assert result.eligible.tolist() == [True, False, True, True, False]
    np.testing.assert_array_equal(result.mean_score, [8, 10, 6, 6, np.nan])
    assert result.winners_points.tolist() == [0, 10, 0, 8, 0]


def test_units_rank_by_rate_then_mean_then_points_within_their_block():
    ids, units, scores, points = unit_fixture()
    result = unit_ranking(UNITS, HEADCOUNTS, ids, units, scores, participant_points=points, blocks=BLOCKS)
    # Block "so": only so_noi_vu is eligible. Block "xa": xa_a and xa_b tie on rate and mean; xa_b has more points.
    assert result.rank.tolist() == [1, 0, 2, 1, 0]
    assert [UNITS[position] for position in result.order] == ["so_noi_vu", "ubnd_xa_b", "ubnd_xa_a"]


def test_units_equal_on_every_criterion_share_a_rank():
    result = unit_ranking(["b", "a"], [2, 2], ["p1", "p2", "p3", "p4"], ["a", "a", "b", "b"], [5, 7, 7, 5], min_rate=50)
    assert result.rank.tolist() == [1, 1]
    assert result.order.tolist() == [1, 0]


def test_unit_ranking_rejects_unknown_units_and_bad_headcounts():
    with pytest.raises(ValueError, match="'ghost', which is not in unit_ids"):
        unit_ranking(["a"], [3], ["p1"], ["ghost"], [1])
    with pytest.raises(ValueError, match="headcounts must be positive whole numbers"):
        unit_ranking(["a"], [0], [], [], [])
    with pytest.raises(ValueError, match="participant_ids must be unique"):
        unit_ranking(["a"], [3], ["p1", "p1"], ["a", "a"], [1, 2])
