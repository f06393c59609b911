"""Grade answers on the server: a registry of pure graders by question type, and attempt-level helpers.

Answers and keys are bitmasks over a question's original option indices (bit i = option i chosen / correct), so a
single-choice answer, a multiple-choice answer and "no answer" (0) share one compact representation.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable

#: Question types, in the order their codes are packed into attempts (index = stored byte).
QUESTION_TYPES = ("single", "multiple", "true_false")

#: Options a question may have; a bitmask of one byte holds them.
MIN_OPTIONS, MAX_OPTIONS = 2, 8


def grade_single(answer: int, key: int) -> bool:
    """Right when exactly the one correct option is chosen."""
    return answer != 0 and answer == key


def grade_multiple(answer: int, key: int) -> bool:
    """Right when the chosen set equals the correct set (all or nothing, no partial credit: contest.md §2.6)."""
    return answer != 0 and answer == key


def grade_true_false(answer: int, key: int) -> bool:
    """Right when the chosen statement value (Đúng/Sai) is the correct one."""
    return answer != 0 and answer == key


#: Question type → grader(answer bitmask, key bitmask) -> correct?
GRADERS: dict[str, Callable[[int, int], bool]] = {
    "single": grade_single,
    "multiple": grade_multiple,
    "true_false": grade_true_false,
}

#: Types where the participant may tick several options.
MULTI_SELECT = frozenset({"multiple"})


def random_guess(question_type: str, n_options: int) -> float:
    """Return Moodle's random guess score as a fraction: 1/k for one-answer types; unknown (nan) for multiple."""
    if question_type in MULTI_SELECT:
        return float("nan")
    return 1.0 / n_options


def to_mask(indices: Iterable[int]) -> int:
    """Return the bitmask of option indices."""
    mask = 0
    for index in indices:
        mask |= 1 << index
    return mask


def grade_attempt(types: bytes, keys: bytes, answers: bytes) -> bytes:
    """Return one mark byte (0/1) per question from the packed types, keys and answers of an attempt."""
    graders = [GRADERS[name] for name in QUESTION_TYPES]
    return bytes(int(graders[kind](answer, key)) for kind, key, answer in zip(types, keys, answers, strict=True))
