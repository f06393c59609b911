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

from collections.abc import Iterator
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
        attempts, np.bincount(items, minlength=matrix.shape[1]), matrix[attempts, items], matrix.shape, max_marks,
        random_guess, chosen, n_options, group_fraction, rules,
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
    (attempt, question) pair may appear once and every attempt must have at least one entry. Integer inputs are
    used in their own dtype (int32 rows, int16 columns, uint8 marks and int8 choices keep a large round small).

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
    values = np.asarray(marks)
    if values.dtype.kind not in "biu":
        values = as_vector(values, "marks", length=attempt_rows.shape[0], finite=False)
    check_length(values, "marks", attempt_rows.shape[0])
    # Radix sort on small integer codes groups the entries question by question; each question keeps its entries
    # in input order.
    codes = item_columns.astype(np.int16 if n_items < 2**15 else np.int32, copy=False)
    by_item = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[by_item], np.arange(n_items + 1, dtype=codes.dtype))
    return _analyse(
        attempt_rows[by_item], np.diff(bounds), values[by_item], (n_attempts, n_items), max_marks, random_guess,
        None if chosen is None else chosen[by_item], n_options, group_fraction, rules,
    )


def _analyse(
    attempt: NDArray[np.integer],
    n: NDArray[np.int64],
    x: NDArray,
    shape: tuple[int, int],
    max_marks: ArrayLike | None,
    random_guess: ArrayLike | None,
    chosen: NDArray[np.integer] | None,
    n_options: int | None,
    group_fraction: float,
    rules: FlagRules,
) -> ItemAnalysis:
    """Compute every statistic from entries grouped by question, ``n`` entries per question (see
    :func:`item_analysis_entries`).

    The work goes question by question over slices of the grouped entries: per-question sums, and per-attempt
    sums accumulated in question order, need no temporary as long as all entries (large rounds have millions).
    """
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
    if x.dtype.kind == "f" and not np.isfinite(x).all():
        raise ValueError("marks must be finite where a question was drawn (nan means not drawn)")
    questions = _Questions(attempt, n, x)
    k, totals, attempt_max = _attempt_totals(questions, maximum, s)
    if (k == 0).any():
        raise ValueError(f"attempt row {first_false(k > 0)} has no drawn question")

    percent = 100 * totals / attempt_max
    upper, lower = _extreme_groups(percent, group_fraction)
    in_upper = np.zeros(s, dtype=bool)
    in_upper[upper] = True
    in_lower = np.zeros(s, dtype=bool)
    in_lower[lower] = True
    sums = _question_sums(questions, k, totals, attempt_max, maximum, in_upper, in_lower)
    counts = None
    if chosen is not None:
        counts = _option_counts(questions, chosen, n_options, in_upper, in_lower)
    with np.errstate(invalid="ignore", divide="ignore"):
        intended = 100 * maximum * sums.weight / n
        p_upper = sums.upper / sums.upper_n / maximum
        p_lower = sums.lower / sums.lower_n / maximum
    scale = float(attempt_max.mean()) if s else 1.0
    covariances = _covariances(sums, n, maximum, scale)
    cross, effective = _centred_cross_and_effective_weight(questions, sums, covariances.total, s)

    # Pooled sums for alpha; deleting question j removes its squares, its cross products and its pairs.
    ss_items = sums.squares_x.sum()
    ss_total = np.sum(sums.centred_total * sums.centred_total)
    pairs = np.sum(k * (k - 1.0))
    entries = int(n.sum())
    alpha = _pooled_alpha(ss_items, ss_total, entries, pairs, s, scale)
    alpha_deleted = _pooled_alpha(
        ss_items - sums.squares_x,
        ss_total - 2 * cross + sums.squares_x,
        entries - n,
        pairs - 2 * (sums.draws - n),
        s,
        scale,
    )

    columns = {
        "facility": 100 * sums.mean_x / maximum,
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
    overall = _overall(percent, entries / s if s else None, alpha)
    return ItemAnalysis(statistics, overall, upper, lower)


#: Start of the one segment :func:`_total` reduces.
_WHOLE = np.zeros(1, dtype=np.intp)


def _total(values: NDArray) -> float:
    """Return the sum of one question's values, added as ``np.add.reduceat`` adds a segment.

    reduceat starts from the first value and adds the rest pairwise; ``ndarray.sum`` starts from zero and can
    differ in the last bit, which would change published figures.
    """
    return float(np.add.reduceat(values, _WHOLE)[0])


class _Questions:
    """Entries grouped by question: each drawn question's attempt rows and marks (as float64)."""

    def __init__(self, attempt: NDArray[np.integer], n: NDArray[np.int64], x: NDArray) -> None:
        self.attempt = attempt
        self.x = x
        self.n = n
        ends = np.cumsum(n)
        self.drawn = [(j, slice(ends[j] - n[j], ends[j])) for j in np.flatnonzero(n).tolist()]

    def __iter__(self) -> Iterator[tuple[int, NDArray[np.integer], NDArray[np.float64]]]:
        """Yield (question, attempt rows, marks) for every question drawn at least once."""
        for j, entries in self.drawn:
            yield j, self.attempt[entries], self.x[entries].astype(np.float64, copy=False)


def _attempt_totals(questions: _Questions, maximum: NDArray[np.float64], s: int
                    ) -> tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.float64]]:
    """Return each attempt's number of questions, total mark and maximum, refusing repeats and too-high marks.

    The sums go question by question, as a weighted bincount over the grouped entries would add them.
    """
    k = np.zeros(s, dtype=np.int64)
    totals = np.zeros(s)
    # With one mark per question an attempt's maximum is its number of questions (sums of ones are exact).
    attempt_max = None if (maximum == 1).all() else np.zeros(s)
    for j, rows, marks in questions:
        _check_once(rows, j)
        if marks.max() > maximum[j] * (1 + _RELATIVE_ZERO):
            raise ValueError(f"a mark exceeds its question's max mark (question {j})")
        k[rows] += 1
        totals[rows] += marks
        if attempt_max is not None:
            attempt_max[rows] += maximum[j]
    return k, totals, k.astype(np.float64) if attempt_max is None else attempt_max


