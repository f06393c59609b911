"""Validate array inputs of the contest statistics and raise ValueError with a clear message."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray


def as_vector(
    values: ArrayLike, name: str, *, length: int | None = None, finite: bool = True
) -> NDArray[np.float64]:
    """Return ``values`` as a 1-D float64 array, checking its length and (by default) that it has no nan or inf."""
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} must contain numbers: {error}") from error
    check_length(array, name, length)
    if finite and not np.isfinite(array).all():
        raise ValueError(f"{name} must not contain nan or inf (first bad position {first_false(np.isfinite(array))})")
    return array


def as_labels(values: ArrayLike, name: str, *, length: int | None = None) -> NDArray:
    """Return ``values`` (ids, group names, hashes) as a 1-D array of its natural dtype, checking its length."""
    array = np.asarray(values)
    check_length(array, name, length)
    return array


def as_times(values: ArrayLike, name: str, *, length: int) -> NDArray:
    """Return timestamps as a sortable 1-D key: datetime64 becomes int64 microseconds, numbers stay float64."""
    array = np.asarray(values)
    if array.dtype.kind == "M":
        check_length(array, name, length)
        if np.isnat(array).any():
            raise ValueError(f"{name} must not contain NaT (first bad position {first_false(~np.isnat(array))})")
        return array.astype("datetime64[us]").astype(np.int64)
    return as_vector(array, name, length=length)


def as_scalar_or_vector(value: ArrayLike, name: str, *, length: int) -> NDArray[np.float64]:
    """Return a finite scalar broadcast to ``length``, or a finite vector of that length."""
    array = as_vector(np.atleast_1d(value), name)
    if array.size == 1:
        return np.full(length, array[0])
    check_length(array, name, length)
    return array


def check_length(array: NDArray, name: str, length: int | None) -> None:
    """Raise ValueError unless ``array`` is 1-D and, when ``length`` is given, has exactly that many elements."""
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    if length is not None and array.shape[0] != length:
        raise ValueError(f"{name} has {array.shape[0]} values, expected {length}")


def unique_codes(labels: NDArray, name: str) -> NDArray[np.intp]:
    """Return each label's position among the sorted labels, raising ValueError when a label appears twice."""
    uniques, codes, counts = np.unique(labels, return_inverse=True, return_counts=True)
    if (counts > 1).any():
        repeated = counts > 1
        raise ValueError(f"{name} must be unique; {plain(uniques[repeated][0])!r} appears {counts[repeated][0]} times")
    return codes.reshape(labels.shape[0])


def first_false(mask: NDArray[np.bool_]) -> int:
    """Return the position of the first False in ``mask`` (for error messages)."""
    return int(np.argmin(mask))


def plain(value: object) -> object:
    """Return a numpy scalar as the Python value it holds, so that error messages read naturally."""
    return value.item() if isinstance(value, np.generic) else value
