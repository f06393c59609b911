"""Compare satisfaction between units or periods: tests with effect sizes, Holm-adjusted pairs, rankings, trends.

Groups are child units or periods, numbered 0..G-1 as in ``app.stats.satisfaction``. Shares come as counts per
group (satisfied answers, valid answers: ``IndexSet.satisfied_count`` and ``IndexTable.n``); composite indices
come as value and standard error in points (``IndexTable.value``, ``IndexTable.se``); respondent scores come as a
float vector with nan for "no answer" (``respondent_mean_scores``). Groups without data are left out of every
test and reported as such. All tests are two-sided.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.stats import chi2, chi2_contingency, norm, rankdata

from app.stats._inputs import check_groups, check_scores
from app.stats.intervals import normal_interval


@dataclass(frozen=True, eq=False)
class PairwiseTests:
    """Tests of every pair (first < second) of the compared groups, with Holm-adjusted p-values."""

    first: NDArray[np.intp]
    second: NDArray[np.intp]
    #: Shares: difference first − second in points. Indices: difference in points. Scores: rank-biserial
    #: correlation 2U/(n₁n₂) − 1 (positive when the first group scores higher).
    effect: NDArray[np.float64]
    #: z for shares and indices; Mann–Whitney U of the first group for scores.
    statistic: NDArray[np.float64]
    p_value: NDArray[np.float64]
    #: Holm (1979) step-down adjustment over all pairs.
    p_adjusted: NDArray[np.float64]
    #: p_adjusted < alpha.
    significant: NDArray[np.bool_]


@dataclass(frozen=True, eq=False)
class ShareComparison:
    """Chi-square test of independence of group × (satisfied, not satisfied), Cramér's V and pairwise z-tests."""

    #: Groups compared (those with at least one valid answer), in increasing order.
    groups: NDArray[np.intp]
    statistic: float
    dof: int
    p_value: float
    cramers_v: float
    #: Valid answers over the compared groups.
    n: int
    pairwise: PairwiseTests


@dataclass(frozen=True, eq=False)
class ScoreComparison:
    """Kruskal–Wallis test of respondent scores across groups, epsilon-squared and pairwise Mann–Whitney tests."""

    #: Groups compared (those with at least one score), in increasing order.
    groups: NDArray[np.intp]
    statistic: float
    dof: int
    p_value: float
    epsilon_squared: float
    #: Respondents with a score in the compared groups.
    n: int
    #: None when ``score_comparison`` was asked for the overall test alone.
    pairwise: PairwiseTests | None


@dataclass(frozen=True, eq=False)
class IndexRanking:
    """Units ranked by index, high to low, with the units each one is not significantly different from."""

    #: Ranked units, best first (equal values keep their unit order); units without a value are left out.
    order: NDArray[np.intp]
    #: Competition rank ("1, 2, 2, 4") per unit; 0 for a unit without a value.
    rank: NDArray[np.int64]
    #: 1 + units significantly higher: the best rank the data support (0 when unranked).
    best_rank: NDArray[np.int64]
    #: Ranked units − units significantly lower: the worst rank the data support (0 when unranked).
    worst_rank: NDArray[np.int64]
    #: Per unit, the other ranked units it is not significantly different from, in rank order.
    not_different: tuple[tuple[int, ...], ...]
    #: Number of ranked units.
    n: int
    pairwise: PairwiseTests


@dataclass(frozen=True, eq=False)
class TrendTest:
    """A linear trend across ordered periods: slope in points per time unit, its test and p-value."""

    slope: float
    se: float
    statistic: float
    p_value: float
    #: Periods used (those with data).
    periods: int


@dataclass(frozen=True, eq=False)
class PeriodDifference:
    """Difference after − before of independent estimates, in points, with interval and two-sided z-test."""

    difference: NDArray[np.float64]
    se: NDArray[np.float64]
    low: NDArray[np.float64]
    high: NDArray[np.float64]
    statistic: NDArray[np.float64]
    p_value: NDArray[np.float64]


