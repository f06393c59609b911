"""Compute SIPAS-style satisfaction indices with n, 95% intervals and flags, and the 3-level dossier rating.

Sources: ``reference/sipas.md`` §2.2 (criterion index = share of answers 4–5 among valid answers × 100; element
index = mean of its criteria; overall = mean of elements; aggregation rule configurable because the QĐ 1001/QĐ-BNV
annex could not be read; mean score only as a diagnostic; flag small cells), §4.1 (the per-dossier rating Rất hài
lòng / Hài lòng / Không hài lòng is a different instrument: never mixed with SIPAS indices). Intervals: Wilson
(1927) for a share; linearisation (delta method, influence functions; Deville 1999, Survey Methodology 25:193) for
element and overall indices, checked against the respondent bootstrap (Efron & Tibshirani 1993) of
``scipy.stats.bootstrap``.

Input convention: ``scores`` is a (respondents, items) uint8 matrix, 0 = no answer, 1..scale_max = scale points.
Missing-value rule everywhere: an unanswered criterion is left out of that criterion's denominator only (no
imputation, no listwise deletion); a criterion without valid answers is left out of its element's mean, an element
without any is left out of the overall mean. Values are kept unrounded; publication rounds to 2 decimals.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, fields
from typing import ClassVar, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.stats import bootstrap

from app.stats._inputs import (
    Flagged,
    check_elements,
    check_groups,
    check_levels,
    check_min_n,
    check_scores,
    check_weights,
)
from app.stats.intervals import normal_interval, wilson_interval, z_value

#: Scale points counted as satisfied on the 5-point SIPAS scale (4 = Hài lòng, 5 = Rất hài lòng).
SATISFIED = frozenset({4, 5})
#: Cells with fewer respondents than this are flagged "small_sample" (sipas.md §2.2).
SMALL_SAMPLE_N = 30
#: Cells whose interval half-width exceeds this many points are flagged "wide_interval" (sipas.md §2.2).
WIDE_HALF_WIDTH = 10.0
#: Default minimum n below which a cell's value and interval are suppressed.
SUPPRESS_BELOW_N = 10
#: Levels of the per-dossier rating: 1 = Không hài lòng, 2 = Hài lòng, 3 = Rất hài lòng; 2 and 3 are satisfied.
DOSSIER_LEVELS = (1, 2, 3)
DOSSIER_SATISFIED = frozenset({2, 3})
#: Most criteria whose answer codes are encoded in one base-3 pattern (3^6 = 729 patterns per group).
PATTERN_ITEMS = 6

#: The rules of AggregationRule (an instrument's aggregation section names one of each).
ELEMENT_RULES = ("mean",)
OVERALL_RULES = ("mean_of_elements", "mean_of_criteria", "pooled")
UNIT_RULES = ("pooled", "mean_of_children")


@dataclass(frozen=True)
class AggregationRule:
    """How criterion shares combine into element, overall and parent-unit indices (sipas.md §2.2: configurable).

    ``element``: "mean" (element index = unweighted mean of its criterion indices; the only rule known).
    ``overall``: "mean_of_elements" (mean of element indices), "mean_of_criteria" (mean of all criterion indices
    of the elements) or "pooled" (satisfied answers / valid answers over all criteria of the elements).
    ``units``: "pooled" (a parent's indices are computed over all its respondents) or "mean_of_children" (a
    parent's index is the unweighted mean of its child units' indices, children without answers left out, at
    every level: criteria, elements, overall). Without groups the set is a single unit and this rule is moot.
    """

    element: str = "mean"
    overall: str = "mean_of_elements"
    units: str = "pooled"

    def __post_init__(self) -> None:
        """Reject unknown rule names."""
        if self.element not in ELEMENT_RULES:
            raise ValueError(f"element rule must be one of {ELEMENT_RULES}, got {self.element!r}")
        if self.overall not in OVERALL_RULES:
            raise ValueError(f"overall rule must be one of {OVERALL_RULES}, got {self.overall!r}")
        if self.units not in UNIT_RULES:
            raise ValueError(f"units rule must be one of {UNIT_RULES}, got {self.units!r}")


@dataclass(frozen=True, eq=False)
class IndexTable(Flagged):
    """Indices in points (0–100) with interval, standard error, n and flags; all fields share one shape.

    A suppressed cell (n < min_n) has nan value, se and bounds. ``table.flags(*index)`` names the raised flags.
    """

    FLAGS: ClassVar[tuple[str, ...]] = ("small_sample", "wide_interval", "suppressed")

    value: NDArray[np.float64]
    low: NDArray[np.float64]
    high: NDArray[np.float64]
    #: Standard error in points (binomial for a criterion, linearised for an element or overall index).
    se: NDArray[np.float64]
    #: Valid answers (criterion) or respondents with at least one valid answer (element, overall).
    n: NDArray[np.int64]
    #: n < SMALL_SAMPLE_N.
    small_sample: NDArray[np.bool_]
    #: (high − low) / 2 > WIDE_HALF_WIDTH points (never set on suppressed cells).
    wide_interval: NDArray[np.bool_]
    #: n < min_n: value, se and bounds are nan.
    suppressed: NDArray[np.bool_]


@dataclass(frozen=True, eq=False)
class MeanScore:
    """Mean scale point and its rescaling (mean − 1)/(scale_max − 1)·100: a diagnostic, never the headline."""

    mean: NDArray[np.float64]
    percent: NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class IndexSet:
    """Criterion (…, items), element (…, elements) and overall (…) indices of one unit or of each group."""

    criteria: IndexTable
    elements: IndexTable
    overall: IndexTable
    #: Answers in the satisfied set per criterion (unweighted counts, for chi-square comparisons).
    satisfied_count: NDArray[np.int64]
    criteria_mean: MeanScore
    elements_mean: MeanScore
    overall_mean: MeanScore


@dataclass(frozen=True, eq=False)
class SatisfactionIndices:
    """Indices of the whole set (``total``) and, when groups were given, of each group (``by_group``, axis 0)."""

    #: None when the groups alone were asked for (``total=False``).
    total: IndexSet | None
    by_group: IndexSet | None
    rule: AggregationRule
    weighted: bool


@dataclass(frozen=True, eq=False)
class BootstrapIndices:
    """Element and overall indices with respondent-bootstrap intervals (se = bootstrap standard error)."""

    elements: IndexTable
    overall: IndexTable
    n_resamples: int
    method: str


@dataclass(frozen=True, eq=False)
class RatingShares:
    """Per-dossier rating: counts and shares per level (…, 3) and the satisfaction rate (levels 2 + 3)."""

    #: Ratings per level 1, 2, 3 (last axis).
    counts: NDArray[np.int64]
    #: Share of each level among valid ratings, in percent, with Wilson intervals.
    levels: IndexTable
    #: Share of Hài lòng + Rất hài lòng among valid ratings, in percent, with a Wilson interval.
    satisfaction: IndexTable


@dataclass(frozen=True, eq=False)
class DossierRatings:
    """Dossier rating shares of the whole set and, when groups were given, of each group (axis 0)."""

    total: RatingShares
    by_group: RatingShares | None


class _Estimate(NamedTuple):
    """Unsuppressed estimates as fractions, before they become an IndexTable."""

    value: NDArray[np.float64]
    se: NDArray[np.float64]
    low: NDArray[np.float64]
    high: NDArray[np.float64]
    n: NDArray[np.int64]


class _Combined(NamedTuple):
    """Criterion ratios and their element and overall combinations, with the linear weights used."""

    criteria: NDArray[np.float64]
    elements: NDArray[np.float64]
    overall: NDArray[np.float64]
    element_weights: NDArray[np.float64]
    overall_weights: NDArray[np.float64] | None


class _Design(NamedTuple):
    """The instrument's structure: element columns and membership (elements, items), their union, satisfied levels."""

    columns: tuple[tuple[int, ...], ...]
    membership: NDArray[np.float64]
    union: NDArray[np.bool_]
    satisfied: NDArray[np.bool_]
    scale_max: int


