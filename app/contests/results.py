"""Results of a contest from its stored attempts: rankings, prediction values, prizes, unit standings, item analysis.

One aggregate query loads the finished attempts of a contest as a single row of whole columns (packed integers,
predictions, group codes, and the concatenated question ids, marks and answers), the arithmetic is numpy in
``app.stats``, and results are cached per contest until an attempt finishes or the contest changes. Personal data
is joined only for the rows a page shows.
"""
from __future__ import annotations

import datetime as dt
import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import numpy as np
import sqlalchemy as sa
from numpy.typing import NDArray

from app import cache
from app.contests.grading import MULTI_SELECT, random_guess
from app.contests.models import Attempt, Contest, Participant, Question, Round
from app.contests.spec import ContestSpec, contest_spec
from app.database import epoch_ms, in_batches, joined_bytes, joined_text, packed_floats, packed_integers, raw_cursor
from app.extensions import db
from app.stats import integrity
from app.stats.items import ItemAnalysis, item_analysis_entries
from app.stats.ranking import (
    PrizeAwards,
    PrizeTier,
    Ranking,
    contest_ranking,
    counted_attempts,
    prediction_actual,
    prize_awards,
    unit_ranking,
)
from app.units.models import Unit

#: Full-mark attempts faster than this per question are flagged for review (contest.md §5.7).
MIN_SECONDS_PER_QUESTION = 3.0
#: Option index of a one-option answer bitmask, −1 for none or several options.
_ONLY_BIT = np.array([mask.bit_length() - 1 if mask and not mask & (mask - 1) else -1 for mask in range(256)],
                     dtype=np.int8)


@dataclass(frozen=True)
class AttemptTable:
    """Finished attempts, one entry per attempt in id order; flat arrays hold every drawn question."""

    attempt_id: NDArray[np.int64]
    round_id: NDArray[np.int64]
    participant_id: NDArray[np.int64]
    unit_id: NDArray[np.int64]
    group: NDArray
    score: NDArray[np.float64]
    max_score: NDArray[np.float64]
    duration_ms: NDArray[np.float64]
    #: nan where no prediction was given.
    prediction: NDArray[np.float64]
    started_ms: NDArray[np.int64]
    submitted_ms: NDArray[np.int64]
    #: Start of each attempt's questions in the flat arrays (length n + 1).
    offsets: NDArray[np.int64]
    question_id: NDArray[np.int64]
    mark: NDArray[np.uint8]
    #: Answer bitmask over original options (0 = none).
    answer: NDArray[np.uint8]
    #: Participant excluded from rankings by the committee.
    excluded: NDArray[np.bool_]

    def __len__(self) -> int:
        return int(self.attempt_id.shape[0])

    def take(self, rows: NDArray[np.intp]) -> AttemptTable:
        """Return the sub-table of the given attempt rows (in that order)."""
        if rows.shape[0] == len(self) and (rows.shape[0] == 0 or (rows[0] == 0 and (np.diff(rows) == 1).all())):
            return self
        lengths = np.diff(self.offsets)[rows]
        starts = self.offsets[:-1][rows]
        flat = _ranges(starts, lengths)
        return AttemptTable(
            **{name: getattr(self, name)[rows] for name in _PER_ATTEMPT},
            offsets=np.concatenate(([0], np.cumsum(lengths))).astype(np.int64),
            question_id=self.question_id[flat], mark=self.mark[flat], answer=self.answer[flat],
        )

    def entry_rows(self) -> NDArray[np.int32]:
        """Return, for every flat entry, the row of its attempt (int32: half the memory of millions of entries)."""
        return np.repeat(np.arange(len(self), dtype=np.int32), np.diff(self.offsets))


_PER_ATTEMPT = ("attempt_id", "round_id", "participant_id", "unit_id", "group", "score", "max_score", "duration_ms",
                "prediction", "started_ms", "submitted_ms", "excluded")


