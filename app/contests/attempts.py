"""Attempts on the server clock: starting (a drawn snapshot of questions, options and keys), saving, submitting
and grading, auto-submitting the expired ones, and what the attempt and result pages show.

The hot paths (save, submit) use one Core SELECT of the attempt with its round and one UPDATE guarded by the attempt's
state, so a replayed or concurrent submit changes nothing, and grading reads only the attempt's stored snapshot.
"""
from __future__ import annotations

import datetime as dt
import re
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np
import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from app.contests.banks import bank_pool, is_borrowed, question_texts
from app.contests.draw import DrawError, draw_questions, option_order
from app.contests.grading import MAX_OPTIONS, MULTI_SELECT, QUESTION_TYPES, grade_attempt, to_mask
from app.contests.models import Attempt, Contest, Participant, Round
from app.contests.spec import round_spec
from app.database import insert_for
from app.errors import AppError, ConflictError, GoneError, NotFoundError, PermissionDeniedError
from app.extensions import db

# --- packed snapshots ----------------------------------------------------------------------------------------------


def pack_ids(ids: Sequence[int]) -> bytes:
    """Pack question ids as little-endian uint32."""
    return struct.pack(f"<{len(ids)}I", *ids)


def unpack_ids(data: bytes) -> tuple[int, ...]:
    """Unpack little-endian uint32 question ids."""
    return struct.unpack(f"<{len(data) // 4}I", data)


def pack_orders(orders: Sequence[Sequence[int]]) -> bytes:
    """Pack option orders, MAX_OPTIONS bytes per question (0xFF after the last option)."""
    return b"".join(bytes(order) + b"\xff" * (MAX_OPTIONS - len(order)) for order in orders)


def unpack_orders(data: bytes) -> list[tuple[int, ...]]:
    """Unpack option orders: for each question, the original option index at each display position."""
    return [tuple(b for b in data[i:i + MAX_OPTIONS] if b != 0xFF) for i in range(0, len(data), MAX_OPTIONS)]


# --- the attempt -----------------------------------------------------------------------------------------------------


def check_can_start(contest: Contest, round_: Round, participant: Participant, now: dt.datetime,
                    zone: ZoneInfo) -> None:
    """Raise a clear 4xx when the participant may not start this round now."""
    if not contest.accepts_attempts:
        raise ConflictError(_l("Cuộc thi hiện không mở để làm bài."))
    state = round_.window_state(now)
    if state == "upcoming":
        opens = round_.opens_at.astimezone(zone)
        raise ConflictError(_l("Vòng thi chưa mở. Thời gian mở: %(time)s ngày %(day)s.",
                               time=opens.strftime("%H:%M"), day=opens.strftime("%d/%m/%Y")))
    if state == "closed":
        raise GoneError(_l("Vòng thi đã kết thúc."))
    groups = round_spec(contest, round_, zone).audience_groups
    if groups is not None and participant.group_code not in groups:
        raise PermissionDeniedError(_l("Vòng thi này dành cho đối tượng dự thi khác."))