class _RawSet(NamedTuple):
    """Unsuppressed estimates of one family (whole set or per group)."""

    criteria: _Estimate
    elements: _Estimate
    overall: _Estimate
    satisfied_count: NDArray[np.int64]
    means: _Combined


def satisfaction_indices(
    scores: NDArray[np.uint8],
    elements: Sequence[Sequence[int]],
    *,
    satisfied: Collection[int] = SATISFIED,
    scale_max: int = 5,
    groups: NDArray[np.intp] | None = None,
    n_groups: int | None = None,
    weights: ArrayLike | None = None,
    rule: AggregationRule = AggregationRule(),
    min_n: int = SUPPRESS_BELOW_N,
    confidence: float = 0.95,
    total: bool = True,
) -> SatisfactionIndices:
    """Return criterion, element and overall satisfaction indices with intervals, for the set and per group.

    Formulas (sipas.md §2.2; with weights w_r, all w_r = 1 when unweighted):
    criterion i: p_i = Σ_r w_r·s_ri / Σ_r w_r·a_ri, where a_ri = 1 if respondent r answered i and s_ri = 1 if
    the answer is in ``satisfied``; index = 100·p_i. Element e: mean of p_i over its criteria with answers.
    Overall: per ``rule.overall`` (mean of elements, mean of criteria, or pooled Σ s / Σ a over the elements'
    criteria). Parent total: per ``rule.units`` (respondents pooled, or mean of the groups' indices).
    Mean score (diagnostic): Σ w·x / Σ w·a per criterion, combined by the same rule; percent = (mean − 1)/(max − 1)·100.

    Intervals: criterion → Wilson (1927) with Kish's effective n = (Σ w a)² / Σ w² a (= n when unweighted).
    Element and overall → linearisation: the index is a weighted sum θ = Σ_i c_i·p_i of criterion shares, so its
    influence on respondent r is u_r = w_r·Σ_i c_i·a_ri·(s_ri − p_i) / Σ_r w_r a_ri (pooled rule: centre P and
    scale 1 / Σ_i Σ_r w_r a_ri), var θ = Σ_r u_r² (with-replacement, plug-in), interval θ ± z·√var clipped to
    0–100. For a single unweighted criterion this is p(1 − p)/n exactly. Under "mean_of_children" the groups are
    independent: var = Σ_g var_g / G², normal interval for criteria too.

    ``groups`` (respondent → 0..n_groups-1) gives ``by_group`` in one vectorised pass; groups without answers
    come out suppressed. Flags: "small_sample" (n < 30), "wide_interval" (half-width > 10 points),
    "suppressed" (n < ``min_n``: value, se and interval nan). Missing values: see the module docstring.
    ``total=False`` with groups leaves the whole set out (``total`` is None) when only the groups are wanted.
    Each column is read once; a Fortran-ordered matrix (``np.asfortranarray``) spares one transposing copy.
    """
    matrix = check_scores(scores, scale_max)
    n_rows, n_items = matrix.shape
    element_columns = check_elements(elements, n_items)
    labels, group_count = check_groups(groups, n_rows, n_groups)
    respondent_weights = check_weights(weights, n_rows)
    min_n = check_min_n(min_n)
    z_value(confidence)
    if not isinstance(rule, AggregationRule):
        raise ValueError(f"rule must be an AggregationRule, got {type(rule).__name__}")
    design = _design(element_columns, n_items, check_levels(satisfied, scale_max, "satisfied"), scale_max)

    encoding = _encode(np.asfortranarray(matrix).T, labels, group_count, respondent_weights, design)
    histograms = encoding.counts, encoding.weight_sums, encoding.squared_sums
    per_group = _family(histograms, design, rule.overall)
    pooled_total = total and labels is not None and rule.units == "pooled"
    total_family = _family(tuple(h.sum(axis=0) for h in histograms), design, rule.overall) if pooled_total else None
    variance, answered, total_variance = _influence_variances(
        encoding, labels, respondent_weights, design, per_group.tables,
        None if total_family is None else total_family.tables,
    )
    group_raw = _raw_set(per_group, encoding.counts, variance, answered, design, confidence)
    if labels is None:
        return SatisfactionIndices(
            total=_index_set(_squeeze(group_raw), min_n, scale_max), by_group=None, rule=rule,
            weighted=respondent_weights is not None,
        )
    if not total:
        total_raw = None
    elif total_family is not None:
        total_raw = _raw_set(
            total_family, encoding.counts.sum(axis=0), total_variance, answered.sum(axis=0), design, confidence
        )
    else:
        total_raw = _children_mean(group_raw, confidence)
    return SatisfactionIndices(
        total=None if total_raw is None else _index_set(total_raw, min_n, scale_max),
        by_group=_index_set(group_raw, min_n, scale_max),
        rule=rule,
        weighted=respondent_weights is not None,
    )


