"""SIPAS indices, flags and suppression, per-group results and the dossier rating, against hand arithmetic."""

import warnings

import numpy as np
import pytest
from statsmodels.stats.proportion import proportion_confint

from app.stats.satisfaction import (
    AggregationRule,
    dossier_rating_shares,
    satisfaction_indices,
)

# Five respondents, three criteria; element 0 = criteria 0 and 1, element 1 = criterion 2; 0 = no answer.
SCORES = np.array(
    [
        [5, 4, 0],
        [3, 5, 2],
        [4, 0, 5],
        [1, 2, 4],
        [0, 0, 0],  # answered nothing: counts nowhere
    ],
    dtype=np.uint8,
)
ELEMENTS = [[0, 1], [2]]
GROUPS = np.array([0, 0, 1, 1, 1])


def hand_indices(**options):
    return satisfaction_indices(SCORES, ELEMENTS, min_n=1, **options)


def test_criterion_index_is_share_of_4_and_5_among_valid_answers():
    criteria = hand_indices().total.criteria
    # criterion 0: answers 5, 3, 4, 1 → 2 of 4; criterion 1: 4, 5, 2 → 2 of 3; criterion 2: 2, 5, 4 → 2 of 3
    np.testing.assert_allclose(criteria.value, [100 * 2 / 4, 100 * 2 / 3, 100 * 2 / 3])
    np.testing.assert_array_equal(criteria.n, [4, 3, 3])
    np.testing.assert_array_equal(hand_indices().total.satisfied_count, [2, 2, 2])


def test_criterion_interval_is_wilson():
    criteria = hand_indices().total.criteria
    low, high = proportion_confint([2, 2, 2], [4, 3, 3], method="wilson")
    np.testing.assert_allclose(criteria.low, 100 * low)
    np.testing.assert_allclose(criteria.high, 100 * high)
    np.testing.assert_allclose(criteria.se, 100 * np.sqrt([0.5 * 0.5 / 4, 2 / 9 / 3, 2 / 9 / 3]))


def test_element_index_is_mean_of_its_criteria_and_overall_mean_of_elements():
    total = hand_indices().total
    np.testing.assert_allclose(total.elements.value, [(50 + 200 / 3) / 2, 200 / 3])
    assert total.overall.value == pytest.approx(((50 + 200 / 3) / 2 + 200 / 3) / 2)  # 62.5
    np.testing.assert_array_equal(total.elements.n, [4, 3])  # respondents with an answer in the element
    assert total.overall.n == 4


@pytest.mark.parametrize(
    ("overall", "expected"),
    [
        ("mean_of_elements", 62.5),
        ("mean_of_criteria", (50 + 200 / 3 + 200 / 3) / 3),  # 61.11
        ("pooled", 100 * (2 + 2 + 2) / (4 + 3 + 3)),  # 60: satisfied answers / valid answers
    ],
)
def test_overall_rule_is_configurable(overall, expected):
    assert hand_indices(rule=AggregationRule(overall=overall)).total.overall.value == pytest.approx(expected)


def test_element_standard_error_matches_influence_arithmetic():
    # Element 0: θ = ½·p0 + ½·p1, p0 = 2/4, p1 = 2/3; u_r = Σ ½·a_ri·(s_ri − p_i)/n_i.
    u = [
        0.5 * (1 - 0.5) / 4 + 0.5 * (1 - 2 / 3) / 3,  # (5, 4)
        0.5 * (0 - 0.5) / 4 + 0.5 * (1 - 2 / 3) / 3,  # (3, 5)
        0.5 * (1 - 0.5) / 4,  # (4, –)
        0.5 * (0 - 0.5) / 4 + 0.5 * (0 - 2 / 3) / 3,  # (1, 2)
    ]
    elements = hand_indices().total.elements
    assert elements.se[0] == pytest.approx(100 * np.sqrt(np.sum(np.square(u))))
    assert elements.se[1] == pytest.approx(100 * np.sqrt(2 / 9 / 3))  # one criterion: √(p(1 − p)/n)
    assert elements.low[0] == pytest.approx(elements.value[0] - 1.959964 * elements.se[0], abs=1e-4)