def holm_adjusted(p_values: ArrayLike) -> NDArray[np.float64]:
    """Return Holm's step-down adjusted p-values, in the input order.

    Formula (Holm 1979, Scand. J. Statist. 6:65): with the m finite p-values sorted p_(1) ≤ … ≤ p_(m),
    adjusted p_(j) = min(1, max_{l ≤ j} (m − l + 1)·p_(l)). Rejecting where adjusted < α controls the
    family-wise error rate at α. Missing values: nan stays nan and does not count in m.
    """
    p = np.asarray(p_values, dtype=np.float64)
    if p.ndim != 1:
        raise ValueError(f"p_values must be one-dimensional, got shape {p.shape}")
    finite = np.isfinite(p)
    if ((p[finite] < 0) | (p[finite] > 1)).any():
        raise ValueError("p_values must lie in [0, 1]")
    adjusted = np.full(p.shape, np.nan)
    positions = np.flatnonzero(finite)
    order = positions[np.argsort(p[positions], kind="stable")]
    m = order.size
    stepped = np.maximum.accumulate((m - np.arange(m)) * p[order])
    adjusted[order] = np.minimum(stepped, 1.0)
    return adjusted


def respondent_mean_scores(scores: NDArray[np.uint8], columns: ArrayLike, *, scale_max: int = 5) -> NDArray[np.float64]:
    """Return each respondent's mean scale point over ``columns`` (e.g. an element's criteria).

    Formula: Σ x / number of answered columns. Missing values: unanswered columns (0) are skipped; a respondent
    with none answered gets nan (and drops out of ``score_comparison``).
    """
    matrix = check_scores(scores, scale_max)
    chosen = np.atleast_1d(np.asarray(columns, dtype=np.intp))
    if chosen.ndim != 1 or chosen.size == 0 or chosen.min() < 0 or chosen.max() >= matrix.shape[1]:
        raise ValueError(f"columns must be a non-empty list of indices in 0..{matrix.shape[1] - 1}")
    # Column by column (each contiguous in a Fortran-ordered matrix): exact integer sums and counts, no copy of
    # the chosen columns.
    total = np.zeros(matrix.shape[0], dtype=np.int32)  # at most 255 per column: exact below 8 million columns
    answered = np.zeros(matrix.shape[0], dtype=np.int32)
    for column in chosen:
        answers = matrix[:, column]
        total += answers
        answered += answers != 0
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(answered > 0, total / answered, np.nan)


def share_comparison(satisfied: ArrayLike, answered: ArrayLike, *, alpha: float = 0.05) -> ShareComparison:
    """Test whether the share of satisfied answers differs between groups; pairwise z-tests with Holm.

    Chi-square test of independence (Pearson, no continuity correction, so that two groups give χ² = z²) on the
    2 × G table (satisfied, not satisfied) via ``scipy.stats.chi2_contingency``; effect size Cramér's V =
    √(χ² / (N·(min(2, G) − 1))) (Cramér 1946). Pairwise: ``pairwise_share_tests``. Missing values: groups with
    no valid answer are left out; fewer than 2 groups left, or every answer satisfied (or none): nan.
    """
    successes, trials = _counts(satisfied, answered)
    kept = np.flatnonzero(trials > 0)
    n = int(trials[kept].sum())
    statistic = p_value = cramers_v = np.nan
    dof = max(kept.size - 1, 0)
    total_satisfied = successes[kept].sum()
    if kept.size >= 2 and 0 < total_satisfied < n:
        table = np.stack([successes[kept], trials[kept] - successes[kept]])
        result = chi2_contingency(table, correction=False)
        statistic, p_value = float(result.statistic), float(result.pvalue)
        cramers_v = float(np.sqrt(statistic / n))
    return ShareComparison(
        groups=kept, statistic=statistic, dof=dof, p_value=p_value, cramers_v=cramers_v, n=n,
        pairwise=pairwise_share_tests(successes, trials, alpha=alpha),
    )


