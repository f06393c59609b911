"""Question banks: importing checked questions (all or nothing), the pool a draw picks from, question texts.

Pools and texts are cached (``app.cache``): a pool is checked against its bank's count and highest id on every use,
and a stored question's text never changes.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from app import cache
from app.auth.audit import Actor, Unsigned, record
from app.contests.draw import PoolQuestion
from app.contests.grading import QUESTION_TYPES, to_mask
from app.contests.imports import QuestionRow
from app.contests.models import Question, QuestionBank
from app.database import in_batches
from app.errors import AppError, NotFoundError, PermissionDeniedError
from app.extensions import db
from app.units.models import Unit
from app.validation import Problem, Rejected


def get_bank(code: str) -> QuestionBank:
    """Return the bank with this code, or 404."""
    bank = db.session.scalar(sa.select(QuestionBank).where(QuestionBank.code == code))
    if bank is None:
        raise NotFoundError(_l("Không tìm thấy ngân hàng câu hỏi “%(code)s”.", code=code))
    return bank


def banks_for(unit: Unit | None) -> list[QuestionBank]:
    """Return the shared banks and those owned within a unit's subtree (all banks when unit is None)."""
    query = sa.select(QuestionBank).outerjoin(Unit, Unit.id == QuestionBank.unit_id).order_by(QuestionBank.code)
    if unit is not None:
        query = query.where(sa.or_(QuestionBank.unit_id.is_(None), Unit.is_within(unit)))
    return list(db.session.scalars(query))


def may_write(bank: QuestionBank | None, unit: Unit, is_administrator: bool) -> bool:
    """Tell whether an organiser of ``unit`` may add questions to ``bank`` (docs/permissions.md, "Question banks").

    A new bank (None) is anyone's to create; a unit's bank belongs to that unit and its ancestors; a shared bank
    (no owner unit) is used by every unit, so only an administrator of a top-level unit may change it.
    """
    if bank is None:
        return True
    if bank.unit is None:
        return is_administrator and unit.parent_id is None
    return bank.unit.is_within(unit)


def may_import_into(code: str, unit: Unit, is_administrator: bool) -> bool:
    """Tell whether an organiser of ``unit`` may import into the bank with this code (see ``may_write``)."""
    return may_write(db.session.scalar(sa.select(QuestionBank).where(QuestionBank.code == code)), unit,
                     is_administrator)


def is_borrowed(bank: QuestionBank, unit: Unit) -> bool:
    """Tell whether a contest of ``unit`` uses ``bank`` without owning it: the bank belongs to an ancestor or a
    sibling, or it is shared and the unit is not top-level. Such a contest never shows answer keys, since they are
    the keys of other units' contests too."""
    if bank.unit is None:
        return unit.parent_id is not None
    return not bank.unit.is_within(unit)


def import_questions(bank_code: str, rows: Sequence[QuestionRow], *, actor: Actor, now: dt.datetime,
                     title: str | None = None, unit: Unit | None = None) -> tuple[QuestionBank, int]:
    """Add checked rows to a bank (created when missing), all or nothing; return the bank and the count added.

    :param unit: the unit owning a bank created here (None: a bank shared by every unit).
    :raise Rejected: a row's code or text already exists in the bank (listed with row numbers).
    """
    bank = db.session.scalar(sa.select(QuestionBank).where(QuestionBank.code == bank_code))
    if not isinstance(actor, Unsigned) and not may_write(bank, actor.unit, actor.role == "administrator"):
        raise PermissionDeniedError(_l("Bạn không có quyền thêm câu hỏi vào ngân hàng này."))
    if bank is None:
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,63}", bank_code):
            raise AppError(_l("Mã ngân hàng chỉ gồm chữ thường không dấu, chữ số và “-” (vd. cchc-2026)."))
        bank = QuestionBank(code=bank_code, title=title or bank_code, unit=unit, created_at=now)
        db.session.add(bank)
        db.session.flush()
    existing = db.session.execute(
        sa.select(Question.code, Question.text_key).where(Question.bank_id == bank.id)
    ).all()
    codes = {code for code, _ in existing}
    keys = {key for _, key in existing}
    problems = []
    for row in rows:
        if row.code in codes:
            problems.append(Problem(_l("mã “%(code)s” đã có trong ngân hàng %(bank)s", code=row.code, bank=bank.code),
                                    row=row.row, place=row.place))
        if row.text_key in keys:
            problems.append(Problem(_l("nội dung trùng với một câu đã có trong ngân hàng %(bank)s", bank=bank.code),
                                    row=row.row, place=row.place))
    if problems:
        raise Rejected(problems, _l("Tệp có câu hỏi trùng với ngân hàng; không câu nào được thêm."))
    db.session.execute(sa.insert(Question), [
        dict(bank_id=bank.id, code=row.code, type=row.type, topic=row.topic, difficulty=row.difficulty, text=row.text,
             options=list(row.options), correct=list(row.correct), explanation=row.explanation, source=row.source,
             text_key=row.text_key, is_active=True, created_at=now)
        for row in rows
    ])
    db.session.flush()
    cache.question_pools.invalidate()
    record(actor, unit.id if unit is not None else None, "bank.import", "bank", bank.id, {"count": len(rows)}, now)
    return bank, len(rows)