def _check_once(rows: NDArray[np.integer], question: int) -> None:
    """Refuse an attempt that has the question twice (rows come in input order: sorted when loaded by attempt)."""
    if rows.size > 1 and not (rows[1:] > rows[:-1]).all():
        ordered = np.sort(rows)
        repeats = ordered[1:][ordered[1:] == ordered[:-1]]
        if repeats.size:
            raise ValueError(f"attempt {repeats[0]} has question {question} more than once")


@dataclass
class _QuestionSums:
    """Per-question sums over the attempts that drew each question (zero, or nan for means, where none did)."""

    mean_x: NDArray[np.float64]
    mean_rest: NDArray[np.float64]
    #: Σ 1 / attempt max (intended weight).
    weight: NDArray[np.float64]
    #: Σ (x − x̄)², Σ (R − R̄)², Σ (x − x̄)(R − R̄).
    squares_x: NDArray[np.float64]
    squares_rest: NDArray[np.float64]
    product: NDArray[np.float64]
    #: Moodle's covmax numerator (nan below two attempts).
    largest: NDArray[np.float64]
    #: Σ k_i over the attempts (pairs removed with the question).
    draws: NDArray[np.float64]
    #: Marks and attempt counts in the upper and lower groups.
    upper: NDArray[np.float64]
    upper_n: NDArray[np.float64]
    lower: NDArray[np.float64]
    lower_n: NDArray[np.float64]
    #: Per attempt: Σ_j (x − x̄_j), the centred total.
    centred_total: NDArray[np.float64]


def _question_sums(questions: _Questions, k: NDArray[np.int64], totals: NDArray[np.float64],
                   attempt_max: NDArray[np.float64], maximum: NDArray[np.float64], in_upper: NDArray[np.bool_],
                   in_lower: NDArray[np.bool_]) -> _QuestionSums:
    """Return the per-question sums behind facility, SD, DI, DE, intended weight, D27 and alpha."""
    p, s = questions.n.shape[0], totals.shape[0]
    sums = _QuestionSums(
        mean_x=np.full(p, np.nan), mean_rest=np.full(p, np.nan), weight=np.zeros(p), squares_x=np.zeros(p),
        squares_rest=np.zeros(p), product=np.zeros(p), largest=np.full(p, np.nan), draws=np.zeros(p),
        upper=np.zeros(p), upper_n=np.zeros(p), lower=np.zeros(p), lower_n=np.zeros(p), centred_total=np.zeros(s),
    )
    inverse_max = 1 / attempt_max
    n = questions.n
    for j, rows, marks in questions:
        rest = totals[rows] - marks
        sums.mean_x[j] = _total(marks) / n[j]
        sums.mean_rest[j] = _total(rest) / n[j]
        sums.weight[j] = _total(inverse_max[rows])
        dx = marks - sums.mean_x[j]
        dr = rest - sums.mean_rest[j]
        sums.squares_x[j] = _total(dx * dx)
        sums.squares_rest[j] = _total(dr * dr)
        sums.product[j] = _total(dx * dr)
        if n[j] >= 2:
            sums.largest[j] = _largest_covariance(marks, rest, sums.mean_x[j], sums.mean_rest[j], maximum[j])
        sums.draws[j] = k[rows].sum()
        upper, lower = in_upper[rows], in_lower[rows]
        sums.upper[j], sums.upper_n[j] = _total(marks * upper), np.count_nonzero(upper)
        sums.lower[j], sums.lower_n[j] = _total(marks * lower), np.count_nonzero(lower)
        sums.centred_total[rows] += dx
    return sums