def pairwise_share_tests(satisfied: ArrayLike, answered: ArrayLike, *, alpha: float = 0.05) -> PairwiseTests:
    """Return two-proportion z-tests for every pair of groups with answers, Holm-adjusted.

    Formula: z = (p₁ − p₂) / √(P(1 − P)(1/n₁ + 1/n₂)), P = (s₁ + s₂)/(n₁ + n₂) (pooled under H0, as
    statsmodels' ``proportions_ztest``); p = 2·(1 − Φ(|z|)). A pair with P = 0 or 1 has z = nan and p = 1.
    Effect: p₁ − p₂ in points. Missing values: groups with no valid answer are left out.
    """
    successes, trials = _counts(satisfied, answered)
    first, second = _pairs(np.flatnonzero(trials > 0))
    share = np.divide(successes, trials, out=np.full(trials.shape, np.nan), where=trials > 0)
    pooled = (successes[first] + successes[second]) / np.maximum(trials[first] + trials[second], 1)
    se = np.sqrt(pooled * (1 - pooled) * (1 / np.maximum(trials[first], 1) + 1 / np.maximum(trials[second], 1)))
    difference = share[first] - share[second]
    statistic, p_value = _z_test(difference, se)
    return _pairwise(first, second, difference * 100, statistic, p_value, alpha)


def score_comparison(
    values: ArrayLike,
    groups: NDArray[np.intp],
    *,
    n_groups: int | None = None,
    alpha: float = 0.05,
    pairwise: bool = True,
) -> ScoreComparison:
    """Test whether respondent scores differ between groups (Kruskal–Wallis) with pairwise Mann–Whitney tests.

    Kruskal & Wallis (1952), the statistic of ``scipy.stats.kruskal``: with N scores, mid-ranks (ties share the
    mean of their ranks) and R_g the rank sum of group g, H = (12/(N(N + 1))·Σ_g R_g²/n_g − 3(N + 1)) / C, tie
    correction C = 1 − Σ_v (t_v³ − t_v)/(N³ − N) over the t_v scores equal to v; p from χ² with G − 1 df. Computed
    from per-group counts of each distinct score (one sort of the scores), as the pairwise tests are. Effect size
    epsilon-squared ε² = H / (n − 1) (Tomczak & Tomczak 2014, Trends Sport Sci. 21:19). Pairwise:
    ``pairwise_mann_whitney``; ``pairwise=False`` leaves them out (``pairwise`` is then None). Missing values: nan
    scores are dropped; groups left without scores are left out; fewer than 2 groups, or all scores equal: nan.
    """
    scores, labels, group_count = _scores_and_groups(values, groups, n_groups)
    counts = _score_counts(scores, labels, group_count)
    sizes = counts.sum(axis=1)
    kept = np.flatnonzero(sizes > 0)
    statistic = p_value = epsilon = np.nan
    if kept.size >= 2 and counts.shape[1] > 1:
        ties = counts.sum(axis=0)
        n = float(scores.size)
        mid_ranks = np.cumsum(ties) - ties + (ties + 1) / 2
        rank_sums = counts[kept] @ mid_ranks
        spread = (rank_sums**2 / sizes[kept]).sum()
        statistic = float((12 / (n * (n + 1)) * spread - 3 * (n + 1)) / (1 - (ties**3 - ties).sum() / (n**3 - n)))
        p_value = float(chi2.sf(statistic, kept.size - 1))
        epsilon = statistic / (scores.size - 1)
    return ScoreComparison(
        groups=kept, statistic=statistic, dof=max(kept.size - 1, 0), p_value=p_value, epsilon_squared=epsilon,
        n=int(scores.size), pairwise=_mann_whitney(counts, alpha) if pairwise else None,
    )


def pairwise_mann_whitney(
    values: ArrayLike, groups: NDArray[np.intp], *, n_groups: int | None = None, alpha: float = 0.05
) -> PairwiseTests:
    """Return Mann–Whitney U tests for every pair of groups with scores, Holm-adjusted, all pairs at once.

    Same numbers as ``scipy.stats.mannwhitneyu(x, y, method="asymptotic")`` (normal approximation with tie and
    continuity correction, Mann & Whitney 1947), computed from per-group counts of each distinct score, so the
    cost is O(respondents + groups² × distinct scores) however many pairs there are. Meant for scale points or
    respondent means (few distinct values). U counts pairs where the first group is higher, ties half.
    Effect: rank-biserial r = 2U/(n₁n₂) − 1. Missing values: nan scores dropped; empty groups left out.
    """
    scores, labels, group_count = _scores_and_groups(values, groups, n_groups)
    return _mann_whitney(_score_counts(scores, labels, group_count), alpha)