def _ranges(starts: NDArray, lengths: NDArray) -> NDArray[np.intp]:
    """Return the concatenation of range(start, start + length) for each pair."""
    if lengths.size == 0:
        return np.zeros(0, dtype=np.intp)
    ends = np.cumsum(lengths)
    return (np.arange(ends[-1]) - np.repeat(ends - lengths, lengths) + np.repeat(starts, lengths)).astype(np.intp)


def load_attempts(contest_id: int, round_id: int | None = None) -> AttemptTable:
    """Load the finished attempts of a contest (or one round) with one aggregate query, in attempt id order.

    The database returns each column of all the rows as one value (:class:`packed_integers` and its siblings), so
    200,000 attempts cost a dozen driver objects rather than millions; the packed question ids, marks and answers
    are concatenated likewise. Every question is worth one mark, so an attempt's maximum is its number of
    questions. Finished attempts always have their score, duration, submission time and marks.
    """
    query = (
        sa.select(
            packed_integers(Attempt.id, Attempt.round_id, Attempt.participant_id, Attempt.unit_id, Attempt.score,
                            Attempt.duration_ms, epoch_ms(Attempt.started_at), epoch_ms(Attempt.submitted_at),
                            sa.func.length(Attempt.marks)),
            packed_floats(Attempt.prediction), joined_text(Attempt.group_code), joined_bytes(Attempt.question_ids),
            joined_bytes(Attempt.marks), joined_bytes(Attempt.answers),
        )
        .where(Attempt.contest_id == int(contest_id), Attempt.state.in_(("submitted", "expired")))
    )
    if round_id is not None:
        query = query.where(Attempt.round_id == int(round_id))
    with raw_cursor(db.session.connection(), query) as cursor:
        integers, predictions, groups, questions, marks, answers = cursor.fetchone()
    excluded_ids = np.fromiter(db.session.scalars(
        sa.select(Participant.id).where(Participant.contest_id == contest_id, Participant.excluded)), dtype=np.int64)
    if integers is None:
        numbers, predicted, group = np.zeros((0, 9), dtype=np.int64), np.zeros(0), np.zeros(0, dtype=object)
        questions = marks = answers = b""
    else:
        packed = bytes.fromhex(integers) if isinstance(integers, str) else integers
        numbers = np.frombuffer(packed, dtype=">i8").reshape(-1, 9).astype(np.int64)
        predicted = (np.fromstring(predictions, sep=",") if isinstance(predictions, str)
                     else np.frombuffer(predictions, dtype=">f8").astype(np.float64))
        group = np.array(groups.split("\x1f"), dtype=object)
        if not predicted.shape[0] == group.shape[0] == numbers.shape[0]:
            raise RuntimeError("the attempt columns came back with different lengths")
    attempt_id, round_, participant, unit, score, duration, started, submitted, lengths = numbers.T
    table = AttemptTable(
        attempt_id=attempt_id.copy(),
        round_id=round_.copy(),
        participant_id=participant.copy(),
        unit_id=unit.copy(),
        score=score.astype(np.float64),
        max_score=lengths.astype(np.float64),
        duration_ms=duration.astype(np.float64),
        prediction=predicted,
        started_ms=started.copy(),
        submitted_ms=submitted.copy(),
        group=group,
        offsets=np.concatenate(([0], np.cumsum(lengths))).astype(np.int64),
        question_id=np.frombuffer(bytes(questions), dtype="<u4").astype(np.int64),
        mark=np.frombuffer(bytes(marks), dtype=np.uint8),
        answer=np.frombuffer(bytes(answers), dtype=np.uint8),
        excluded=np.isin(participant, excluded_ids),
    )
    if attempt_id.size > 1 and not (attempt_id[1:] > attempt_id[:-1]).all():
        table = table.take(np.argsort(attempt_id, kind="stable"))
    return table