def test_overall_standard_error_matches_influence_arithmetic():
    # Overall = ½·element 0 + ½·element 1 → weights ¼, ¼, ½ on the criteria.
    def part(weight, answered_satisfied, share, n):
        return weight * (answered_satisfied - share) / n

    u = [
        part(0.25, 1, 0.5, 4) + part(0.25, 1, 2 / 3, 3),
        part(0.25, 0, 0.5, 4) + part(0.25, 1, 2 / 3, 3) + part(0.5, 0, 2 / 3, 3),
        part(0.25, 1, 0.5, 4) + part(0.5, 1, 2 / 3, 3),
        part(0.25, 0, 0.5, 4) + part(0.25, 0, 2 / 3, 3) + part(0.5, 1, 2 / 3, 3),
    ]
    assert hand_indices().total.overall.se == pytest.approx(100 * np.sqrt(np.sum(np.square(u))))


def test_pooled_overall_standard_error_matches_ratio_influence():
    # pooled P = 6/10; u_r = Σ_i a_ri (s_ri − P) / 10
    u = [(1 - 0.6 + 1 - 0.6) / 10, (-0.6 + 1 - 0.6 - 0.6) / 10, (1 - 0.6 + 1 - 0.6) / 10, (-0.6 - 0.6 + 1 - 0.6) / 10]
    result = hand_indices(rule=AggregationRule(overall="pooled"))
    assert result.total.overall.se == pytest.approx(100 * np.sqrt(np.sum(np.square(u))))


def test_mean_score_is_a_diagnostic_rescaled_to_0_100():
    total = hand_indices().total
    np.testing.assert_allclose(total.criteria_mean.mean, [13 / 4, 11 / 3, 11 / 3])
    np.testing.assert_allclose(total.criteria_mean.percent, [(13 / 4 - 1) / 4 * 100, (11 / 3 - 1) / 4 * 100] + [
        (11 / 3 - 1) / 4 * 100
    ])
    np.testing.assert_allclose(total.elements_mean.mean, [(13 / 4 + 11 / 3) / 2, 11 / 3])
    assert total.overall_mean.mean == pytest.approx(((13 / 4 + 11 / 3) / 2 + 11 / 3) / 2)


def test_satisfied_levels_are_configurable():
    criteria = hand_indices(satisfied={5}).total.criteria
    np.testing.assert_allclose(criteria.value, [100 / 4, 100 / 3, 100 / 3])


def test_weighted_criterion_uses_weighted_shares_and_kish_effective_n():
    weights = np.array([2.0, 1.0, 1.0, 1.0, 1.0])
    result = hand_indices(weights=weights)
    # criterion 0: Σw·s = 2 + 1 = 3 over Σw·a = 2 + 1 + 1 + 1 = 5; n_eff = 5² / (4 + 1 + 1 + 1)
    assert result.total.criteria.value[0] == pytest.approx(60.0)
    effective_n = 25 / 7
    low, high = proportion_confint(0.6 * effective_n, effective_n, method="wilson")
    assert result.total.criteria.low[0] == pytest.approx(100 * low)
    assert result.total.criteria.high[0] == pytest.approx(100 * high)
    assert result.total.criteria.n[0] == 4  # n stays the number of answers
    assert result.weighted


def test_groups_give_per_group_indices_and_an_empty_group_is_suppressed():
    result = hand_indices(groups=GROUPS, n_groups=3)
    by_group = result.by_group
    # group 0 (rows 0–1): criteria 1/2, 2/2, 0/1; group 1 (rows 2–4): 1/2, 0/1, 2/2
    np.testing.assert_allclose(by_group.criteria.value[:2], [[50, 100, 0], [50, 0, 100]])
    np.testing.assert_allclose(by_group.elements.value[:2], [[75, 0], [25, 100]])
    np.testing.assert_allclose(by_group.overall.value[:2], [37.5, 62.5])
    assert np.isnan(by_group.overall.value[2]) and by_group.overall.n[2] == 0
    assert by_group.overall.flags(2) == ("small_sample", "suppressed")
    assert by_group.criteria.flags(2, 0) == ("small_sample", "suppressed")
    np.testing.assert_array_equal(by_group.satisfied_count, [[1, 2, 0], [1, 0, 2], [0, 0, 0]])
    assert result.total.overall.value == pytest.approx(62.5)  # respondents pooled by default


def test_mean_of_children_averages_the_child_units():
    result = hand_indices(groups=GROUPS, n_groups=3, rule=AggregationRule(units="mean_of_children"))
    assert result.total.overall.value == pytest.approx((37.5 + 62.5) / 2)  # the empty child is left out
    np.testing.assert_allclose(result.total.elements.value, [(75 + 25) / 2, (0 + 100) / 2])
    by_group = result.by_group.elements
    assert result.total.elements.se[0] == pytest.approx(np.sqrt(by_group.se[0, 0] ** 2 + by_group.se[1, 0] ** 2) / 2)
    assert result.total.overall.n == 4