def bootstrap_indices(
    scores: NDArray[np.uint8],
    elements: Sequence[Sequence[int]],
    *,
    rng: np.random.Generator,
    satisfied: Collection[int] = SATISFIED,
    scale_max: int = 5,
    weights: ArrayLike | None = None,
    rule: AggregationRule = AggregationRule(),
    min_n: int = SUPPRESS_BELOW_N,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    method: str = "percentile",
) -> BootstrapIndices:
    """Return element and overall indices with respondent-bootstrap intervals (``scipy.stats.bootstrap``).

    Resamples respondents (rows, with their weights) with replacement and recomputes the indices with the same
    formulas as ``satisfaction_indices`` (``rule.overall`` applies; there are no groups). For small samples and
    for checking the linearised intervals; O(n_resamples × respondents × items), so not for a million rows.
    ``method`` is scipy's: "percentile", "basic" or "BCa" (Efron & Tibshirani 1993, An Introduction to the
    Bootstrap, ch. 13–14). Fewer than 2 respondents: nan intervals.
    Missing values: as in ``satisfaction_indices``; an element without answers in a resample makes that
    resample's element nan, and then its interval nan.
    """
    matrix = check_scores(scores, scale_max)
    n_rows, n_items = matrix.shape
    element_columns = check_elements(elements, n_items)
    respondent_weights = check_weights(weights, n_rows)
    min_n = check_min_n(min_n)
    z_value(confidence)
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be positive, got {n_resamples!r}")
    design = _design(element_columns, n_items, check_levels(satisfied, scale_max, "satisfied"), scale_max)
    satisfied_lookup = design.satisfied.astype(np.float64)

    def statistic(rows: NDArray[np.intp], axis: int = -1) -> NDArray[np.float64]:
        picked = matrix[np.moveaxis(rows, axis, -1)]
        share_numerator = satisfied_lookup[picked]
        answered = (picked != 0).astype(np.float64)
        if respondent_weights is not None:
            row_weights = respondent_weights[np.moveaxis(rows, axis, -1)][..., None]
            share_numerator, answered = share_numerator * row_weights, answered * row_weights
        combined = _combine(share_numerator.sum(axis=-2), answered.sum(axis=-2), design, rule.overall)
        return np.concatenate([np.moveaxis(combined.elements, -1, 0), combined.overall[None]])

    rows = np.arange(n_rows)
    point = statistic(rows)
    low, high, se = (np.full(point.shape, np.nan) for _ in range(3))
    if n_rows >= 2:
        batch = max(1, 1_000_000 // (n_rows * n_items))
        result = bootstrap(
            (rows,), statistic, n_resamples=n_resamples, batch=batch, confidence_level=confidence,
            method=method, rng=rng,
        )
        low, high = result.confidence_interval
        se = result.standard_error
    answered_any = np.array([(matrix[:, columns] != 0).any(axis=1).sum() for columns in _estimator_columns(design)])
    table = _table(_Estimate(point, se, low, high, answered_any), min_n)
    return BootstrapIndices(
        elements=_cells(table, slice(None, -1)), overall=_cells(table, -1), n_resamples=n_resamples, method=method
    )


def dossier_rating_shares(
    ratings: NDArray[np.uint8],
    *,
    groups: NDArray[np.intp] | None = None,
    n_groups: int | None = None,
    min_n: int = SUPPRESS_BELOW_N,
    confidence: float = 0.95,
) -> DossierRatings:
    """Return per-level shares and the satisfaction rate of the 3-level per-dossier rating, with Wilson intervals.

    Levels (sipas.md §4.1): 1 = Không hài lòng, 2 = Hài lòng, 3 = Rất hài lòng; 0 = no rating. Formulas: share of
    level k = count_k / n·100; satisfaction rate = (count_2 + count_3) / n·100, n = ratings 1..3; Wilson (1927)
    intervals. A separate instrument from SIPAS (sipas.md §4.2): never combine with ``satisfaction_indices``.
    Missing: unrated dossiers (0) are left out of n. Per-group totals are pooled over dossiers. Flags and
    suppression as in ``satisfaction_indices``.
    """
    values = check_scores(np.asarray(ratings).reshape(-1, 1) if np.ndim(ratings) == 1 else ratings, 3)
    if values.shape[1] != 1:
        raise ValueError(f"ratings must be one-dimensional (one rating per dossier), got shape {np.shape(ratings)}")
    labels, group_count = check_groups(groups, values.shape[0], n_groups)
    min_n = check_min_n(min_n)
    z_value(confidence)
    keys = values[:, 0].astype(np.intp) if labels is None else labels * 4 + values[:, 0]
    per_group = np.bincount(keys, minlength=group_count * 4).reshape(group_count, 4)[:, 1:]
    total = _rating_shares(per_group.sum(axis=0), min_n, confidence)
    by_group = None if labels is None else _rating_shares(per_group, min_n, confidence)
    return DossierRatings(total=total, by_group=by_group)


def _estimator_columns(design: _Design) -> tuple[tuple[int, ...], ...]:
    """Return the columns of each element, then the columns of the overall index (the union)."""
    return (*design.columns, tuple(int(column) for column in np.flatnonzero(design.union)))


def _design(
    element_columns: tuple[tuple[int, ...], ...], n_items: int, satisfied: NDArray[np.bool_], scale_max: int
) -> _Design:
    """Build the membership matrix (elements × items) and the union of the elements' criteria."""
    membership = np.zeros((len(element_columns), n_items))
    for position, columns in enumerate(element_columns):
        membership[position, list(columns)] = 1.0
    return _Design(element_columns, membership, membership.any(axis=0), satisfied, scale_max)


class _Encoding(NamedTuple):
    """Value histograms per (group, item, value) and one base-3 answer pattern per respondent and block."""

    counts: NDArray[np.int64]
    #: Σ w and Σ w² per (group, item, value); the counts as floats when unweighted.
    weight_sums: NDArray[np.float64]
    squared_sums: NDArray[np.float64]
    blocks: tuple[_Block, ...]
    patterns: list[NDArray[np.uint16]]
    #: Respondents and Σ w² per (group, pattern) of each block.
    respondents: list[NDArray[np.int64]]
    squared: list[NDArray[np.float64]]
    keys: _PatternKeys


def _encode(
    columns: NDArray[np.uint8],
    labels: NDArray[np.intp] | None,
    group_count: int,
    weights: NDArray[np.float64] | None,
    design: _Design,
) -> _Encoding:
    """Read every criterion once: value histograms and answer patterns from runs of a few criteria.

    A run of m criteria (V^m ≤ 256 for V = scale_max + 1 values, e.g. 3 criteria on the 5-point scale) is read as
    one uint8 "value pattern"; one ``np.bincount`` over (group, value pattern) gives the value histograms of all m
    criteria, and a lookup turns the value pattern into the run's answer codes. ``columns`` is item-major.
    """
    n_items, n_rows = columns.shape
    n_values = design.scale_max + 1
    run_length = 1
    while n_values ** (run_length + 1) <= 256:
        run_length += 1
    counts = np.zeros((group_count, n_items, n_values), dtype=np.int64)
    weight_sums, squared_sums = (None, None) if weights is None else (np.zeros(counts.shape), np.zeros(counts.shape))
    squared_weights = None if weights is None else weights * weights
    codes = _answer_codes(design)
    blocks = _blocks(design)
    covered = {item for block in blocks for item in block.items}
    loose = [item for item in range(n_items) if item not in covered]
    counted: set[int] = set()
    pattern_keys = _PatternKeys(labels)

    def read_run(run: tuple[int, ...]) -> NDArray[np.uint8]:
        """Return the run's value patterns and add the histograms of its criteria not counted yet."""
        patterns = columns[run[0]].copy()
        for item in run[1:]:
            patterns *= n_values
            patterns += columns[item]
        if counted.issuperset(run):
            return patterns
        size = n_values ** len(run)
        key = pattern_keys(patterns, size)
        shape = (group_count,) + (n_values,) * len(run)
        sums = [np.bincount(key, minlength=group_count * size).reshape(shape)]
        if weights is not None:
            sums += [np.bincount(key, w, group_count * size).reshape(shape) for w in (weights, squared_weights)]
        for position, item in enumerate(run):
            if item in counted:
                continue
            others = tuple(axis + 1 for axis in range(len(run)) if axis != position)
            for target, joint in zip((counts, weight_sums, squared_sums), sums):
                target[:, item] = joint.sum(axis=others)
            counted.add(item)
        return patterns

    patterns, respondents, squared = [], [], []
    for block in blocks:
        pattern = np.zeros(n_rows, dtype=np.uint16)
        for start in range(0, len(block.items), run_length):
            run = block.items[start : start + run_length]
            pattern *= 3 ** len(run)
            pattern += _run_codes(codes, len(run))[read_run(run)]
        size = 3 ** len(block.items)
        key = pattern_keys(pattern, size)
        patterns.append(pattern)
        respondents.append(np.bincount(key, minlength=group_count * size).reshape(group_count, size))
        squared.append(
            respondents[-1] if weights is None else
            np.bincount(key, squared_weights, group_count * size).reshape(group_count, size)
        )
    for start in range(0, len(loose), run_length):
        read_run(tuple(loose[start : start + run_length]))
    if weights is None:
        weight_sums = squared_sums = counts.astype(np.float64)
    return _Encoding(counts, weight_sums, squared_sums, blocks, patterns, respondents, squared, pattern_keys)


class _PatternKeys:
    """Each respondent's bincount or lookup key group·size + pattern (the pattern itself without groups).

    The offsets group·size are computed once per pattern size and reused by every run and block of that size.
    """

    def __init__(self, labels: NDArray[np.intp] | None) -> None:
        self.labels = labels
        self.offsets: dict[int, NDArray[np.intp]] = {}

    def __call__(self, pattern: NDArray, size: int) -> NDArray:
        if self.labels is None:
            return pattern
        offset = self.offsets.get(size)
        if offset is None:
            offset = self.offsets[size] = self.labels * size
        return offset + pattern


def _run_codes(codes: NDArray[np.uint8], length: int) -> NDArray[np.uint8]:
    """Map each value pattern of a run of ``length`` criteria to the base-3 number of their answer codes."""
    digits = np.indices((codes.size,) * length).reshape(length, -1)
    return (codes[digits] * (3 ** np.arange(length - 1, -1, -1))[:, None]).sum(axis=0).astype(np.uint8)


class _FamilyEstimates(NamedTuple):
    """Shares and means of one family with the influence tables of its element and overall estimators."""

    shares: _Combined
    means: _Combined
    criteria_variance: NDArray[np.float64]
    criteria_effective_n: NDArray[np.float64]
    tables: NDArray[np.float64]


def _family(histograms: tuple[NDArray, NDArray, NDArray], design: _Design, overall_rule: str) -> _FamilyEstimates:
    """Estimate shares and means from value histograms (…, items, values) and build the influence tables."""
    _, weight_sums, squared_sums = histograms
    satisfied = design.satisfied.astype(np.float64)
    answered = np.ones_like(satisfied)
    answered[0] = 0.0
    denominator = weight_sums @ answered
    numerator = weight_sums @ satisfied
    shares = _combine(numerator, denominator, design, overall_rule)
    means = _combine(weight_sums @ np.arange(design.scale_max + 1.0), denominator, design, overall_rule)
    share = np.nan_to_num(shares.criteria)
    squared_answered = squared_sums @ answered
    squared_satisfied = squared_sums @ satisfied
    with np.errstate(invalid="ignore", divide="ignore"):
        variance = ((1 - share) ** 2 * squared_satisfied + share**2 * (squared_answered - squared_satisfied)) / (
            denominator**2
        )
        effective_n = np.where(squared_answered > 0, denominator**2 / squared_answered, 0.0)
    return _FamilyEstimates(
        shares, means, variance, effective_n, _influence_tables(shares, denominator, design, overall_rule)
    )


def _combine(numerator: NDArray, denominator: NDArray, design: _Design, overall_rule: str) -> _Combined:
    """Combine criterion ratios numerator/denominator (…, items) into element (…, elements) and overall (…) values.

    Elements: mean of the defined criterion ratios (denominator > 0). Overall: mean of defined elements, mean of
    defined criteria of the union, or pooled Σ numerator / Σ denominator over the union.
    """
    defined = denominator > 0
    ratio = np.divide(numerator, denominator, out=np.zeros(np.shape(numerator)), where=defined)
    members = design.membership * defined[..., None, :]
    member_count = members.sum(axis=-1)
    element_weights = members / np.maximum(member_count, 1)[..., None]
    with np.errstate(invalid="ignore", divide="ignore"):
        element_values = np.where(member_count > 0, np.einsum("...ei,...i->...e", element_weights, ratio), np.nan)
        if overall_rule == "pooled":
            overall_weights = None
            overall_values = (numerator * design.union).sum(axis=-1) / (denominator * design.union).sum(axis=-1)
            overall_values = np.where(np.isfinite(overall_values), overall_values, np.nan)
        else:
            if overall_rule == "mean_of_elements":
                defined_elements = (member_count > 0).astype(np.float64)
                overall_weights = np.einsum("...e,...ei->...i", defined_elements, element_weights)
                overall_weights /= np.maximum(defined_elements.sum(axis=-1), 1)[..., None]
            else:
                in_union = defined & design.union
                overall_weights = in_union / np.maximum(in_union.sum(axis=-1), 1)[..., None]
            overall_values = np.where(
                overall_weights.sum(axis=-1) > 0, (overall_weights * ratio).sum(axis=-1), np.nan
            )
    return _Combined(np.where(defined, ratio, np.nan), element_values, overall_values, element_weights, overall_weights)


def _influence_tables(
    shares: _Combined, denominator: NDArray, design: _Design, overall_rule: str
) -> NDArray[np.float64]:
    """Return T (…, elements + 1, items, 3): respondent r's influence is w_r·Σ_i T[e, i, code_ri].

    Codes: 0 = no answer, 1 = answered, not satisfied, 2 = satisfied (``_answer_codes``).
    For θ = Σ_i c_i·p_i: T[e, i, code] = c_i / D_i·(sat − p_i)·answered, with D_i = Σ w a over criterion i.
    For the pooled overall θ = Σ N_i / Σ D_i: T[i, code] = [i in union] / Σ D·(sat − θ)·answered.
    """
    share = np.nan_to_num(shares.criteria)
    inverse = np.divide(1.0, denominator, out=np.zeros(np.shape(denominator)), where=denominator > 0)
    scales = shares.element_weights * inverse[..., None, :]
    centres = np.broadcast_to(share[..., None, :], scales.shape)
    if overall_rule == "pooled":
        pooled_denominator = (denominator * design.union).sum(axis=-1, keepdims=True)
        overall_scale = np.divide(
            design.union * 1.0, pooled_denominator, out=np.zeros(np.shape(share)), where=pooled_denominator > 0
        )
        overall_centre = np.broadcast_to(np.nan_to_num(shares.overall)[..., None], share.shape)
    else:
        overall_scale, overall_centre = shares.overall_weights * inverse, share
    scales = np.concatenate([scales, overall_scale[..., None, :]], axis=-2)
    centres = np.concatenate([centres, overall_centre[..., None, :]], axis=-2)
    satisfied, answered = np.array([0.0, 0.0, 1.0]), np.array([0.0, 1.0, 1.0])
    return scales[..., None] * (satisfied - centres[..., None]) * answered


def _answer_codes(design: _Design) -> NDArray[np.uint8]:
    """Map scale values 0..scale_max to codes 0 = no answer, 1 = not satisfied, 2 = satisfied."""
    codes = np.where(design.satisfied, 2, 1).astype(np.uint8)
    codes[0] = 0
    return codes


class _Block(NamedTuple):
    """Up to PATTERN_ITEMS criteria of one element whose answer codes form one base-3 pattern per respondent."""

    element: int
    items: tuple[int, ...]
    #: True where this block is the first to hold the criterion (the overall index counts each criterion once).
    owned: tuple[bool, ...]


def _blocks(design: _Design) -> tuple[_Block, ...]:
    """Split every element's criteria into blocks of at most PATTERN_ITEMS criteria."""
    blocks, seen = [], set()
    for element, columns in enumerate(design.columns):
        for start in range(0, len(columns), PATTERN_ITEMS):
            items = columns[start : start + PATTERN_ITEMS]
            blocks.append(_Block(element, items, tuple(item not in seen for item in items)))
            seen.update(items)
    return tuple(blocks)


def _pattern_tables(tables: NDArray[np.float64], block: _Block) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Sum the per-criterion influence tables over a block's patterns: (…, 3^k) for its element and the overall."""
    digits = np.indices((3,) * len(block.items)).reshape(len(block.items), -1)
    element_table = sum(tables[..., block.element, item, :][..., digit] for item, digit in zip(block.items, digits))
    overall_table = sum(
        (tables[..., -1, item, :][..., digit] for item, digit, owned in zip(block.items, digits, block.owned) if owned),
        np.zeros_like(element_table),
    )
    return element_table, overall_table


def _influence_variances(
    encoding: _Encoding,
    labels: NDArray[np.intp] | None,
    weights: NDArray[np.float64] | None,
    design: _Design,
    group_tables: NDArray[np.float64],
    total_tables: NDArray[np.float64] | None,
) -> tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.float64] | None]:
    """Sum squared influences per group (and over all respondents for ``total_tables``), vectorised.

    The answer codes of a block of criteria form one base-3 pattern per respondent, so a block's contribution to
    an influence is one table lookup: u_r = w_r·Σ_blocks table[group_r, pattern_r]. An element held in one block
    needs no lookup at all: var_g = Σ_pattern (Σ w² over its respondents)·table². Returns var (groups,
    elements + 1), n (groups, elements + 1) = respondents with at least one valid answer, and the totals' var.
    """
    blocks, patterns = encoding.blocks, encoding.patterns
    n_rows = patterns[0].size
    group_count = encoding.counts.shape[0]
    n_elements = len(design.columns)
    variance = np.zeros((group_count, n_elements + 1))
    answered = np.zeros((group_count, n_elements + 1), dtype=np.int64)
    total_variance = None if total_tables is None else np.zeros(n_elements + 1)
    lookups = [
        (_pattern_tables(group_tables, block), None if total_tables is None else _pattern_tables(total_tables, block))
        for block in blocks
    ]
    counts = list(zip(encoding.respondents, encoding.squared))

    def add_influences(estimator: int, chosen: list[int], which: int) -> None:
        """Accumulate squared influences of respondents block by block (several blocks per estimator)."""
        influence = np.zeros(n_rows)
        total_influence = None if total_tables is None else np.zeros(n_rows)
        any_answer = np.zeros(n_rows, dtype=bool)
        for b in chosen:
            group_lookup, total_lookup = lookups[b]
            table = group_lookup[which]
            influence += table.ravel()[encoding.keys(patterns[b], table.shape[-1])]
            if total_influence is not None:
                total_influence += total_lookup[which][patterns[b]]
            any_answer |= patterns[b] != 0
        if weights is not None:
            influence *= weights
            if total_influence is not None:
                total_influence *= weights
        if labels is None:
            variance[0, estimator] = influence @ influence
            answered[0, estimator] = np.count_nonzero(any_answer)
        else:
            variance[:, estimator] = np.bincount(labels, influence * influence, minlength=group_count)
            answered[:, estimator] = np.bincount(labels[any_answer], minlength=group_count)
        if total_influence is not None:
            total_variance[estimator] = total_influence @ total_influence

    for element in range(n_elements):
        chosen = [b for b, block in enumerate(blocks) if block.element == element]
        if len(chosen) > 1:
            add_influences(element, chosen, 0)
            continue
        (group_lookup, total_lookup), (respondents, squared) = lookups[chosen[0]], counts[chosen[0]]
        variance[:, element] = (squared * group_lookup[0] ** 2).sum(axis=-1)
        answered[:, element] = respondents[:, 1:].sum(axis=-1)
        if total_lookup is not None:
            total_variance[element] = (squared.sum(axis=0) * total_lookup[0] ** 2).sum()
    add_influences(n_elements, list(range(len(blocks))), 1)
    return variance, answered, total_variance