def start_attempt(contest: Contest, round_: Round, participant: Participant, *, now: dt.datetime, zone: ZoneInfo,
                  rng: np.random.Generator, client_hash: str | None = None) -> Attempt:
    """Return the participant's running attempt of the round, or draw and store a new one.

    The draw (questions and option orders) is stored as the attempt's snapshot; answer keys stay in it on the
    server. A partial unique index allows one active attempt per participant and round, and a unique attempt
    number caps the attempts, so concurrent starts end with one attempt: the loser gets the winner's attempt.
    """
    check_can_start(contest, round_, participant, now, zone)
    finalise_expired(now, participant_id=participant.id)
    active = _active_attempt(participant.id, round_.id)
    if active is not None:
        return active
    # Only finished attempts use up the allowance: an active one seen here was started by a concurrent request,
    # whose attempt this request returns after its own insert gives way.
    done = db.session.execute(
        sa.select(sa.func.coalesce(sa.func.sum(sa.case((Attempt.state != "active", 1), else_=0)), 0),
                  sa.func.max(Attempt.number))
        .where(Attempt.participant_id == participant.id, Attempt.round_id == round_.id)
    ).one()
    if round_.attempts_allowed and done[0] >= round_.attempts_allowed:
        raise ConflictError(_l("Bạn đã dùng hết số lượt thi của vòng này."))
    spec = round_spec(contest, round_, zone)
    pool = {entry.question.id: entry for entry in bank_pool(round_.bank_id)}
    avoid = set()
    if done[0]:
        for packed in db.session.scalars(sa.select(Attempt.question_ids).where(
                Attempt.participant_id == participant.id, Attempt.round_id == round_.id)):
            avoid.update(unpack_ids(packed))
    try:
        drawn = draw_questions([entry.question for entry in pool.values()], round_.question_count, spec.draw, rng,
                               shuffle=spec.shuffle_questions, avoid=avoid)
    except DrawError:
        raise ConflictError(_l("Ngân hàng câu hỏi của vòng thi không đủ câu. Vui lòng báo Ban Tổ chức.")) from None
    entries = [pool[question.id] for question in drawn]
    orders = [option_order(entry.question.n_options,
                           spec.shuffle_options and QUESTION_TYPES[entry.type_code] != "true_false", rng)
              for entry in entries]
    limit_end = now + dt.timedelta(seconds=round_.time_limit_seconds) if round_.time_limit_seconds else None
    deadline = min(limit_end, round_.closes_at) if limit_end else round_.closes_at
    values = dict(
        contest_id=contest.id, round_id=round_.id, participant_id=participant.id, number=(done[1] or 0) + 1,
        state="active", unit_id=participant.unit_id, group_code=participant.group_code, started_at=now,
        deadline_at=deadline, max_score=len(entries), question_ids=pack_ids([e.question.id for e in entries]),
        option_orders=pack_orders(orders), types=bytes(e.type_code for e in entries),
        keys=bytes(e.key for e in entries), answers=bytes(len(entries)), client_hash=client_hash,
    )
    inserted = db.session.execute(insert_for(db.session, Attempt).values(**values).on_conflict_do_nothing()
                                  .returning(Attempt.id)).scalar()
    if inserted is None:
        active = _active_attempt(participant.id, round_.id)
        if active is None:
            raise ConflictError(_l("Bạn vừa bắt đầu hoặc đã dùng hết lượt thi của vòng này. Vui lòng tải lại trang."))
        return active
    return db.session.get(Attempt, inserted)


def _active_attempt(participant_id: int, round_id: int) -> Attempt | None:
    return db.session.scalar(sa.select(Attempt).where(
        Attempt.participant_id == participant_id, Attempt.round_id == round_id, Attempt.state == "active"))


def get_attempt(attempt_id: int, participant_id: int) -> Attempt:
    """Return the participant's own attempt, or 404 (someone else's attempt is not found either)."""
    attempt = db.session.get(Attempt, attempt_id)
    if attempt is None or attempt.participant_id != participant_id:
        raise NotFoundError(_l("Không tìm thấy bài thi."))
    return attempt


def open_attempt(attempt_id: int, participant_id: int, *, now: dt.datetime) -> Attempt:
    """Return the participant's own attempt, submitted first with its saved answers if its time has run out."""
    attempt = get_attempt(attempt_id, participant_id)
    if attempt.is_active and finalise_expired(now, participant_id=participant_id):
        db.session.refresh(attempt)
    return attempt


@dataclass(frozen=True)
class ShownQuestion:
    """A question as the attempt page shows it: options in display order, never the key."""

    position: int
    id: int
    type: str
    text: str
    #: (display value, option text, checked)
    options: tuple[tuple[int, str, bool], ...]

    @property
    def answered(self) -> bool:
        """Tell whether an answer is saved for this question."""
        return any(checked for _value, _text, checked in self.options)


def attempt_questions(attempt: Attempt) -> list[ShownQuestion]:
    """Return the attempt's questions in display order with the saved answers ticked."""
    ids = unpack_ids(attempt.question_ids)
    texts = question_texts(ids)
    shown = []
    for position, (qid, order, answer) in enumerate(zip(ids, unpack_orders(attempt.option_orders), attempt.answers)):
        question = texts[qid]
        options = tuple((display, question.options[original], bool(answer >> original & 1))
                        for display, original in enumerate(order))
        shown.append(ShownQuestion(position + 1, qid, question.type, question.text, options))
    return shown