@pytest.mark.parametrize("overall", ["mean_of_elements", "mean_of_criteria", "pooled"])
def test_each_group_equals_the_same_computation_on_its_respondents_alone(overall):
    rng = np.random.default_rng(12)
    scores = rng.integers(0, 6, size=(900, 8)).astype(np.uint8)
    groups = rng.integers(0, 4, size=900)
    weights = rng.uniform(0.5, 2.0, size=900)
    elements = [[0, 1, 2], [3, 4, 5, 6, 7, 0]]
    rule = AggregationRule(overall=overall)
    result = satisfaction_indices(scores, elements, groups=groups, weights=weights, rule=rule)
    for group in range(4):
        alone = satisfaction_indices(scores[groups == group], elements, weights=weights[groups == group], rule=rule)
        for level in ("criteria", "elements", "overall"):
            grouped, single = getattr(result.by_group, level), getattr(alone.total, level)
            for field in ("value", "low", "high", "se", "n"):
                np.testing.assert_allclose(getattr(grouped, field)[group], getattr(single, field), rtol=1e-10)


@pytest.mark.parametrize("units", ["pooled", "mean_of_children"])
def test_groups_alone_without_the_total_are_the_same_groups(units):
    rng = np.random.default_rng(13)
    scores = rng.integers(0, 6, size=(600, 8)).astype(np.uint8)
    groups = rng.integers(0, 5, size=600)
    elements = [[0, 1, 2], [3, 4, 5, 6, 7, 0]]
    rule = AggregationRule(units=units)
    both = satisfaction_indices(scores, elements, groups=groups, rule=rule)
    alone = satisfaction_indices(scores, elements, groups=groups, rule=rule, total=False)
    assert alone.total is None
    for level in ("criteria", "elements", "overall"):
        for field in ("value", "low", "high", "se", "n"):
            np.testing.assert_array_equal(getattr(getattr(alone.by_group, level), field),
                                          getattr(getattr(both.by_group, level), field))


def test_cells_below_min_n_are_suppressed_but_keep_n():
    result = satisfaction_indices(SCORES, ELEMENTS, min_n=4)
    criteria = result.total.criteria
    assert criteria.value[0] == pytest.approx(50.0) and not criteria.suppressed[0]
    assert np.isnan(criteria.value[1]) and np.isnan(criteria.low[1]) and np.isnan(criteria.se[1])
    assert criteria.n[1] == 3 and criteria.flags(1) == ("small_sample", "suppressed")
    assert np.isnan(result.total.criteria_mean.mean[1])
    assert result.total.elements.suppressed.tolist() == [False, True]


def test_default_suppression_threshold_is_ten():
    assert satisfaction_indices(SCORES, ELEMENTS).total.overall.suppressed


def test_small_sample_and_wide_interval_flags():
    rng = np.random.default_rng(0)
    small = satisfaction_indices(rng.integers(1, 6, size=(29, 1)).astype(np.uint8), [[0]]).total.criteria
    assert small.flags(0) == ("small_sample", "wide_interval")  # Wilson half-width at n = 29 is about 17 points
    large = satisfaction_indices(rng.integers(1, 6, size=(2000, 1)).astype(np.uint8), [[0]]).total.criteria
    assert large.flags(0) == ()


def test_all_missing_answers_give_suppressed_nan_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        total = satisfaction_indices(np.zeros((6, 3), dtype=np.uint8), ELEMENTS).total
    assert np.isnan(total.criteria.value).all() and np.isnan(total.overall.value)
    np.testing.assert_array_equal(total.criteria.n, [0, 0, 0])
    assert total.overall.n == 0 and total.overall.suppressed


def test_one_respondent_gives_a_wilson_interval_and_zero_linearised_error():
    total = satisfaction_indices(np.array([[4, 2]], dtype=np.uint8), [[0, 1]], min_n=1).total
    np.testing.assert_allclose(total.criteria.value, [100, 0])
    low, high = proportion_confint(1, 1, method="wilson")
    assert total.criteria.low[0] == pytest.approx(100 * low) and total.criteria.high[0] == pytest.approx(100 * high)
    assert total.elements.se[0] == 0.0 and total.overall.value == pytest.approx(50.0)


