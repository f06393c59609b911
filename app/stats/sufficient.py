"""Sufficient statistics of SIPAS responses: fixed-size, additive moments from which every published figure follows.

Why: a report over a unit subtree and a period must not cost more as responses grow (DESIGN.md, Data rules). Each
figure of ``app.stats.satisfaction``, ``app.stats.reliability`` and ``app.stats.compare`` (Kruskal–Wallis) is a
function of sums over respondents whose size does not depend on the number of respondents, and sums add up over
units, days and service fields. ``SipasMoments`` holds those sums per cell (axis 0: a unit × period, a stratum, …);
``indices_from_moments``, ``alpha_from_moments`` and ``kruskal_from_moments`` compute from them exactly the figures
the raw-data functions compute from the response matrix (shares and means bit for bit, linearised standard errors
up to floating-point rounding, ~1e-15 relative).

Per cell, with a_ri = 1 if respondent r answered criterion i, s_ri = 1 if the answer is in the satisfied set, x_ri
the scale point (0 = no answer):

* value counts C[i, v] = #{r: x_ri = v} (v = 0..scale_max): criterion shares, Wilson intervals, mean scores,
  satisfied counts, the dossier rating;
* cross products SS_ij = Σ_r s_ri·s_rj, SA_ij = Σ_r s_ri·a_rj, AA_ij = Σ_r a_ri·a_rj: the linearised variance.
  ``satisfaction_indices`` gives respondent r the influence u_r = w_r·Σ_i (α_i·a_ri + β_i·s_ri) on an element or
  overall index (α_i = T[i, 1], β_i = T[i, 2] − T[i, 1] of its influence table, Deville 1999), so
  var = Σ_r u_r² = Σ_cells w_c²·(αᵀ·AA·α + 2·βᵀ·SA·α + βᵀ·SS·β) when the weight w_c is constant within a cell
  (post-stratification by unit × service field);
* respondents with at least one valid answer among each element's criteria, and among all of them: the n of
  element and overall indices;
* per element, over the respondents who answered all of its criteria (listwise deletion within the element, as
  ``cronbach_alpha``): n, Σx_j, Σx_j², Σx_j·T, ΣT, ΣT² (Cronbach 1951);
* a histogram H[m, t] of respondents who answered m criteria of the union of the elements with total t: their mean
  score t/m is what ``respondent_mean_scores`` gives, so the Kruskal–Wallis test (Kruskal & Wallis 1952) follows
  from the per-group histograms (equal fractions are equal floats: IEEE division is correctly rounded).

Missing-value rule: the one of the raw-data functions, applied when the moments are built (unanswered criteria are
left out of their own denominators; alpha uses complete respondents of the element; respondents without any answer
in the union have no mean score). Moments of disjoint sets of respondents add up (``SipasMoments.__add__``,
``regroup``); subtracting a respondent's moments removes them exactly (integers).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.sparse import csr_matrix
from scipy.stats import chi2

from app.stats._inputs import check_elements, check_groups, check_levels, check_min_n, check_scores
from app.stats.compare import ScoreComparison
from app.stats.intervals import z_value
from app.stats.reliability import Reliability, _alpha_table
from app.stats.satisfaction import (
    SATISFIED,
    SUPPRESS_BELOW_N,
    AggregationRule,
    DossierRatings,
    SatisfactionIndices,
    _children_mean,
    _design,
    _family,
    _index_set,
    _rating_shares,
    _raw_set,
    _squeeze,
)


_DENSE = ("counts", "ss", "sa", "aa", "answered", "alpha")


@dataclass(frozen=True, eq=False)
class SipasMoments:
    """Additive sufficient statistics per cell (axis 0) of one instrument version (k items, E elements).

    The dense fields are integer arrays whose first axis is the cell. ``alpha`` is (cells, Σ_e (3 + 3·k_e)) packed
    element after element: n, ΣT, ΣT², then Σx_j, Σx_j², Σx_j·T for the element's k_e criteria. The histogram of
    (criteria answered m, total t) over the union is sparse: entries (cell, m·(scale_max·|union| + 1) + t, count),
    a cell's key possibly repeated (repeats add up).
    """

    #: (cells, k, scale_max + 1) value counts, 0 = no answer.
    counts: NDArray[np.integer]
    #: Σ s_i s_j and Σ a_i a_j as packed upper triangles (cells, k(k + 1)/2, ``np.triu_indices`` order); Σ s_i a_j
    #: (cells, k, k).
    ss: NDArray[np.integer]
    sa: NDArray[np.integer]
    aa: NDArray[np.integer]
    #: (cells, E + 1) respondents with a valid answer in each element, then in the union of the elements.
    answered: NDArray[np.integer]
    #: (cells, Σ_e (3 + 3·k_e)) complete-respondent moments of each element (see the class docstring).
    alpha: NDArray[np.integer]
    #: The sparse (m, t) histogram: cell index, flat key and count of each entry.
    means_cell: NDArray[np.int64]
    means_key: NDArray[np.int64]
    means_count: NDArray[np.int64]
    #: (|union| + 1, scale_max·|union| + 1): the shape behind the flat keys.
    means_shape: tuple[int, int]

    def __len__(self) -> int:
        return self.counts.shape[0]

    def dense_parts(self) -> list[NDArray[np.integer]]:
        """The dense fields, in order (counts, ss, sa, aa, answered, alpha)."""
        return [getattr(self, name) for name in _DENSE]

    def replace_parts(self, dense: list[NDArray], cell: NDArray, key: NDArray, count: NDArray) -> SipasMoments:
        """Return moments of the same histogram shape with these dense fields and histogram entries."""
        return SipasMoments(*dense, cell, key, count, self.means_shape)

    def __add__(self, other: SipasMoments) -> SipasMoments:
        return self.replace_parts([a.astype(np.int64) + b for a, b in zip(self.dense_parts(), other.dense_parts())],
                          np.concatenate([self.means_cell, other.means_cell]),
                          np.concatenate([self.means_key, other.means_key]),
                          np.concatenate([self.means_count, other.means_count]))

    def __neg__(self) -> SipasMoments:
        return self.replace_parts([-part.astype(np.int64) for part in self.dense_parts()], self.means_cell, self.means_key,
                          -self.means_count)

    def __sub__(self, other: SipasMoments) -> SipasMoments:
        return self + (-other)

    def regroup(self, labels: ArrayLike, n_groups: int) -> SipasMoments:
        """Return the moments summed per group: cell c goes to group ``labels[c]`` (-1 = left out)."""
        labels = np.asarray(labels, dtype=np.intp)
        if labels.shape != (len(self),):
            raise ValueError(f"labels must give one group per cell ({len(self)}), got shape {labels.shape}")
        kept = np.flatnonzero(labels >= 0)
        indicators = {}
        dense = []
        for part in self.dense_parts():
            # int32 parts (cell counts, each sum at most the responses) are summed as int32, others as int64.
            kind = np.int32 if part.dtype == np.int32 else np.int64
            if kind not in indicators:
                indicators[kind] = _indicator(labels[kept], kept, n_groups, len(self), kind)
            dense.append(_summed(indicators[kind], part))
        cell = labels[self.means_cell] if self.means_cell.size else self.means_cell
        chosen = cell >= 0
        return self.replace_parts(dense, cell[chosen].astype(np.int64), self.means_key[chosen],
                                  self.means_count[chosen])

    def total(self) -> SipasMoments:
        """Return the moments of every cell together (one cell)."""
        return self.regroup(np.zeros(len(self), dtype=np.intp), 1)

    def take(self, cells: ArrayLike) -> SipasMoments:
        """Return the moments of the chosen cells (distinct indices, or a boolean mask), in that order."""
        chosen = np.asarray(cells)
        index = np.flatnonzero(chosen) if chosen.dtype == bool else chosen.astype(np.intp)
        position = np.full(len(self), -1, dtype=np.int64)
        position[index] = np.arange(index.size)
        cell = position[self.means_cell] if self.means_cell.size else self.means_cell
        kept = cell >= 0
        if index.size and index[-1] - index[0] + 1 == index.size and (np.diff(index) == 1).all():
            window = slice(int(index[0]), int(index[-1]) + 1)  # a run of cells: views, no copies
            parts = [part[window] for part in self.dense_parts()]
        else:
            parts = [part[index] for part in self.dense_parts()]
        return self.replace_parts(parts, cell[kept], self.means_key[kept], self.means_count[kept])

    def means_histogram(self) -> NDArray[np.int64]:
        """Return the (m, t) histogram of each cell as a dense (cells, |union| + 1, scale_max·|union| + 1) array."""
        size = self.means_shape[0] * self.means_shape[1]
        flat = np.bincount(self.means_cell * size + self.means_key, weights=self.means_count,
                           minlength=len(self) * size) if self.means_cell.size else np.zeros(len(self) * size)
        return np.rint(flat).astype(np.int64).reshape(len(self), *self.means_shape)

    @property
    def respondents(self) -> NDArray[np.int64]:
        """Respondents per cell (every respondent has one value, possibly 0, for the first criterion)."""
        return self.counts[:, 0, :].sum(axis=-1)

    def to_vector(self) -> NDArray[np.int64]:
        """Return the moments flattened to (cells, size): one fixed-width row per cell (the histogram dense)."""
        cells = len(self)
        return np.concatenate([part.reshape(cells, -1).astype(np.int64) for part in self.dense_parts()]
                              + [self.means_histogram().reshape(cells, -1)], axis=1)


@dataclass(frozen=True)
class MomentLayout:
    """The shapes (per cell) of the moments of an instrument with these elements and scale."""

    n_items: int
    elements: tuple[tuple[int, ...], ...]
    scale_max: int

    @property
    def union(self) -> tuple[int, ...]:
        return tuple(sorted({item for element in self.elements for item in element}))

    @property
    def shapes(self) -> tuple[tuple[int, ...], ...]:
        k, values, union = self.n_items, self.scale_max + 1, len(self.union)
        alpha = sum(3 + 3 * len(element) for element in self.elements)
        triangle = k * (k + 1) // 2
        return ((k, values), (triangle,), (k, k), (triangle,), (len(self.elements) + 1,), (alpha,),
                (union + 1, self.scale_max * union + 1))

    @property
    def size(self) -> int:
        return int(sum(np.prod(shape) for shape in self.shapes))


def sipas_moments(
    scores: NDArray[np.uint8],
    elements: Sequence[Sequence[int]],
    *,
    satisfied: Collection[int] = SATISFIED,
    scale_max: int = 5,
    groups: NDArray[np.intp] | None = None,
    n_groups: int | None = None,
) -> SipasMoments:
    """Return the sufficient statistics of each group of respondents (one cell when ``groups`` is None).

    ``scores`` is (respondents, items), 0 = no answer; ``groups`` maps respondents to 0..n_groups-1. Formulas and
    missing-value rule: see the module docstring.
    """
    matrix = check_scores(scores, scale_max)
    n_rows, n_items = matrix.shape
    element_columns = check_elements(elements, n_items)
    labels, group_count = check_groups(groups, n_rows, n_groups)
    levels = check_levels(satisfied, scale_max, "satisfied")
    if labels is None:
        labels = np.zeros(n_rows, dtype=np.intp)
    layout = MomentLayout(n_items, element_columns, scale_max)
    values = scale_max + 1
    union = np.array(layout.union, dtype=np.intp)
    counts = np.bincount(
        ((labels[:, None] * n_items + np.arange(n_items)) * values + matrix).ravel(), minlength=group_count * n_items * values
    ).reshape(group_count, n_items, values).astype(np.int64)
    ss, sa, aa = (np.zeros((group_count, n_items, n_items), dtype=np.int64) for _ in range(3))
    answered = np.zeros((group_count, len(element_columns) + 1), dtype=np.int64)
    alpha = np.zeros((group_count, layout.shapes[5][0]), dtype=np.int64)
    hist_size = int(np.prod(layout.shapes[6]))
    hist_keys = []
    satisfied_of = levels.astype(np.float32)
    # Respondents in group order: each chunk then touches only its own few groups.
    order = np.argsort(labels, kind="stable")
    for begin in range(0, n_rows, _CHUNK):
        rows = order[begin : begin + _CHUNK]
        part, chunk_labels = matrix[rows], labels[rows]
        present, local = np.unique(chunk_labels, return_inverse=True)
        local = local.reshape(-1)
        # Σ over each group's respondents as one sparse (groups × respondents) product: exact in float64.
        # float32 holds every integer up to 2^24, far above a chunk's sums.
        indicator = csr_matrix((np.ones(local.size, dtype=np.float32), (local, np.arange(local.size))),
                               shape=(present.size, local.size))

        def summed(values: NDArray) -> NDArray[np.int64]:
            if values.dtype == np.int64:  # alpha moments (T² sums may pass 2^24): exact in float64
                return np.rint(indicator.astype(np.float64) @ values.astype(np.float64)).astype(np.int64)
            values = values if values.dtype == np.float32 else values.astype(np.float32)
            return np.rint(indicator @ values).astype(np.int64)

        valid = (part != 0).astype(np.float32)
        happy = satisfied_of[part]
        for target, left, right in ((ss, happy, happy), (sa, happy, valid), (aa, valid, valid)):
            products = (left[:, :, None] * right[:, None, :]).reshape(local.size, -1)
            target[present] += summed(products).reshape(-1, n_items, n_items)
        flags = [valid[:, list(columns)].any(axis=1) for columns in element_columns]
        flags.append(valid[:, union].any(axis=1))
        answered[present] += summed(np.stack(flags, axis=1))
        alpha[present] += summed(_alpha_terms(part, element_columns))
        taken = (part[:, union] != 0).sum(axis=1, dtype=np.intp)
        totals = part[:, union].sum(axis=1, dtype=np.intp)
        hist_keys.append(chunk_labels.astype(np.int64) * hist_size + taken * layout.shapes[6][1] + totals)
    keys, key_counts = np.unique(np.concatenate(hist_keys) if hist_keys else np.zeros(0, dtype=np.int64),
                                 return_counts=True)
    upper = np.triu_indices(n_items)
    return SipasMoments(counts, ss[:, upper[0], upper[1]], sa, aa[:, upper[0], upper[1]], answered, alpha,
                        keys // hist_size, keys % hist_size,
                        key_counts.astype(np.int64), layout.shapes[6])


#: Respondents whose per-pair products are formed at once (bounds memory: rows × items² bytes).
_CHUNK = 20_000


def _alpha_terms(part: NDArray[np.uint8], element_columns: tuple[tuple[int, ...], ...]) -> NDArray[np.int64]:
    """Per respondent, the terms of each element's alpha moments (zero unless the element is complete)."""
    pieces = []
    for columns in element_columns:
        answers = part[:, list(columns)].astype(np.int64)
        complete = (answers != 0).all(axis=1)
        answers[~complete] = 0
        totals = answers.sum(axis=1)
        pieces += [complete[:, None].astype(np.int64), totals[:, None], (totals**2)[:, None], answers, answers**2,
                   answers * totals[:, None]]
    return np.concatenate(pieces, axis=1)


