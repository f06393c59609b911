"""Comparisons between groups and periods against hand arithmetic, scipy and statsmodels."""

import numpy as np
import pytest
import statsmodels.api as sm
from scipy.stats import chi2, contingency, kruskal, mannwhitneyu
from statsmodels.stats.contingency_tables import Table
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportions_ztest

from app.stats.compare import (
    holm_adjusted,
    index_ranking,
    index_trend,
    pairwise_mann_whitney,
    pairwise_share_tests,
    period_difference,
    respondent_mean_scores,
    score_comparison,
    share_comparison,
    share_trend,
)


def test_holm_adjustment_matches_hand_arithmetic():
    # sorted: 0.005·4 = 0.02, 0.01·3 = 0.03, 0.03·2 = 0.06, max(0.06, 0.04·1) = 0.06
    np.testing.assert_allclose(holm_adjusted([0.01, 0.04, 0.03, 0.005]), [0.03, 0.06, 0.06, 0.02])


def test_holm_adjustment_matches_statsmodels_on_random_p_values():
    p = np.random.default_rng(4).random(200) ** 4
    np.testing.assert_allclose(holm_adjusted(p), multipletests(p, method="holm")[1], rtol=0, atol=1e-15)


def test_holm_adjustment_keeps_nan_out_of_the_count():
    adjusted = holm_adjusted([0.02, np.nan, 0.04])
    assert np.isnan(adjusted[1])
    np.testing.assert_allclose(adjusted[[0, 2]], multipletests([0.02, 0.04], method="holm")[1])


def test_holm_adjustment_rejects_values_outside_zero_one():
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        holm_adjusted([0.5, 1.5])


def test_chi_square_and_cramers_v_match_hand_arithmetic():
    # table satisfied/not: group 0 = 10/10, group 1 = 20/5; expected 13.33, 16.67 / 6.67, 8.33
    result = share_comparison([10, 20], [20, 25])
    expected_chi2 = (10 - 40 / 3) ** 2 / (40 / 3) + (20 - 50 / 3) ** 2 / (50 / 3)
    expected_chi2 += (10 - 20 / 3) ** 2 / (20 / 3) + (5 - 25 / 3) ** 2 / (25 / 3)
    assert result.statistic == pytest.approx(expected_chi2) and expected_chi2 == pytest.approx(4.5)
    assert result.p_value == pytest.approx(chi2.sf(4.5, 1))
    assert result.cramers_v == pytest.approx(np.sqrt(4.5 / 45))
    assert result.dof == 1 and result.n == 45
    # two groups: the pairwise z-test is the square root of the chi-square
    assert result.pairwise.statistic[0] ** 2 == pytest.approx(4.5)
    assert result.pairwise.effect[0] == pytest.approx(100 * (10 / 20 - 20 / 25))


def test_share_comparison_matches_scipy_association_and_leaves_out_empty_groups():
    satisfied, answered = np.array([30, 45, 0, 50, 12]), np.array([60, 70, 0, 80, 40])
    result = share_comparison(satisfied, answered)
    kept = [0, 1, 3, 4]
    table = np.stack([satisfied[kept], answered[kept] - satisfied[kept]])
    np.testing.assert_array_equal(result.groups, kept)
    assert result.cramers_v == pytest.approx(contingency.association(table, method="cramer"))
    assert result.dof == 3
    assert len(result.pairwise.first) == 6 and 2 not in result.pairwise.first and 2 not in result.pairwise.second


def test_pairwise_share_tests_match_statsmodels_z_test_with_holm():
    rng = np.random.default_rng(6)
    answered = rng.integers(20, 400, size=6)
    satisfied = rng.binomial(answered, 0.6)
    tests = pairwise_share_tests(satisfied, answered)
    expected = [proportions_ztest([satisfied[a], satisfied[b]], [answered[a], answered[b]]) for a, b in zip(
        tests.first, tests.second
    )]
    np.testing.assert_allclose(tests.statistic, [z for z, _ in expected])
    np.testing.assert_allclose(tests.p_value, [p for _, p in expected])
    np.testing.assert_allclose(tests.p_adjusted, multipletests(tests.p_value, method="holm")[1])
    np.testing.assert_array_equal(tests.significant, tests.p_adjusted < 0.05)


def test_pairwise_share_test_of_two_perfect_groups_is_not_significant():
    tests = pairwise_share_tests([10, 20], [10, 20])
    assert tests.p_value[0] == 1.0 and not tests.significant[0]