@dataclass(frozen=True)
class ReviewedQuestion:
    """A question on the result page; the key and explanation only when the round's rules allow it."""

    position: int
    text: str
    #: (option text, chosen, correct or None when the key is hidden)
    options: tuple[tuple[str, bool, bool | None], ...]
    right: bool | None
    explanation: str
    source: str


def review_questions(attempt: Attempt, show_key: bool) -> list[ReviewedQuestion]:
    """Return a finished attempt's questions with the participant's choices (and the key when allowed)."""
    ids = unpack_ids(attempt.question_ids)
    texts = question_texts(ids)
    marks = attempt.marks or bytes(len(ids))
    reviewed = []
    for position, (qid, order, answer, key) in enumerate(
            zip(ids, unpack_orders(attempt.option_orders), attempt.answers, attempt.keys)):
        question = texts[qid]
        options = tuple((question.options[original], bool(answer >> original & 1),
                         bool(key >> original & 1) if show_key else None) for original in order)
        reviewed.append(ReviewedQuestion(position + 1, question.text, options,
                                         bool(marks[position]) if show_key else None,
                                         question.explanation if show_key else "",
                                         question.source if show_key else ""))
    return reviewed


def shows_key(contest: Contest, round_: Round, zone: ZoneInfo, now: dt.datetime) -> bool:
    """Tell whether a finished attempt's page may show correct answers now (the round's show_correct rule).

    A round counts as closed once its window has ended or the whole contest has stopped taking attempts. A round
    drawing from a borrowed bank (a parent's, a sibling's, or a shared one below the top level) never shows keys.
    """
    if is_borrowed(round_.bank, contest.unit):
        return False
    rule = round_spec(contest, round_, zone).show_correct
    closed = now >= round_.closes_at or contest.status not in ("draft", "open")
    return rule == "immediately" or (rule == "after_round_close" and closed)


@dataclass(frozen=True)
class Outcome:
    """What became of a save or submit: saved, submitted, replayed (already finished) or expired."""

    status: str
    attempt_id: int
    score: int | None = None
    max_score: int | None = None


_HOT_COLUMNS = (Attempt.id, Attempt.participant_id, Attempt.state, Attempt.started_at, Attempt.deadline_at,
                Attempt.question_ids, Attempt.option_orders, Attempt.types, Attempt.keys, Attempt.answers,
                Attempt.max_score, Attempt.prediction, Attempt.saved_at, Round.grace_seconds, Round.settings,
                Participant.session_version)
_HOT_SELECT = (sa.select(*_HOT_COLUMNS).join(Round, Round.id == Attempt.round_id)
               .join(Participant, Participant.id == Attempt.participant_id))
# Save and submit run prebuilt statements on the session's connection: building a statement per request costs as much
# as the database work, and these are the requests of a deadline surge.
_LOAD_HOT = _HOT_SELECT.where(Attempt.id == sa.bindparam("attempt_id"))
_RUNNING = sa.and_(Attempt.id == sa.bindparam("attempt_id"), Attempt.state == "active")
_SAVE = sa.update(Attempt).where(_RUNNING).values(
    answers=sa.bindparam("new_answers", type_=Attempt.answers.type),
    prediction=sa.bindparam("new_prediction", type_=Attempt.prediction.type),
    saved_at=sa.bindparam("moment", type_=Attempt.saved_at.type),
)
_SUBMIT = sa.update(Attempt).where(_RUNNING).values(
    state=sa.bindparam("new_state"),
    answers=sa.bindparam("new_answers", type_=Attempt.answers.type),
    marks=sa.bindparam("new_marks", type_=Attempt.marks.type),
    score=sa.bindparam("new_score"),
    prediction=sa.bindparam("new_prediction", type_=Attempt.prediction.type),
    submitted_at=sa.bindparam("moment", type_=Attempt.submitted_at.type),
    saved_at=sa.bindparam("saved", type_=Attempt.saved_at.type),
    duration_ms=sa.bindparam("new_duration"),
)


