"""A contest's life: finding contests and rounds, saving a definition (create or update), the status transitions
(open, close, reopen, publish results, archive), and the committee's prediction values.

Every change is recorded in the audit log for its actor.
"""
from __future__ import annotations

import datetime as dt
import math
import re
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from app.auth.audit import Actor, record
from app.contests.attempts import finalise_expired
from app.contests.banks import bank_pool, is_borrowed
from app.contests.draw import shortfalls
from app.contests.models import Attempt, Contest, Participant, Question, QuestionBank, Round
from app.contests.results import freeze_headcounts, freeze_prediction_actuals
from app.contests.spec import ContestSpec, contest_spec
from app.errors import AppError, ConflictError, NotFoundError
from app.extensions import db
from app.units.models import Unit
from app.validation import Problem, Rejected


def get_contest(slug: str) -> Contest:
    """Return the contest with this slug, or 404."""
    contest = db.session.scalar(sa.select(Contest).where(Contest.slug == slug))
    if contest is None:
        raise NotFoundError(_l("Không tìm thấy cuộc thi này."))
    return contest


def get_round(contest: Contest, number: int) -> Round:
    """Return a contest's round by number, or 404."""
    found = next((round_ for round_ in contest.rounds if round_.number == number), None)
    if found is None:
        raise NotFoundError(_l("Cuộc thi không có vòng %(n)d.", n=number))
    return found


def contests_for(unit: Unit | None) -> list[Contest]:
    """Return the contests run within a unit's subtree (all when unit is None), newest first."""
    query = sa.select(Contest).join(Unit, Unit.id == Contest.unit_id).order_by(Contest.created_at.desc(), Contest.id)
    if unit is not None:
        query = query.where(Unit.is_within(unit))
    return list(db.session.scalars(query))



def contest_numbers(contest: Contest) -> tuple[dict[str, int], int]:
    """Return the contest's attempts by state and how many participants registered."""
    counts = dict(db.session.execute(
        sa.select(Attempt.state, sa.func.count()).where(Attempt.contest_id == contest.id).group_by(Attempt.state)
    ).all())
    registered = db.session.scalar(sa.select(sa.func.count()).select_from(Participant)
                                   .where(Participant.contest_id == contest.id))
    return counts, registered


def rounds_with_attempts(contest: Contest) -> set[int]:
    """Return the numbers of a contest's rounds that have attempts (their draw and grading can no longer change)."""
    return set(db.session.scalars(sa.select(Round.number).where(
        Round.contest_id == contest.id, sa.exists().where(Attempt.round_id == Round.id))))


def bank_topics(bank_ids: list[int]) -> list[str]:
    """Return the topics of the active questions of some banks (what a round's draw may name), in order."""
    return list(db.session.scalars(
        sa.select(Question.topic).where(Question.bank_id.in_(bank_ids), Question.is_active).distinct()
        .order_by(Question.topic)))


#: Round settings that shape attempts; they cannot change once a round has attempts.
_FROZEN_ROUND_FIELDS = ("bank", "question_count", "draw", "time_limit_seconds", "attempts_allowed", "counts",
                        "shuffle_questions", "shuffle_options", "prediction")