@dataclass(frozen=True)
class Standing:
    """A ranked list: one entry per valid participant (their counted attempt, or their contest total)."""

    participant_id: NDArray[np.int64]
    group: NDArray
    unit_id: NDArray[np.int64]
    score: NDArray[np.float64]
    max_score: NDArray[np.float64]
    prediction: NDArray[np.float64]
    duration_ms: NDArray[np.float64]
    submitted_ms: NDArray[np.int64]
    #: Row of each entry's attempt in the contest's table (None for the overall standing).
    attempt_row: NDArray[np.intp] | None
    ranking: Ranking

    def __len__(self) -> int:
        return int(self.participant_id.shape[0])


@dataclass(frozen=True)
class RoundResult:
    """A round's standing, the prediction value it used, and its counted attempts."""

    round_id: int
    number: int
    name: str
    #: The prediction target's true value (None: no prediction question, or no valid attempt yet).
    actual: float | None
    #: Rows of the contest's table (``ContestResults.table``) holding this round's finished attempts.
    rows: NDArray[np.intp]
    #: The rows that count, one per participant, excluded participants left out (also ``standing.attempt_row``).
    counted_rows: NDArray[np.intp]
    standing: Standing


@dataclass(frozen=True)
class AwardLine:
    """One prize: who, where it was won (a round or overall, an audience group) and what."""

    participant_id: int
    round_number: int | None
    group: str
    position: int
    label: str
    amount: float
    #: The winner is tied with the next entry on every criterion: the committee decides (contest.md §5.5).
    tied: bool


@dataclass(frozen=True)
class UnitLine:
    """A unit's participation and collective standing."""

    unit_id: int
    code: str
    name: str
    block: str | None
    headcount: int
    completers: int
    rate: float
    mean_score: float | None
    winners_points: float
    eligible: bool
    rank: int
    prize: str | None


@dataclass(frozen=True)
class ContestResults:
    """Everything a results page, a report or an export needs, computed once per change."""

    contest_id: int
    rounds: tuple[RoundResult, ...]
    overall: Standing
    awards: tuple[AwardLine, ...]
    forfeited: tuple[AwardLine, ...]
    units: tuple[UnitLine, ...]
    #: Max score of the contest total (sum of round question counts, or the best round's for best_round).
    max_total: float
    table: AttemptTable = field(repr=False)


