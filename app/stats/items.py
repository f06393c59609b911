"""Analyse contest questions and whole rounds with the definitions of Moodle's quiz statistics report.

Sources (``reference/item-analysis.md`` §2, §3, §6): moodle/moodle ``question/classes/statistics/questions/
calculator.php`` (facility, SD, covariances, discrimination index, discriminative efficiency, effective weight),
``mod/quiz/report/statistics/classes/calculator.php`` (median, SD, skewness, kurtosis, CIC, error ratio, standard
error) and ``mod/quiz/report/statistics/statistics_table.php`` (percent display, "dubious" below 15% DE).

Input: marks of attempts (rows) on questions (columns), ``nan`` where the attempt did not draw the question.
With random draws every question's statistics are taken over the attempts that drew it, and its rest-of-test
score is the attempt's total minus the question's mark. Percentages are returned unrounded, as the numbers
Moodle displays with two decimals.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from app.stats._checks import as_vector, check_length, first_false

#: Flag codes set on an item (the interface translates them).
ITEM_FLAGS = (
    "n_too_small",
    "facility_low",
    "facility_high",
    "di_negative",
    "di_weak",
    "de_dubious",
    "negative_covariance",
)

# A variance this small relative to the squared scale is a constant column: sums of decimal marks are inexact.
_RELATIVE_ZERO = 1e-10


@dataclass(frozen=True)
class FlagRules:
    """Thresholds for item flags (item-analysis.md §2.4, §3.6); facility, DI and DE are percentages."""

    min_exposure: int = 30
    facility_low: float = 20.0
    facility_high: float = 90.0
    di_weak: float = 20.0
    de_dubious: float = 15.0


@dataclass(frozen=True)
class ItemStatistics:
    """Statistics of one question (column); percentages as Moodle shows them, None where undefined."""

    #: Column of the marks matrix.
    index: int
    #: Attempts that drew the question.
    n: int
    #: 100 · mean mark / max mark (n ≥ 1).
    facility: float | None
    #: 100 · SD(mark, n − 1) / max mark (n ≥ 2).
    sd: float | None
    #: 100 · random guess score given for the question type (e.g. 1/k for single-answer MCQ).
    random_guess_score: float | None
    #: 100 · mean over its attempts of max mark / the attempt's max total (= max / Σ max on a fixed form).
    intended_weight: float | None
    #: 100 · sqrt(cov(x, X)) / Σ sqrt(cov) over the attempt's questions with cov ≥ 0, averaged over its attempts.
    effective_weight: float | None
    #: cov(x, X) < 0: Moodle gives no effective weight and highlights the question.
    negative_covariance: bool
    #: 100 · Pearson r of the mark with the rest of the test (total − mark).
    discrimination_index: float | None
    #: 100 · cov(x, rest) / cov(sorted x, sorted rest).
    discriminative_efficiency: float | None
    #: Internal consistency (CIC, %) of the round with this question left out.
    alpha_if_deleted: float | None
    #: Mean mark / max among the question's attempts in the upper group (fraction 0..1).
    p_upper: float | None
    #: Same for the lower group.
    p_lower: float | None
    #: Upper–lower index p_upper − p_lower (−1..1).
    d27: float | None
    #: Answers per option (index 0..k−1) over all attempts, the upper and the lower group; None without choices.
    option_counts: tuple[int, ...] | None
    upper_option_counts: tuple[int, ...] | None
    lower_option_counts: tuple[int, ...] | None
    #: Codes from :data:`ITEM_FLAGS`.
    flags: tuple[str, ...]


@dataclass(frozen=True)
class OverallStatistics:
    """Round-level statistics on attempt scores in percent of each attempt's maximum (Moodle's quiz statistics)."""

    #: Attempts analysed.
    n: int
    #: Mean number of questions per attempt (the test length k used by the CIC).
    items_per_attempt: float | None
    mean: float | None
    median: float | None
    #: SD with n − 1 (n ≥ 2).
    sd: float | None
    #: k3 / k2^1.5 (n ≥ 3).
    skewness: float | None
    #: k4 / k2², excess (n ≥ 4).
    kurtosis: float | None
    #: Coefficient of internal consistency = Cronbach's alpha in percent (n ≥ 3, k > 1).
    cic: float | None
    #: 100 · sqrt(1 − CIC/100).
    error_ratio: float | None
    #: ER/100 · SD: the standard error of measurement in percent.
    standard_error: float | None


@dataclass(frozen=True)
class ItemAnalysis:
    """Item and round statistics of one round."""

    items: tuple[ItemStatistics, ...]
    overall: OverallStatistics
    #: Attempt rows of the upper and lower groups used for p_upper, p_lower, d27 and option counts.
    upper_group: NDArray[np.intp]
    lower_group: NDArray[np.intp]


def item_analysis(
    marks: NDArray[np.float64],
    max_marks: ArrayLike | None = None,
    *,
    random_guess: ArrayLike | None = None,
    choices: NDArray[np.int64] | None = None,
    n_options: int | None = None,
    group_fraction: float = 0.27,
    rules: FlagRules = FlagRules(),
) -> ItemAnalysis:
    """Compute Moodle's item and quiz statistics, D27, option counts and flags from an attempts × questions matrix.

    ``marks[i, j]`` is the mark of attempt i on question j, ``nan`` where the attempt did not draw it (a fixed form
    has no nan). ``max_marks`` defaults to 1 per question; ``random_guess`` gives the guessing fraction per question
    (nan = unknown); ``choices[i, j]`` is the option index chosen (−1 = none or not drawn) for distractor counts,
    ``n_options`` their number (default: largest index + 1). Formulas, the alpha used with random draws, group
    ties and flags: :func:`item_analysis_entries`; sources: the Moodle files named in the module docstring.
    """
    matrix = np.asarray(marks, dtype=np.float64)
    if matrix.ndim != 2:
        raise ValueError(f"marks must be a two-dimensional attempts × questions matrix, got shape {matrix.shape}")
    # The transposed mask lists drawn cells question by question, the order the analysis works in.
    drawn = np.ascontiguousarray(np.isnan(matrix).T)
    np.logical_not(drawn, out=drawn)
    items, attempts = np.nonzero(drawn)
    chosen = None
    if choices is not None:
        options = np.asarray(choices)
        if options.shape != matrix.shape or options.dtype.kind not in "iu":
            raise ValueError(f"choices must be an integer matrix of shape {matrix.shape}, got {options.shape}")
        chosen = options[attempts, items]
        # Every answer outside the drawn cells would make the whole-matrix count exceed the drawn-cell count.
        if np.count_nonzero(options != -1) != np.count_nonzero(chosen != -1):
            raise ValueError("choices must be -1 where the question was not drawn")
    return _analyse(
        attempts, items, matrix[attempts, items], matrix.shape, max_marks, random_guess, chosen, n_options,
        group_fraction, rules,
    )


def item_analysis_entries(
    attempts: ArrayLike,
    items: ArrayLike,
    marks: ArrayLike,
    *,
    n_attempts: int,
    n_items: int,
    max_marks: ArrayLike | None = None,
    random_guess: ArrayLike | None = None,
    choices: ArrayLike | None = None,
    n_options: int | None = None,
    group_fraction: float = 0.27,
    rules: FlagRules = FlagRules(),
) -> ItemAnalysis:
    """Compute the same statistics from one entry per drawn question: (attempt row, question column, mark).

    This is the sparse form of :func:`item_analysis` (no n_attempts × n_items matrix is built); each
    (attempt, question) pair may appear once and every attempt must have at least one entry.

    Per question j over the s_j attempts that drew it, with x its mark, X the attempt total and R = X − x, and
    (co)variances on s_j − 1 (Moodle): facility = 100·x̄/max; SD = 100·sd(x)/max; DI = 100·cov(x, R) /
    sqrt(var x · var R), None when a variance is 0; DE = 100·cov(x, R)/covmax with covmax the covariance of x and R
    each sorted ascending, None when covmax is 0; EW = 100·sqrt(cov(x, X)) / Σ_l sqrt(cov(x_l, X)) over the
    attempt's questions with cov ≥ 0, averaged over the attempts (Moodle's formula on a fixed form), None and the
    ``negative_covariance`` flag when cov(x, X) < 0; IW = 100·max_j / attempt max, averaged likewise.

    Round level, on attempt scores P = 100 · total / attempt max: mean, median, SD (n − 1), skewness k3/k2^1.5 and
    excess kurtosis k4/k2² (k-statistics); CIC = 100 · alpha, ER = 100·sqrt(1 − alpha), SE = ER/100 · SD.

    Alpha with random draws: the alpha of a test of k = mean questions per attempt built from the pooled
    (pairwise-available) item variances and inter-item covariances, deviations taken from each question's own
    mean: v = Σ d² / Σ k_i, c = (Σ_i D_i² − Σ d²) / Σ k_i(k_i − 1) with d = x − x̄_j and D_i = Σ_j d_ij, and
    alpha = k/(k − 1) · (1 − v / (v + (k − 1)·c)). On a fixed form this is exactly Moodle's
    CIC = p/(p − 1)·(1 − Σ var(x_j) / var(X)). Alpha-if-deleted is the same statistic with the question's entries
    removed. Computed for n ≥ 3 (as Moodle) and k > 1.

    Upper/lower groups (item-analysis.md §3.3): g = round-half-up(group_fraction · n) attempts (at least 1, at most
    n/2) with the highest and lowest P; ties at a cut go by row (the earlier row is higher), so order rows by
    attempt id for a reproducible split. p_upper/p_lower: mean mark/max among group attempts that drew the question.
    Flags follow ``rules``: n < min_exposure, facility < low or > high, DI < 0 ("di_negative") or 0 ≤ DI < weak
    ("di_weak"), DE < dubious, negative covariance.
    """
    attempt_rows = _as_indices(attempts, "attempts", n_attempts)
    item_columns = _as_indices(items, "items", n_items, length=attempt_rows.shape[0])
    chosen = None if choices is None else _as_indices(choices, "choices", None, length=attempt_rows.shape[0])
    values = as_vector(marks, "marks", length=attempt_rows.shape[0], finite=False)
    # Radix sort on small integer codes groups the entries question by question.
    by_item = np.argsort(item_columns.astype(np.int16 if n_items < 2**15 else np.int32), kind="stable")
    _check_unique_pairs(attempt_rows[by_item], item_columns[by_item], n_items,
                        ordered=bool((attempt_rows[1:] >= attempt_rows[:-1]).all()))
    return _analyse(
        attempt_rows[by_item], item_columns[by_item], values[by_item], (n_attempts, n_items), max_marks, random_guess,
        None if chosen is None else chosen[by_item], n_options, group_fraction, rules,
    )


def _analyse(
    attempt: NDArray[np.intp],
    item: NDArray[np.intp],
    x: NDArray[np.float64],
    shape: tuple[int, int],
    max_marks: ArrayLike | None,
    random_guess: ArrayLike | None,
    chosen: NDArray[np.int64] | None,
    n_options: int | None,
    group_fraction: float,
    rules: FlagRules,
) -> ItemAnalysis:
    """Compute every statistic from entries grouped by question (see :func:`item_analysis_entries`)."""
    s, p = shape
    maximum = np.ones(p) if max_marks is None else as_vector(max_marks, "max_marks", length=p)
    if (maximum <= 0).any():
        raise ValueError(f"max_marks must be positive (first bad question {first_false(maximum > 0)})")
    guess = np.full(p, np.nan) if random_guess is None else as_vector(random_guess, "random_guess", length=p,
                                                                       finite=False)
    if ((guess < 0) | (guess > 1)).any():
        raise ValueError("random_guess must be fractions between 0 and 1 (nan = unknown)")
    if not 0 < group_fraction <= 0.5:
        raise ValueError(f"group_fraction must be in (0, 0.5], got {group_fraction}")
    if not np.isfinite(x).all():
        raise ValueError("marks must be finite where a question was drawn (nan means not drawn)")
    k = np.bincount(attempt, minlength=s)
    if (k == 0).any():
        raise ValueError(f"attempt row {first_false(k > 0)} has no drawn question")

    # Grouped entries make every per-question sum a contiguous segment.
    n = np.bincount(item, minlength=p)
    segments = _Segments(n)
    item_max = maximum[item]
    if (x > item_max * (1 + _RELATIVE_ZERO)).any():
        raise ValueError(f"a mark exceeds its question's max mark (question {item[first_false(x <= item_max)]})")

    totals = np.bincount(attempt, weights=x, minlength=s)
    attempt_max = np.bincount(attempt, weights=item_max, minlength=s)
    percent = 100 * totals / attempt_max
    rest = totals[attempt] - x
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_x = segments.sum(x) / n
        mean_rest = segments.sum(rest) / n
        intended = 100 * maximum * segments.sum((1 / attempt_max)[attempt]) / n
    dx = x - segments.spread(mean_x)
    scale = float(attempt_max.mean()) if s else 1.0
    covariances = _covariances(segments, x, rest, dx, mean_x, mean_rest, maximum, scale)
    effective = _effective_weight(attempt, segments, covariances.total, s)

    # Pooled sums for alpha; deleting question j removes its squares, its cross products and its pairs.
    ss_x = covariances.sum_squares
    ss_items = ss_x.sum()
    centred_total = np.bincount(attempt, weights=dx, minlength=s)
    ss_total = np.sum(centred_total * centred_total)
    pairs = np.sum(k * (k - 1.0))
    alpha = _pooled_alpha(ss_items, ss_total, x.shape[0], pairs, s, scale)
    alpha_deleted = _pooled_alpha(
        ss_items - ss_x,
        ss_total - 2 * segments.sum(dx * centred_total[attempt]) + ss_x,
        x.shape[0] - n,
        pairs - 2 * (segments.sum(k[attempt]) - n),
        s,
        scale,
    )

    upper, lower = _extreme_groups(percent, group_fraction)
    in_upper = np.zeros(s, dtype=bool)
    in_upper[upper] = True
    in_lower = np.zeros(s, dtype=bool)
    in_lower[lower] = True
    p_upper = _group_mean(segments, x, in_upper[attempt]) / maximum
    p_lower = _group_mean(segments, x, in_lower[attempt]) / maximum
    counts = None
    if chosen is not None:
        counts = _option_counts(item, chosen, n_options, p, in_upper[attempt], in_lower[attempt])

    columns = {
        "facility": 100 * mean_x / maximum,
        "sd": 100 * np.sqrt(covariances.var_x) / maximum,
        "random_guess_score": 100 * guess,
        "intended_weight": intended,
        "effective_weight": effective,
        "discrimination_index": covariances.discrimination,
        "discriminative_efficiency": covariances.efficiency,
        "alpha_if_deleted": alpha_deleted,
        "p_upper": p_upper,
        "p_lower": p_lower,
        "d27": p_upper - p_lower,
    }
    negative = covariances.total < 0
    statistics = tuple(
        _item(j, int(n[j]), {name: _optional(values[j]) for name, values in columns.items()}, bool(negative[j]),
              None if counts is None else tuple(tuple(option[j].tolist()) for option in counts), rules)
        for j in range(p)
    )
    overall = _overall(percent, x.shape[0] / s if s else None, alpha)
    return ItemAnalysis(statistics, overall, upper, lower)


class _Segments:
    """Per-question segments of entries sorted by question: sums and per-entry broadcasts."""

    def __init__(self, n: NDArray[np.int64]) -> None:
        self.n = n
        self.starts = np.concatenate(([0], np.cumsum(n)[:-1])).astype(np.intp)
        self.nonempty = n > 0

    def sum(self, values: NDArray) -> NDArray[np.float64]:
        """Return the sum of ``values`` over each question's entries (0 for a question nobody drew)."""
        sums = np.zeros(self.n.shape[0])
        if values.shape[0]:
            sums[self.nonempty] = np.add.reduceat(values, self.starts[self.nonempty])
        return sums

    def spread(self, per_item: NDArray[np.float64]) -> NDArray[np.float64]:
        """Return each entry's question value."""
        return np.repeat(per_item, self.n)

    def slices(self) -> list[tuple[int, slice]]:
        """Return (question, slice of its entries) for questions drawn by at least two attempts."""
        return [(j, slice(self.starts[j], self.starts[j] + self.n[j])) for j in np.flatnonzero(self.n >= 2)]


