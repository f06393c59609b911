"""Sample sizes for satisfaction surveys: the BNV formula n = N/(1 + N·e²) and responses needed for a margin.

Source: ``reference/sipas.md`` §3 (BNV, 1383 era: n = N / (1 + N·e²), N = transactions in the period, e = 5%;
recommendation: n per unit and per service field from the dossiers returned). The margin-based size is
Cochran (1977), Sampling Techniques, §4.4–4.5: n₀ = z²·p(1 − p)/e², finite-population correction
n = n₀ / (1 + (n₀ − 1)/N). Both are vectorised over arrays of N (e.g. units × fields) and rounded up.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from app.stats.intervals import z_value

#: Slack for rounding up: a size that is an integer up to floating error is not bumped to the next integer.
_ROUNDING_SLACK = 1e-9


def sample_size(population: ArrayLike, margin: float = 0.05) -> NDArray[np.int64]:
    """Return n = ⌈N / (1 + N·e²)⌉ per population size N (the BNV/Yamane formula of sipas.md §3).

    With e = 0.05 the size never exceeds 400; it is close to ``responses_needed`` at p = 0.5 and z = 2
    (N·n₀/(N + n₀) against N·n₀/(N + n₀ − 1), n₀ = 1/e²). N = 0 gives 0.
    """
    sizes = _populations(population)
    _check_margin(margin)
    return _round_up(sizes / (1 + sizes * margin**2))


def responses_needed(
    population: ArrayLike, margin: float = 0.05, *, share: float = 0.5, confidence: float = 0.95
) -> NDArray[np.int64]:
    """Return the responses needed so that a share's 95% margin of error is at most ``margin``, per N.

    Formula (Cochran 1977, normal approximation): n₀ = z²·p(1 − p)/e² with p = ``share`` (0.5 is the worst
    case), then n = ⌈n₀ / (1 + (n₀ − 1)/N)⌉, capped at N. The Wilson half-width at an observed 0.5,
    z/(2√(n + z²)), is slightly below the normal one, so this size is safe for Wilson intervals too. N = 0 gives 0.
    """
    sizes = _populations(population)
    _check_margin(margin)
    if not 0 < share < 1:
        raise ValueError(f"share must be strictly between 0 and 1, got {share!r}")
    z = z_value(confidence)
    unlimited = z * z * share * (1 - share) / margin**2
    with np.errstate(invalid="ignore", divide="ignore"):
        corrected = np.where(sizes > 0, unlimited / (1 + (unlimited - 1) / sizes), 0.0)
    return np.minimum(_round_up(corrected), sizes.astype(np.int64))


def margin_of_error(
    n: ArrayLike, population: ArrayLike | None = None, *, share: float = 0.5, confidence: float = 0.95
) -> NDArray[np.float64]:
    """Return the margin of error z·√(p(1 − p)/n) of a share, with the finite-population correction when N is given.

    Formula: e = z·√(p(1 − p)/n)·√((N − n)/(N − 1)) (Cochran 1977, §2.6); 0 when n = N; nan when n = 0.
    """
    counts = np.asarray(n, dtype=np.float64)
    if (counts < 0).any() or not np.isfinite(counts).all():
        raise ValueError("n must be finite and not negative")
    if not 0 <= share <= 1:
        raise ValueError(f"share must lie in [0, 1], got {share!r}")
    z = z_value(confidence)
    with np.errstate(invalid="ignore", divide="ignore"):
        margin = np.where(counts > 0, z * np.sqrt(share * (1 - share) / counts), np.nan)
        if population is not None:
            sizes = _populations(population)
            if (counts > sizes).any():
                raise ValueError("n must not exceed the population")
            margin = margin * np.sqrt(np.where(sizes > 1, (sizes - counts) / (sizes - 1), 0.0))
    return margin


def _populations(population: ArrayLike) -> NDArray[np.float64]:
    """Return population sizes as floats, checking they are finite, whole and not negative."""
    sizes = np.asarray(population, dtype=np.float64)
    if not np.isfinite(sizes).all() or (sizes < 0).any() or (sizes != np.round(sizes)).any():
        raise ValueError("population sizes must be whole numbers ≥ 0")
    return sizes


def _check_margin(margin: float) -> None:
    """Raise ValueError unless 0 < margin < 1."""
    if not 0 < margin < 1:
        raise ValueError(f"margin must be strictly between 0 and 1 (e.g. 0.05), got {margin!r}")


def _round_up(sizes: NDArray[np.float64]) -> NDArray[np.int64]:
    """Round up to whole respondents, ignoring floating error just above an integer."""
    return np.ceil(sizes - _ROUNDING_SLACK).astype(np.int64)