def index_ranking(value: ArrayLike, se: ArrayLike, *, alpha: float = 0.05) -> IndexRanking:
    """Rank units by index (high first) and list, for each, the units it is not significantly different from.

    Choice documented: every pair of ranked units is compared with a two-sided z-test on the difference of
    their indices, z = (θ₁ − θ₂)/√(se₁² + se₂²), using the linearised standard errors of
    ``satisfaction_indices`` (independent units: disjoint respondents), Holm-adjusted over all pairs. Ranks are
    competition ranks of the values; best_rank/worst_rank give the range of ranks the data support.
    Missing values: units with nan value or se (e.g. suppressed) are not ranked (rank 0).
    """
    values, errors = _estimates(value, se)
    if values.ndim != 1:
        raise ValueError(f"value and se must be one-dimensional (one entry per unit), got shape {values.shape}")
    ranked = np.flatnonzero(np.isfinite(values) & np.isfinite(errors))
    order = ranked[np.argsort(-values[ranked], kind="stable")]
    rank = np.zeros(values.shape, dtype=np.int64)
    rank[ranked] = rankdata(-values[ranked], method="min").astype(np.int64)
    first, second = _pairs(ranked)
    difference = values[first] - values[second]
    statistic, p_value = _z_test(difference, np.sqrt(errors[first] ** 2 + errors[second] ** 2))
    pairwise = _pairwise(first, second, difference, statistic, p_value, alpha)
    different = np.zeros((values.size, values.size), dtype=bool)
    different[first, second] = different[second, first] = pairwise.significant
    higher = different & (values[None, :] > values[:, None])
    lower = different & (values[None, :] < values[:, None])
    best_rank = np.where(rank > 0, 1 + higher.sum(axis=1), 0)
    worst_rank = np.where(rank > 0, ranked.size - lower.sum(axis=1), 0)
    not_different = tuple(
        tuple(order[~different[unit, order] & (order != unit)].tolist()) if rank[unit] else ()
        for unit in range(values.size)
    )
    return IndexRanking(order, rank, best_rank, worst_rank, not_different, int(ranked.size), pairwise)


def share_trend(satisfied: ArrayLike, answered: ArrayLike, times: ArrayLike | None = None) -> TrendTest:
    """Test a linear trend of a share across ordered periods (Cochran–Armitage test).

    Formula (Cochran 1954; Armitage 1955): with N = Σ n_t, p̄ = Σ s_t / N, t̄ = Σ n_t t / N and
    Sxx = Σ n_t (t − t̄)², the statistic T = Σ (s_t − n_t p̄)(t − t̄) has null variance p̄(1 − p̄)·Sxx, so
    z = T / √(p̄(1 − p̄) Sxx). slope = T / Sxx ×100 (the least-squares slope of the period shares weighted by
    n_t, points per time unit), se = √(p̄(1 − p̄)/Sxx) ×100 (under H0). ``times`` default 0, 1, 2, …
    Missing values: periods with no valid answer are left out; fewer than 2 periods or p̄ ∈ {0, 1}: nan.
    """
    successes, trials = _counts(satisfied, answered)
    moments = _time_axis(times, trials.size)
    kept = trials > 0
    s, n, t = successes[kept], trials[kept], moments[kept]
    if kept.sum() < 2:
        return TrendTest(np.nan, np.nan, np.nan, np.nan, int(kept.sum()))
    total = n.sum()
    share = s.sum() / total
    centred = t - (n * t).sum() / total
    spread = (n * centred**2).sum()
    trend = ((s - n * share) * centred).sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        se = np.sqrt(share * (1 - share) / spread)
        slope = trend / spread if spread > 0 else np.nan
        statistic, p_value = _z_test(np.float64(slope), np.float64(se))
    if not (0 < share < 1):
        statistic = p_value = np.nan
    return TrendTest(float(slope * 100), float(se * 100), float(statistic), float(p_value), int(kept.sum()))


