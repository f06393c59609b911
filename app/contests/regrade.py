"""Corrections after the fact: a question's key corrected, or the question voided, once attempts exist.

Every attempt of the contest that drew the question is re-graded from its own snapshot, in numpy (attempts are
grouped by length so their packed bytes become matrices): a corrected key replaces that position's key; a voided
question gets key 0, which no answer matches, and leaves the attempt's maximum (those who drew it have one question
fewer). Running attempts get the new key too, so they are graded right when submitted. Rankings, prizes and unit
results are computed from the attempts, so they follow (the contest's change stamp renews the results cache). The
correction is stored (participants' result pages and the published results show it) and audited with before/after
counts. All graders are "answer ≠ 0 and answer = key" on bitmasks, which is what the vectorised marks compute.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import numpy as np
import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from app import cache
from app.auth.audit import Actor, record
from app.contests.models import Contest, Correction, Question
from app.errors import AppError, ConflictError, NotFoundError
from app.extensions import db

_LETTERS = "ABCDEFGH"


@dataclass(frozen=True)
class Regrade:
    """What a correction changed."""

    correction_id: int
    attempts: int
    changed: int
    detail: dict


def contest_question(contest: Contest, code: str) -> Question:
    """Return the question with this code from the banks of the contest's rounds, or 404."""
    bank_ids = {round_.bank_id for round_ in contest.rounds}
    question = db.session.scalar(sa.select(Question).where(Question.bank_id.in_(bank_ids),
                                                           Question.code == code.strip()))
    if question is None:
        raise NotFoundError(_l("Không có câu hỏi mã “%(code)s” trong ngân hàng của cuộc thi này.", code=code))
    return question


def parse_key(text: str, question: Question) -> list[int]:
    """Return the option indices of a key written as letters ("B", "A,C"); refuse what the question cannot take."""
    letters = re.findall(r"[A-Ha-h]", text or "")
    if not letters or re.sub(r"[\sA-Ha-h,;]", "", text or ""):
        raise AppError(_l("Ghi đáp án đúng bằng chữ cái của phương án, ví dụ B hoặc A,C."))
    indices = sorted({_LETTERS.index(letter.upper()) for letter in letters})
    if indices[-1] >= len(question.options):
        raise AppError(_l("Câu %(code)s chỉ có %(n)d phương án.", code=question.code, n=len(question.options)))
    if len(indices) > 1 and question.type != "multiple":
        raise AppError(_l("Câu %(code)s chỉ có một đáp án đúng.", code=question.code))
    return indices


def key_letters(indices: list[int] | None) -> str:
    """Return option indices as letters ("A, C")."""
    return ", ".join(_LETTERS[index] for index in indices or ())


#: Driver-level statements (the table's plain columns, the driver's placeholder): at 200,000 attempts the result and
#: parameter processing of SQLAlchemy costs more than the database work.
_FETCH = ("SELECT id, state, question_ids, keys, answers, score, max_score FROM contest_attempts "
          "WHERE contest_id = {p}")
_STORE = "UPDATE contest_attempts SET keys = {p}, marks = {p}, score = {p}, max_score = {p} WHERE id = {p}"
_STORE_RUNNING = "UPDATE contest_attempts SET keys = {p}, max_score = {p} WHERE id = {p}"


def _driver_sql(connection, statement: str) -> str:
    return statement.format(p="?" if connection.dialect.paramstyle == "qmark" else "%s")


