"""Flag survey responses that deserve a human look: hurried completions, bursts from one device, repeated vectors,
and responses without a plausible start time.

Source: ``reference/sipas.md`` §5.3 item 3 (store a device hash and the time to complete; flag bursts from one
device, sub-10-second completions and identical answer vectors). These are review signals, never exclusions: the
indices are computed over every response, and the report shows how many were flagged.

Every rule looks only at *earlier* responses (ordered by time, then by position), so a response's flags never
change when later responses arrive and the flags can be computed once, when responses are folded into the report
aggregates. The price: the first responses of a burst or of a run of identical vectors are not flagged, only the
ones that repeat them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from app.stats._checks import as_labels, as_vector

#: A completion faster than this many milliseconds is flagged "fast" (sipas.md §5.3: sub-10-second completions).
FAST_MS = 10_000
#: Window, in seconds, inside which repeated responses from one device at one counter form a burst.
BURST_SECONDS = 600
#: Responses from one device at one counter within the window that make a burst (the last of them is flagged).
BURST_SIZE = 3
#: Window, in seconds, inside which an identical answer vector at the same counter is flagged.
DUPLICATE_SECONDS = 600
#: A completion time of this many milliseconds or more is implausible for a visit to a counter (the form records
#: at most 24 hours): such a response, like one whose signed start time is missing or forged (unknown duration),
#: is flagged "untimed". A client that leaves the start out to dodge "fast" is flagged all the same.
UNTIMED_MS = 6 * 3600 * 1000


@dataclass(frozen=True, eq=False)
class ResponseFlags:
    """Review flags per response, aligned with the input; ``any`` is their union."""

    #: duration_ms < fast_ms (unknown durations are never fast: they are untimed).
    fast: NDArray[np.bool_]
    #: At least burst_size − 1 earlier responses from the same device at the same counter within burst_seconds.
    burst: NDArray[np.bool_]
    #: An earlier response at the same counter within duplicate_seconds gave exactly the same answers.
    duplicate: NDArray[np.bool_]
    #: No usable start time: the duration is unknown (missing or forged signed start) or ≥ untimed_ms.
    untimed: NDArray[np.bool_]

    @property
    def any(self) -> NDArray[np.bool_]:
        """Return True where at least one flag is raised."""
        return self.fast | self.burst | self.duplicate | self.untimed


def response_flags(
    counters: ArrayLike,
    seconds: ArrayLike,
    devices: ArrayLike,
    scores: NDArray[np.uint8],
    durations_ms: ArrayLike,
    *,
    fast_ms: float = FAST_MS,
    burst_seconds: float = BURST_SECONDS,
    burst_size: int = BURST_SIZE,
    duplicate_seconds: float = DUPLICATE_SECONDS,
    untimed_ms: float = UNTIMED_MS,
) -> ResponseFlags:
    """Return the fast / burst / duplicate / untimed review flags of each response.

    Inputs, one entry per response: ``counters`` (counter ids), ``seconds`` (submission time in seconds on any
    common scale), ``devices`` (integer device labels, e.g. codes of the daily client hash; negative = unknown),
    ``scores`` (responses × items answer matrix, 0 = no answer), ``durations_ms`` (nan = unknown).

    Rules (times in seconds; "earlier" = smaller time, ties broken by input position):
    fast: duration < fast_ms. burst: the response and at least burst_size − 1 earlier responses of the same known
    device at the same counter lie within burst_seconds, i.e. t_r − t_(r − burst_size + 1) ≤ burst_seconds in that
    device's sequence. duplicate: the nearest earlier response at the same counter with the same answer vector is
    at most duplicate_seconds older; vectors without any answer are never duplicates. untimed: the duration is
    unknown (nan) or at least untimed_ms.
    Missing values: unknown device → never a burst; unknown duration → never fast, always untimed.
    """
    counter = as_labels(counters, "counters")
    size = counter.shape[0]
    moment = as_vector(seconds, "seconds", length=size)
    device = as_labels(devices, "devices", length=size)
    duration = as_vector(durations_ms, "durations_ms", length=size, finite=False)
    matrix = np.asarray(scores)
    if matrix.ndim != 2 or matrix.shape[0] != size:
        raise ValueError(f"scores must be a (responses, items) matrix with {size} rows, got shape {matrix.shape}")
    if counter.dtype.kind not in "ui" or device.dtype.kind not in "ui":
        raise ValueError("counters and devices must be integer labels")
    if burst_size < 2:
        raise ValueError(f"burst_size must be at least 2, got {burst_size!r}")
    with np.errstate(invalid="ignore"):
        fast = duration < fast_ms
        untimed = np.isnan(duration) | (duration >= untimed_ms)
    burst = _repeats(counter, device, moment, burst_size - 1, burst_seconds) & (device >= 0)
    vectors = _vector_codes(matrix)
    duplicate = _repeats(counter, vectors, moment, 1, duplicate_seconds) & matrix.any(axis=1)
    return ResponseFlags(fast=fast, burst=burst, duplicate=duplicate, untimed=untimed)


def _repeats(
    counter: NDArray, key: NDArray, moment: NDArray[np.float64], lag: int, window: float
) -> NDArray[np.bool_]:
    """Flag rows whose lag-th earlier row with the same (counter, key) is at most ``window`` seconds older."""
    size = counter.shape[0]
    flagged = np.zeros(size, dtype=bool)
    if size <= lag:
        return flagged
    order = np.lexsort((moment, key, counter))  # stable: equal times keep their input order
    same = (counter[order][lag:] == counter[order][:-lag]) & (key[order][lag:] == key[order][:-lag])
    close = moment[order][lag:] - moment[order][:-lag] <= window
    flagged[order[lag:]] = same & close
    return flagged


def _vector_codes(matrix: NDArray) -> NDArray[np.int64]:
    """Return one integer per row, equal exactly for rows with identical answers.

    Rows are read as numbers in base (largest answer + 1) when that fits in 63 bits (23 items of a 5-point
    scale do), otherwise numbered through ``np.unique``.
    """
    if matrix.shape[1] == 0:
        return np.zeros(matrix.shape[0], dtype=np.int64)
    base = int(matrix.max()) + 1 if matrix.size else 1
    if matrix.shape[1] * np.log2(max(base, 2)) < 63:
        code = np.zeros(matrix.shape[0], dtype=np.int64)
        for column in matrix.T:
            code = code * base + column
        return code
    rows = np.ascontiguousarray(matrix, dtype=np.uint8)
    packed = rows.view(np.dtype((np.void, rows.shape[1]))).ravel()
    return np.unique(packed, return_inverse=True)[1].reshape(-1)