@dataclass(frozen=True)
class _Covariances:
    """Per-question variances, covariances and Moodle's DI and DE (nan where undefined)."""

    #: Σ (x − x̄)² over the question's attempts.
    sum_squares: NDArray[np.float64]
    var_x: NDArray[np.float64]
    #: cov(x, X) = cov(x, R) + var(x); nan for n < 2.
    total: NDArray[np.float64]
    discrimination: NDArray[np.float64]
    efficiency: NDArray[np.float64]


def _check_unique_pairs(rows: NDArray[np.intp], columns: NDArray[np.intp], n_items: int, ordered: bool) -> None:
    """Refuse an attempt that has a question twice.

    ``rows``/``columns`` are grouped by question with a stable sort. When the entries came ordered by attempt (as a
    report loads them), each question's rows stay ordered, so a repeat sits next to its twin: one linear pass.
    Entries in any other order are sorted on (attempt, question) codes instead.
    """
    if ordered:
        twins = (rows[1:] == rows[:-1]) & (columns[1:] == columns[:-1])
        repeats = rows[1:][twins].astype(np.int64) * n_items + columns[1:][twins]
    else:
        pairs = np.sort(rows.astype(np.int64) * n_items + columns)
        repeats = pairs[1:][pairs[1:] == pairs[:-1]]
    if repeats.size:
        raise ValueError(f"attempt {repeats[0] // n_items} has question {repeats[0] % n_items} more than once")


