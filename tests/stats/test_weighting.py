"""Post-stratification by service-field volume, and weighted indices reported beside unweighted ones."""

import numpy as np
import pytest

from app.stats.satisfaction import satisfaction_indices
from app.stats.weighting import poststratification_weights


def test_weights_reproduce_volume_shares_by_hand():
    # field 0: 3 responses, 50 dossiers; field 1: 1 response, 50 dossiers; n = 4
    weights = poststratification_weights(np.array([0, 0, 0, 1]), [50, 50])
    np.testing.assert_allclose(weights.stratum_weight, [0.5 * 4 / 3, 0.5 * 4 / 1])
    np.testing.assert_allclose(weights.weights, [2 / 3, 2 / 3, 2 / 3, 2])
    assert weights.weights.sum() == pytest.approx(4)
    assert weights.effective_n == pytest.approx(4**2 / (3 * (2 / 3) ** 2 + 2**2))  # = 3
    assert weights.design_effect == pytest.approx(4 / 3)
    np.testing.assert_array_equal(weights.responses, [3, 1])
    assert weights.uncovered_volume_share == 0.0


def test_a_field_without_responses_is_reported_as_uncovered():
    weights = poststratification_weights(np.array([0, 0, 0, 1]), [50, 30, 20])
    # covered volume 80: field 0 → 50/80·4/3, field 1 → 30/80·4/1
    np.testing.assert_allclose(weights.stratum_weight[:2], [50 / 80 * 4 / 3, 30 / 80 * 4])
    assert np.isnan(weights.stratum_weight[2])
    assert weights.uncovered_volume_share == pytest.approx(0.2)


def test_responses_in_a_field_without_volume_get_weight_zero():
    weights = poststratification_weights(np.array([0, 1, 1]), [10, 0])
    np.testing.assert_allclose(weights.weights, [3, 0, 0])
    assert weights.unweighted_responses == 2


def test_weighted_index_follows_dossier_volume_and_unweighted_follows_respondents():
    # Field A (3 dossiers in 4) answered 5 by everyone, field B (1 in 4) answered 2; B over-responds 3:1.
    fields = np.array([0] * 10 + [1] * 30)
    scores = np.where(fields == 0, 5, 2).astype(np.uint8)[:, None]
    weights = poststratification_weights(fields, [300, 100]).weights
    unweighted = satisfaction_indices(scores, [[0]]).total
    weighted = satisfaction_indices(scores, [[0]], weights=weights).total
    assert unweighted.criteria.value[0] == pytest.approx(100 * 10 / 40)
    assert weighted.criteria.value[0] == pytest.approx(75.0)
    assert weighted.overall.value == pytest.approx(75.0)
    # weighted se by linearisation: Σ_r w_r²(s_r − p)² / (Σ w)² with w = 3 for A (10 people), 1/3 for B (30)
    variance = (10 * 3**2 * 0.25**2 + 30 * (1 / 3) ** 2 * 0.75**2) / 40**2
    assert weighted.criteria.se[0] == pytest.approx(100 * np.sqrt(variance))
    assert weighted.overall.se == pytest.approx(100 * np.sqrt(variance))


def test_poststratification_rejects_bad_input():
    with pytest.raises(ValueError, match="negative"):
        poststratification_weights(np.array([0]), [-1])
    with pytest.raises(ValueError, match=r"0\.\.1"):
        poststratification_weights(np.array([0, 2]), [1, 1])
    with pytest.raises(ValueError, match="integer"):
        poststratification_weights(np.array([0.5]), [1])