def _hot_attempt(attempt_id: int, participant_id: int, session_version: int | None):
    """Load an attempt for save/submit; the session must still be current (not signed out, password unchanged)."""
    row = db.session.connection().execute(_LOAD_HOT, {"attempt_id": attempt_id}).first()
    if row is None or row.participant_id != participant_id:
        raise NotFoundError(_l("Không tìm thấy bài thi."))
    if session_version is not None and row.session_version != session_version:
        raise AppError(_l("Phiên đăng nhập đã kết thúc. Vui lòng đăng nhập lại để tiếp tục."), status=401)
    return row


def pack_answers(row, answers: Mapping[int, Sequence[int]]) -> bytes:
    """Return the answers bitmask bytes from {question id: display positions}; 400 for anything not drawn.

    :raise AppError: a question that is not in the attempt, an option that does not exist, or several options
        for a one-answer question. Nothing is stored in that case.
    """
    ids = unpack_ids(row.question_ids)
    position = {qid: index for index, qid in enumerate(ids)}
    orders = unpack_orders(row.option_orders)
    packed = bytearray(len(ids))
    for qid, displays in answers.items():
        index = position.get(qid)
        if index is None:
            raise AppError(_l("Câu trả lời gửi lên không thuộc bài thi của bạn. Vui lòng tải lại trang."))
        order = orders[index]
        if len(set(displays)) != len(displays) or any(not 0 <= d < len(order) for d in displays):
            raise AppError(_l("Phương án trả lời không hợp lệ. Vui lòng tải lại trang."))
        if len(displays) > 1 and QUESTION_TYPES[row.types[index]] not in MULTI_SELECT:
            raise AppError(_l("Câu %(n)d chỉ được chọn một phương án.", n=index + 1))
        packed[index] = to_mask(order[d] for d in displays)
    return bytes(packed)


def parse_prediction(text: str | None, settings: Mapping) -> float | None:
    """Return the prediction typed by the participant (comma or dot decimals), None when empty or disabled.

    :raise AppError: not a number, negative, too large, or more decimals than the rules allow.
    """
    rule = settings["prediction"]
    text = (text or "").strip().replace(" ", "")
    if not rule["enabled"] or not text:
        return None
    if rule["decimals"] == 0 and re.fullmatch(r"\d{1,3}(?:[.,]\d{3})+", text):
        text = re.sub(r"[.,]", "", text)  # thousands written the Vietnamese way: 1.234 = 1234
    normalised = text.replace(",", ".") if text.count(",") == 1 and "." not in text else text
    match = re.fullmatch(r"\d+(?:\.(\d+))?", normalised)
    if match is None:
        raise AppError(_l("Câu dự đoán chỉ nhận số không âm (ví dụ 125 hoặc 87,65432)."))
    if match.group(1) and len(match.group(1)) > rule["decimals"]:
        raise AppError(_l("Câu dự đoán ghi tối đa %(n)d chữ số thập phân.", n=rule["decimals"]))
    value = float(normalised)
    if value > rule["max_value"]:
        raise AppError(_l("Giá trị dự đoán quá lớn (tối đa %(n)s).", n=f"{rule['max_value']:,.0f}".replace(",", ".")))
    return value


def save_answers(attempt_id: int, participant_id: int, answers: Mapping[int, Sequence[int]],
                 prediction_text: str | None, *, now: dt.datetime, session_version: int | None = None) -> Outcome:
    """Replace the saved answers (and prediction) of a running attempt; an expired one is auto-submitted instead.

    :raise AppError: tampered answers or prediction (nothing stored). :raise ConflictError: already submitted.
    """
    row = _hot_attempt(attempt_id, participant_id, session_version)
    if row.state != "active":
        raise ConflictError(_l("Bài thi đã được nộp; không thể thay đổi câu trả lời."))
    packed = pack_answers(row, answers)
    prediction = parse_prediction(prediction_text, row.settings)
    if now > row.deadline_at + dt.timedelta(seconds=row.grace_seconds):
        return _finalise_row(row, row.deadline_at)
    updated = db.session.connection().execute(_SAVE, {
        "attempt_id": attempt_id, "new_answers": packed, "new_prediction": prediction, "moment": now}).rowcount
    if not updated:
        raise ConflictError(_l("Bài thi đã được nộp; không thể thay đổi câu trả lời."))
    return Outcome("saved", attempt_id)