def _largest_covariance(x: NDArray[np.float64], rest: NDArray[np.float64], mean_x: float, mean_rest: float,
                        maximum: float) -> float:
    """Return Σ (x_(i) − x̄)(R_(i) − R̄) with x and R each sorted ascending (Moodle's covmax numerator).

    For marks that are only 0 or full (every single-answer question) the sorted pairing puts the n₁ full marks
    against the n₁ largest rest scores, and the sum reduces to maximum · (Σ of those rests − n₁ · R̄): a partial
    sort instead of two full ones.
    """
    full = x == maximum
    if np.all(full | (x == 0)):
        top = int(full.sum())
        if top == 0:
            return 0.0
        largest = np.partition(rest, rest.size - top)[rest.size - top:]
        return float(maximum * (largest.sum() - top * mean_rest))
    return float(np.sum((np.sort(x) - mean_x) * (np.sort(rest) - mean_rest)))


def _covariances(
    segments: _Segments,
    x: NDArray[np.float64],
    rest: NDArray[np.float64],
    dx: NDArray[np.float64],
    mean_x: NDArray[np.float64],
    mean_rest: NDArray[np.float64],
    maximum: NDArray[np.float64],
    scale: float,
) -> _Covariances:
    """Return var(x), cov(x, X), DI and DE per question, with n − 1 denominators as Moodle."""
    dr = rest - segments.spread(mean_rest)
    sum_squares = segments.sum(dx * dx)
    with np.errstate(invalid="ignore", divide="ignore"):
        dof = np.where(segments.n >= 2, segments.n - 1, np.nan)
        var_x = sum_squares / dof
        var_rest = segments.sum(dr * dr) / dof
        cov_rest = segments.sum(dx * dr) / dof
        constant = (var_x <= (_RELATIVE_ZERO * maximum) ** 2) | (var_rest <= (_RELATIVE_ZERO * scale) ** 2)
        cov_rest[constant] = 0.0
        total = np.where(var_x <= (_RELATIVE_ZERO * maximum) ** 2, 0.0, cov_rest + var_x)
        covmax = np.full(segments.n.shape[0], np.nan)
        # Plain products rather than BLAS dots: many short vectors, and no thread pool to contend for.
        for j, entries in segments.slices():
            covmax[j] = _largest_covariance(x[entries], rest[entries], mean_x[j], mean_rest[j], maximum[j]) / dof[j]
        discrimination = np.where(constant, np.nan, 100 * cov_rest / np.sqrt(var_x * var_rest))
        efficiency = np.where(covmax > (_RELATIVE_ZERO * scale) ** 2, 100 * cov_rest / covmax, np.nan)
    return _Covariances(sum_squares, var_x, total, discrimination, efficiency)


