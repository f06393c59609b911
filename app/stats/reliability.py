"""Compute Cronbach's alpha per element, and alpha if each criterion were deleted, for the set and per group.

Source: Cronbach (1951), "Coefficient alpha and the internal structure of tests", Psychometrika 16:297–334:
α = k/(k − 1)·(1 − Σ_i var(x_i) / var(T)), T = Σ_i x_i over the element's k criteria (sample variances; the
n − 1 cancels). Alpha if criterion j is deleted uses the same formula on the other k − 1 criteria, with
var(T − x_j) = var(T) + var(x_j) − 2·cov(T, x_j).

Missing-value rule: listwise deletion within the element. A respondent enters an element's alpha only if they
answered every criterion of that element; their answers to other elements do not matter. ``n`` is the number of
such respondents. Alpha is undefined (nan, flagged) when the element has fewer than 2 criteria, fewer than 2
complete respondents, or zero variance of T. Everything is computed from exact integer moments (one
``np.bincount`` per criterion over (group, T, value)), so a million respondents × 500 groups is one pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from numpy.typing import NDArray

from app.stats._inputs import Flagged, check_elements, check_groups, check_scores

#: Most distinct answer vectors of an element for which alpha is computed from a histogram of whole vectors.
_MAX_VECTORS = 1 << 16


@dataclass(frozen=True, eq=False)
class AlphaTable(Flagged):
    """Alpha per element (…, elements) with n and flags; ``flags(*index)`` names the raised flags."""

    FLAGS: ClassVar[tuple[str, ...]] = ("too_few_items", "too_few_respondents", "zero_variance")

    alpha: NDArray[np.float64]
    #: One array per element, shape (…, k) in the element's column order; nan when undefined (k < 3 included).
    alpha_if_deleted: tuple[NDArray[np.float64], ...]
    #: Respondents who answered every criterion of the element (listwise deletion within the element).
    n: NDArray[np.int64]
    #: The element has fewer than 2 criteria.
    too_few_items: NDArray[np.bool_]
    #: Fewer than 2 complete respondents.
    too_few_respondents: NDArray[np.bool_]
    #: The total score T does not vary (everyone gave the same total).
    zero_variance: NDArray[np.bool_]


@dataclass(frozen=True, eq=False)
class Reliability:
    """Alpha of the whole set (``total``) and, when groups were given, of each group (``by_group``, axis 0)."""

    total: AlphaTable
    by_group: AlphaTable | None


def cronbach_alpha(
    scores: NDArray[np.uint8],
    elements: Sequence[Sequence[int]],
    *,
    scale_max: int = 5,
    groups: NDArray[np.intp] | None = None,
    n_groups: int | None = None,
) -> Reliability:
    """Return Cronbach's alpha and alpha-if-item-deleted per element, for the set and for each group.

    Formula and missing-value rule: see the module docstring (Cronbach 1951; listwise deletion within the
    element). ``scores`` is (respondents, items), 0 = no answer, 1..scale_max = scale points; ``groups`` maps
    respondents to 0..n_groups-1. The total pools all respondents (moments add up over groups).
    """
    matrix = check_scores(scores, scale_max)
    n_rows, n_items = matrix.shape
    element_columns = check_elements(elements, n_items)
    labels, group_count = check_groups(groups, n_rows, n_groups)
    columns = np.asfortranarray(matrix).T
    moments = [_element_moments(columns, element, labels, group_count, scale_max) for element in element_columns]
    by_group = _alpha_table(moments, element_columns)
    total = _alpha_table([tuple(part.sum(axis=0) for part in parts) for parts in moments], element_columns)
    return Reliability(total=total, by_group=None if labels is None else by_group)


def _element_moments(
    columns: NDArray[np.uint8],
    element: tuple[int, ...],
    labels: NDArray[np.intp] | None,
    group_count: int,
    scale_max: int,
) -> tuple[NDArray[np.int64], ...]:
    """Return exact integer moments per group over complete respondents: n, Σx_j, Σx_j², Σx_j·T, ΣT, ΣT².

    Shapes: n, ΣT, ΣT² (groups,); the per-criterion sums (groups, k). Incomplete respondents go to an extra
    group that is dropped. Without groups, and when the element's answer vectors are few (≤ 2¹⁶), one histogram
    of the vectors gives every moment (``_vector_moments``).
    """
    n_values = scale_max + 1
    if labels is None and n_values ** len(element) <= _MAX_VECTORS:
        return _vector_moments(columns, element, n_values)
    answers = [columns[item] for item in element]
    complete = answers[0] != 0
    totals = answers[0].astype(np.intp)
    for answer in answers[1:]:
        complete &= answer != 0
        totals += answer
    n_totals = len(element) * scale_max + 1
    base = np.where(complete, 0 if labels is None else labels, group_count) * (n_totals * n_values)
    base += totals * n_values
    size = (group_count + 1) * n_totals * n_values
    value = np.arange(n_values, dtype=np.int64)
    total = np.arange(n_totals, dtype=np.int64)
    sums, squares, products = [], [], []
    for answer in answers:
        joint = np.bincount(base + answer, minlength=size).reshape(group_count + 1, n_totals, n_values)[:-1]
        sums.append(joint.sum(axis=1) @ value)
        squares.append(joint.sum(axis=1) @ value**2)
        products.append(joint @ value @ total)
    by_total = joint.sum(axis=2)
    return (
        by_total.sum(axis=1),
        np.stack(sums, axis=-1),
        np.stack(squares, axis=-1),
        np.stack(products, axis=-1),
        by_total @ total,
        by_total @ total**2,
    )


def _vector_moments(
    columns: NDArray[np.uint8], element: tuple[int, ...], n_values: int
) -> tuple[NDArray[np.int64], ...]:
    """Return the moments of ``_element_moments`` for one group from a histogram of whole answer vectors.

    Each respondent's answers to the element read as one base-``n_values`` number; the complete vectors (no 0
    digit) of the histogram give n, Σx_j, Σx_j², Σx_j·T, ΣT, ΣT² exactly, with one pass over the respondents.
    """
    code = columns[element[0]].astype(np.int32)
    for item in element[1:]:
        code *= n_values
        code += columns[item]
    histogram = np.bincount(code, minlength=n_values ** len(element))
    digits = np.indices((n_values,) * len(element)).reshape(len(element), -1).astype(np.int64)
    complete = (digits > 0).all(axis=0)
    counts, values = histogram[complete], digits[:, complete]
    totals = values.sum(axis=0)
    return (
        counts.sum(keepdims=True),
        (values @ counts)[None],
        (values**2 @ counts)[None],
        (values * totals @ counts)[None],
        (totals @ counts)[None],
        (totals**2 @ counts)[None],
    )


def _alpha_table(
    moments: list[tuple[NDArray[np.int64], ...]], element_columns: tuple[tuple[int, ...], ...]
) -> AlphaTable:
    """Turn per-element moments into alpha, alpha-if-deleted and flags (variances scaled by n(n − 1), exact)."""
    alphas, deleted, counts, zero = [], [], [], []
    for (n, sums, squares, products, total_sum, total_square), columns in zip(moments, element_columns):
        k = len(columns)
        item_variance = n[..., None] * squares - sums**2
        total_variance = n * total_square - total_sum**2
        covariance = n[..., None] * products - total_sum[..., None] * sums
        with np.errstate(invalid="ignore", divide="ignore"):
            alpha = _alpha(k, item_variance.sum(axis=-1), total_variance)
            alpha_without = _alpha(
                k - 1,
                item_variance.sum(axis=-1, keepdims=True) - item_variance,
                total_variance[..., None] + item_variance - 2 * covariance,
            )
        usable = n >= 2
        alphas.append(np.where(usable, alpha, np.nan))
        deleted.append(np.where(usable[..., None], alpha_without, np.nan))
        counts.append(n)
        zero.append(usable & (total_variance == 0) & (k >= 2))
    n = np.stack(counts, axis=-1)
    few_items = np.broadcast_to(np.array([len(columns) < 2 for columns in element_columns]), n.shape)
    return AlphaTable(
        alpha=np.stack(alphas, axis=-1),
        alpha_if_deleted=tuple(deleted),
        n=n,
        too_few_items=few_items,
        too_few_respondents=n < 2,
        zero_variance=np.stack(zero, axis=-1),
    )


def _alpha(k: int, item_variance: NDArray, total_variance: NDArray) -> NDArray[np.float64]:
    """Return k/(k − 1)·(1 − Σ var(x_i) / var(T)), nan where k < 2 or var(T) = 0."""
    if k < 2:
        return np.full(np.shape(total_variance), np.nan)
    ratio = np.where(total_variance > 0, item_variance / np.where(total_variance > 0, total_variance, 1), np.nan)
    return k / (k - 1) * (1 - ratio)
