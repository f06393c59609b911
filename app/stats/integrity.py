"""Find contest entries that deserve a human look: too-fast full marks, identical answers, shared devices, twins.

These are review signals, never verdicts (contest.md §5.7: "flag for review, never auto-disqualify"; §2.10 lists
what the rules of Vietnamese contests forbid). Every function is pure and returns an :class:`IntegritySignal`
whose groups (sorted by their ids) name the flagged ids and the evidence they share; the interface translates the
reason codes.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from app.stats._checks import as_labels, as_scalar_or_vector, as_vector, first_false, plain
from app.stats.ranking import full_marks

#: Reason codes of the signals.
TOO_FAST_FULL_MARKS = "too_fast_full_marks"
IDENTICAL_ANSWERS = "identical_answers"
SHARED_DEVICE = "shared_device"
DUPLICATE_IDENTITY = "duplicate_identity"


@dataclass(frozen=True)
class FlagGroup:
    """Ids flagged together and what they share (``name=value`` evidence for the reviewer)."""

    #: Attempt ids (too-fast) or participant ids (the other signals), ascending.
    ids: tuple[Hashable, ...]
    evidence: str


@dataclass(frozen=True)
class IntegritySignal:
    """One kind of review signal and the groups it found (empty when nothing is suspicious)."""

    reason: str
    groups: tuple[FlagGroup, ...]

    @property
    def flagged_ids(self) -> tuple[Hashable, ...]:
        """Return every flagged id once, ascending."""
        return tuple(sorted({flagged for group in self.groups for flagged in group.ids}))


def too_fast_full_marks(
    attempt_ids: ArrayLike,
    scores: ArrayLike,
    max_scores: ArrayLike,
    durations_ms: ArrayLike,
    question_counts: ArrayLike,
    *,
    min_seconds_per_question: float,
) -> IntegritySignal:
    """Flag full-mark attempts submitted faster than a plausible reading time.

    Rule: flag when the score is full marks (:func:`app.stats.ranking.full_marks`) and
    ``duration_ms < 1000 · min_seconds_per_question · questions``. ``max_scores`` and ``question_counts`` are one
    number or one per attempt; durations are server-side (contest.md §2.4, §5.7 ``min_seconds_per_question``).
    All values must be present. One group per flagged attempt, evidence ``duration_ms=…;threshold_ms=…``.
    """
    ids = as_labels(attempt_ids, "attempt_ids")
    count = ids.shape[0]
    duration = as_vector(durations_ms, "durations_ms", length=count)
    questions = as_scalar_or_vector(question_counts, "question_counts", length=count)
    if not np.isfinite(min_seconds_per_question) or min_seconds_per_question <= 0:
        raise ValueError(f"min_seconds_per_question must be a positive number, got {min_seconds_per_question}")
    if (questions < 1).any():
        raise ValueError(f"question_counts must be at least 1 (first bad position {first_false(questions >= 1)})")
    threshold = 1000 * min_seconds_per_question * questions
    suspicious = full_marks(as_vector(scores, "scores", length=count), max_scores) & (duration < threshold)
    groups = (
        FlagGroup((plain(ids[row]),), f"duration_ms={duration[row]:.0f};threshold_ms={threshold[row]:.0f}")
        for row in np.flatnonzero(suspicious)
    )
    return IntegritySignal(TOO_FAST_FULL_MARKS, tuple(sorted(groups, key=lambda group: group.ids)))


def identical_answer_sequences(
    participant_ids: ArrayLike,
    question_ids: NDArray[np.int64],
    answers: NDArray[np.int64],
    *,
    min_answered: int = 10,
) -> IntegritySignal:
    """Flag participants whose attempts drew the same questions and gave the same answers.

    ``question_ids`` and ``answers`` are attempts × slots integer matrices: the drawn question ids (−1 pads a
    shorter attempt) and the chosen option ids (−1 = unanswered), so shuffled question and option order do not
    matter (pairs are compared after sorting by question id; use option ids, not displayed letters). Attempts with
    fewer than ``min_answered`` answers are ignored. A group needs at least two distinct participants (a person
    repeating their own answers is not flagged). Evidence ``answers=<digest>``. Source: contest.md §5.7.
    """
    ids = as_labels(participant_ids, "participant_ids")
    questions = np.asarray(question_ids)
    chosen = np.asarray(answers)
    if questions.ndim != 2 or questions.shape != chosen.shape or questions.shape[0] != ids.shape[0]:
        raise ValueError(
            f"question_ids and answers must be matrices of shape ({ids.shape[0]}, slots); "
            f"got {questions.shape} and {chosen.shape}"
        )
    if questions.size and (questions.dtype.kind not in "iu" or chosen.dtype.kind not in "iu"):
        raise ValueError("question_ids and answers must hold integer ids")
    if min_answered < 1:
        raise ValueError(f"min_answered must be at least 1, got {min_answered}")
    by_question = np.argsort(questions, axis=1, kind="stable")
    sequences = np.concatenate(
        [np.take_along_axis(questions, by_question, axis=1), np.take_along_axis(chosen, by_question, axis=1)], axis=1
    ).astype(np.int64)
    eligible = ((chosen >= 0) & (questions >= 0)).sum(axis=1) >= min_answered
    rows = np.flatnonzero(eligible)
    if rows.size == 0:
        return IntegritySignal(IDENTICAL_ANSWERS, ())
    # One opaque bytes value per row makes the exact row comparison a one-dimensional sort.
    eligible_sequences = np.ascontiguousarray(sequences[rows])
    row_bytes = eligible_sequences.view(np.dtype((np.void, eligible_sequences.strides[0]))).reshape(-1)
    first_rows, codes = np.unique(row_bytes, return_index=True, return_inverse=True)[1:]

    def evidence(code: int) -> str:
        return f"answers={hashlib.sha256(eligible_sequences[first_rows[code]].tobytes()).hexdigest()[:16]}"

    return _sharing(IDENTICAL_ANSWERS, ids[rows], codes.reshape(-1), 2, evidence)


def shared_devices(
    participant_ids: ArrayLike, device_hashes: Sequence[str | None], *, min_participants: int = 3
) -> IntegritySignal:
    """Flag devices (or client hashes, IP hashes) used by at least ``min_participants`` distinct participants.

    One row per observation (login, attempt); empty or None hashes are skipped. Evidence ``device=<hash>``.
    Source: contest.md §5.7 ``same_device_fingerprint_threshold`` / ``same_ip_accounts_threshold``.
    """
    if min_participants < 2:
        raise ValueError(f"min_participants must be at least 2, got {min_participants}")
    ids = as_labels(participant_ids, "participant_ids")
    keys = _keys(device_hashes, "device_hashes", ids.shape[0], str)
    return _shared(SHARED_DEVICE, ids, keys, min_participants, "device")


def duplicate_identities(
    participant_ids: ArrayLike,
    cccd_hashes: Sequence[str | None],
    names: Sequence[str | None],
    birth_dates: Sequence[object | None],
) -> IntegritySignal:
    """Flag participants who share a hashed CCCD, or the same full name and birth date.

    Names are compared after Unicode NFC normalisation, case folding and collapsing white space (diacritics are
    kept: "Lê" and "Lệ" are different names); birth dates by their ISO text (``date`` objects or strings).
    Missing values (None or empty) are skipped. One row per participant; evidence ``cccd=<hash>`` or
    ``name_birth_date=<name>|<date>``. Source: contest.md §2.2, §5.7 (duplicate CCCD/phone/name+DOB).
    """
    ids = as_labels(participant_ids, "participant_ids")
    count = ids.shape[0]
    cccd = _keys(cccd_hashes, "cccd_hashes", count, str)
    name = _keys(names, "names", count, _normal_name)
    born = _keys(birth_dates, "birth_dates", count, _iso_text)
    person = [None if n is None or b is None else f"{n}|{b}" for n, b in zip(name, born, strict=True)]
    groups = (
        _shared(DUPLICATE_IDENTITY, ids, cccd, 2, "cccd").groups
        + _shared(DUPLICATE_IDENTITY, ids, person, 2, "name_birth_date").groups
    )
    return IntegritySignal(DUPLICATE_IDENTITY, tuple(sorted(groups, key=lambda group: (group.ids, group.evidence))))


def _normal_name(value: object) -> str:
    """Return a name in NFC, case-folded, with single spaces."""
    return " ".join(unicodedata.normalize("NFC", str(value)).casefold().split())


def _iso_text(value: object) -> str:
    """Return a date (or datetime) as ISO text, anything else as its string."""
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _keys(
    values: Sequence[object | None], name: str, count: int, normalise: Callable[[object], str]
) -> list[str | None]:
    """Return normalised keys, None for a missing (None, empty or blank) value, checking one value per row."""
    if len(values) != count:
        raise ValueError(f"{name} has {len(values)} values, expected {count}")
    return [None if value is None or value == "" else normalise(value) or None for value in values]


def _shared(reason: str, ids: NDArray, keys: list[str | None], min_size: int, label: str) -> IntegritySignal:
    """Group participants by a shared non-missing key string."""
    rows = np.array([row for row, key in enumerate(keys) if key is not None], dtype=np.intp)
    if rows.size == 0:
        return IntegritySignal(reason, ())
    uniques, codes = np.unique(np.array([keys[row] for row in rows], dtype=str), return_inverse=True)
    return _sharing(reason, ids[rows], codes.reshape(-1), min_size, lambda code: f"{label}={uniques[code]}")


def _sharing(
    reason: str, ids: NDArray, codes: NDArray[np.intp], min_size: int, evidence: Callable[[int], str]
) -> IntegritySignal:
    """Return the groups of distinct ids sharing a key code (at least ``min_size`` ids), with each code's evidence."""
    unique_ids, id_codes = np.unique(ids, return_inverse=True)
    pairs = np.unique(codes.astype(np.int64) * unique_ids.shape[0] + id_codes.reshape(-1))
    key_codes, id_codes = np.divmod(pairs, unique_ids.shape[0])
    sizes = np.bincount(key_codes)
    members: dict[int, list[Hashable]] = {}
    for code, id_code in zip(*(column[sizes[key_codes] >= min_size] for column in (key_codes, id_codes)), strict=True):
        members.setdefault(int(code), []).append(plain(unique_ids[id_code]))
    groups = (FlagGroup(tuple(group), evidence(code)) for code, group in members.items())
    return IntegritySignal(reason, tuple(sorted(groups, key=lambda group: group.ids)))