def regrade_question(contest: Contest, question: Question, *, key: list[int] | None, void: bool, actor: Actor,
                     now: dt.datetime) -> Regrade:
    """Correct a question's key (``key``) or void it (``void``) in one contest and re-grade every attempt.

    :raise ConflictError: the question is already void in this contest, or the key is unchanged.
    """
    if void == (key is not None):
        raise AppError(_l("Chọn một trong hai: sửa đáp án, hoặc huỷ câu hỏi."))
    earlier = db.session.scalars(sa.select(Correction).where(Correction.contest_id == contest.id,
                                                             Correction.question_id == question.id)).all()
    if any(item.kind == "void" for item in earlier):
        raise ConflictError(_l("Câu %(code)s đã bị huỷ trong cuộc thi này.", code=question.code))
    old = list(question.correct)
    if key is not None and sorted(key) == sorted(old):
        raise ConflictError(_l("Đáp án mới giống đáp án hiện tại."))
    new_mask = 0 if void else sum(1 << index for index in key)

    connection = db.session.connection()
    rows = connection.exec_driver_sql(_driver_sql(connection, _FETCH), (contest.id,)).fetchall()
    by_length: dict[int, list] = {}
    for row in rows:  # (id, state, question_ids, keys, answers, score, max_score)
        by_length.setdefault(len(row[2]) // 4, []).append(row)
    updates, running = [], []
    before_full = after_full = drew = changed = 0
    before_total = after_total = 0.0
    for length, group in by_length.items():
        if length == 0:
            continue
        ids = np.frombuffer(b"".join(bytes(r[2]) for r in group), dtype="<u4").reshape(-1, length)
        hit = ids == question.id
        touched = hit.any(axis=1)
        if not touched.any():
            continue
        chosen = np.flatnonzero(touched)
        picked = [group[i] for i in chosen]
        keys = np.frombuffer(b"".join(bytes(r[3]) for r in picked), dtype=np.uint8).reshape(-1, length).copy()
        answers = np.frombuffer(b"".join(bytes(r[4]) for r in picked), dtype=np.uint8).reshape(-1, length)
        keys[hit[chosen]] = new_mask
        marks = ((answers != 0) & (answers == keys)).astype(np.uint8)
        scores = marks.sum(axis=1).astype(np.int64)
        old_maxima = np.array([r[6] for r in picked], dtype=np.int64)
        maxima = old_maxima - (1 if void else 0)
        finished = np.array([r[1] != "active" for r in picked], dtype=bool)
        old_scores = np.array([r[5] if r[5] is not None else 0 for r in picked], dtype=np.int64)
        drew += int(finished.sum())
        changed += int((finished & (old_scores != scores)).sum())
        before_full += int((finished & (old_scores == old_maxima)).sum())
        after_full += int((finished & (scores == maxima) & (maxima > 0)).sum())
        before_total += float(old_scores[finished].sum())
        after_total += float(scores[finished].sum())
        key_rows = [row.tobytes() for row in keys]
        mark_rows = [row.tobytes() for row in marks]
        row_ids = [r[0] for r in picked]
        for index in np.flatnonzero(finished).tolist():
            updates.append((key_rows[index], mark_rows[index], int(scores[index]), int(maxima[index]),
                            row_ids[index]))
        for index in np.flatnonzero(~finished).tolist():
            running.append((key_rows[index], int(maxima[index]), row_ids[index]))
    if updates:
        connection.exec_driver_sql(_driver_sql(connection, _STORE), updates)
    if running:
        connection.exec_driver_sql(_driver_sql(connection, _STORE_RUNNING), running)

    # Future draws: a voided question is no longer drawn; a corrected key is snapshotted from now on.
    if void:
        question.is_active = False
    else:
        question.correct = sorted(key)
    detail = {
        "question": question.code, "kind": "void" if void else "key", "old_key": key_letters(old),
        "new_key": None if void else key_letters(sorted(key)), "attempts": drew, "running_attempts": len(running),
        "changed_scores": changed, "full_marks_before": before_full, "full_marks_after": after_full,
        "mean_score_before": round(before_total / drew, 4) if drew else None,
        "mean_score_after": round(after_total / drew, 4) if drew else None,
    }
    correction = Correction(contest_id=contest.id, question_id=question.id, question_code=question.code,
                            kind=detail["kind"], old_correct=old, new_correct=None if void else sorted(key),
                            attempts=drew, changed=changed, detail=detail, organiser_id=actor.id, at=now)
    db.session.add(correction)
    contest.updated_at = now  # renews the cached results: rankings, prizes and unit results are recomputed
    db.session.flush()
    cache.contest_results.invalidate()
    record(actor, contest.unit_id, "contest.regrade", "contest", contest.id, detail, now)
    return Regrade(correction.id, drew, changed, detail)


def corrections_of(contest: Contest) -> list[Correction]:
    """Return the contest's corrections, oldest first."""
    return list(db.session.scalars(sa.select(Correction).where(Correction.contest_id == contest.id)
                                   .order_by(Correction.at, Correction.id)))


def attempt_corrections(contest_id: int, question_ids: tuple[int, ...]) -> list[tuple[int, Correction]]:
    """Return (position in the attempt, correction) for the corrections that touch an attempt's questions."""
    position = {qid: index + 1 for index, qid in enumerate(question_ids)}
    found = db.session.scalars(sa.select(Correction).where(Correction.contest_id == contest_id,
                                                           Correction.question_id.in_(list(position)))
                               .order_by(Correction.at)).all()
    return [(position[item.question_id], item) for item in found]

