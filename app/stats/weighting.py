"""Post-stratification weights by service field (lĩnh vực) volume, for volume-weighted satisfaction indices.

Source: ``reference/sipas.md`` §3 (no official design weights exist; QR responses are self-selected, so report
unweighted results and also a volume-weighted variant with weight = N_lĩnhvực / n_lĩnhvực); post-stratification
as in Kish (1965), Survey Sampling, §12. Pass the weights to ``satisfaction_indices(weights=...)``; its intervals
then come from the weighted linearisation and Wilson with Kish's effective n.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray


@dataclass(frozen=True, eq=False)
class StratumWeights:
    """Respondent weights with the per-stratum figures behind them."""

    #: One weight per respondent; Σ weights = number of respondents (0 in strata without volume).
    weights: NDArray[np.float64]
    #: Weight of a respondent in each stratum (nan where the stratum has no response).
    stratum_weight: NDArray[np.float64]
    #: Responses per stratum.
    responses: NDArray[np.int64]
    #: Dossier volume per stratum, as given.
    volume: NDArray[np.float64]
    #: Share of the volume in strata with no response: not represented by any respondent (0–1).
    uncovered_volume_share: float
    #: Responses in strata with no volume: they get weight 0.
    unweighted_responses: int
    #: Kish's effective sample size (Σ w)² / Σ w².
    effective_n: float
    #: Kish's design effect due to weighting, n·Σ w² / (Σ w)² (1 = no loss).
    design_effect: float


def poststratification_weights(strata: NDArray[np.intp], volumes: ArrayLike) -> StratumWeights:
    """Return weights that make each stratum's share of respondents equal to its share of dossier volume.

    Formula: for stratum h with n_h responses and volume N_h, w_h = (N_h / N_covered)·(n / n_h), where n is the
    number of respondents and N_covered the volume of strata with at least one response; so Σ_r w_r = n and the
    weighted respondents reproduce the volume shares (sipas.md §3: weight = N_lĩnhvực / n_lĩnhvực, normalised).
    ``strata`` maps respondents to 0..H-1 (a field, or unit × field for weighting within units); ``volumes``
    has H dossier counts. Missing values: a stratum with volume but no response cannot be represented (its
    share is reported in ``uncovered_volume_share``); responses in a stratum with zero volume get weight 0.
    """
    volume = np.asarray(volumes, dtype=np.float64)
    if volume.ndim != 1 or volume.size == 0:
        raise ValueError(f"volumes must be a non-empty vector (one count per stratum), got shape {volume.shape}")
    if not np.isfinite(volume).all() or (volume < 0).any():
        raise ValueError("volumes must be finite and not negative")
    labels = np.asarray(strata)
    if labels.ndim != 1 or labels.dtype.kind not in "ui":
        raise ValueError(f"strata must be a vector of integer stratum indices, got {labels.dtype} {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() >= volume.size):
        raise ValueError(f"strata must lie in 0..{volume.size - 1}, found {labels.min()}..{labels.max()}")
    responses = np.bincount(labels, minlength=volume.size).astype(np.int64)
    covered = responses > 0
    covered_volume = volume[covered].sum()
    total_volume = volume.sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        stratum_weight = np.where(covered, volume / covered_volume * labels.size / responses, np.nan)
    if covered_volume == 0:
        stratum_weight = np.where(covered, 0.0, np.nan)
    weights = np.nan_to_num(stratum_weight)[labels]
    squares = (weights**2).sum()
    effective_n = float(weights.sum() ** 2 / squares) if squares > 0 else 0.0
    return StratumWeights(
        weights=weights,
        stratum_weight=stratum_weight,
        responses=responses,
        volume=volume,
        uncovered_volume_share=float(volume[~covered].sum() / total_volume) if total_volume > 0 else 0.0,
        unweighted_responses=int(responses[covered & (volume == 0)].sum()),
        effective_n=effective_n,
        design_effect=float(labels.size / effective_n) if effective_n > 0 else np.nan,
    )


def poststratification_from_counts(responses: ArrayLike, volumes: ArrayLike) -> StratumWeights:
    """Return ``poststratification_weights`` from the responses per stratum instead of one label per respondent.

    Same formula and missing-value rule; ``weights`` then holds one weight per stratum (0 where the stratum has no
    response or no volume), the weight every respondent of that stratum gets, and Kish's figures are computed as
    (Σ_h n_h·w_h)² / Σ_h n_h·w_h². For report cells (``app.stats.sufficient``), whose cost must not grow with
    respondents.
    """
    volume = np.asarray(volumes, dtype=np.float64)
    counts = np.asarray(responses)
    if volume.ndim != 1 or volume.size == 0:
        raise ValueError(f"volumes must be a non-empty vector (one count per stratum), got shape {volume.shape}")
    if counts.shape != volume.shape or counts.dtype.kind not in "ui" or (counts < 0).any():
        raise ValueError("responses must give a non-negative integer count per stratum")
    if not np.isfinite(volume).all() or (volume < 0).any():
        raise ValueError("volumes must be finite and not negative")
    counts = counts.astype(np.int64)
    n = int(counts.sum())
    covered = counts > 0
    covered_volume = volume[covered].sum()
    total_volume = volume.sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        stratum_weight = np.where(covered, volume / covered_volume * n / counts, np.nan)
    if covered_volume == 0:
        stratum_weight = np.where(covered, 0.0, np.nan)
    weights = np.nan_to_num(stratum_weight)
    squares = (counts * weights**2).sum()
    effective_n = float((counts * weights).sum() ** 2 / squares) if squares > 0 else 0.0
    return StratumWeights(
        weights=weights,
        stratum_weight=stratum_weight,
        responses=counts,
        volume=volume,
        uncovered_volume_share=float(volume[~covered].sum() / total_volume) if total_volume > 0 else 0.0,
        unweighted_responses=int(counts[covered & (volume == 0)].sum()),
        effective_n=effective_n,
        design_effect=float(n / effective_n) if effective_n > 0 else np.nan,
    )
