"""Draw an attempt's questions and option orders from a pool with a passed-in random generator (no database)."""
from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PoolQuestion:
    """What drawing needs to know about a question."""

    id: int
    topic: str
    difficulty: int
    n_options: int


@dataclass(frozen=True)
class BlueprintPart:
    """Draw `count` questions matching a topic and/or a difficulty (None = any)."""

    count: int
    topic: str | None = None
    difficulty: int | None = None

    def matches(self, question: PoolQuestion) -> bool:
        """Tell whether a question fits this part."""
        return (self.topic is None or question.topic == self.topic) and (
            self.difficulty is None or question.difficulty == self.difficulty
        )


@dataclass(frozen=True)
class DrawRule:
    """Which questions a round draws: a filter on the pool and, in blueprint mode, counts per topic/difficulty."""

    mode: str = "random"
    topics: tuple[str, ...] | None = None
    difficulties: tuple[int, ...] | None = None
    blueprint: tuple[BlueprintPart, ...] = ()

    def admits(self, question: PoolQuestion) -> bool:
        """Tell whether the pool filter keeps a question."""
        return (self.topics is None or question.topic in self.topics) and (
            self.difficulties is None or question.difficulty in self.difficulties
        )


class DrawError(ValueError):
    """The pool cannot supply what the rule asks for (the message says what is short)."""


def shortfalls(pool: Sequence[PoolQuestion], count: int, rule: DrawRule) -> list[str]:
    """Return what the pool lacks for this rule (empty when every draw can succeed)."""
    eligible = [question for question in pool if rule.admits(question)]
    problems = []
    if len(eligible) < count:
        problems.append(f"pool has {len(eligible)} eligible questions, {count} needed")
    taken: set[int] = set()
    for index, part in enumerate(rule.blueprint):
        matching = [q.id for q in eligible if part.matches(q) and q.id not in taken]
        if len(matching) < part.count:
            problems.append(f"blueprint part {index + 1} needs {part.count} questions, pool has {len(matching)}")
        taken.update(matching[: part.count])
    return problems


def draw_questions(
    pool: Sequence[PoolQuestion],
    count: int,
    rule: DrawRule,
    rng: np.random.Generator,
    *,
    shuffle: bool = True,
    avoid: Collection[int] = (),
) -> list[PoolQuestion]:
    """Return `count` distinct questions: blueprint parts first, the rest at random from the filtered pool.

    Questions in `avoid` (drawn in the participant's earlier attempts) are used only when the others run out
    (Moodle's "avoid repeats"). With `shuffle` the result is in random order, otherwise in pool order.
    Raise DrawError when the pool is too small.
    """
    eligible = [question for question in pool if rule.admits(question)]
    chosen: list[PoolQuestion] = []
    chosen_ids: set[int] = set()

    def take(candidates: list[PoolQuestion], wanted: int) -> None:
        fresh = [q for q in candidates if q.id not in chosen_ids and q.id not in avoid]
        seen = [q for q in candidates if q.id not in chosen_ids and q.id in avoid]
        picked = _sample(fresh, min(wanted, len(fresh)), rng)
        picked += _sample(seen, min(wanted - len(picked), len(seen)), rng)
        if len(picked) < wanted:
            raise DrawError(f"the pool has only {len(picked)} of the {wanted} questions needed")
        chosen.extend(picked)
        chosen_ids.update(q.id for q in picked)

    for part in rule.blueprint if rule.mode == "blueprint" else ():
        take([q for q in eligible if part.matches(q)], part.count)
    take(eligible, count - len(chosen))
    if shuffle:
        return [chosen[i] for i in rng.permutation(len(chosen))]
    position = {q.id: index for index, q in enumerate(pool)}
    return sorted(chosen, key=lambda q: position[q.id])


def option_order(n_options: int, shuffle: bool, rng: np.random.Generator) -> list[int]:
    """Return the original option index shown at each display position."""
    return [int(i) for i in rng.permutation(n_options)] if shuffle else list(range(n_options))


def _sample(candidates: list[PoolQuestion], size: int, rng: np.random.Generator) -> list[PoolQuestion]:
    """Return `size` distinct candidates chosen uniformly at random."""
    if size <= 0:
        return []
    return [candidates[i] for i in rng.choice(len(candidates), size=size, replace=False)]
