"""Cronbach's alpha per element and per group, alpha if deleted, listwise deletion and undefined cases."""

import warnings

import numpy as np
import pytest

from app.stats.reliability import cronbach_alpha

# Element of three criteria: four complete respondents and one who skipped criterion 1 (listwise deleted).
SCORES = np.array(
    [
        [1, 2, 2],
        [2, 3, 3],
        [3, 3, 4],
        [4, 5, 5],
        [5, 0, 4],
    ],
    dtype=np.uint8,
)


def alpha_from_covariance(answers: np.ndarray) -> float:
    """α = k/(k − 1)·(1 − trace(C)/sum(C)) from the sample covariance matrix: an independent route."""
    covariance = np.cov(answers.astype(float), rowvar=False)
    k = answers.shape[1]
    return k / (k - 1) * (1 - np.trace(covariance) / covariance.sum())


def test_alpha_matches_hand_arithmetic():
    # Complete rows 0–3. Item variances 5/3, 4.75/3, 5/3; totals 5, 8, 10, 14 have variance 42.75/3.
    table = cronbach_alpha(SCORES, [[0, 1, 2]]).total
    assert table.alpha[0] == pytest.approx(3 / 2 * (1 - (5 + 4.75 + 5) / 42.75))  # 0.98246
    assert table.n[0] == 4
    assert table.flags(0) == ()


def test_alpha_if_item_deleted_matches_hand_arithmetic():
    deleted = cronbach_alpha(SCORES, [[0, 1, 2]]).total.alpha_if_deleted[0]
    # without 0: totals 4, 6, 7, 10 (variance 18.75/3), item variances 4.75/3 + 5/3
    # without 1: totals 3, 5, 7, 9 (variance 20/3), item variances 5/3 + 5/3
    # without 2: totals 3, 5, 6, 9 (variance 18.75/3), item variances 5/3 + 4.75/3
    np.testing.assert_allclose(deleted, [2 * (1 - 9.75 / 18.75), 2 * (1 - 10 / 20), 2 * (1 - 9.75 / 18.75)])


def test_alpha_matches_covariance_formula_on_random_data_with_missing_answers():
    rng = np.random.default_rng(21)
    latent = rng.normal(size=(2000, 1))
    scores = np.clip(np.round(3 + latent + rng.normal(size=(2000, 7))), 1, 5).astype(np.uint8)
    scores[rng.random(scores.shape) < 0.04] = 0
    elements = [[0, 1, 2, 3], [4, 5, 6]]
    table = cronbach_alpha(scores, elements).total
    for position, columns in enumerate(elements):
        complete = scores[:, columns][(scores[:, columns] > 0).all(axis=1)]
        assert table.n[position] == len(complete)
        assert table.alpha[position] == pytest.approx(alpha_from_covariance(complete), rel=1e-12)
        expected = [alpha_from_covariance(np.delete(complete, j, axis=1)) for j in range(len(columns))]
        np.testing.assert_allclose(table.alpha_if_deleted[position], expected, rtol=1e-12)


def test_alpha_per_group_equals_alpha_of_the_group_alone():
    rng = np.random.default_rng(5)
    scores = np.clip(np.round(3 + rng.normal(size=(600, 1)) + rng.normal(size=(600, 4))), 0, 5).astype(np.uint8)
    groups = rng.integers(0, 3, size=600)
    result = cronbach_alpha(scores, [[0, 1, 2, 3]], groups=groups, n_groups=4)
    for group in range(3):
        alone = cronbach_alpha(scores[groups == group], [[0, 1, 2, 3]]).total
        assert result.by_group.alpha[group, 0] == pytest.approx(alone.alpha[0], rel=1e-12)
        assert result.by_group.n[group, 0] == alone.n[0]
        np.testing.assert_allclose(result.by_group.alpha_if_deleted[0][group], alone.alpha_if_deleted[0])
    assert np.isnan(result.by_group.alpha[3, 0])  # a group with no responses
    assert result.by_group.flags(3, 0) == ("too_few_respondents",)
    assert result.total.alpha[0] == pytest.approx(cronbach_alpha(scores, [[0, 1, 2, 3]]).total.alpha[0])


def test_alpha_from_answer_vectors_equals_alpha_from_per_criterion_moments():
    # Without groups, elements of up to 6 criteria use a histogram of answer vectors; with groups, per-criterion
    # moments. Both are exact integer moments, so one group holding everyone gives the very same numbers.
    rng = np.random.default_rng(6)
    scores = np.clip(np.round(3 + rng.normal(size=(800, 1)) + rng.normal(size=(800, 7))), 0, 5).astype(np.uint8)
    elements = [[0, 1, 2, 3, 4, 5], [2, 6], list(range(7))]
    alone = cronbach_alpha(scores, elements).total
    grouped = cronbach_alpha(scores, elements, groups=np.zeros(800, dtype=np.intp), n_groups=1).by_group
    np.testing.assert_array_equal(alone.alpha, grouped.alpha[0])
    np.testing.assert_array_equal(alone.n, grouped.n[0])
    for position in range(len(elements)):
        np.testing.assert_array_equal(alone.alpha_if_deleted[position], grouped.alpha_if_deleted[position][0])


def test_alpha_with_one_criterion_is_undefined():
    table = cronbach_alpha(SCORES, [[0], [0, 1, 2]]).total
    assert np.isnan(table.alpha[0]) and table.flags(0) == ("too_few_items",)
    assert table.n[0] == 5
    assert not np.isnan(table.alpha[1])


def test_alpha_with_two_criteria_has_no_alpha_if_deleted():
    table = cronbach_alpha(SCORES, [[0, 2]]).total
    assert np.isnan(table.alpha_if_deleted[0]).all()
    assert not np.isnan(table.alpha[0])


def test_alpha_with_one_respondent_is_undefined():
    table = cronbach_alpha(SCORES[:1], [[0, 1, 2]]).total
    assert np.isnan(table.alpha[0]) and table.flags(0) == ("too_few_respondents",)


def test_alpha_of_identical_answers_is_undefined_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        table = cronbach_alpha(np.full((30, 3), 4, dtype=np.uint8), [[0, 1, 2]]).total
    assert np.isnan(table.alpha[0]) and table.flags(0) == ("zero_variance",)
    assert np.isnan(table.alpha_if_deleted[0]).all()


def test_alpha_with_all_answers_missing_has_n_zero():
    table = cronbach_alpha(np.zeros((10, 3), dtype=np.uint8), [[0, 1, 2]]).total
    assert table.n[0] == 0 and table.flags(0) == ("too_few_respondents",)


def test_alpha_rejects_bad_input():
    with pytest.raises(ValueError, match="outside"):
        cronbach_alpha(SCORES, [[0, 5]])
    with pytest.raises(ValueError, match="matrix"):
        cronbach_alpha(SCORES[0], [[0, 1]])