def index_trend(value: ArrayLike, se: ArrayLike, times: ArrayLike | None = None) -> TrendTest:
    """Test a linear trend of an index across ordered periods by weighted least squares on its standard errors.

    Formula: weights w_t = 1/se_t², t̄ = Σ w t / Σ w, slope b = Σ w (t − t̄) θ_t / Σ w (t − t̄)², se(b) =
    1/√(Σ w (t − t̄)²), z = b / se(b), two-sided normal p-value (independent periods, known variances; for two
    periods this is exactly ``period_difference``). For composite indices, whose intervals come from
    linearisation; use ``share_trend`` for a single share. Units: points per time unit.
    Missing values: periods with nan value or se, or se = 0 (infinite weight), are left out; fewer than 2: nan.
    """
    values, errors = _estimates(value, se)
    if values.ndim != 1:
        raise ValueError(f"value and se must be one-dimensional (one entry per period), got shape {values.shape}")
    moments = _time_axis(times, values.size)
    kept = np.isfinite(values) & np.isfinite(errors) & (errors > 0)
    if kept.sum() < 2:
        return TrendTest(np.nan, np.nan, np.nan, np.nan, int(kept.sum()))
    weight = 1 / errors[kept] ** 2
    centred = moments[kept] - (weight * moments[kept]).sum() / weight.sum()
    spread = (weight * centred**2).sum()
    if spread <= 0:
        return TrendTest(np.nan, np.nan, np.nan, np.nan, int(kept.sum()))
    slope = (weight * centred * values[kept]).sum() / spread
    error = 1 / np.sqrt(spread)
    statistic, p_value = _z_test(np.float64(slope), np.float64(error))
    return TrendTest(float(slope), float(error), float(statistic), float(p_value), int(kept.sum()))


def period_difference(
    before: ArrayLike, before_se: ArrayLike, after: ArrayLike, after_se: ArrayLike, *, confidence: float = 0.95
) -> PeriodDifference:
    """Compare an index between two periods: difference after − before, its interval, z-test and p-value.

    Formula: d = θ_after − θ_before, se = √(se_before² + se_after²) (independent samples: different
    respondents), interval d ± z·se, z = d / se, p = 2·(1 − Φ(|z|)). Use the linearised (or Wilson-based) se of
    ``satisfaction_indices``. Element-wise over broadcast arrays. Missing values: nan in, nan out.
    """
    first, first_se = _estimates(before, before_se)
    second, second_se = _estimates(after, after_se)
    difference = second - first
    error = np.sqrt(first_se**2 + second_se**2)
    low, high = normal_interval(difference, error, confidence, bounds=None)
    statistic, p_value = _z_test(difference, error)
    return PeriodDifference(difference, error, low, high, statistic, p_value)


