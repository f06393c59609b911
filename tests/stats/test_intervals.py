"""Wilson and normal intervals, and the linearised interval of composite indices checked two independent ways."""

import numpy as np
import pytest
from statsmodels.stats.proportion import proportion_confint

from app.stats.intervals import normal_interval, wilson_interval, z_value
from app.stats.satisfaction import AggregationRule, bootstrap_indices, satisfaction_indices

Z95 = 1.959963984540054


def survey(rng: np.random.Generator, respondents: int, items: int, missing: float = 0.08) -> np.ndarray:
    """Return correlated 1..5 answers with some 0 (no answer), like a real questionnaire."""
    latent = rng.normal(size=(respondents, 1))
    answers = np.clip(np.round(3.2 + latent + rng.normal(scale=1.1, size=(respondents, items))), 1, 5)
    answers[rng.random(answers.shape) < missing] = 0
    return answers.astype(np.uint8)


def index_by_hand(scores: np.ndarray, elements: list, weights: np.ndarray, overall: str) -> np.ndarray:
    """Element and overall indices (fractions) written directly from sipas.md §2.2, independent of app.stats."""
    answered = (scores > 0) * weights[:, None]
    satisfied = (scores >= 4) * weights[:, None]
    share = satisfied.sum(0) / answered.sum(0)
    element_values = [np.nanmean(share[columns]) for columns in elements]
    union = sorted({column for columns in elements for column in columns})
    if overall == "mean_of_elements":
        overall_value = np.nanmean(element_values)
    elif overall == "mean_of_criteria":
        overall_value = np.nanmean(share[union])
    else:
        overall_value = satisfied[:, union].sum() / answered[:, union].sum()
    return np.array([*element_values, overall_value])


def linearised_se_by_finite_differences(scores, elements, weights, overall) -> np.ndarray:
    """√Σ_r (w_r·∂θ/∂w_r)²: the delta-method variance, from numerical derivatives of the hand-written index."""
    step = 1e-6
    squares = np.zeros(len(elements) + 1)
    for respondent in range(scores.shape[0]):
        up, down = weights.copy(), weights.copy()
        up[respondent] += step
        down[respondent] -= step
        derivative = (index_by_hand(scores, elements, up, overall) - index_by_hand(scores, elements, down, overall)) / (
            2 * step
        )
        squares += (weights[respondent] * derivative) ** 2
    return np.sqrt(squares)


def test_z_value_of_95_percent_is_1_96():
    assert z_value(0.95) == pytest.approx(Z95, abs=1e-12)


def test_z_value_rejects_confidence_outside_zero_one():
    with pytest.raises(ValueError, match="confidence"):
        z_value(1.0)


def test_wilson_interval_of_8_out_of_10_matches_hand_arithmetic():
    z2 = Z95**2
    centre = (0.8 + z2 / 20) / (1 + z2 / 10)
    half = Z95 * np.sqrt(0.8 * 0.2 / 10 + z2 / 400) / (1 + z2 / 10)
    interval = wilson_interval(8, 10)
    assert interval.share == pytest.approx(0.8)
    assert interval.low == pytest.approx(centre - half, abs=1e-12)  # 0.4902
    assert interval.high == pytest.approx(centre + half, abs=1e-12)  # 0.9433
    assert interval.low == pytest.approx(0.4902, abs=1e-4)


def test_wilson_interval_matches_statsmodels_on_random_counts():
    rng = np.random.default_rng(1)
    trials = rng.integers(1, 2000, size=(50, 22))
    successes = rng.binomial(trials, rng.random((50, 22)))
    expected_low, expected_high = proportion_confint(successes, trials, alpha=0.05, method="wilson")
    interval = wilson_interval(successes, trials)
    np.testing.assert_allclose(interval.low, expected_low, rtol=0, atol=1e-12)
    np.testing.assert_allclose(interval.high, expected_high, rtol=0, atol=1e-12)


def test_wilson_interval_at_90_percent_matches_statsmodels():
    expected = proportion_confint(37, 120, alpha=0.10, method="wilson")
    interval = wilson_interval(37, 120, confidence=0.90)
    assert (interval.low, interval.high) == pytest.approx(expected, abs=1e-12)


def test_wilson_interval_with_no_trials_is_nan():
    interval = wilson_interval(np.array([0, 3]), np.array([0, 5]))
    assert np.isnan(interval.share[0]) and np.isnan(interval.low[0]) and np.isnan(interval.high[0])
    assert interval.share[1] == pytest.approx(0.6)


def test_wilson_interval_of_all_successes_ends_at_one():
    interval = wilson_interval(12, 12)
    assert interval.high == 1.0
    assert interval.low == pytest.approx(12 / (12 + Z95**2), abs=1e-12)  # centre − half = n/(n + z²) when p = 1


@pytest.mark.parametrize(
    ("successes", "trials", "message"),
    [(5, 4, "exceed"), (-1, 4, "negative"), (np.ones(3), np.ones(2), "broadcast"), (np.nan, 3, "finite")],
)
def test_wilson_interval_rejects_bad_counts(successes, trials, message):
    with pytest.raises(ValueError, match=message):
        wilson_interval(successes, trials)


