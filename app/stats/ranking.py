"""Rank contest entries with configurable tie-breaks, pick counted attempts, award prizes and rank units.

Rules follow ``reference/contest.md`` §5.4 (prediction question), §5.5 (ranking), §5.6 (prizes) and §2.9 (one
prize per person; collective prizes). Every ranking is a competition ranking ("1, 2, 2, 4"): entries equal on
every criterion share the best rank of their run, and the display order of such full ties is fixed by id.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
from numpy.typing import ArrayLike, NDArray

from app.stats._checks import (
    as_labels,
    as_scalar_or_vector,
    as_times,
    as_vector,
    first_false,
    plain,
    unique_codes,
)

#: Known ranking criteria; score is ranked high to low, every other criterion low to high.
CRITERIA = ("score", "prediction_distance", "duration", "submitted_at", "started_at")

#: Criterion orders of contest.md §5.5: our default, the ward Party contest and the Youth Union contest.
PRESETS = MappingProxyType(
    {
        "default": ("score", "prediction_distance", "duration", "submitted_at"),
        "ward_party": ("score", "duration", "prediction_distance"),
        "youth_union": ("score", "duration", "started_at"),
    }
)

#: Which attempt of a person counts when a round allows several (contest.md §5.3 ``which_attempt_counts``).
ATTEMPT_RULES = ("best", "first", "last")

#: What the prediction question asks for (contest.md §5.4 ``target``).
PREDICTION_TARGETS = (
    "persons_full_marks",
    "attempts_full_marks",
    "persons_participating",
    "attempts_participating",
    "percent_persons_full_marks",
)

# Scores are sums of question weights; a relative tolerance keeps 0.1-point weights from missing full marks.
_FULL_MARKS_TOLERANCE = 1e-9


@dataclass(frozen=True)
class Ranking:
    """Competition ranks of contest entries; arrays are aligned with the input entries unless noted."""

    #: Criterion names applied, most significant first.
    criteria: tuple[str, ...]
    #: Input positions from first to last place (full ties by ascending participant id); within one group the
    #: same order restricted to that group is the group's order.
    order: NDArray[np.intp]
    #: Competition rank over all entries (1 = best; equal on every criterion → same rank, next rank skipped).
    rank: NDArray[np.int64]
    #: True where the entry shares its overall rank with another entry (left to the organising committee).
    tied: NDArray[np.bool_]
    #: |prediction − actual| rounded to ``distance_decimals``; nan where no prediction; None if not computed.
    prediction_distance: NDArray[np.float64] | None
    #: Competition rank within the entry's group; None when no groups were given.
    group_rank: NDArray[np.int64] | None


@dataclass(frozen=True)
class PrizeTier:
    """One line of a prize table: ``count`` prizes called ``label`` worth ``value`` (money or prestige points)."""

    label: str
    count: int
    value: float


@dataclass(frozen=True)
class Award:
    """A prize won by one participant in one standing."""

    participant_id: Hashable
    #: Index of the standing (round, audience group, overall list) the prize comes from.
    standing: int
    #: 1-based place in that standing.
    position: int
    label: str
    value: float


@dataclass(frozen=True)
class PrizeAwards:
    """Prizes after the one-prize-per-person rule."""

    #: Kept prizes, at most one per participant, by standing then position.
    awards: tuple[Award, ...]
    #: Prizes won but not awarded because the participant keeps a higher one (for the committee's records).
    forfeited: tuple[Award, ...]


@dataclass(frozen=True)
class UnitRanking:
    """Collective (unit) standings; arrays are aligned with the input units."""

    #: Distinct completers per unit.
    completers: NDArray[np.int64]
    #: Participation rate in percent, 100 · completers / eligible headcount, rounded half up to 2 decimals.
    rate: NDArray[np.float64]
    #: Mean counted score of the unit's completers; nan when it has none.
    mean_score: NDArray[np.float64]
    #: Sum of the prize points of the unit's completers.
    winners_points: NDArray[np.float64]
    #: True where ``rate >= min_rate``; only eligible units are ranked.
    eligible: NDArray[np.bool_]
    #: Competition rank within the unit's block among eligible units; 0 for an ineligible unit.
    rank: NDArray[np.int64]
    #: Positions of eligible units, block by block (blocks in sorted order), best first, full ties by unit id.
    order: NDArray[np.intp]


def full_marks(scores: ArrayLike, max_scores: ArrayLike) -> NDArray[np.bool_]:
    """Return which scores reach the maximum score.

    Rule: ``score >= max_score − 1e-9 · max(1, max_score)`` so that sums of decimal weights still count.
    ``max_scores`` is one positive number or one per score; nan is rejected. Source: contest.md §5.4.
    """
    score = as_vector(scores, "scores")
    maximum = as_scalar_or_vector(max_scores, "max_scores", length=score.shape[0])
    if (maximum <= 0).any():
        raise ValueError(f"max_scores must be positive (first bad position {first_false(maximum > 0)})")
    return score >= maximum - _FULL_MARKS_TOLERANCE * np.maximum(1.0, maximum)


def contest_ranking(
    participant_ids: ArrayLike,
    scores: ArrayLike,
    *,
    criteria: str | Sequence[str] = "default",
    predictions: ArrayLike | None = None,
    actual: float | None = None,
    durations_ms: ArrayLike | None = None,
    submitted_at: ArrayLike | None = None,
    started_at: ArrayLike | None = None,
    groups: ArrayLike | None = None,
    prefer_under: bool = False,
    distance_decimals: int = 9,
) -> Ranking:
    """Rank one entry per participant by ordered criteria, with competition ranks and optional group ranks.

    Criteria (``criteria`` is a preset name of :data:`PRESETS` or a sequence of :data:`CRITERIA`):
    ``score`` descending; ``prediction_distance`` = ``round(|prediction − actual|, distance_decimals)``
    ascending; ``duration`` (server submitted_at − started_at, ms) ascending; ``submitted_at`` and ``started_at``
    ascending (numbers such as epoch ms, or numpy datetime64). With ``prefer_under`` an under-estimate ranks
    before an over-estimate at equal distance. The default is score, prediction distance, duration,
    submitted_at (contest.md §5.5).

    Missing values: a prediction of nan (none given) ranks after every prediction at that criterion and ties
    with the other missing ones, so the next criterion decides (contest.md §2.7, §5.4). Scores, durations and
    times must be finite. Rounding the distance makes distances computed from decimal inputs compare equal.

    Ties: entries equal on every criterion share the lowest rank of their run ("1, 2, 2, 4", as
    ``scipy.stats.rankdata(method="min")`` on the lexicographic key) and are marked ``tied`` for the committee;
    their display order is by ascending participant id. ``groups`` (e.g. audience group) adds ranks within each
    group from the same order. An empty input gives empty arrays.
    """
    names = _criterion_names(criteria)
    ids = as_labels(participant_ids, "participant_ids")
    count = ids.shape[0]
    tiebreak = unique_codes(ids, "participant_ids")
    score = as_vector(scores, "scores", length=count)
    if prefer_under and "prediction_distance" not in names:
        raise ValueError("prefer_under needs the prediction_distance criterion")

    distance = over = None
    if "prediction_distance" in names or predictions is not None:
        if predictions is None or actual is None:
            raise ValueError("the prediction distance needs both predictions (nan = none) and actual")
        distance, over = _prediction_keys(predictions, actual, count, distance_decimals)

    columns = {
        "duration": (durations_ms, "durations_ms"),
        "submitted_at": (submitted_at, "submitted_at"),
        "started_at": (started_at, "started_at"),
    }
    keys: list[NDArray] = []
    for name in names:
        if name == "score":
            keys.append(-score)
        elif name == "prediction_distance":
            keys.append(np.where(np.isnan(distance), np.inf, distance))
            if prefer_under:
                keys.append(over)
        else:
            values, argument = columns[name]
            if values is None:
                raise ValueError(f"criterion {name!r} needs {argument}")
            key = as_times(values, argument, length=count)
            if name == "duration" and (key < 0).any():
                raise ValueError(f"durations_ms must not be negative (first bad position {first_false(key >= 0)})")
            keys.append(key)

    order = _order(keys, tiebreak)
    rank, tied = _competition_ranks(keys, order)
    group_rank = None
    if groups is not None:
        group_codes = np.unique(as_labels(groups, "groups", length=count), return_inverse=True)[1].reshape(count)
        group_rank = _competition_ranks(keys, _order(keys, tiebreak, group_codes, order), group_codes)[0]
    return Ranking(tuple(names), order, rank, tied, distance, group_rank)


def counted_attempts(
    participant_ids: ArrayLike, scores: ArrayLike, submitted_at: ArrayLike, rule: str = "best"
) -> NDArray[np.bool_]:
    """Mark the one attempt per participant that counts for the round.

    ``best``: highest score, ties → earliest ``submitted_at``; ``first``: earliest; ``last``: latest
    (contest.md §5.3 ``which_attempt_counts``; Moodle's grading methods highest/first/last). Equal times fall back
    to input order (earlier row = earlier attempt). All values must be present; an empty input gives an empty mask.
    """
    if rule not in ATTEMPT_RULES:
        raise ValueError(f"rule must be one of {', '.join(ATTEMPT_RULES)}; got {rule!r}")
    ids = as_labels(participant_ids, "participant_ids")
    count = ids.shape[0]
    score = as_vector(scores, "scores", length=count)
    time = as_times(submitted_at, "submitted_at", length=count)
    people, person = np.unique(ids, return_inverse=True)
    if people.shape[0] == count:
        return np.ones(count, dtype=bool)  # one attempt per participant: each counts
    person = person.reshape(count)
    row = np.arange(count)
    if rule == "best":
        order = np.lexsort((row, time, -score, person))
    elif rule == "first":
        order = np.lexsort((row, time, person))
    else:
        order = np.lexsort((-row, -time, person))
    first_of_person = np.ones(count, dtype=bool)
    first_of_person[1:] = person[order][1:] != person[order][:-1]
    counted = np.zeros(count, dtype=bool)
    counted[order[first_of_person]] = True
    return counted


def prediction_actual(
    target: str,
    participant_ids: ArrayLike,
    scores: ArrayLike,
    max_scores: ArrayLike,
    counted: ArrayLike,
    *,
    decimals: int = 5,
) -> float:
    """Compute the true value that the prediction question asks for, from the round's attempts.

    Pass the attempts of the population the rules name (contest.md §5.4 ``population``: by default valid ones
    only, frozen at round close) and the counted-attempt mask (:func:`counted_attempts`), exactly one per person.
    ``persons_full_marks`` = persons whose counted attempt has full marks (:func:`full_marks`);
    ``attempts_full_marks`` = attempts with full marks; ``persons_participating`` = distinct persons;
    ``attempts_participating`` = attempts; ``percent_persons_full_marks`` = 100 · persons_full_marks /
    persons_participating rounded half up to ``decimals`` places (0 when nobody took part). Scores must be
    present (a missing score is not an attempt to count).
    """
    if target not in PREDICTION_TARGETS:
        raise ValueError(f"target must be one of {', '.join(PREDICTION_TARGETS)}; got {target!r}")
    if decimals < 0:
        raise ValueError(f"decimals must be >= 0, got {decimals}")
    ids = as_labels(participant_ids, "participant_ids")
    count = ids.shape[0]
    is_counted = np.asarray(counted, dtype=bool)
    if is_counted.shape != (count,):
        raise ValueError(f"counted must have shape ({count},), got {is_counted.shape}")
    person = np.unique(ids, return_inverse=True)[1].reshape(count)
    per_person = np.bincount(person, weights=is_counted)
    if (per_person != 1).any():
        raise ValueError("counted must mark exactly one attempt per participant")
    is_full = full_marks(as_vector(scores, "scores", length=count), max_scores)
    persons = int(per_person.shape[0])
    persons_full = int(np.count_nonzero(is_full & is_counted))
    values = {
        "persons_full_marks": persons_full,
        "attempts_full_marks": int(np.count_nonzero(is_full)),
        "persons_participating": persons,
        "attempts_participating": count,
    }
    if target in values:
        return float(values[target])
    return float(_percent_half_up(persons_full, persons, decimals)) if persons else 0.0


def prize_awards(standings: Sequence[Sequence[Hashable]], prize_tables: Sequence[Sequence[PrizeTier]]) -> PrizeAwards:
    """Award prizes place by place in each standing, then keep only each person's highest prize.

    ``standings[k]`` lists participant ids best first (e.g. ``ids[ranking.order]`` of one round or one audience
    group); ``prize_tables[k]`` gives its tiers highest first, handed out to consecutive places. A person who wins
    in several standings keeps the prize of highest ``value``; equal values → the earliest standing, then the
    better place (contest.md §2.9, §5.5 "one prize per person"). Forfeited prizes are not passed down the list:
    that is a committee decision, so they are returned for the record. Ties on the ranking are resolved
    beforehand (``Ranking.tied`` shows them).
    """
    if len(standings) != len(prize_tables):
        raise ValueError(f"got {len(standings)} standings but {len(prize_tables)} prize tables")
    won: list[Award] = []
    for index, (standing, tiers) in enumerate(zip(standings, prize_tables, strict=True)):
        if len(set(standing)) != len(standing):
            raise ValueError(f"standing {index} lists a participant twice")
        _check_tiers(tiers, index)
        places = [tier for tier in tiers for _ in range(tier.count)]
        won.extend(
            Award(participant, index, position, tier.label, tier.value)
            for position, (participant, tier) in enumerate(zip(standing, places), start=1)
        )
    best: dict[Hashable, Award] = {}
    for award in sorted(won, key=lambda item: (-item.value, item.standing, item.position)):
        best.setdefault(award.participant_id, award)
    kept = set(best.values())
    awards = tuple(award for award in won if award in kept)
    forfeited = tuple(award for award in won if award not in kept)
    return PrizeAwards(awards, forfeited)


def unit_ranking(
    unit_ids: ArrayLike,
    headcounts: ArrayLike,
    participant_ids: ArrayLike,
    participant_units: ArrayLike,
    participant_scores: ArrayLike,
    *,
    participant_points: ArrayLike | None = None,
    blocks: ArrayLike | None = None,
    min_rate: float = 70.0,
) -> UnitRanking:
    """Rank units for collective prizes by participation rate, mean score and winners' points, per block.

    Rate = 100 · distinct completers / eligible headcount, rounded half up to 2 decimals and capped at 100 (more
    completers than the headcount is full participation, not more); a unit is eligible
    when ``rate >= min_rate`` (e.g. 70); eligible units rank by rate desc, mean counted score desc, sum of prize
    points desc, full ties share a rank and are listed by unit id (contest.md §5.6, ward Party rule in §2.9).
    One row per completer: its id (must be unique), unit (one of ``unit_ids``), counted score and prize points
    (default 0). ``blocks`` (unit block per unit) splits the ranking; None ranks all units together.
    A unit without completers has rate 0 and mean nan (it can only be eligible when ``min_rate`` is 0, and then
    ranks after units with a mean).
    """
    units = as_labels(unit_ids, "unit_ids")
    unit_count = units.shape[0]
    tiebreak = unique_codes(units, "unit_ids")
    headcount = as_vector(headcounts, "headcounts", length=unit_count)
    if (headcount <= 0).any() or (headcount != np.round(headcount)).any():
        raise ValueError("headcounts must be positive whole numbers")
    people = as_labels(participant_ids, "participant_ids")
    count = people.shape[0]
    unique_codes(people, "participant_ids")
    person_units = as_labels(participant_units, "participant_units", length=count)
    score = as_vector(participant_scores, "participant_scores", length=count)
    points = np.zeros(count) if participant_points is None else as_vector(
        participant_points, "participant_points", length=count
    )
    if not 0 <= min_rate <= 100:
        raise ValueError(f"min_rate is a percentage in [0, 100], got {min_rate}")

    codes = np.unique(np.concatenate([units, person_units]), return_inverse=True)[1].reshape(-1)
    index_of_code = np.full(unit_count + count, -1, dtype=np.intp)
    index_of_code[codes[:unit_count]] = np.arange(unit_count)
    unit_of_person = index_of_code[codes[unit_count:]]
    if (unit_of_person < 0).any():
        unknown = plain(person_units[unit_of_person < 0][0])
        raise ValueError(f"participant_units contains {unknown!r}, which is not in unit_ids")

    completers = np.bincount(unit_of_person, minlength=unit_count).astype(np.int64)
    # More completers than the headcount (a stale or understated headcount) is full participation, never more.
    rate = np.minimum(_percent_half_up(completers, headcount.astype(np.int64), 2), 100.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_score = np.bincount(unit_of_person, weights=score, minlength=unit_count) / completers
    winners_points = np.bincount(unit_of_person, weights=points, minlength=unit_count)
    eligible = rate >= min_rate

    chosen = np.flatnonzero(eligible)
    keys = [-rate[chosen], np.where(np.isnan(mean_score[chosen]), np.inf, -mean_score[chosen]), -winners_points[chosen]]
    block_codes = np.zeros(chosen.shape[0], dtype=np.intp)
    if blocks is not None:
        block_codes = np.unique(as_labels(blocks, "blocks", length=unit_count), return_inverse=True)[1]
        block_codes = block_codes.reshape(unit_count)[chosen]
    order = _order(keys, tiebreak[chosen], block_codes)
    ranks = _competition_ranks(keys, order, block_codes)[0]
    rank = np.zeros(unit_count, dtype=np.int64)
    rank[chosen] = ranks
    return UnitRanking(completers, rate, mean_score, winners_points, eligible, rank, chosen[order])


def _criterion_names(criteria: str | Sequence[str]) -> tuple[str, ...]:
    """Resolve a preset name or validate an explicit list of criteria."""
    if isinstance(criteria, str):
        if criteria not in PRESETS:
            raise ValueError(f"unknown ranking preset {criteria!r}; presets: {', '.join(PRESETS)}")
        return PRESETS[criteria]
    names = tuple(criteria)
    if not names:
        raise ValueError("criteria must name at least one criterion")
    unknown = [name for name in names if name not in CRITERIA]
    if unknown:
        raise ValueError(f"unknown ranking criterion {unknown[0]!r}; known: {', '.join(CRITERIA)}")
    if len(set(names)) != len(names):
        raise ValueError(f"criteria must not repeat a criterion: {names}")
    return names


def _prediction_keys(
    predictions: ArrayLike, actual: float, count: int, decimals: int
) -> tuple[NDArray[np.float64], NDArray[np.int8]]:
    """Return the rounded prediction distance (nan when missing) and 1 where the prediction over-estimates."""
    if not np.isfinite(actual):
        raise ValueError(f"actual must be a finite number, got {actual}")
    if decimals < 0:
        raise ValueError(f"distance_decimals must be >= 0, got {decimals}")
    predicted = as_vector(predictions, "predictions", length=count, finite=False)
    if np.isinf(predicted).any():
        raise ValueError(f"predictions must not be infinite (first bad position {first_false(~np.isinf(predicted))})")
    distance = np.round(np.abs(predicted - actual), decimals)
    return distance, (predicted > actual).astype(np.int8)


def _percent_half_up(numerator: ArrayLike, denominator: ArrayLike, decimals: int) -> NDArray[np.float64]:
    """Return 100 · numerator / denominator rounded half up to ``decimals`` places, exactly (integer arithmetic)."""
    scale = 10**decimals
    scaled = np.asarray(numerator, dtype=np.int64) * (100 * scale)
    whole = np.asarray(denominator, dtype=np.int64)
    return ((2 * scaled + whole) // (2 * whole)) / scale


def _order(
    keys: Sequence[NDArray], tiebreak: NDArray, groups: NDArray | None = None, order: NDArray[np.intp] | None = None
) -> NDArray[np.intp]:
    """Return positions sorted by ``keys`` (most significant first, smaller is better), then by ``tiebreak``.

    ``tiebreak`` holds distinct codes, so any sort of it is the stable one. With ``groups`` the sort is stable
    within each group, group by group; a precomputed ungrouped ``order`` saves the lexicographic sort.
    """
    if order is None:
        order = np.argsort(tiebreak)
        for key in reversed(keys):
            order = _refine(order, key)
    if groups is not None:
        order = _refine(order, groups)
    return order


def _refine(order: NDArray[np.intp], key: NDArray) -> NDArray[np.intp]:
    """Return ``order`` sorted by ``key`` stably: entries with equal keys keep their order (one pass of lexsort).

    Dense codes of the key (``np.unique``) times n plus the current position make every sort value distinct, so
    numpy's vectorised unstable argsort gives the stable order, two to three times faster than a merge pass.
    """
    count = order.shape[0]
    codes = np.unique(key[order], return_inverse=True)[1].reshape(count)
    return order[np.argsort(codes * count + np.arange(count))]


def _competition_ranks(
    keys: Sequence[NDArray], order: NDArray[np.intp], groups: NDArray | None = None
) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
    """Return each entry's competition rank within its group along ``order``, and whether its run has company.

    A run is a stretch of ``order`` equal on every key (and group); it takes the rank of its first position.
    """
    count = order.shape[0]
    new_run = np.zeros(count, dtype=bool)
    new_run[:1] = True
    for key in [*keys, *([] if groups is None else [groups])]:
        ordered = key[order]
        new_run[1:] |= ordered[1:] != ordered[:-1]
    positions = np.arange(count)
    run_start = np.maximum.accumulate(np.where(new_run, positions, 0))
    group_start = 0
    if groups is not None:
        ordered_groups = groups[order]
        new_group = np.ones(count, dtype=bool)
        new_group[1:] = ordered_groups[1:] != ordered_groups[:-1]
        group_start = np.maximum.accumulate(np.where(new_group, positions, 0))
    rank = np.empty(count, dtype=np.int64)
    rank[order] = run_start - group_start + 1
    run_id = np.cumsum(new_run) - 1
    tied = np.empty(count, dtype=bool)
    tied[order] = np.bincount(run_id)[run_id] > 1
    return rank, tied


def _check_tiers(tiers: Sequence[PrizeTier], index: int) -> None:
    """Raise ValueError unless the prize table has non-negative counts and values from highest to lowest."""
    for tier in tiers:
        if tier.count < 0 or not np.isfinite(tier.value):
            raise ValueError(f"prize table {index}: tier {tier.label!r} needs count >= 0 and a finite value")
    values = [tier.value for tier in tiers]
    if values != sorted(values, reverse=True):
        raise ValueError(f"prize table {index} must list tiers from the highest value to the lowest")