def _counts(satisfied: ArrayLike, answered: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Return (satisfied, answered) counts per group as float vectors, checking 0 ≤ satisfied ≤ answered."""
    successes = np.asarray(satisfied, dtype=np.float64)
    trials = np.asarray(answered, dtype=np.float64)
    if successes.ndim != 1 or successes.shape != trials.shape:
        raise ValueError(f"satisfied {successes.shape} and answered {trials.shape} must be equal-length vectors")
    if not (np.isfinite(successes).all() and np.isfinite(trials).all()):
        raise ValueError("satisfied and answered counts must be finite")
    if (successes < 0).any() or (successes > trials).any():
        raise ValueError("counts must satisfy 0 ≤ satisfied ≤ answered")
    return successes, trials


def _estimates(value: ArrayLike, se: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Return value and se as float arrays of one shape, checking that se is not negative."""
    values = np.asarray(value, dtype=np.float64)
    errors = np.asarray(se, dtype=np.float64)
    if values.shape != errors.shape:
        raise ValueError(f"value {values.shape} and se {errors.shape} must have the same shape")
    if (errors < 0).any():
        raise ValueError("se must not be negative")
    return values, errors


def _time_axis(times: ArrayLike | None, length: int) -> NDArray[np.float64]:
    """Return period positions (default 0, 1, 2, …), checking their length and finiteness."""
    if times is None:
        return np.arange(length, dtype=np.float64)
    moments = np.asarray(times, dtype=np.float64)
    if moments.shape != (length,) or not np.isfinite(moments).all():
        raise ValueError(f"times must be {length} finite numbers, got shape {moments.shape}")
    return moments


def _scores_and_groups(
    values: ArrayLike, groups: NDArray[np.intp], n_groups: int | None
) -> tuple[NDArray[np.float64], NDArray[np.intp], int]:
    """Return the non-missing scores with their group labels and the number of groups."""
    scores = np.asarray(values, dtype=np.float64)
    if scores.ndim != 1:
        raise ValueError(f"values must be one-dimensional (one score per respondent), got shape {scores.shape}")
    labels, group_count = check_groups(groups, scores.size, n_groups)
    if labels is None:
        raise ValueError("groups are required to compare groups")
    if np.isinf(scores).any():
        raise ValueError("values must not be infinite (use nan for no answer)")
    present = ~np.isnan(scores)
    return scores[present], labels[present], group_count


def _pairs(members: NDArray[np.intp]) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Return every pair (first < second) of the given group indices."""
    first, second = np.triu_indices(members.size, k=1)
    return members[first], members[second]


def _z_test(difference: NDArray[np.float64], se: NDArray[np.float64]) -> tuple[NDArray, NDArray]:
    """Return z = difference / se and the two-sided normal p-value; 0/0 gives z = nan and p = 1."""
    with np.errstate(invalid="ignore", divide="ignore"):
        statistic = difference / se
    p_value = np.where(np.isnan(statistic) & (se == 0) & (difference == 0), 1.0, 2 * norm.sf(np.abs(statistic)))
    return statistic, p_value


def _pairwise(
    first: NDArray[np.intp],
    second: NDArray[np.intp],
    effect: NDArray[np.float64],
    statistic: NDArray[np.float64],
    p_value: NDArray[np.float64],
    alpha: float,
) -> PairwiseTests:
    """Bundle pairwise results with Holm-adjusted p-values and significance at ``alpha``."""
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be strictly between 0 and 1, got {alpha!r}")
    adjusted = holm_adjusted(p_value)
    return PairwiseTests(first, second, effect, statistic, p_value, adjusted, adjusted < alpha)


def _score_counts(scores: NDArray[np.float64], labels: NDArray[np.intp], group_count: int) -> NDArray[np.float64]:
    """Return how many scores of each group equal each distinct score: (groups, distinct scores ascending)."""
    distinct, position = np.unique(scores, return_inverse=True)
    counts = np.bincount(labels * distinct.size + position, minlength=group_count * distinct.size)
    return counts.reshape(group_count, distinct.size).astype(np.float64)


def _mann_whitney(counts: NDArray[np.float64], alpha: float) -> PairwiseTests:
    """Mann–Whitney U for all pairs from per-group counts of distinct scores (see ``pairwise_mann_whitney``)."""
    sizes = counts.sum(axis=1)
    below = np.cumsum(counts, axis=1) - counts
    # u[a, b]: pairs (x from a, y from b) with x > y, plus half the ties.
    u = counts @ (below + counts / 2).T
    cubes = (counts**3).sum(axis=1)
    squares_by = counts**2 @ counts.T
    first, second = _pairs(np.flatnonzero(sizes > 0))
    n1, n2 = sizes[first], sizes[second]
    n = n1 + n2
    u1 = u[first, second]
    ties = cubes[first] + cubes[second] + 3 * squares_by[first, second] + 3 * squares_by[second, first] - n
    with np.errstate(invalid="ignore", divide="ignore"):
        spread = np.sqrt(n1 * n2 / 12 * ((n + 1) - ties / (n * (n - 1))))
        z = (np.maximum(u1, n1 * n2 - u1) - n1 * n2 / 2 - 0.5) / spread
    p_value = np.clip(2 * norm.sf(z), 0.0, 1.0)
    return _pairwise(first, second, 2 * u1 / (n1 * n2) - 1, u1, p_value, alpha)
