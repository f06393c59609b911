"""Sample sizes: the BNV formula n = N/(1 + N·e²) and responses needed for a margin (sipas.md §3)."""

import numpy as np
import pytest
from statsmodels.stats.proportion import samplesize_confint_proportion

from app.stats.sampling import margin_of_error, responses_needed, sample_size


def test_sample_size_matches_hand_arithmetic():
    # 1000/(1 + 1000·0.0025) = 285.7 → 286; 100/1.25 = 80 exactly; 10⁶/2501 = 399.8 → 400
    np.testing.assert_array_equal(sample_size([1000, 100, 1_000_000, 0]), [286, 80, 400, 0])


def test_sample_size_is_vectorised_over_units_and_fields():
    volumes = np.array([[1000, 100], [0, 50]])
    assert sample_size(volumes).shape == (2, 2)
    assert sample_size(volumes, margin=0.1)[0, 0] == int(np.ceil(1000 / (1 + 1000 * 0.01)))  # 91


def test_responses_needed_for_a_large_population_matches_statsmodels():
    expected = samplesize_confint_proportion(0.5, 0.05)  # z²·p(1 − p)/e² = 384.15
    assert responses_needed(10**12) == int(np.ceil(expected))
    assert responses_needed(10**12, share=0.2) == int(np.ceil(samplesize_confint_proportion(0.2, 0.05)))


def test_responses_needed_applies_the_finite_population_correction():
    n0 = 1.959963984540054**2 * 0.25 / 0.05**2
    # n = n0 / (1 + (n0 − 1)/N): N = 1000 → 277.7 → 278; N = 50 → 44.3 → 45; never more than N
    np.testing.assert_array_equal(
        responses_needed([1000, 50, 3, 0]),
        [np.ceil(n0 / (1 + (n0 - 1) / 1000)), np.ceil(n0 / (1 + (n0 - 1) / 50)), 3, 0],
    )


def test_margin_of_error_inverts_the_size():
    assert margin_of_error(385) == pytest.approx(1.959964 * np.sqrt(0.25 / 385), abs=1e-6)
    assert margin_of_error(278, 1000) <= 0.05
    assert margin_of_error(50, 50) == 0.0
    assert np.isnan(margin_of_error(0))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: sample_size([-1]), "whole numbers"),
        (lambda: sample_size([10.5]), "whole numbers"),
        (lambda: sample_size([10], margin=0), "margin"),
        (lambda: responses_needed([10], share=1), "share"),
        (lambda: margin_of_error(20, 10), "exceed"),
    ],
)
def test_sampling_rejects_bad_arguments(call, message):
    with pytest.raises(ValueError, match=message):
        call()