def _item(
    index: int,
    n: int,
    values: dict[str, float | None],
    negative: bool,
    counts: tuple[tuple[int, ...], ...] | None,
    rules: FlagRules,
) -> ItemStatistics:
    """Build one question's statistics and its flags."""
    facility, discrimination = values["facility"], values["discrimination_index"]
    efficiency = values["discriminative_efficiency"]
    checks = {
        "n_too_small": n < rules.min_exposure,
        "facility_low": facility is not None and facility < rules.facility_low,
        "facility_high": facility is not None and facility > rules.facility_high,
        "di_negative": discrimination is not None and discrimination < 0,
        "di_weak": discrimination is not None and 0 <= discrimination < rules.di_weak,
        "de_dubious": efficiency is not None and efficiency < rules.de_dubious,
        "negative_covariance": negative,
    }
    overall_counts, upper_counts, lower_counts = counts if counts is not None else (None, None, None)
    return ItemStatistics(
        index=index,
        n=n,
        negative_covariance=negative,
        option_counts=overall_counts,
        upper_option_counts=upper_counts,
        lower_option_counts=lower_counts,
        flags=tuple(flag for flag in ITEM_FLAGS if checks[flag]),
        **values,
    )


def _effective_weight(
    attempt: NDArray[np.intp], segments: _Segments, cov_total: NDArray[np.float64], s: int
) -> NDArray[np.float64]:
    """Return 100 · sqrt(cov_j) / S_i averaged over the question's attempts, S_i = Σ sqrt(cov_l ≥ 0) of attempt i.

    Attempts with S_i = 0 are left out; nan where cov(x, X) is undefined (n < 2) or negative, or no attempt of the
    question has S_i > 0 (Moodle: no effective weights when the sum is 0).
    """
    root = np.sqrt(np.where(cov_total > 0, cov_total, 0.0))
    attempt_sum = np.bincount(attempt, weights=segments.spread(root), minlength=s)
    positive = attempt_sum > 0
    inverse = np.divide(1.0, attempt_sum, out=np.zeros(s), where=positive)
    with np.errstate(invalid="ignore", divide="ignore"):
        effective = 100 * root * segments.sum(inverse[attempt]) / segments.sum(positive[attempt])
    return np.where(cov_total >= 0, effective, np.nan)