def test_identical_answers_give_100_percent_with_a_wilson_lower_bound():
    total = satisfaction_indices(np.full((40, 2), 4, dtype=np.uint8), [[0, 1]]).total
    np.testing.assert_allclose(total.criteria.value, [100, 100])
    assert total.criteria.high[0] == 100.0
    assert total.criteria.low[0] == pytest.approx(100 * 40 / (40 + 1.959964**2), abs=1e-4)
    assert total.overall.se == 0.0 and total.overall.low == 100.0


def test_zero_respondents_with_groups_yield_suppressed_groups():
    result = satisfaction_indices(
        np.zeros((0, 3), dtype=np.uint8), ELEMENTS, groups=np.zeros(0, dtype=np.intp), n_groups=2
    )
    assert result.by_group.overall.n.tolist() == [0, 0] and result.by_group.overall.suppressed.all()


def test_columns_outside_every_element_still_get_a_criterion_index():
    total = satisfaction_indices(SCORES, [[0, 1]], min_n=1).total
    assert total.criteria.value[2] == pytest.approx(200 / 3)
    assert total.overall.value == pytest.approx((50 + 200 / 3) / 2)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"scores": np.array([1, 2, 3], dtype=np.uint8)}, "matrix"),
        ({"scores": SCORES.astype(float)}, "integers"),
        ({"scores": SCORES + 1}, r"0\.\.5"),
        ({"elements": [[0, 3]]}, "outside"),
        ({"elements": [[]]}, "no criteria"),
        ({"elements": [[1, 1]]}, "twice"),
        ({"elements": []}, "at least one"),
        ({"satisfied": {6}}, "subset"),
        ({"groups": np.array([0, 1])}, "one entry per respondent"),
        ({"groups": np.array([0, 0, 1, 1, 2]), "n_groups": 2}, r"0\.\.1"),
        ({"weights": np.array([1.0, -1, 1, 1, 1])}, "negative"),
        ({"min_n": 0}, "min_n"),
        ({"confidence": 95}, "confidence"),
        ({"rule": "pooled"}, "AggregationRule"),
    ],
)
def test_bad_arguments_raise_value_error(arguments, message):
    call = {"scores": SCORES, "elements": ELEMENTS, **arguments}
    with pytest.raises(ValueError, match=message):
        satisfaction_indices(call.pop("scores"), call.pop("elements"), **call)


@pytest.mark.parametrize(
    ("rule", "message"),
    [({"overall": "median"}, "overall"), ({"units": "max"}, "units"), ({"element": "sum"}, "element")],
)
def test_unknown_aggregation_rule_is_rejected(rule, message):
    with pytest.raises(ValueError, match=message):
        AggregationRule(**rule)


def test_dossier_rating_shares_per_level_and_satisfaction_rate():
    ratings = np.array([1, 2, 3, 3, 0, 2], dtype=np.uint8)  # 0 = not rated
    total = dossier_rating_shares(ratings, min_n=1).total
    np.testing.assert_array_equal(total.counts, [1, 2, 2])
    np.testing.assert_allclose(total.levels.value, [100 * 1 / 5, 100 * 2 / 5, 100 * 2 / 5])
    low, high = proportion_confint([1, 2, 2], 5, method="wilson")
    np.testing.assert_allclose(total.levels.low, 100 * low)
    np.testing.assert_allclose(total.levels.high, 100 * high)
    assert total.satisfaction.value == pytest.approx(100 * 4 / 5)  # Hài lòng + Rất hài lòng
    low, high = proportion_confint(4, 5, method="wilson")
    assert (total.satisfaction.low, total.satisfaction.high) == pytest.approx((100 * low, 100 * high))
    assert total.satisfaction.n == 5


def test_dossier_rating_per_group_with_an_empty_group():
    ratings = np.array([1, 2, 3, 3, 0, 2], dtype=np.uint8)
    result = dossier_rating_shares(ratings, groups=np.array([0, 0, 1, 1, 1, 1]), n_groups=3, min_n=1)
    np.testing.assert_array_equal(result.by_group.counts, [[1, 1, 0], [0, 1, 2], [0, 0, 0]])
    np.testing.assert_allclose(result.by_group.satisfaction.value[:2], [50, 100])
    assert result.by_group.satisfaction.flags(2) == ("small_sample", "suppressed")
    np.testing.assert_array_equal(result.total.counts, [1, 2, 2])


def test_dossier_rating_rejects_values_above_three_and_matrices():
    with pytest.raises(ValueError, match=r"0\.\.3"):
        dossier_rating_shares(np.array([1, 4], dtype=np.uint8))
    with pytest.raises(ValueError, match="one-dimensional"):
        dossier_rating_shares(np.ones((3, 2), dtype=np.uint8))