def finished_count(contest_id: int) -> int:
    """Return how many attempts of the contest are finished (the results cache key)."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(Attempt).where(
        Attempt.contest_id == contest_id, Attempt.state.in_(("submitted", "expired"))))


def contest_results(contest: Contest, zone: ZoneInfo, *, frozen: bool = False) -> ContestResults:
    """Return the results of a contest; with ``frozen`` each round ignores attempts submitted after its freeze.

    The freeze (leaderboard.freeze_minutes before a round closes) applies to public pages while results are not
    yet published (CTFd's freeze; contest.md §5.5). Cached until an attempt finishes or the contest changes.
    """
    spec = contest_spec(contest, zone)
    freeze = frozen and not contest.results_public and spec.leaderboard.freeze_minutes > 0
    key = (contest.id, contest.updated_at, finished_count(contest.id), freeze, str(zone))
    cached = cache.contest_results.get(key)
    if cached is not None:
        return cached
    with no_cycle_collection():
        table = load_attempts(contest.id)
        cutoffs = {round_.id: _ms(round_.closes_at - dt.timedelta(minutes=spec.leaderboard.freeze_minutes))
                   for round_ in contest.rounds} if freeze else {}
        rounds = tuple(_round_result(contest, round_, spec, table, cutoffs.get(round_.id))
                       for round_ in contest.rounds)
        overall, max_total = _overall(spec, rounds)
        awards, forfeited = _awards(spec, rounds, overall)
        units = _units(contest, spec, overall, awards)
    results = ContestResults(contest.id, rounds, overall, awards, forfeited, units, max_total, table)
    cache.contest_results.put(key, results)
    return results


@contextmanager
def no_cycle_collection() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while results or a report are built.

    They hold object arrays of 200,000 entries and create 200,000 report rows, none in a reference cycle, yet a full
    collection falling in the middle walks every one of them (0.2 s on a large contest). Reference counting still
    frees everything; the collector resumes afterwards unless it was already off.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _ms(moment: dt.datetime) -> int:
    return int(round(moment.timestamp() * 1000))


def _round_result(contest: Contest, round_: Round, spec: ContestSpec, table: AttemptTable,
                  cutoff_ms: int | None) -> RoundResult:
    """Pick counted attempts, compute the prediction value and rank the round."""
    round_spec = spec.rounds[round_.number - 1]
    mask = table.round_id == round_.id
    if cutoff_ms is not None:
        mask &= table.submitted_ms < cutoff_ms
    rows = np.flatnonzero(mask)
    valid = rows[~table.excluded[rows]]
    counted = counted_attempts(table.participant_id[valid], table.score[valid], table.submitted_ms[valid],
                               round_spec.counts) if valid.size else np.zeros(0, dtype=bool)
    counted_rows = valid[counted]
    prediction = round_spec.prediction
    actual = None
    if prediction.enabled:
        if round_.prediction_actual is not None and (round_.prediction_actual_fixed or contest.results_public):
            actual = round_.prediction_actual
        elif valid.size:
            actual = prediction_actual(prediction.target, table.participant_id[valid], table.score[valid],
                                       table.max_score[valid], counted, decimals=prediction.decimals)
    criteria = tuple(c for c in spec.ranking.criteria if c != "prediction_distance" or actual is not None)
    standing = _standing(table, counted_rows, criteria, actual, spec.ranking.prefer_under and actual is not None,
                         prediction.decimals)
    return RoundResult(round_.id, round_.number, round_.name, actual, rows, counted_rows, standing)


def _standing(table: AttemptTable, rows: NDArray[np.intp], criteria: tuple[str, ...], actual: float | None,
              prefer_under: bool, decimals: int) -> Standing:
    ranking = contest_ranking(
        table.participant_id[rows], table.score[rows], criteria=criteria,
        predictions=table.prediction[rows] if actual is not None else None, actual=actual,
        durations_ms=table.duration_ms[rows], submitted_at=table.submitted_ms[rows],
        started_at=table.started_ms[rows], groups=_group_codes(table.group[rows]), prefer_under=prefer_under,
        distance_decimals=decimals,
    )
    return Standing(table.participant_id[rows], table.group[rows], table.unit_id[rows], table.score[rows],
                    table.max_score[rows], table.prediction[rows], table.duration_ms[rows], table.submitted_ms[rows],
                    rows, ranking)


def _group_codes(groups: NDArray) -> NDArray[np.intp]:
    """Return a small integer per audience-group label (equal labels, equal codes) for ranks within groups.

    A contest has a few groups: one comparison per group is much cheaper than sorting 200,000 strings.
    """
    codes = np.zeros(groups.shape[0], dtype=np.intp)
    for code, label in enumerate(dict.fromkeys(groups.tolist())):
        codes[groups == label] = code
    return codes


def _overall(spec: ContestSpec, rounds: tuple[RoundResult, ...]) -> tuple[Standing, float]:
    """Rank participants over the contest: sum of counted round scores (or their best round), then time."""
    parts = [(result.standing, spec.rounds[result.number - 1].question_count) for result in rounds]
    ids = np.concatenate([standing.participant_id for standing, _ in parts]) if parts else np.zeros(0, np.int64)
    people, person = np.unique(ids, return_inverse=True)
    scores = np.concatenate([standing.score for standing, _ in parts]) if parts else np.zeros(0)
    durations = np.concatenate([standing.duration_ms for standing, _ in parts]) if parts else np.zeros(0)
    submitted = np.concatenate([standing.submitted_ms for standing, _ in parts]) if parts else np.zeros(0, np.int64)
    groups = np.concatenate([standing.group for standing, _ in parts]) if parts else np.zeros(0, object)
    units = np.concatenate([standing.unit_id for standing, _ in parts]) if parts else np.zeros(0, np.int64)
    count = people.shape[0]
    if spec.overall_aggregation == "best_round":
        best = counted_attempts(ids, scores, submitted, "best") if ids.size else np.zeros(0, dtype=bool)
        order = np.flatnonzero(best)[np.argsort(person[best])]
        total, duration, last = scores[order], durations[order], submitted[order]
        max_total = float(max((q for _, q in parts), default=0))
    else:
        total = np.bincount(person, weights=scores, minlength=count)
        duration = np.bincount(person, weights=durations, minlength=count)
        last = np.zeros(count, dtype=np.int64)
        np.maximum.at(last, person, submitted)
        max_total = float(sum(q for _, q in parts))
    # The latest round's group and unit describe the person (they are copied per attempt).
    latest = np.zeros(count, dtype=np.intp)
    latest[person] = np.arange(ids.shape[0])
    ranking = contest_ranking(people, total, criteria=("score", "duration", "submitted_at"), durations_ms=duration,
                              submitted_at=last, groups=_group_codes(groups[latest]))
    standing = Standing(people, groups[latest], units[latest], total, np.full(count, max_total),
                        np.full(count, np.nan), duration, last, None, ranking)
    return standing, max_total


def _awards(spec: ContestSpec, rounds: tuple[RoundResult, ...], overall: Standing
            ) -> tuple[tuple[AwardLine, ...], tuple[AwardLine, ...]]:
    """Hand out round and overall prizes per audience group, keeping one prize per person."""
    standings: list[list[int]] = []
    tables: list[tuple[PrizeTier, ...]] = []
    origins: list[tuple[int | None, str, Standing]] = []
    sources = [(result.number, result.standing, spec.prizes_for_round(spec.rounds[result.number - 1]))
               for result in rounds] + [(None, overall, spec.overall_prizes)]
    for number, standing, prize_tables in sources:
        for group in spec.groups:
            tiers = prize_tables.get(group.code)
            if not tiers:
                continue
            order = standing.ranking.order
            in_group = order[standing.group[order] == group.code]
            standings.append([int(pid) for pid in standing.participant_id[in_group]])
            tables.append(tiers)
            origins.append((number, group.code, standing))
    result: PrizeAwards = prize_awards(standings, tables)

    def line(award) -> AwardLine:
        number, group, standing = origins[award.standing]
        index = int(np.flatnonzero(standing.participant_id == award.participant_id)[0])
        return AwardLine(int(award.participant_id), number, group, award.position, award.label, award.value,
                         bool(standing.ranking.tied[index]))

    return tuple(line(a) for a in result.awards), tuple(line(a) for a in result.forfeited)


def _units(contest: Contest, spec: ContestSpec, overall: Standing, awards: tuple[AwardLine, ...]
           ) -> tuple[UnitLine, ...]:
    """Rank units with a headcount in the contest's subtree by participation rate (contest.md §5.6).

    Once results are published, the headcounts frozen then are used (``freeze_headcounts``), not today's.
    """
    query = (sa.select(Unit.id, Unit.code, Unit.name, Unit.block, Unit.headcount, Unit.path)
             .where(Unit.is_within(contest.unit)).order_by(Unit.path))
    frozen = contest.unit_headcounts
    if frozen is None:
        units = list(db.session.execute(query.where(Unit.headcount > 0)))
    else:
        units = [SimpleNamespace(**{**row._asdict(), "headcount": frozen[str(row.id)]})
                 for row in db.session.execute(query) if frozen.get(str(row.id), 0) > 0]
    if not units:
        return ()
    # A participant counts for the nearest unit above (or at) their own that has a headcount.
    paths = {row.path: row.id for row in units}
    all_paths = dict(db.session.execute(
        sa.select(Unit.id, Unit.path).where(Unit.is_within(contest.unit))).all())
    owner = np.full(max(all_paths) + 1, -1, dtype=np.int64)
    for unit_id, path in all_paths.items():
        parts = path.strip("/").split("/")
        owner[unit_id] = next((paths[f"/{'/'.join(parts[:i])}/"] for i in range(len(parts), 0, -1)
                               if f"/{'/'.join(parts[:i])}/" in paths), -1)
    inside = overall.unit_id < owner.shape[0]
    mapped = np.where(inside, owner[np.where(inside, overall.unit_id, 0)], -1)
    keep = mapped >= 0
    # Each winner brings the points of their highest prize (one prize per person is already applied).
    points = np.zeros(len(overall))
    for award in awards:
        position = np.searchsorted(overall.participant_id, award.participant_id)
        if position < len(overall) and overall.participant_id[position] == award.participant_id:
            points[position] = max(points[position], spec.collective.points.get(award.label, 0.0))
    percent = np.divide(100 * overall.score, overall.max_score, out=np.zeros(len(overall)),
                        where=overall.max_score > 0)
    ranking = unit_ranking(
        [row.id for row in units], [row.headcount for row in units], overall.participant_id[keep], mapped[keep],
        percent[keep], participant_points=points[keep],
        blocks=[row.block or "" for row in units] if spec.collective.split_by_block else None,
        min_rate=spec.collective.min_rate,
    )
    prizes: dict[int, str] = {}
    if spec.collective.enabled and spec.collective.prizes:
        places = [tier.label for tier in spec.collective.prizes for _ in range(tier.count)]
        block_of = [row.block or "" for row in units] if spec.collective.split_by_block else [""] * len(units)
        taken: dict[str, int] = {}
        for index in ranking.order:
            block = block_of[index]
            position = taken.get(block, 0)
            if position < len(places):
                prizes[int(index)] = places[position]
            taken[block] = position + 1
    return tuple(
        UnitLine(row.id, row.code, row.name, row.block, int(row.headcount), int(ranking.completers[i]),
                 float(ranking.rate[i]), None if np.isnan(ranking.mean_score[i]) else float(ranking.mean_score[i]),
                 float(ranking.winners_points[i]), bool(ranking.eligible[i]), int(ranking.rank[i]), prizes.get(i))
        for i, row in enumerate(units)
    )


def freeze_headcounts(contest: Contest) -> None:
    """Keep the subtree's headcounts as they are at publication: the published unit ranking never moves."""
    contest.unit_headcounts = {str(unit_id): int(headcount) for unit_id, headcount in db.session.execute(
        sa.select(Unit.id, Unit.headcount).where(Unit.is_within(contest.unit), Unit.headcount > 0))}
    cache.contest_results.invalidate()


def freeze_prediction_actuals(contest: Contest, zone: ZoneInfo) -> None:
    """Store each round's computed prediction value so later exclusions never move it (contest.md §5.4)."""
    cache.contest_results.invalidate()
    results = contest_results(contest, zone)
    for round_, result in zip(contest.rounds, results.rounds, strict=True):
        if not round_.prediction_actual_fixed:
            round_.prediction_actual = result.actual
    db.session.flush()


# --- item analysis and integrity -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemReport:
    """Item analysis of counted attempts, with the question of each item column."""

    question_ids: NDArray[np.int64]
    codes: tuple[str, ...]
    types: tuple[str, ...]
    analysis: ItemAnalysis


def item_report(results: ContestResults, round_number: int | None = None) -> ItemReport | None:
    """Analyse the counted attempts of a round (or of every round) with Moodle's definitions; None if no attempt.

    With random draws each question's statistics are over the attempts that drew it and its rest score is the
    attempt's score minus the question's mark (``app.stats.items``). Rows are in attempt id order.
    """
    chosen = [r.counted_rows for r in results.rounds if round_number is None or r.number == round_number]
    rows = np.sort(np.concatenate(chosen)) if chosen else np.zeros(0, np.intp)
    if rows.size == 0:
        return None
    sub = results.table.take(rows)
    # Question ids are small integers: a lookup table maps them to columns without sorting millions of entries.
    # Entries stay in small dtypes (int16 columns, int8 choices, uint8 marks): a round has millions of them.
    present = np.bincount(sub.question_id) > 0
    question_ids = np.flatnonzero(present)
    lookup = (np.cumsum(present) - 1).astype(np.int16 if question_ids.shape[0] < 2**15 else np.int32)
    columns = lookup[sub.question_id]
    info = {row.id: row for batch in in_batches(int(q) for q in question_ids) for row in db.session.execute(
        sa.select(Question.id, Question.code, Question.type, Question.options).where(Question.id.in_(batch)))}
    types = tuple(info[int(q)].type for q in question_ids)
    n_options = np.array([len(info[int(q)].options) for q in question_ids])
    guess = np.array([random_guess(kind, n) for kind, n in zip(types, n_options)])
    # The chosen option of a one-answer question is the index of its only bit; none or multi-select → −1.
    chosen_option = _ONLY_BIT[sub.answer]
    multi_select = np.zeros(present.shape[0], dtype=bool)
    multi_select[question_ids] = [kind in MULTI_SELECT for kind in types]
    if multi_select.any():
        chosen_option[multi_select[sub.question_id]] = -1
    analysis = item_analysis_entries(
        sub.entry_rows(), columns, sub.mark, n_attempts=len(sub), n_items=question_ids.shape[0],
        random_guess=guess, choices=chosen_option, n_options=int(n_options.max()),
    )
    return ItemReport(question_ids, tuple(info[int(q)].code for q in question_ids), types, analysis)


@dataclass(frozen=True)
class IntegrityReport:
    """Review signals of a contest (never verdicts)."""

    signals: tuple[integrity.IntegritySignal, ...]


def integrity_report(contest: Contest, results: ContestResults) -> IntegrityReport:
    """Flag too-fast full marks, identical answer sequences, shared devices and duplicate identities."""
    table = results.table
    signals = []
    if len(table):
        questions = np.diff(table.offsets)
        signals.append(integrity.too_fast_full_marks(table.attempt_id, table.score, table.max_score,
                                                     table.duration_ms, questions,
                                                     min_seconds_per_question=MIN_SECONDS_PER_QUESTION))
        for result in results.rounds:
            if not result.rows.size:
                continue
            sub = table.take(result.rows)
            width = int(np.diff(sub.offsets).max())
            matrix_q = np.full((len(sub), width), -1, dtype=np.int64)
            matrix_a = np.full((len(sub), width), -1, dtype=np.int64)
            rows = sub.entry_rows()
            slots = np.arange(sub.question_id.shape[0]) - sub.offsets[:-1][rows]
            matrix_q[rows, slots] = sub.question_id
            matrix_a[rows, slots] = np.where(sub.answer > 0, sub.answer.astype(np.int64), -1)
            signals.append(integrity.identical_answer_sequences(
                sub.participant_id, matrix_q, matrix_a, min_answered=min(10, width)))
        devices = db.session.execute(sa.select(Attempt.participant_id, Attempt.client_hash).where(
            Attempt.contest_id == contest.id, Attempt.client_hash.is_not(None))).all()
        if devices:
            people, hashes = zip(*devices)
            signals.append(integrity.shared_devices(list(people), list(hashes)))
    people = db.session.execute(
        sa.select(Participant.id, Participant.cccd_hash, Participant.full_name, Participant.birth_date)
        .where(Participant.contest_id == contest.id).order_by(Participant.id)
    ).all()
    if people:
        ids, cccd, names, births = zip(*people)
        signals.append(integrity.duplicate_identities(list(ids), list(cccd), list(names), list(births)))
    return IntegrityReport(tuple(signal for signal in signals if signal.groups))

