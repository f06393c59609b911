"""Confidence intervals for shares (Wilson score) and for linearised indices (normal approximation)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.stats import norm


@dataclass(frozen=True, eq=False)
class ShareInterval:
    """A share with its Wilson interval, element-wise; shares are fractions in [0, 1]."""

    #: successes / n; nan where n = 0.
    share: NDArray[np.float64]
    low: NDArray[np.float64]
    high: NDArray[np.float64]
    #: The number of trials (an effective, possibly fractional, n for weighted data).
    n: NDArray[np.float64]


def z_value(confidence: float) -> float:
    """Return the two-sided standard normal quantile for ``confidence`` (1.959964 for 0.95).

    Formula: z = Φ⁻¹((1 + confidence) / 2).
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be strictly between 0 and 1, got {confidence!r}")
    return float(norm.ppf(0.5 + confidence / 2.0))


def wilson_interval(successes: ArrayLike, n: ArrayLike, confidence: float = 0.95) -> ShareInterval:
    """Return the Wilson score interval of the share successes / n, element-wise over broadcast arrays.

    Formula (Wilson 1927, JASA 22:209): with p = s/n and z = Φ⁻¹((1 + confidence)/2),
    centre = (p + z²/(2n)) / (1 + z²/n) and half-width = z·√(p(1 − p)/n + z²/(4n²)) / (1 + z²/n);
    the interval is centre ± half-width, always inside [0, 1]. This is the interval of
    ``scipy.stats.binomtest(k, n).proportion_ci(method="wilson")`` and of statsmodels'
    ``proportion_confint(method="wilson")``, computed for all cells at once.

    ``n`` may be fractional (Kish's effective sample size for weighted shares, with s = p·n).
    Missing values: a cell with n = 0 has nan share and bounds.
    """
    s = np.asarray(successes, dtype=np.float64)
    trials = np.asarray(n, dtype=np.float64)
    try:
        s, trials = np.broadcast_arrays(s, trials)
    except ValueError as error:
        raise ValueError(f"successes {s.shape} and n {trials.shape} do not broadcast: {error}") from error
    if not (np.isfinite(s).all() and np.isfinite(trials).all()):
        raise ValueError("successes and n must be finite")
    if (trials < 0).any() or (s < 0).any():
        raise ValueError("successes and n must not be negative")
    if (s > trials * (1 + 1e-12)).any():
        raise ValueError("successes must not exceed n")
    z = z_value(confidence)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(trials > 0, np.minimum(s / trials, 1.0), np.nan)
        z2n = z * z / trials
        centre = (share + z2n / 2) / (1 + z2n)
        half = z * np.sqrt(share * (1 - share) / trials + z2n / (4 * trials)) / (1 + z2n)
    return ShareInterval(share=share, low=np.maximum(centre - half, 0.0), high=np.minimum(centre + half, 1.0), n=trials)


def normal_interval(
    estimate: ArrayLike,
    se: ArrayLike,
    confidence: float = 0.95,
    bounds: tuple[float, float] | None = (0.0, 100.0),
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Return the normal-approximation interval estimate ± z·se, clipped to ``bounds`` (None: no clipping).

    Used for indices whose standard error comes from linearisation (delta method; e.g. Deville 1999, Survey
    Methodology 25:193), where the index is approximately normal. Missing values: nan in, nan out.
    """
    value = np.asarray(estimate, dtype=np.float64)
    error = np.asarray(se, dtype=np.float64)
    z = z_value(confidence)
    low, high = value - z * error, value + z * error
    if bounds is not None:
        low, high = np.clip(low, *bounds), np.clip(high, *bounds)
    return low, high