def _raw_set(
    family: _FamilyEstimates,
    counts: NDArray[np.int64],
    variance: NDArray[np.float64],
    answered: NDArray[np.int64],
    design: _Design,
    confidence: float,
) -> _RawSet:
    """Assemble unsuppressed criterion (Wilson), element and overall (linearised) estimates of one family."""
    shares = family.shares
    defined = np.isfinite(shares.criteria)
    effective_n = np.where(defined, family.criteria_effective_n, 0.0)
    wilson = wilson_interval(np.where(defined, shares.criteria, 0.0) * effective_n, effective_n, confidence)
    criteria = _Estimate(
        shares.criteria, np.sqrt(family.criteria_variance), wilson.low, wilson.high, counts[..., 1:].sum(axis=-1)
    )
    se = np.sqrt(variance)
    estimates = [
        _Estimate(value, error, *normal_interval(value, error, confidence, (0.0, 1.0)), n)
        for value, error, n in (
            (shares.elements, se[..., :-1], answered[..., :-1]),
            (shares.overall, se[..., -1], answered[..., -1]),
        )
    ]
    return _RawSet(criteria, *estimates, (counts * design.satisfied).sum(axis=-1), family.means)


def _children_mean(groups: _RawSet, confidence: float) -> _RawSet:
    """Combine group estimates as the unweighted mean of the groups with a value; var = Σ var_g / G_defined²."""

    def plain_mean(values: NDArray[np.float64]) -> NDArray[np.float64]:
        defined = np.isfinite(values)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(defined, values, 0.0).sum(axis=0) / defined.sum(axis=0)

    def mean_of(estimate: _Estimate) -> _Estimate:
        defined = np.isfinite(estimate.value)
        with np.errstate(invalid="ignore", divide="ignore"):
            se = np.sqrt(np.where(defined, estimate.se**2, 0.0).sum(axis=0)) / defined.sum(axis=0)
        value = plain_mean(estimate.value)
        return _Estimate(value, se, *normal_interval(value, se, confidence, (0.0, 1.0)), estimate.n.sum(axis=0))

    means = groups.means
    return _RawSet(
        mean_of(groups.criteria),
        mean_of(groups.elements),
        mean_of(groups.overall),
        groups.satisfied_count.sum(axis=0),
        means._replace(
            criteria=plain_mean(means.criteria),
            elements=plain_mean(means.elements),
            overall=plain_mean(means.overall),
        ),
    )


