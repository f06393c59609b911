"""Every SIPAS figure computed from the sufficient statistics equals the raw-data computation (random fixtures
with missing answers, several instruments, groups, cell weights and every aggregation rule)."""

from dataclasses import fields

import numpy as np
import pytest

from app.stats.compare import respondent_mean_scores, score_comparison
from app.stats.reliability import cronbach_alpha
from app.stats.satisfaction import AggregationRule, satisfaction_indices
from app.stats.sufficient import (MomentLayout, alpha_from_moments, indices_from_moments,
                                  kruskal_from_moments, sipas_moments)

LAYOUTS = {
    # SIPAS 2022+: 5 elements, 22 criteria, one extra item outside every element.
    "sipas": [tuple(range(0, 4)), tuple(range(4, 9)), tuple(range(9, 13)), tuple(range(13, 17)),
              tuple(range(17, 22))],
    # One element of 8 criteria (two pattern blocks), a one-criterion element, an item in two elements.
    "odd": [tuple(range(0, 8)), (8,), (7, 9, 10)],
}


def fixture(rng, n, n_items, missing):
    scores = rng.integers(1, 6, size=(n, n_items)).astype(np.uint8)
    # Answers lean to satisfied by respondent, so criteria correlate (alpha and the variance see cross terms).
    mood = rng.random(n) < 0.6
    scores[mood] = np.maximum(scores[mood], rng.integers(3, 6, size=(int(mood.sum()), n_items)).astype(np.uint8))
    scores[rng.random((n, n_items)) < missing] = 0
    scores[rng.random(n) < 0.03] = 0  # a few respondents answer nothing at all
    return scores


def assert_tables_equal(raw, derived, exact_names=("value", "n", "small_sample", "suppressed")):
    for field in fields(raw):
        left, right = np.asarray(getattr(raw, field.name)), np.asarray(getattr(derived, field.name))
        assert left.shape == right.shape, field.name
        if left.dtype.kind == "f":
            np.testing.assert_allclose(right, left, rtol=1e-9, atol=1e-9, equal_nan=True, err_msg=field.name)
        else:
            np.testing.assert_array_equal(right, left, err_msg=field.name)


def assert_sets_equal(raw, derived, exact=True):
    for name in ("criteria", "elements", "overall"):
        assert_tables_equal(getattr(raw, name), getattr(derived, name))
        if exact:  # unweighted points come from the same integer histograms: equal bit for bit
            np.testing.assert_array_equal(getattr(derived, name).value, getattr(raw, name).value)
    np.testing.assert_array_equal(derived.satisfied_count, raw.satisfied_count)
    for name in ("criteria_mean", "elements_mean", "overall_mean"):
        for part in ("mean", "percent"):
            np.testing.assert_allclose(getattr(getattr(derived, name), part), getattr(getattr(raw, name), part),
                                       rtol=1e-12, equal_nan=True)


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize("overall", ["mean_of_elements", "mean_of_criteria", "pooled"])
@pytest.mark.parametrize("units", ["pooled", "mean_of_children"])
@pytest.mark.parametrize("seed", [1, 2])
def test_indices_from_cells_equal_the_raw_computation(layout, overall, units, seed):
    rng = np.random.default_rng(seed)
    elements = LAYOUTS[layout]
    n_items = max(max(element) for element in elements) + 2
    scores = fixture(rng, 900, n_items, missing=0.15 * seed)
    # Cells (say unit × day × field) nest in groups (child units); one group has no respondent at all, one has 5.
    n_cells, n_groups = 40, 7
    cells = rng.integers(0, n_cells, size=scores.shape[0])
    group_of_cell = rng.integers(0, n_groups - 1, size=n_cells)
    group_of_cell[cells[:5]] = n_groups - 2
    cells[5:][group_of_cell[cells[5:]] == n_groups - 2] = cells[5]
    moments = sipas_moments(scores, elements, groups=cells, n_groups=n_cells)
    rule = AggregationRule(overall=overall, units=units)
    raw = satisfaction_indices(scores, elements, groups=group_of_cell[cells], n_groups=n_groups, rule=rule)
    derived = indices_from_moments(moments, elements, groups=group_of_cell, n_groups=n_groups, rule=rule)
    assert_sets_equal(raw.total, derived.total)
    assert_sets_equal(raw.by_group, derived.by_group)
    # Without groups, the whole set.
    assert_sets_equal(satisfaction_indices(scores, elements, rule=rule).total,
                      indices_from_moments(moments.total(), elements, rule=rule).total)