def indices_from_moments(
    moments: SipasMoments,
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
    """Return what ``satisfaction_indices`` returns for the respondents behind ``moments``.

    ``groups`` maps each cell to a group (as ``satisfaction_indices`` maps respondents); ``weights`` gives one
    weight per cell (every respondent of a cell has it, as post-stratification weights by unit × service field
    do). Formulas: ``satisfaction_indices``; the variance as a quadratic form in the cross products (module
    docstring). Missing values: as ``satisfaction_indices``.
    """
    n_items = moments.counts.shape[1]
    element_columns = check_elements(elements, n_items)
    labels, group_count = check_groups(groups, len(moments), n_groups)
    min_n = check_min_n(min_n)
    z_value(confidence)
    if not isinstance(rule, AggregationRule):
        raise ValueError(f"rule must be an AggregationRule, got {type(rule).__name__}")
    design = _design(element_columns, n_items, check_levels(satisfied, scale_max, "satisfied"), scale_max)
    cell_labels = np.zeros(len(moments), dtype=np.intp) if labels is None else labels
    weight = None if weights is None else np.asarray(weights, dtype=np.float64)
    if weight is not None and weight.shape != (len(moments),):
        raise ValueError(f"weights must give one weight per cell ({len(moments)}), got shape {weight.shape}")
    grouped = moments.regroup(cell_labels, group_count)
    if weight is None:
        histograms = (grouped.counts, grouped.counts.astype(np.float64), grouped.counts.astype(np.float64))
        products = tuple(getattr(grouped, name).astype(np.float64) for name in ("ss", "sa", "aa"))
        products = (_symmetric(products[0], n_items), products[1], _symmetric(products[2], n_items))
    else:
        histograms = (grouped.counts, _weighted(moments.counts, weight, cell_labels, group_count),
                      _weighted(moments.counts, weight**2, cell_labels, group_count))
        products = tuple(_weighted(getattr(moments, name), weight**2, cell_labels, group_count)
                         for name in ("ss", "sa", "aa"))
        products = (_symmetric(products[0], n_items), products[1], _symmetric(products[2], n_items))
    per_group = _family(histograms, design, rule.overall)
    variance = _quadratic(per_group.tables, products)
    answered = grouped.answered
    group_raw = _raw_set(per_group, grouped.counts, variance, answered, design, confidence)
    if labels is None:
        return SatisfactionIndices(total=_index_set(_squeeze(group_raw), min_n, scale_max), by_group=None,
                                   rule=rule, weighted=weight is not None)
    if not total:
        total_raw = None
    elif rule.units == "pooled":
        family = _family(tuple(h.sum(axis=0) for h in histograms), design, rule.overall)
        total_variance = _quadratic(family.tables[None], tuple(p.sum(axis=0, keepdims=True) for p in products))[0]
        total_raw = _raw_set(family, grouped.counts.sum(axis=0), total_variance, answered.sum(axis=0), design,
                             confidence)
    else:
        total_raw = _children_mean(group_raw, confidence)
    return SatisfactionIndices(
        total=None if total_raw is None else _index_set(total_raw, min_n, scale_max),
        by_group=_index_set(group_raw, min_n, scale_max), rule=rule, weighted=weight is not None,
    )


def _weighted(values: NDArray[np.int64], weight: NDArray[np.float64], labels: NDArray[np.intp],
              group_count: int) -> NDArray[np.float64]:
    """Σ over the cells of each group of weight × values."""
    if not labels.size:
        return np.zeros((group_count, *values.shape[1:]))
    indicator = csr_matrix((weight, (labels, np.arange(labels.size))), shape=(group_count, labels.size))
    width = int(np.prod(values.shape[1:]))
    return np.asarray(indicator @ values.reshape(labels.size, width).astype(np.float64)).reshape(
        group_count, *values.shape[1:])


def _indicator(labels: NDArray[np.intp], cells: NDArray[np.intp], n_groups: int, n_cells: int,
               kind: type = np.int64) -> csr_matrix:
    """The (groups × cells) 0/1 matrix putting each chosen cell in its group."""
    return csr_matrix((np.ones(cells.size, dtype=kind), (labels, cells)), shape=(n_groups, n_cells))


def _summed(indicator: csr_matrix, part: NDArray[np.integer]) -> NDArray[np.int64]:
    """Σ of the cells of each group (an exact integer sparse product)."""
    width = int(np.prod(part.shape[1:]))
    if not part.shape[0]:
        return np.zeros((indicator.shape[0], *part.shape[1:]), dtype=np.int64)
    return np.asarray(indicator @ part.reshape(part.shape[0], width), dtype=np.int64).reshape(
        indicator.shape[0], *part.shape[1:])


def _symmetric(packed: NDArray, n_items: int) -> NDArray:
    """Unpack upper triangles (groups, k(k + 1)/2) into symmetric (groups, k, k) matrices."""
    upper = np.triu_indices(n_items)
    position = np.zeros((n_items, n_items), dtype=np.intp)
    position[upper] = np.arange(upper[0].size)
    position[upper[1], upper[0]] = np.arange(upper[0].size)
    return packed[:, position]


def _quadratic(tables: NDArray[np.float64], products: tuple[NDArray, NDArray, NDArray]) -> NDArray[np.float64]:
    """Σ_r u_r² per group and estimator from influence tables (groups, estimators, items, 3) and cross products."""
    ss, sa, aa = products
    base = tables[..., 1]  # α_i: answered, not satisfied
    step = tables[..., 2] - tables[..., 1]  # β_i: what satisfied adds
    return (np.einsum("gei,gij,gej->ge", base, aa, base) + 2 * np.einsum("gei,gij,gej->ge", step, sa, base)
            + np.einsum("gei,gij,gej->ge", step, ss, step))


def alpha_from_moments(moments: SipasMoments, elements: Sequence[Sequence[int]], *,
                       by_cell: bool = False) -> Reliability:
    """Return ``cronbach_alpha`` of the respondents behind ``moments`` (total over every cell; by_group per cell
    when ``by_cell``, else None).

    Formula and missing-value rule: ``app.stats.reliability`` (Cronbach 1951; listwise deletion within the element).
    """
    element_columns = check_elements(elements, moments.counts.shape[1])
    parts, start = [], 0
    for columns in element_columns:
        k = len(columns)
        block = moments.alpha[:, start : start + 3 + 3 * k]
        start += 3 + 3 * k
        parts.append((block[:, 0], block[:, 3 : 3 + k], block[:, 3 + k : 3 + 2 * k], block[:, 3 + 2 * k :],
                      block[:, 1], block[:, 2]))
    total = _alpha_table([tuple(part.sum(axis=0, dtype=np.int64) for part in element) for element in parts],
                         element_columns)
    return Reliability(total=total, by_group=_alpha_table(parts, element_columns) if by_cell else None)


def kruskal_from_moments(moments: SipasMoments, groups: NDArray[np.intp] | None = None,
                         n_groups: int | None = None) -> ScoreComparison:
    """Return ``score_comparison(respondent_mean_scores(scores, union), groups, pairwise=False)`` from moments.

    ``groups`` maps cells to groups (default: each cell its own group). A respondent's mean score over the union of
    the elements is t/m (m criteria answered, total t); respondents with m = 0 have none and are left out.
    Formula: Kruskal & Wallis (1952), see ``app.stats.compare.score_comparison``.
    """
    if groups is None:
        labels, group_count = np.arange(len(moments), dtype=np.intp), len(moments)
    else:
        labels, group_count = check_groups(groups, len(moments), n_groups)
    size = moments.means_shape[0] * moments.means_shape[1]
    group = labels[moments.means_cell] if moments.means_cell.size else moments.means_cell
    kept = group >= 0
    flat = np.bincount(group[kept] * size + moments.means_key[kept], weights=moments.means_count[kept],
                       minlength=group_count * size)
    histogram = np.rint(flat).astype(np.int64).reshape(group_count, *moments.means_shape)[:, 1:, :]  # m ≥ 1
    taken = np.arange(1, histogram.shape[1] + 1, dtype=np.float64)[:, None]
    totals = np.arange(histogram.shape[2], dtype=np.float64)[None, :]
    present = histogram.sum(axis=0) > 0
    scores = (totals / taken)[present]
    distinct, position = np.unique(scores, return_inverse=True)
    counts = np.zeros((group_count, distinct.size))
    np.add.at(counts.T, position, histogram[:, present].T)
    return score_comparison_from_counts(counts)


def score_comparison_from_counts(counts: NDArray[np.float64]) -> ScoreComparison:
    """Kruskal–Wallis from per-group counts of each distinct score (ascending); the formula of ``score_comparison``
    (mid-ranks, tie correction, χ² with G − 1 df, ε² = H / (n − 1)). Groups without scores are left out."""
    sizes = counts.sum(axis=1)
    kept = np.flatnonzero(sizes > 0)
    n_scores = int(sizes.sum())
    statistic = p_value = epsilon = np.nan
    if kept.size >= 2 and counts.shape[1] > 1:
        ties = counts.sum(axis=0)
        n = float(n_scores)
        mid_ranks = np.cumsum(ties) - ties + (ties + 1) / 2
        rank_sums = counts[kept] @ mid_ranks
        spread = (rank_sums**2 / sizes[kept]).sum()
        statistic = float((12 / (n * (n + 1)) * spread - 3 * (n + 1)) / (1 - (ties**3 - ties).sum() / (n**3 - n)))
        p_value = float(chi2.sf(statistic, kept.size - 1))
        epsilon = statistic / (n_scores - 1)
    return ScoreComparison(groups=kept, statistic=statistic, dof=max(kept.size - 1, 0), p_value=p_value,
                           epsilon_squared=epsilon, n=n_scores, pairwise=None)


def dossier_shares_from_counts(counts: ArrayLike, *, min_n: int = SUPPRESS_BELOW_N,
                               confidence: float = 0.95) -> DossierRatings:
    """Return ``dossier_rating_shares`` (whole set) from the ratings per level 1, 2, 3 (a cell's value counts of
    the rating, no-rating left out). Formula: ``app.stats.satisfaction.dossier_rating_shares``."""
    levels = np.asarray(counts, dtype=np.int64)
    if levels.shape != (3,) or (levels < 0).any():
        raise ValueError("counts must give the non-negative number of ratings of each level 1, 2, 3")
    return DossierRatings(total=_rating_shares(levels, check_min_n(min_n), confidence), by_group=None)


__all__ = ["dossier_shares_from_counts", "MomentLayout", "SipasMoments", "alpha_from_moments", "indices_from_moments", "kruskal_from_moments",
           "score_comparison_from_counts", "sipas_moments"]