def test_share_comparison_of_all_satisfied_is_undefined():
    result = share_comparison([10, 20], [10, 20])
    assert np.isnan(result.statistic) and np.isnan(result.cramers_v)


def test_kruskal_and_mann_whitney_match_hand_arithmetic():
    # A = 1, 2 and B = 3, 4: ranks sum 3 and 7, H = 12/(4·5)·(3²/2 + 7²/2) − 3·5 = 2.4
    result = score_comparison(np.array([1.0, 2, 3, 4]), np.array([0, 0, 1, 1]))
    assert result.statistic == pytest.approx(2.4)
    assert result.epsilon_squared == pytest.approx(2.4 / 3)
    assert result.pairwise.statistic[0] == 0.0  # A is never higher than B
    assert result.pairwise.effect[0] == -1.0


def test_score_comparison_matches_scipy_with_ties_missing_scores_and_an_empty_group():
    rng = np.random.default_rng(8)
    values = rng.integers(1, 6, size=700).astype(float)
    groups = rng.choice([0, 1, 3, 4], size=700)  # group 2 has nobody
    values[rng.random(700) < 0.1] = np.nan
    values[groups == 4] += 0.5
    result = score_comparison(values, groups, n_groups=5)
    samples = [values[(groups == g) & ~np.isnan(values)] for g in (0, 1, 3, 4)]
    expected = kruskal(*samples)
    assert result.statistic == pytest.approx(expected.statistic, rel=1e-12)
    assert result.p_value == pytest.approx(expected.pvalue, rel=1e-9)
    assert result.n == sum(map(len, samples)) and result.dof == 3
    assert result.epsilon_squared == pytest.approx(expected.statistic / (result.n - 1))
    np.testing.assert_array_equal(result.groups, [0, 1, 3, 4])
    for a, b, u, p in zip(result.pairwise.first, result.pairwise.second, result.pairwise.statistic,
                          result.pairwise.p_value):
        reference = mannwhitneyu(values[(groups == a) & ~np.isnan(values)], values[(groups == b) & ~np.isnan(values)],
                                 method="asymptotic")
        assert u == pytest.approx(reference.statistic)
        assert p == pytest.approx(reference.pvalue, rel=1e-9)
    np.testing.assert_allclose(result.pairwise.p_adjusted, multipletests(result.pairwise.p_value, method="holm")[1])


def test_score_comparison_without_pairwise_tests_gives_the_same_test():
    rng = np.random.default_rng(9)
    values = rng.integers(1, 6, size=300) / rng.integers(1, 4, size=300)
    groups = rng.integers(0, 4, size=300)
    both, alone = score_comparison(values, groups), score_comparison(values, groups, pairwise=False)
    assert alone.pairwise is None
    assert (alone.statistic, alone.p_value, alone.dof, alone.n) == (both.statistic, both.p_value, both.dof, both.n)
    expected = kruskal(*(values[groups == g] for g in range(4)))
    assert alone.statistic == pytest.approx(expected.statistic, rel=1e-12)


def test_mann_whitney_of_identical_scores_has_p_one():
    tests = pairwise_mann_whitney(np.full(6, 3.0), np.array([0, 0, 0, 1, 1, 1]))
    assert tests.p_value[0] == pytest.approx(mannwhitneyu([3, 3, 3], [3, 3, 3], method="asymptotic").pvalue)


def test_score_comparison_of_identical_scores_is_undefined():
    result = score_comparison(np.full(6, 3.0), np.array([0, 0, 0, 1, 1, 1]))
    assert np.isnan(result.statistic) and np.isnan(result.p_value)


def test_score_comparison_requires_groups():
    with pytest.raises(ValueError, match="groups"):
        score_comparison(np.ones(3), None)


def test_respondent_mean_scores_skip_unanswered_criteria():
    scores = np.array([[5, 4, 0], [0, 0, 0], [1, 2, 3]], dtype=np.uint8)
    means = respondent_mean_scores(scores, [0, 1, 2])
    assert means[0] == pytest.approx(4.5) and np.isnan(means[1]) and means[2] == pytest.approx(2.0)