@pytest.mark.parametrize("units", ["pooled", "mean_of_children"])
def test_weighted_indices_with_one_weight_per_cell_equal_the_raw_computation(units):
    rng = np.random.default_rng(7)
    elements = LAYOUTS["sipas"]
    scores = fixture(rng, 700, 23, missing=0.2)
    n_cells = 30
    cells = rng.integers(0, n_cells, size=scores.shape[0])
    weight_of_cell = rng.gamma(2.0, 1.0, size=n_cells)
    weight_of_cell[3] = 0.0  # a stratum without a known volume
    group_of_cell = np.arange(n_cells) % 4
    rule = AggregationRule(units=units)
    raw = satisfaction_indices(scores, elements, groups=group_of_cell[cells], n_groups=4,
                               weights=weight_of_cell[cells], rule=rule)
    moments = sipas_moments(scores, elements, groups=cells, n_groups=n_cells)
    derived = indices_from_moments(moments, elements, groups=group_of_cell, n_groups=4, weights=weight_of_cell,
                                   rule=rule)
    assert derived.weighted
    # Weighted sums are added in another order (per cell, not per respondent): equal to ~1e-15.
    assert_sets_equal(raw.total, derived.total, exact=False)
    assert_sets_equal(raw.by_group, derived.by_group, exact=False)


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_alpha_and_kruskal_wallis_from_cells_equal_the_raw_computation(layout):
    rng = np.random.default_rng(11)
    elements = LAYOUTS[layout]
    n_items = max(max(element) for element in elements) + 2
    scores = fixture(rng, 800, n_items, missing=0.1)
    cells = rng.integers(0, 25, size=scores.shape[0])
    moments = sipas_moments(scores, elements, groups=cells, n_groups=25)
    raw_alpha = cronbach_alpha(scores, elements).total
    derived_alpha = alpha_from_moments(moments, elements).total
    np.testing.assert_array_equal(derived_alpha.n, raw_alpha.n)
    np.testing.assert_allclose(derived_alpha.alpha, raw_alpha.alpha, rtol=1e-12, equal_nan=True)
    for raw_deleted, derived_deleted in zip(raw_alpha.alpha_if_deleted, derived_alpha.alpha_if_deleted):
        np.testing.assert_allclose(derived_deleted, raw_deleted, rtol=1e-12, equal_nan=True)
    union = sorted({item for element in elements for item in element})
    group_of_cell = np.arange(25) % 6
    raw_test = score_comparison(respondent_mean_scores(scores, union), group_of_cell[cells], n_groups=6,
                                pairwise=False)
    derived_test = kruskal_from_moments(moments, group_of_cell, 6)
    assert derived_test.n == raw_test.n and derived_test.dof == raw_test.dof
    np.testing.assert_array_equal(derived_test.groups, raw_test.groups)
    for name in ("statistic", "p_value", "epsilon_squared"):
        assert getattr(derived_test, name) == pytest.approx(getattr(raw_test, name), rel=1e-12)


def test_moments_add_up_and_a_removed_respondent_is_subtracted_exactly():
    rng = np.random.default_rng(3)
    elements = LAYOUTS["sipas"]
    scores = fixture(rng, 300, 23, missing=0.25)
    whole = sipas_moments(scores, elements)
    first, rest = sipas_moments(scores[:120], elements), sipas_moments(scores[120:], elements)
    assert np.array_equal((first + rest).to_vector(), whole.to_vector())
    corrected = whole - sipas_moments(scores[17:18], elements)
    assert np.array_equal(corrected.to_vector(), sipas_moments(np.delete(scores, 17, axis=0), elements).to_vector())
    layout = MomentLayout(23, tuple(elements), 5)
    assert whole.to_vector().shape == (1, layout.size)
    assert int(whole.respondents[0]) == 300
    # Cells regrouped and taken keep their sparse histograms with them.
    cells = sipas_moments(scores, elements, groups=np.arange(300) % 7, n_groups=7)
    assert np.array_equal(cells.regroup(np.array([0, 1, 0, 1, -1, 0, 1]), 2).to_vector(),
                          np.concatenate([cells.take([0, 2, 5]).total().to_vector(),
                                          cells.take([1, 3, 6]).total().to_vector()]))
    assert np.array_equal(cells.take(np.arange(7) != 4).total().to_vector(),
                          (whole - sipas_moments(scores[4::7], elements)).to_vector())


def test_cells_without_respondents_and_bad_inputs():
    elements = LAYOUTS["sipas"]
    empty = sipas_moments(np.zeros((0, 23), dtype=np.uint8), elements, groups=np.zeros(0, dtype=np.intp),
                          n_groups=3)
    result = indices_from_moments(empty, elements, groups=np.array([0, 1, 1]), n_groups=2)
    assert result.total.overall.suppressed and result.total.overall.n == 0
    with pytest.raises(ValueError):
        indices_from_moments(empty, elements, weights=[1.0])
    with pytest.raises(ValueError):
        empty.regroup([0, 1], 2)