def _pooled_alpha(
    ss_items: ArrayLike, ss_total: ArrayLike, entries: ArrayLike, pairs: ArrayLike, s: int, mark_scale: float
) -> NDArray[np.float64]:
    """Return Cronbach's alpha in percent from pooled sums (nan where undefined); see item_analysis_entries."""
    with np.errstate(invalid="ignore", divide="ignore"):
        length = np.divide(entries, s, dtype=np.float64)
        variance = np.divide(ss_items, entries, dtype=np.float64)
        covariance = np.divide(np.subtract(ss_total, ss_items), pairs, dtype=np.float64)
        total = variance + (length - 1) * covariance
        alpha = 100 * length / (length - 1) * (1 - variance / total)
    defined = (s > 2) & (length > 1) & (np.asarray(pairs) > 0) & (total > (_RELATIVE_ZERO * mark_scale) ** 2)
    return np.where(defined, alpha, np.nan)


def _extreme_groups(percent: NDArray[np.float64], fraction: float) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Return the rows of the upper and lower groups: the g highest and g lowest scores, ties by row."""
    s = percent.shape[0]
    if s < 2:
        return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.intp)
    size = min(max(1, int(np.floor(fraction * s + 0.5))), s // 2)
    order = np.lexsort((np.arange(s), -percent))
    return np.sort(order[:size]), np.sort(order[s - size:])


def _group_mean(segments: _Segments, x: NDArray[np.float64], member: NDArray[np.bool_]) -> NDArray[np.float64]:
    """Return per question the mean mark among entries of group members (nan when none drew it)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return segments.sum(x * member) / segments.sum(member)