def test_normal_interval_is_estimate_plus_minus_z_se_clipped_to_bounds():
    low, high = normal_interval(np.array([50.0, 99.0]), np.array([2.0, 2.0]))
    assert low == pytest.approx([50 - Z95 * 2, 99 - Z95 * 2])
    assert high == pytest.approx([50 + Z95 * 2, 100.0])


@pytest.mark.parametrize("overall", ["mean_of_elements", "mean_of_criteria", "pooled"])
def test_linearised_standard_errors_equal_numerical_delta_method(overall):
    rng = np.random.default_rng(7)
    scores = survey(rng, 120, 5)
    elements = [[0, 1, 2], [3, 4]]
    weights = rng.uniform(0.3, 3.0, size=120)
    expected = linearised_se_by_finite_differences(scores, elements, weights, overall)
    result = satisfaction_indices(scores, elements, weights=weights, rule=AggregationRule(overall=overall), min_n=1)
    np.testing.assert_allclose(result.total.elements.se, expected[:-1] * 100, rtol=1e-6)
    assert result.total.overall.se == pytest.approx(expected[-1] * 100, rel=1e-6)
    expected_values = index_by_hand(scores, elements, weights, overall)
    np.testing.assert_allclose(result.total.elements.value, expected_values[:-1] * 100)
    assert result.total.overall.value == pytest.approx(expected_values[-1] * 100)


def test_linearised_standard_error_of_an_element_longer_than_one_answer_pattern_equals_delta_method():
    rng = np.random.default_rng(9)
    scores = survey(rng, 150, 9)
    elements = [list(range(9)), [2, 3]]  # nine criteria: two answer-pattern blocks; criteria 2, 3 shared
    weights = np.ones(150)
    expected = linearised_se_by_finite_differences(scores, elements, weights, "mean_of_elements")
    result = satisfaction_indices(scores, elements, min_n=1)
    np.testing.assert_allclose(result.total.elements.se, expected[:-1] * 100, rtol=1e-6)
    assert result.total.overall.se == pytest.approx(expected[-1] * 100, rel=1e-6)


def test_linearised_standard_error_of_a_single_criterion_is_binomial():
    rng = np.random.default_rng(3)
    scores = survey(rng, 300, 1)
    answered = np.count_nonzero(scores)
    share = np.count_nonzero(scores >= 4) / answered
    result = satisfaction_indices(scores, [[0]], min_n=1)
    assert result.total.elements.se[0] == pytest.approx(100 * np.sqrt(share * (1 - share) / answered), rel=1e-12)
    assert result.total.criteria.se[0] == pytest.approx(result.total.elements.se[0], rel=1e-12)


@pytest.mark.parametrize("overall", ["mean_of_elements", "mean_of_criteria", "pooled"])
def test_linearised_interval_agrees_with_bootstrap_within_half_a_point(overall):
    rng = np.random.default_rng(2026)
    scores = survey(rng, 400, 7)
    elements = [[0, 1, 2], [3, 4], [5, 6]]
    rule = AggregationRule(overall=overall)
    linearised = satisfaction_indices(scores, elements, rule=rule).total
    booted = bootstrap_indices(scores, elements, rule=rule, rng=np.random.default_rng(11), n_resamples=4000)
    np.testing.assert_allclose(booted.elements.value, linearised.elements.value, rtol=1e-12)
    np.testing.assert_allclose(booted.elements.low, linearised.elements.low, atol=0.5)
    np.testing.assert_allclose(booted.elements.high, linearised.elements.high, atol=0.5)
    assert booted.overall.low == pytest.approx(linearised.overall.low, abs=0.5)
    assert booted.overall.high == pytest.approx(linearised.overall.high, abs=0.5)
    np.testing.assert_allclose(booted.elements.se, linearised.elements.se, rtol=0.1)


def test_weighted_linearised_interval_agrees_with_weighted_bootstrap():
    rng = np.random.default_rng(5)
    scores = survey(rng, 400, 4)
    weights = np.where(rng.random(400) < 0.3, 2.5, 0.8)
    elements = [[0, 1], [2, 3]]
    linearised = satisfaction_indices(scores, elements, weights=weights).total
    booted = bootstrap_indices(scores, elements, weights=weights, rng=np.random.default_rng(4), n_resamples=4000)
    np.testing.assert_allclose(booted.elements.low, linearised.elements.low, atol=0.5)
    np.testing.assert_allclose(booted.elements.high, linearised.elements.high, atol=0.5)
    assert booted.overall.se == pytest.approx(linearised.overall.se, rel=0.1)


def test_bootstrap_is_reproducible_with_the_same_generator():
    scores = survey(np.random.default_rng(8), 60, 3)
    first = bootstrap_indices(scores, [[0, 1, 2]], rng=np.random.default_rng(1), n_resamples=500)
    second = bootstrap_indices(scores, [[0, 1, 2]], rng=np.random.default_rng(1), n_resamples=500)
    np.testing.assert_array_equal(first.overall.low, second.overall.low)
    assert first.n_resamples == 500 and first.method == "percentile"


def test_bootstrap_of_one_respondent_has_no_interval():
    result = bootstrap_indices(np.array([[4, 5]], dtype=np.uint8), [[0, 1]], rng=np.random.default_rng(0), min_n=1)
    assert result.overall.value == pytest.approx(100.0)
    assert np.isnan(result.overall.low) and np.isnan(result.overall.high)