def test_index_ranking_lists_units_not_significantly_different():
    value = np.array([80.0, 70.0, np.nan, 79.0, 50.0])
    se = np.array([2.0, 2.0, 1.0, 2.0, 3.0])
    ranking = index_ranking(value, se)
    np.testing.assert_array_equal(ranking.order, [0, 3, 1, 4])
    np.testing.assert_array_equal(ranking.rank, [1, 3, 0, 2, 4])
    # Only 80 vs 79 is not significant: z = 1/√8 = 0.35; the next smallest difference, 79 vs 70, has z = 3.18.
    assert ranking.not_different == ((3,), (), (), (0,), ())
    np.testing.assert_array_equal(ranking.best_rank, [1, 3, 0, 1, 4])
    np.testing.assert_array_equal(ranking.worst_rank, [2, 3, 0, 2, 4])
    assert ranking.n == 4
    z = (80 - 79) / np.sqrt(8)
    pair = list(zip(ranking.pairwise.first, ranking.pairwise.second)).index((0, 3))
    assert ranking.pairwise.statistic[pair] == pytest.approx(z)


def test_index_ranking_gives_equal_values_the_same_competition_rank():
    ranking = index_ranking([60.0, 60.0, 50.0], [1.0, 1.0, 1.0])
    np.testing.assert_array_equal(ranking.rank, [1, 1, 3])
    assert ranking.not_different[0] == (1,)


def test_share_trend_matches_cochran_armitage_by_hand_and_statsmodels():
    satisfied, answered = np.array([50, 55, 60, 70]), np.array([100, 100, 100, 100])
    trend = share_trend(satisfied, answered)
    # p̄ = 235/400, t̄ = 1.5, Sxx = 100·(2.25 + 0.25 + 0.25 + 2.25) = 500, T = Σ (s − 100 p̄)(t − t̄) = 32.5
    assert trend.slope == pytest.approx(100 * 32.5 / 500)
    assert trend.statistic == pytest.approx(32.5 / np.sqrt(235 / 400 * 165 / 400 * 500))
    # statsmodels' linear-by-linear test uses the permutation variance: z² = z_CA²·(N − 1)/N
    table = Table(np.stack([satisfied, answered - satisfied], axis=1))
    ordinal = table.test_ordinal_association(row_scores=np.arange(4.0), col_scores=np.array([1.0, 0.0]))
    assert trend.statistic**2 * 399 / 400 == pytest.approx(ordinal.zscore**2)
    assert trend.periods == 4


def test_share_trend_skips_empty_periods_and_needs_two():
    assert share_trend([5, 0, 9], [10, 0, 12]).periods == 2
    assert np.isnan(share_trend([5, 0], [10, 0]).p_value)


def test_index_trend_is_weighted_least_squares_with_known_variances():
    value, se = np.array([50.0, 55, 60, 70]), np.array([5.0, 5, 4, 6])
    trend = index_trend(value, se, times=[0, 1, 2, 4])
    fitted = sm.WLS(value, sm.add_constant([0.0, 1, 2, 4]), weights=1 / se**2).fit(
        cov_type="fixed scale", cov_kwds={"scale": 1.0}
    )
    assert trend.slope == pytest.approx(fitted.params[1])
    assert trend.se == pytest.approx(fitted.bse[1])
    assert trend.p_value == pytest.approx(fitted.pvalues[1])


def test_index_trend_over_two_periods_equals_period_difference():
    trend = index_trend([50.0, 60.0], [3.0, 4.0])
    difference = period_difference(50.0, 3.0, 60.0, 4.0)
    assert trend.statistic == pytest.approx(float(difference.statistic))
    assert trend.p_value == pytest.approx(float(difference.p_value))


def test_period_difference_matches_hand_arithmetic():
    # d = 60 − 50 = 10, se = √(3² + 4²) = 5, z = 2, p = 0.0455, interval 10 ± 1.96·5
    difference = period_difference(50.0, 3.0, 60.0, 4.0)
    assert difference.difference == 10.0 and difference.se == 5.0 and difference.statistic == 2.0
    assert difference.p_value == pytest.approx(0.0455003, abs=1e-6)
    assert (difference.low, difference.high) == pytest.approx((10 - 1.959964 * 5, 10 + 1.959964 * 5), abs=1e-5)


def test_period_difference_is_elementwise_and_passes_nan_through():
    difference = period_difference([50.0, np.nan], [3.0, 1.0], [50.0, 40.0], [4.0, 1.0])
    assert difference.difference[0] == 0.0 and difference.p_value[0] == pytest.approx(1.0)
    assert np.isnan(difference.difference[1]) and np.isnan(difference.p_value[1])


def test_comparisons_reject_mismatched_inputs():
    with pytest.raises(ValueError, match="equal-length"):
        share_comparison([1, 2], [3])
    with pytest.raises(ValueError, match="satisfied ≤ answered"):
        pairwise_share_tests([5, 2], [3, 4])
    with pytest.raises(ValueError, match="same shape"):
        index_ranking([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="times"):
        share_trend([1, 2], [3, 4], times=[0])