def _option_counts(
    item: NDArray[np.intp],
    chosen: NDArray[np.int64],
    n_options: int | None,
    p: int,
    upper: NDArray[np.bool_],
    lower: NDArray[np.bool_],
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """Return answers per question and option (p × options) overall, in the upper and in the lower group."""
    largest = int(chosen.max()) if chosen.size else -1
    options = largest + 1 if n_options is None else n_options
    if chosen.size and (chosen.min() < -1 or largest >= options):
        raise ValueError(f"choices must be -1 (no answer) or an option index below {options}")
    answered = chosen >= 0
    code = item * options + chosen

    def count(member: NDArray[np.bool_]) -> NDArray[np.int64]:
        return np.bincount(code[answered & member], minlength=p * options).reshape(p, options)

    return count(answered), count(upper), count(lower)


def _overall(percent: NDArray[np.float64], length: float | None, alpha: NDArray[np.float64]) -> OverallStatistics:
    """Return Moodle's quiz statistics of the attempt scores (percent) and the given alpha."""
    s = percent.shape[0]
    mean = float(percent.mean()) if s else None
    median = float(np.median(percent)) if s else None
    sd = float(percent.std(ddof=1)) if s > 1 else None
    spread = sd is not None and sd > _RELATIVE_ZERO * 100
    skewness = float(stats.skew(percent, bias=False)) if s > 2 and spread else None
    kurtosis = float(stats.kurtosis(percent, bias=False)) if s > 3 and spread else None
    cic = _optional(alpha) if spread else None
    error_ratio = 100 * float(np.sqrt(1 - cic / 100)) if cic is not None and cic <= 100 else None
    standard_error = error_ratio / 100 * sd if error_ratio is not None else None
    return OverallStatistics(s, length, mean, median, sd, skewness, kurtosis, cic, error_ratio, standard_error)


def _optional(value: ArrayLike) -> float | None:
    """Return a finite number as float and nan as None."""
    number = float(value)
    return number if np.isfinite(number) else None


def _as_indices(values: ArrayLike, name: str, bound: int | None, *, length: int | None = None) -> NDArray[np.intp]:
    """Return integer positions, checking they lie in [0, bound) (or are ≥ −1 when ``bound`` is None)."""
    array = np.asarray(values)
    check_length(array, name, length)
    if array.size and array.dtype.kind not in "iu":
        raise ValueError(f"{name} must hold integers, got {array.dtype}")
    array = array.astype(np.intp, copy=False)
    low = 0 if bound is not None else -1
    if array.size and (array.min() < low or (bound is not None and array.max() >= bound)):
        raise ValueError(f"{name} must lie in [{low}, {bound}), got values from {array.min()} to {array.max()}")
    return array