def save_contest(spec: ContestSpec, *, actor: Actor, now: dt.datetime, scope: Unit | None = None,
                 must_be_new: bool = False) -> tuple[Contest, bool]:
    """Create the contest a spec describes, or update it in place; return (contest, created).

    Checks what the parser cannot: the slug is free (or the contest's own, inside `scope` when given), the unit
    exists (inside `scope`), banks exist and can supply every draw, the contest is not finished, and rounds that
    already have attempts keep their draw and grading settings.
    :raise Rejected: listing every problem; 409 alone when the slug is taken (by any contest when ``must_be_new``).
    """
    contest = db.session.scalar(sa.select(Contest).where(Contest.slug == spec.slug))
    if contest is not None and must_be_new:
        raise Rejected([Problem(_l("slug: mã cuộc thi “%(slug)s” đã được dùng.", slug=spec.slug))], status=409)
    if contest is not None and scope is not None and not contest.unit.is_within(scope):
        raise Rejected([Problem(_l("slug: mã cuộc thi này đã được dùng bởi đơn vị khác."))], status=409)
    problems: list[Problem] = []
    unit = db.session.scalar(sa.select(Unit).where(Unit.code == spec.unit))
    if unit is None:
        problems.append(Problem(_l("không có đơn vị mã “%(code)s”", code=spec.unit), path="unit"))
    elif scope is not None and not unit.is_within(scope):
        problems.append(Problem(_l("đơn vị “%(code)s” nằm ngoài phạm vi quản lý của bạn", code=spec.unit),
                                path="unit"))
    banks: dict[str, QuestionBank] = {}
    for round_spec_ in spec.rounds:
        path = f"rounds[{round_spec_.number - 1}]"
        bank = banks.get(round_spec_.bank) or db.session.scalar(
            sa.select(QuestionBank).where(QuestionBank.code == round_spec_.bank))
        if bank is None:
            problems.append(Problem(_l("không có ngân hàng câu hỏi “%(code)s”",
                                                       code=round_spec_.bank), path=f"{path}.bank"))
            continue
        if scope is not None and bank.unit is not None and not (
                bank.unit.is_within(scope) or scope.is_within(bank.unit)):
            problems.append(Problem(_l("ngân hàng “%(code)s” thuộc đơn vị khác", code=bank.code),
                                    path=f"{path}.bank"))
        if unit is not None and round_spec_.show_correct == "immediately" and is_borrowed(bank, unit):
            problems.append(Problem(_l("ngân hàng “%(code)s” là của đơn vị khác hoặc dùng chung: không được hiện đáp "
                                       "án ngay (show_correct: immediately); đáp án của ngân hàng mượn không bao "
                                       "giờ được hiện", code=bank.code), path=f"{path}.show_correct"))
        banks[bank.code] = bank
        pool = [entry.question for entry in bank_pool(bank.id)]
        for shortfall in shortfalls(pool, round_spec_.question_count, round_spec_.draw):
            problems.append(Problem(_l("ngân hàng không đủ câu hỏi (%(detail)s)",
                                                       detail=_shortfall_text(shortfall)), path=f"{path}.draw"))
    created = contest is None
    if contest is not None:
        if contest.status in ("results_published", "archived"):
            problems.append(Problem(_l("Cuộc thi đã công bố kết quả hoặc đã lưu trữ nên không thể sửa định "
                                           "nghĩa.")))
        problems.extend(_frozen_round_changes(contest, spec))
    if problems:
        raise Rejected(problems, _l("Định nghĩa cuộc thi chưa hợp lệ; chưa có gì được lưu."))
    if contest is None:
        contest = Contest(slug=spec.slug, status="draft", created_at=now)
        db.session.add(contest)
    contest.title = spec.title
    contest.unit = unit
    contest.legal_basis = spec.legal_basis
    contest.rules_text = spec.rules
    contest.definition = spec.definition
    contest.updated_at = now
    existing = {round_.number: round_ for round_ in contest.rounds}
    for round_spec_ in spec.rounds:
        round_ = existing.pop(round_spec_.number, None)
        if round_ is None:
            round_ = Round(number=round_spec_.number)
            contest.rounds.append(round_)
        round_.name = round_spec_.name
        round_.opens_at = round_spec_.opens_at
        round_.closes_at = round_spec_.closes_at
        round_.bank = banks[round_spec_.bank]
        round_.question_count = round_spec_.question_count
        round_.time_limit_seconds = round_spec_.time_limit_seconds
        round_.grace_seconds = round_spec_.grace_seconds
        round_.attempts_allowed = round_spec_.attempts_allowed
        round_.which_counts = round_spec_.counts
        round_.settings = round_spec_.definition
    for round_ in existing.values():
        contest.rounds.remove(round_)
    db.session.flush()
    record(actor, contest.unit_id, "contest.create" if created else "contest.update", "contest", contest.id,
           {"slug": contest.slug}, now)
    return contest, created