def submit_attempt(attempt_id: int, participant_id: int, answers: Mapping[int, Sequence[int]],
                   prediction_text: str | None, *, now: dt.datetime, session_version: int | None = None) -> Outcome:
    """Grade and submit a running attempt from its snapshot; a replay returns "replayed" and changes nothing.

    After the deadline plus grace the posted answers are refused and the saved ones are submitted ("expired"),
    stamped at the deadline. The duration is min(now, deadline) − start, so the grace is never counted.
    :raise AppError: tampered answers, a bad prediction, or a missing required prediction (nothing stored).
    """
    row = _hot_attempt(attempt_id, participant_id, session_version)
    if row.state != "active":
        return Outcome("replayed", attempt_id)
    packed = pack_answers(row, answers)
    prediction = parse_prediction(prediction_text, row.settings)
    if now > row.deadline_at + dt.timedelta(seconds=row.grace_seconds):
        return _finalise_row(row, row.deadline_at)
    rule = row.settings["prediction"]
    if rule["enabled"] and rule["required"] and prediction is None:
        raise AppError(_l("Vui lòng trả lời câu hỏi dự đoán trước khi nộp bài."))
    marks = grade_attempt(row.types, row.keys, packed)
    score = sum(marks)
    stamp = min(now, row.deadline_at)
    updated = db.session.connection().execute(_SUBMIT, {
        "attempt_id": attempt_id, "new_state": "submitted", "new_answers": packed, "new_marks": marks,
        "new_score": score, "new_prediction": prediction, "moment": now, "saved": now,
        "new_duration": _duration_ms(row.started_at, stamp)}).rowcount
    if not updated:
        return Outcome("replayed", attempt_id)
    return Outcome("submitted", attempt_id, score, row.max_score)


def _duration_ms(start: dt.datetime, end: dt.datetime) -> int:
    return max(0, int(round((end - start).total_seconds() * 1000)))


def _finalise_row(row, stamp: dt.datetime) -> Outcome:
    """Submit a running attempt with its saved answers, stamped at `stamp` (its deadline, or earlier)."""
    marks = grade_attempt(row.types, row.keys, row.answers)
    updated = db.session.connection().execute(_SUBMIT, {
        "attempt_id": row.id, "new_state": "expired", "new_answers": row.answers, "new_marks": marks,
        "new_score": sum(marks), "new_prediction": row.prediction, "moment": stamp, "saved": row.saved_at,
        "new_duration": _duration_ms(row.started_at, stamp)}).rowcount
    return Outcome("expired" if updated else "replayed", row.id, sum(marks), row.max_score)


def finalise_expired(now: dt.datetime, *, contest_id: int | None = None, participant_id: int | None = None,
                     cut_all: bool = False) -> int:
    """Auto-submit, with their saved answers, every running attempt whose deadline plus grace has passed.

    With ``cut_all`` every running attempt of the selection is submitted, stamped at min(deadline, now).
    """
    query = _HOT_SELECT.where(Attempt.state == "active")
    if not cut_all:
        query = query.where(Attempt.deadline_at < now)
    if contest_id is not None:
        query = query.where(Attempt.contest_id == contest_id)
    if participant_id is not None:
        query = query.where(Attempt.participant_id == participant_id)
    finalised = 0
    for row in db.session.execute(query).all():
        if cut_all or now > row.deadline_at + dt.timedelta(seconds=row.grace_seconds):
            finalised += _finalise_row(row, min(row.deadline_at, now)).status == "expired"
    return finalised


def attempts_of(participant: Participant) -> dict[int, list[Attempt]]:
    """Return the participant's attempts by round id, oldest first."""
    found: dict[int, list[Attempt]] = {}
    for attempt in db.session.scalars(sa.select(Attempt).where(Attempt.participant_id == participant.id)
                                      .order_by(Attempt.round_id, Attempt.number)):
        found.setdefault(attempt.round_id, []).append(attempt)
    return found