def _squeeze(raw: _RawSet) -> _RawSet:
    """Drop the single-group axis of a family computed without groups."""
    return _RawSet(
        *(_Estimate(*(part[0] for part in estimate)) for estimate in raw[:3]),
        raw.satisfied_count[0],
        raw.means._replace(
            criteria=raw.means.criteria[0], elements=raw.means.elements[0], overall=raw.means.overall[0]
        ),
    )


def _index_set(raw: _RawSet, min_n: int, scale_max: int) -> IndexSet:
    """Suppress, convert to points and flag the estimates of one family."""
    tables = [_table(estimate, min_n) for estimate in raw[:3]]
    mean_scores = [
        _mean_score(np.where(table.suppressed, np.nan, mean), scale_max)
        for table, mean in zip(tables, (raw.means.criteria, raw.means.elements, raw.means.overall))
    ]
    return IndexSet(*tables, raw.satisfied_count, *mean_scores)


def _table(estimate: _Estimate, min_n: int) -> IndexTable:
    """Convert fractions to points, suppress cells with n < min_n and set the flags."""
    n = np.asarray(estimate.n, dtype=np.int64)
    suppressed = n < min_n

    def points(values: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.where(suppressed, np.nan, np.asarray(values, dtype=np.float64) * 100.0)

    low, high = points(estimate.low), points(estimate.high)
    with np.errstate(invalid="ignore"):
        wide = (high - low) / 2 > WIDE_HALF_WIDTH
    return IndexTable(
        value=points(estimate.value), low=low, high=high, se=points(estimate.se), n=n,
        small_sample=n < SMALL_SAMPLE_N, wide_interval=wide & ~suppressed, suppressed=suppressed,
    )


def _cells(table: IndexTable, where: slice | int) -> IndexTable:
    """Return the cells of ``table`` selected by ``where`` along its last axis."""
    return IndexTable(*(np.asarray(getattr(table, field.name))[..., where] for field in fields(IndexTable)))


def _mean_score(mean: NDArray[np.float64], scale_max: int) -> MeanScore:
    """Pair a mean scale point with its 0–100 rescaling (mean − 1)/(scale_max − 1)·100."""
    return MeanScore(mean=mean, percent=(mean - 1.0) / (scale_max - 1.0) * 100.0)


def _rating_shares(counts: NDArray[np.int64], min_n: int, confidence: float) -> RatingShares:
    """Build level shares and the satisfaction rate from rating counts (…, 3)."""
    n = counts.sum(axis=-1)
    satisfied = counts[..., [DOSSIER_LEVELS.index(level) for level in sorted(DOSSIER_SATISFIED)]].sum(axis=-1)
    tables = []
    for successes, trials in ((counts, n[..., None]), (satisfied, n)):
        wilson = wilson_interval(successes, trials, confidence)
        with np.errstate(invalid="ignore"):
            se = np.sqrt(wilson.share * (1 - wilson.share) / trials)
        trials = np.broadcast_to(trials, np.shape(successes))
        tables.append(_table(_Estimate(wilson.share, se, wilson.low, wilson.high, trials), min_n))
    return RatingShares(counts, *tables)