def _shortfall_text(shortfall: str) -> LazyString | str:
    """Word a draw shortfall ("pool has 3 eligible questions, 5 needed") for the organiser, in their language."""
    numbers = [int(number) for number in re.findall(r"\d+", shortfall)]
    if shortfall.startswith("blueprint") and len(numbers) == 3:
        return _l("phần %(part)d của cơ cấu đề cần %(needed)d câu, chỉ có %(available)d",
                  part=numbers[0], needed=numbers[1], available=numbers[2])
    if len(numbers) == 2:
        return _l("có %(available)d câu phù hợp, cần %(needed)d", available=numbers[0], needed=numbers[1])
    return shortfall


def _frozen_round_changes(contest: Contest, spec: ContestSpec) -> list[Problem]:
    """List changes to rounds that already have attempts (their draw and grading must stay as they were)."""
    used = rounds_with_attempts(contest)
    problems = []
    new_rounds = {round_spec_.number: round_spec_ for round_spec_ in spec.rounds}
    for round_ in contest.rounds:
        if round_.number not in used:
            continue
        new = new_rounds.get(round_.number)
        path = f"rounds[{round_.number - 1}]"
        if new is None:
            problems.append(Problem(_l("vòng “%(name)s” đã có bài thi nên không thể xoá", name=round_.name),
                                    path=path))
            continue
        for field in _FROZEN_ROUND_FIELDS:
            if round_.settings.get(field) != new.definition.get(field):
                problems.append(Problem(_l("vòng đã có bài thi nên không thể đổi mục này"), path=f"{path}.{field}"))
        if new.opens_at != round_.opens_at:
            problems.append(Problem(_l("vòng đã có bài thi nên không thể đổi giờ mở"), path=f"{path}.opens_at"))
    return problems


def change_status(contest: Contest, transition: str, *, actor: Actor, now: dt.datetime, zone: ZoneInfo) -> None:
    """Apply a lifecycle transition; closing and publishing first auto-submit attempts whose time is up.

    Publishing also auto-submits every attempt still running (stamped no later than now) and freezes each round's
    prediction value (contest.md §5.4 "frozen at round close"). Opening checks every round can be drawn.
    """
    if transition == "open":
        spec = contest_spec(contest, zone)
        problems = []
        for round_ in contest.rounds:
            pool = [entry.question for entry in bank_pool(round_.bank_id)]
            problems += [Problem(_shortfall_text(s), path=round_.name) for s in
                         shortfalls(pool, round_.question_count, spec.rounds[round_.number - 1].draw)]
        if problems:
            raise Rejected(problems, _l("Chưa thể mở cuộc thi: ngân hàng không đủ câu hỏi."))
    if transition == "close":
        finalise_expired(now, contest_id=contest.id)
    contest.transition(transition, now)
    if transition == "publish_results":
        # Nobody can go on once results are out: attempts still running are submitted with their saved answers.
        finalise_expired(now, contest_id=contest.id, cut_all=True)
        freeze_prediction_actuals(contest, zone)
        freeze_headcounts(contest)
    db.session.flush()
    record(actor, contest.unit_id, f"contest.{transition}", "contest", contest.id, {}, now)


def set_prediction_actual(round_: Round, value: float | None, *, actor: Actor, now: dt.datetime) -> None:
    """Fix a round's prediction value by committee decision (None: compute it from the attempts again)."""
    contest = round_.contest
    if contest.results_public:
        raise ConflictError(_l("Kết quả đã công bố; không thể đổi giá trị thực của câu dự đoán."))
    if value is not None and (not math.isfinite(value) or value < 0):
        raise AppError(_l("Giá trị thực phải là số không âm."))
    round_.prediction_actual = value
    round_.prediction_actual_fixed = value is not None
    contest.updated_at = now
    record(actor, contest.unit_id, "contest.prediction_actual", "round", round_.id, {"value": value}, now)