#: Names of the usual CCHC topics: the areas of the State administrative reform programme (Resolution 76/NQ-CP) and
#: the measurement of satisfaction and reform. Banks name topics by short codes (the import's rule); a topic of a
#: bank's own is shown as typed.
TOPIC_NAMES = {
    "the_che": _l("Cải cách thể chế"),
    "tthc": _l("Cải cách thủ tục hành chính"),
    "mot_cua": _l("Cơ chế một cửa, một cửa liên thông"),
    "bo_may": _l("Cải cách tổ chức bộ máy"),
    "cong_vu": _l("Cải cách chế độ công vụ"),
    "tai_chinh_cong": _l("Cải cách tài chính công"),
    "chinh_phu_so": _l("Chính phủ điện tử, Chính phủ số"),
    "chi_so": _l("Chỉ số cải cách hành chính, mức độ hài lòng"),
}


def topic_name(code: str) -> str:
    """Return a topic's name in words (its code when the bank made the topic up)."""
    return str(TOPIC_NAMES.get(code, code))

@dataclass(frozen=True)
class PoolEntry:
    """A question as an attempt snapshot needs it: drawing data, type code, key bitmask."""

    question: PoolQuestion
    type_code: int
    key: int


def bank_pool(bank_id: int) -> list[PoolEntry]:
    """Return the active questions of a bank for drawing (cached; refreshed when the bank changes)."""
    version = tuple(db.session.execute(
        sa.select(sa.func.count(), sa.func.max(Question.id)).where(Question.bank_id == bank_id, Question.is_active)
    ).one())
    cached = cache.question_pools.get(bank_id)
    if cached is not None and cached[0] == version:
        return cached[1]
    rows = db.session.execute(
        sa.select(Question.id, Question.topic, Question.difficulty, Question.type, Question.options, Question.correct)
        .where(Question.bank_id == bank_id, Question.is_active).order_by(Question.id)
    ).all()
    pool = [PoolEntry(PoolQuestion(qid, topic, difficulty, len(options)), QUESTION_TYPES.index(kind), to_mask(correct))
            for qid, topic, difficulty, kind, options, correct in rows]
    cache.question_pools.put(bank_id, (version, pool))
    return pool


@dataclass(frozen=True)
class QuestionText:
    """What a page shows of a question (the key only on review pages that are allowed to show it)."""

    id: int
    code: str
    type: str
    topic: str
    text: str
    options: tuple[str, ...]
    correct: tuple[int, ...]
    explanation: str
    source: str


def question_texts(ids: Sequence[int]) -> dict[int, QuestionText]:
    """Return the display data of questions by id (cached: a stored question's text never changes)."""
    found = {qid: text for qid in set(ids) if (text := cache.question_texts.get(qid)) is not None}
    missing = [qid for qid in set(ids) if qid not in found]
    if missing:
        rows = [row for batch in in_batches(missing) for row in db.session.execute(
            sa.select(Question.id, Question.code, Question.type, Question.topic, Question.text, Question.options,
                      Question.correct, Question.explanation, Question.source).where(Question.id.in_(batch)))]
        for qid, code, kind, topic, text, options, correct, explanation, source in rows:
            found[qid] = QuestionText(qid, code, kind, topic, text, tuple(options), tuple(correct), explanation or "",
                                      source or "")
            cache.question_texts.put(qid, found[qid])
    return {qid: found[qid] for qid in ids if qid in found}