@dataclass(frozen=True)
class _Covariances:
    """Per-question variances, covariances and Moodle's DI and DE (nan where undefined)."""

    var_x: NDArray[np.float64]
    #: cov(x, X) = cov(x, R) + var(x); nan for n < 2.
    total: NDArray[np.float64]
    discrimination: NDArray[np.float64]
    efficiency: NDArray[np.float64]


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


def _covariances(sums: _QuestionSums, n: NDArray[np.int64], maximum: NDArray[np.float64], scale: float
                 ) -> _Covariances:
    """Return var(x), cov(x, X), DI and DE per question, with n − 1 denominators as Moodle."""
    with np.errstate(invalid="ignore", divide="ignore"):
        dof = np.where(n >= 2, n - 1, np.nan)
        var_x = sums.squares_x / dof
        var_rest = sums.squares_rest / dof
        cov_rest = sums.product / dof
        constant = (var_x <= (_RELATIVE_ZERO * maximum) ** 2) | (var_rest <= (_RELATIVE_ZERO * scale) ** 2)
        cov_rest[constant] = 0.0
        total = np.where(var_x <= (_RELATIVE_ZERO * maximum) ** 2, 0.0, cov_rest + var_x)
        covmax = sums.largest / dof
        discrimination = np.where(constant, np.nan, 100 * cov_rest / np.sqrt(var_x * var_rest))
        efficiency = np.where(covmax > (_RELATIVE_ZERO * scale) ** 2, 100 * cov_rest / covmax, np.nan)
    return _Covariances(var_x, total, discrimination, efficiency)


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


def _centred_cross_and_effective_weight(questions: _Questions, sums: _QuestionSums, cov_total: NDArray[np.float64],
                                        s: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Return Σ (x − x̄)·D_i per question (D_i the attempt's centred total; for alpha-if-deleted) and the effective
    weight: 100 · sqrt(cov_j) / S_i averaged over the question's attempts, S_i = Σ sqrt(cov_l ≥ 0) of attempt i.

    Attempts with S_i = 0 are left out; nan where cov(x, X) is undefined (n < 2) or negative, or no attempt of the
    question has S_i > 0 (Moodle: no effective weights when the sum is 0).
    """
    p = cov_total.shape[0]
    root = np.sqrt(np.where(cov_total > 0, cov_total, 0.0))
    cross = np.zeros(p)
    attempt_sum = np.zeros(s)
    for j, rows, marks in questions:
        cross[j] = _total((marks - sums.mean_x[j]) * sums.centred_total[rows])
        attempt_sum[rows] += root[j]
    positive = attempt_sum > 0
    inverse = np.divide(1.0, attempt_sum, out=np.zeros(s), where=positive)
    inverse_sums, positive_counts = np.zeros(p), np.zeros(p)
    for j, rows, _ in questions:
        inverse_sums[j] = _total(inverse[rows])
        positive_counts[j] = np.count_nonzero(positive[rows])
    with np.errstate(invalid="ignore", divide="ignore"):
        effective = 100 * root * inverse_sums / positive_counts
    return cross, np.where(cov_total >= 0, effective, np.nan)


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


def _option_counts(
    questions: _Questions,
    chosen: NDArray[np.integer],
    n_options: int | None,
    upper: NDArray[np.bool_],
    lower: NDArray[np.bool_],
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """Return answers per question and option (p × options) overall, in the upper and in the lower group."""
    largest = int(chosen.max()) if chosen.size else -1
    options = largest + 1 if n_options is None else n_options
    if chosen.size and (chosen.min() < -1 or largest >= options):
        raise ValueError(f"choices must be -1 (no answer) or an option index below {options}")
    # One count per question of (group, option) codes: group 0 = neither, 1 = upper, 2 = lower (disjoint).
    group = upper.astype(np.intp) + 2 * lower.astype(np.intp)
    by_group = np.zeros((questions.n.shape[0], 3, options), dtype=np.int64)
    for j, entries in questions.drawn:
        choice = chosen[entries]
        answered = choice >= 0
        codes = group[questions.attempt[entries][answered]] * options + choice[answered]
        by_group[j] = np.bincount(codes, minlength=3 * options).reshape(3, options)
    return by_group.sum(axis=1), by_group[:, 1], by_group[:, 2]


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


def _as_indices(values: ArrayLike, name: str, bound: int | None, *, length: int | None = None
                ) -> NDArray[np.integer]:
    """Return integer positions in their own integer dtype, checking they lie in [0, bound) (or are ≥ −1 when
    ``bound`` is None)."""
    array = np.asarray(values)
    check_length(array, name, length)
    if array.size and array.dtype.kind not in "iu":
        raise ValueError(f"{name} must hold integers, got {array.dtype}")
    if array.dtype.kind not in "iu":
        array = array.astype(np.intp)
    low = 0 if bound is not None else -1
    if array.size and (array.min() < low or (bound is not None and array.max() >= bound)):
        raise ValueError(f"{name} must lie in [{low}, {bound}), got values from {array.min()} to {array.max()}")
    return array
