"""Validate the survey inputs shared by the satisfaction statistics and raise ValueError with a clear message.

Conventions: ``scores`` is a (respondents, items) integer matrix where 0 means "no answer" and 1..scale_max are
scale points; ``elements`` lists the column indices of each element's criteria; ``groups`` maps each respondent to
a group 0..n_groups-1 (child unit, period); ``weights`` are non-negative respondent weights.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import ClassVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

def check_scores(scores: ArrayLike, scale_max: int) -> NDArray[np.uint8]:
    """Return ``scores`` as a 2-D uint8 matrix, checking the dtype and that values lie in 0..scale_max."""
    if not 1 < scale_max < 256:
        raise ValueError(f"scale_max must be between 2 and 255, got {scale_max!r}")
    matrix = np.asarray(scores)
    if matrix.ndim != 2:
        raise ValueError(f"scores must be a (respondents, items) matrix, got shape {matrix.shape}")
    if matrix.dtype.kind not in "ui":
        raise ValueError(f"scores must hold integers (0 = no answer), got dtype {matrix.dtype}")
    if matrix.size:
        low, high = matrix.min(), matrix.max()
        if low < 0 or high > scale_max:
            raise ValueError(f"scores must lie in 0..{scale_max} (0 = no answer), found {low}..{high}")
    return matrix.astype(np.uint8, copy=False)


def check_elements(elements: Sequence[Sequence[int]], n_items: int) -> tuple[tuple[int, ...], ...]:
    """Return the elements as tuples of column indices, each non-empty, distinct and inside 0..n_items-1."""
    checked = tuple(tuple(int(column) for column in element) for element in elements)
    if not checked:
        raise ValueError("elements must list at least one element")
    for position, element in enumerate(checked):
        if not element:
            raise ValueError(f"element {position} has no criteria")
        if len(set(element)) != len(element):
            raise ValueError(f"element {position} lists a column twice: {element}")
        if min(element) < 0 or max(element) >= n_items:
            raise ValueError(f"element {position} has a column outside 0..{n_items - 1}: {element}")
    return checked


def check_levels(levels: Collection[int], scale_max: int, name: str) -> NDArray[np.bool_]:
    """Return a mask over values 0..scale_max that is True for ``levels`` (a non-empty subset of 1..scale_max)."""
    chosen = {int(level) for level in levels}
    if not chosen or min(chosen) < 1 or max(chosen) > scale_max:
        raise ValueError(f"{name} must be a non-empty subset of 1..{scale_max}, got {sorted(chosen)}")
    mask = np.zeros(scale_max + 1, dtype=bool)
    mask[sorted(chosen)] = True
    return mask


def check_groups(groups: ArrayLike | None, n_rows: int, n_groups: int | None) -> tuple[NDArray[np.intp] | None, int]:
    """Return (groups as intp or None, number of groups), checking length and range 0..n_groups-1."""
    if groups is None:
        if n_groups is not None:
            raise ValueError("n_groups is given but groups is not")
        return None, 1
    labels = np.asarray(groups)
    if labels.ndim != 1 or labels.shape[0] != n_rows:
        raise ValueError(f"groups must have one entry per respondent ({n_rows}), got shape {labels.shape}")
    if labels.dtype.kind not in "ui":
        raise ValueError(f"groups must hold integer group indices, got dtype {labels.dtype}")
    found = int(labels.max()) + 1 if labels.size else 0
    count = found if n_groups is None else int(n_groups)
    if count < 1:
        raise ValueError("there must be at least one group (give n_groups when there are no respondents)")
    if labels.size and (labels.min() < 0 or found > count):
        raise ValueError(f"groups must lie in 0..{count - 1}, found {labels.min()}..{found - 1}")
    return labels.astype(np.intp, copy=False), count


def check_weights(weights: ArrayLike | None, n_rows: int) -> NDArray[np.float64] | None:
    """Return respondent weights as float64 (None stays None), checking length, finiteness and sign."""
    if weights is None:
        return None
    array = np.asarray(weights, dtype=np.float64)
    if array.shape != (n_rows,):
        raise ValueError(f"weights must have one entry per respondent ({n_rows}), got shape {array.shape}")
    if not np.isfinite(array).all() or (array < 0).any():
        raise ValueError("weights must be finite and not negative")
    return array


def check_min_n(min_n: int) -> int:
    """Return the suppression threshold, which must be at least 1 (a cell with no answers is always hidden)."""
    if int(min_n) < 1:
        raise ValueError(f"min_n must be at least 1, got {min_n!r}")
    return int(min_n)


class Flagged:
    """Mixin for result tables whose boolean fields named in ``FLAGS`` mark cells for the reader."""

    FLAGS: ClassVar[tuple[str, ...]] = ()

    def flags(self, *index: int) -> tuple[str, ...]:
        """Return the names of the flags raised at one cell, e.g. ``table.flags(group, criterion)``."""
        return tuple(name for name in self.FLAGS if bool(np.asarray(getattr(self, name))[index]))
