"""Contest operations: banks, definitions and lifecycle, registration and login, attempts on the server clock.

Services take plain values (``now``, ``rng``, secrets), flush and never commit; the caller commits once. The hot
paths (save, submit) use one Core SELECT of the attempt with its round and one UPDATE guarded by the attempt's
state, so a replayed or concurrent submit changes nothing, and grading reads only the attempt's stored snapshot.
"""
from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import math
import re
import secrets
import struct
import threading
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np
import sqlalchemy as sa
from cachetools import TTLCache
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from werkzeug.security import check_password_hash, generate_password_hash

from app.auth.services import record
from app.contests.draw import DrawError, PoolQuestion, draw_questions, option_order, shortfalls
from app.contests.grading import MAX_OPTIONS, MULTI_SELECT, QUESTION_TYPES, grade_attempt, to_mask
from app.contests.imports import ParticipantRow, QuestionRow
from app.contests.models import Attempt, Contest, Participant, Question, QuestionBank, Round
from app.contests.spec import ContestSpec, Problem, RoundSpec, parse_contest
from app.database import insert_for
from app.errors import AppError, ConflictError, GoneError, NotFoundError, PermissionDeniedError
from app.extensions import db
from app.units.models import Unit

#: Attempt states that hold a finished attempt.
FINISHED = ("submitted", "expired")
MIN_PASSWORD_LENGTH = 8
#: Generated login codes for pre-issued accounts: no look-alike characters (0/O, 1/I/L).
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 8
MAX_FAILED_LOGINS = 10
LOCKOUT = dt.timedelta(minutes=15)
#: Vietnamese mobile numbers after the 2018 renumbering: 03x, 05x, 07x, 08x, 09x + 7 digits.
_MOBILE = re.compile(r"0(?:3[2-9]|5[25689]|7[06-9]|8[1-9]|9[0-9])\d{7}")

_pools: TTLCache = TTLCache(maxsize=64, ttl=60)
_questions: TTLCache = TTLCache(maxsize=20_000, ttl=3600)
_specs: TTLCache = TTLCache(maxsize=256, ttl=3600)
_lock = threading.Lock()


class FileRejected(AppError):
    """An uploaded or loaded file was refused; ``problems`` lists every problem (row-numbered)."""

    def __init__(self, message: str, problems: Sequence[object]) -> None:
        super().__init__(message, details={"problems": [str(problem) for problem in problems]})
        self.problems = [str(problem) for problem in problems]


class RegistrationInvalid(AppError):
    """A registration form has mistakes; ``errors`` maps each field to its message."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(_l("Thông tin đăng ký chưa hợp lệ. Vui lòng xem lại các mục được đánh dấu."),
                         details={"errors": {field: str(message) for field, message in errors.items()}})
        self.errors = errors


def clear_caches() -> None:
    """Forget cached pools, question texts and parsed definitions (after imports, and between tests)."""
    with _lock:
        _pools.clear()
        _questions.clear()
        _specs.clear()


# --- packing ---------------------------------------------------------------------------------------------------


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


# --- question banks --------------------------------------------------------------------------------------------


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


def can_change_bank(bank: QuestionBank, unit: Unit, is_administrator: bool) -> bool:
    """Tell whether an organiser of `unit` may import into a bank (shared banks: administrators only)."""
    if bank.unit is None:
        return is_administrator
    return bank.unit.is_within(unit)


def import_questions(bank_code: str, rows: Sequence[QuestionRow], *, now: dt.datetime, title: str | None = None,
                     unit: Unit | None = None) -> tuple[QuestionBank, int]:
    """Add checked rows to a bank (created when missing), all or nothing; return the bank and the count added.

    :raise FileRejected: a row's code or text already exists in the bank (listed with row numbers).
    """
    bank = db.session.scalar(sa.select(QuestionBank).where(QuestionBank.code == bank_code))
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
            problems.append(Problem(_row_place(row), _l("mã “%(code)s” đã có trong ngân hàng %(bank)s",
                                                        code=row.code, bank=bank.code)))
        if row.text_key in keys:
            problems.append(Problem(_row_place(row), _l("nội dung trùng với một câu đã có trong ngân hàng %(bank)s",
                                                        bank=bank.code)))
    if problems:
        raise FileRejected(_l("Tệp có câu hỏi trùng với ngân hàng; không câu nào được thêm."), problems)
    db.session.execute(sa.insert(Question), [
        dict(bank_id=bank.id, code=row.code, type=row.type, topic=row.topic, difficulty=row.difficulty, text=row.text,
             options=list(row.options), correct=list(row.correct), explanation=row.explanation, source=row.source,
             text_key=row.text_key, is_active=True, created_at=now)
        for row in rows
    ])
    db.session.flush()
    clear_caches()
    return bank, len(rows)


def _row_place(row: QuestionRow) -> str:
    """Name a question's place in its file ("Dòng 3" of a table, "Câu 3" of a YAML list) in the current language."""
    return str(row.place_name)


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
    cached = _pools.get(bank_id)
    if cached is not None and cached[0] == version:
        return cached[1]
    rows = db.session.execute(
        sa.select(Question.id, Question.topic, Question.difficulty, Question.type, Question.options, Question.correct)
        .where(Question.bank_id == bank_id, Question.is_active).order_by(Question.id)
    ).all()
    pool = [PoolEntry(PoolQuestion(qid, topic, difficulty, len(options)), QUESTION_TYPES.index(kind), to_mask(correct))
            for qid, topic, difficulty, kind, options, correct in rows]
    with _lock:
        _pools[bank_id] = (version, pool)
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
    missing = [qid for qid in set(ids) if qid not in _questions]
    if missing:
        rows = db.session.execute(
            sa.select(Question.id, Question.code, Question.type, Question.topic, Question.text, Question.options,
                      Question.correct, Question.explanation, Question.source).where(Question.id.in_(missing))
        ).all()
        with _lock:
            for qid, code, kind, topic, text, options, correct, explanation, source in rows:
                _questions[qid] = QuestionText(qid, code, kind, topic, text, tuple(options), tuple(correct),
                                               explanation or "", source or "")
    return {qid: _questions[qid] for qid in ids if qid in _questions}


# --- contests --------------------------------------------------------------------------------------------------


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


def contest_spec(contest: Contest, zone: ZoneInfo) -> ContestSpec:
    """Return the parsed definition of a stored contest (cached per change)."""
    key = (contest.id, contest.updated_at, str(zone))
    spec = _specs.get(key)
    if spec is None:
        spec = parse_contest(contest.definition, zone)
        with _lock:
            _specs[key] = spec
    return spec


def round_spec(contest: Contest, round_: Round, zone: ZoneInfo) -> RoundSpec:
    """Return the spec of one round."""
    return contest_spec(contest, zone).rounds[round_.number - 1]


#: Round settings that shape attempts; they cannot change once a round has attempts.
_FROZEN_ROUND_FIELDS = ("bank", "question_count", "draw", "time_limit_seconds", "attempts_allowed", "counts",
                        "shuffle_questions", "shuffle_options", "prediction")


def save_contest(spec: ContestSpec, *, now: dt.datetime, scope: Unit | None = None,
                 organiser_id: int | None = None) -> tuple[Contest, bool]:
    """Create the contest a spec describes, or update it in place; return (contest, created).

    Checks what the parser cannot: the unit exists (inside `scope` when given), banks exist and can supply every
    draw, the contest is not finished, and rounds that already have attempts keep their draw and grading settings.
    :raise FileRejected: listing every problem.
    """
    problems: list[Problem] = []
    unit = db.session.scalar(sa.select(Unit).where(Unit.code == spec.unit))
    if unit is None:
        problems.append(Problem("unit", _l("không có đơn vị mã “%(code)s”", code=spec.unit)))
    elif scope is not None and not unit.is_within(scope):
        problems.append(Problem("unit", _l("đơn vị “%(code)s” nằm ngoài phạm vi quản lý của bạn", code=spec.unit)))
    banks: dict[str, QuestionBank] = {}
    for round_spec_ in spec.rounds:
        path = f"rounds[{round_spec_.number - 1}]"
        bank = banks.get(round_spec_.bank) or db.session.scalar(
            sa.select(QuestionBank).where(QuestionBank.code == round_spec_.bank))
        if bank is None:
            problems.append(Problem(f"{path}.bank", _l("không có ngân hàng câu hỏi “%(code)s”",
                                                       code=round_spec_.bank)))
            continue
        if scope is not None and bank.unit is not None and not (
                bank.unit.is_within(scope) or scope.is_within(bank.unit)):
            problems.append(Problem(f"{path}.bank", _l("ngân hàng “%(code)s” thuộc đơn vị khác", code=bank.code)))
        banks[bank.code] = bank
        pool = [entry.question for entry in bank_pool(bank.id)]
        for shortfall in shortfalls(pool, round_spec_.question_count, round_spec_.draw):
            problems.append(Problem(f"{path}.draw", _l("ngân hàng không đủ câu hỏi (%(detail)s)",
                                                       detail=_shortfall_text(shortfall))))
    contest = db.session.scalar(sa.select(Contest).where(Contest.slug == spec.slug))
    created = contest is None
    if contest is not None:
        if contest.status in ("results_published", "archived"):
            problems.append(Problem("", _l("Cuộc thi đã công bố kết quả hoặc đã lưu trữ nên không thể sửa định "
                                           "nghĩa.")))
        if scope is not None and not contest.unit.is_within(scope):
            problems.append(Problem("slug", _l("mã cuộc thi này đã được dùng bởi một đơn vị khác")))
        problems.extend(_frozen_round_changes(contest, spec))
    if problems:
        raise FileRejected(_l("Định nghĩa cuộc thi chưa hợp lệ; chưa có gì được lưu."), problems)
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
    record(organiser_id, contest.unit_id, "contest.create" if created else "contest.update", "contest", contest.id,
           {"slug": contest.slug}, now)
    return contest, created


def _shortfall_text(shortfall: str) -> LazyString | str:
    """Word a draw shortfall ("pool has 3 eligible questions, 5 needed") for the organiser, in their language."""
    numbers = [int(number) for number in re.findall(r"\d+", shortfall)]
    if shortfall.startswith("blueprint") and len(numbers) == 3:
        return _l("phần %(part)d của blueprint cần %(needed)d câu, chỉ có %(available)d",
                  part=numbers[0], needed=numbers[1], available=numbers[2])
    if len(numbers) == 2:
        return _l("có %(available)d câu phù hợp, cần %(needed)d", available=numbers[0], needed=numbers[1])
    return shortfall


def _frozen_round_changes(contest: Contest, spec: ContestSpec) -> list[Problem]:
    """List changes to rounds that already have attempts (their draw and grading must stay as they were)."""
    used = set(db.session.scalars(
        sa.select(Attempt.round_id).where(Attempt.contest_id == contest.id).distinct()
    ))
    problems = []
    new_rounds = {round_spec_.number: round_spec_ for round_spec_ in spec.rounds}
    for round_ in contest.rounds:
        if round_.id not in used:
            continue
        new = new_rounds.get(round_.number)
        path = f"rounds[{round_.number - 1}]"
        if new is None:
            problems.append(Problem(path, _l("vòng “%(name)s” đã có bài thi nên không thể xoá", name=round_.name)))
            continue
        for field in _FROZEN_ROUND_FIELDS:
            if round_.settings.get(field) != new.definition.get(field):
                problems.append(Problem(f"{path}.{field}", _l("vòng đã có bài thi nên không thể đổi mục này")))
        if new.opens_at != round_.opens_at:
            problems.append(Problem(f"{path}.opens_at", _l("vòng đã có bài thi nên không thể đổi giờ mở")))
    return problems


def change_status(contest: Contest, transition: str, *, now: dt.datetime, zone: ZoneInfo,
                  organiser_id: int | None = None) -> None:
    """Apply a lifecycle transition; closing and publishing first auto-submit attempts whose time is up.

    Publishing also auto-submits every attempt still running (stamped no later than now) and freezes each round's
    prediction value (contest.md §5.4 "frozen at round close"). Opening checks every round can be drawn.
    """
    from app.contests.results import freeze_prediction_actuals

    if transition == "open":
        spec = contest_spec(contest, zone)
        problems = []
        for round_ in contest.rounds:
            pool = [entry.question for entry in bank_pool(round_.bank_id)]
            problems += [Problem(round_.name, _shortfall_text(s)) for s in
                         shortfalls(pool, round_.question_count, spec.rounds[round_.number - 1].draw)]
        if problems:
            raise FileRejected(_l("Chưa thể mở cuộc thi: ngân hàng không đủ câu hỏi."), problems)
    if transition == "close":
        finalise_expired(now, contest_id=contest.id)
    contest.transition(transition, now)
    if transition == "publish_results":
        # Nobody can go on once results are out: attempts still running are submitted with their saved answers.
        finalise_expired(now, contest_id=contest.id, cut_all=True)
        freeze_prediction_actuals(contest, zone)
    db.session.flush()
    record(organiser_id, contest.unit_id, f"contest.{transition}", "contest", contest.id, {}, now)


def set_prediction_actual(round_: Round, value: float | None, *, now: dt.datetime,
                          organiser_id: int | None = None) -> None:
    """Fix a round's prediction value by committee decision (None: compute it from the attempts again)."""
    contest = round_.contest
    if contest.results_public:
        raise ConflictError(_l("Kết quả đã công bố; không thể đổi giá trị thực của câu dự đoán."))
    if value is not None and (not math.isfinite(value) or value < 0):
        raise AppError(_l("Giá trị thực phải là số không âm."))
    round_.prediction_actual = value
    round_.prediction_actual_fixed = value is not None
    contest.updated_at = now
    record(organiser_id, contest.unit_id, "contest.prediction_actual", "round", round_.id, {"value": value}, now)


def set_excluded(participant: Participant, excluded: bool, reason: str, *, now: dt.datetime,
                 organiser_id: int | None = None) -> None:
    """Exclude a participant from rankings and prizes (or include them again); the reason is kept and audited."""
    reason = (reason or "").strip()[:300]
    if excluded and not reason:
        raise AppError(_l("Vui lòng ghi lý do loại khỏi xếp hạng."))
    participant.excluded = excluded
    participant.excluded_reason = reason if excluded else None
    participant.contest.updated_at = now
    record(organiser_id, participant.contest.unit_id, "participant.exclude" if excluded else "participant.include",
           "participant", participant.id, {"reason": reason}, now)


# --- participants ----------------------------------------------------------------------------------------------


def normalise_phone(raw: str) -> str | None:
    """Return a Vietnamese mobile number as "0xxxxxxxxx" (accepting +84, spaces, dots, dashes), or None."""
    digits = re.sub(r"[\s.\-()]", "", raw or "")
    if digits.startswith("+84"):
        digits = "0" + digits[3:]
    elif digits.startswith("84") and len(digits) == 11:
        digits = "0" + digits[2:]
    return digits if _MOBILE.fullmatch(digits) else None


def keyed_hash(secret: str, purpose: str, value: str) -> str:
    """Return HMAC-SHA256 of a value under a key derived from the secret for one purpose (hex)."""
    key = hmac.new(secret.encode(), f"contest-{purpose}".encode(), hashlib.sha256).digest()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def mask_name(full_name: str | None) -> str:
    """Return a name for public lists: family name in full, the other names as initials ("Nguyễn V. A.")."""
    if not full_name:
        return "—"
    words = full_name.split()
    return " ".join([words[0], *(f"{word[0]}." for word in words[1:])])


def mask_phone(phone: str | None) -> str:
    """Return a phone number for public lists: only its last four digits ("***1234")."""
    return f"***{phone[-4:]}" if phone else "—"


def age_on(birth: dt.date, day: dt.date) -> int:
    """Return the age in whole years on a day."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


@dataclass(frozen=True)
class Registration:
    """What a participant typed into the registration form (raw text; the service checks it)."""

    phone: str
    full_name: str
    birth_date: str
    unit_id: str
    group: str
    cccd: str
    password: str
    password_again: str
    consent: bool


def registration_units(contest: Contest) -> list[Unit]:
    """Return the active units a participant may pick: the organiser unit's subtree, in tree order."""
    return list(db.session.scalars(
        sa.select(Unit).where(Unit.is_within(contest.unit), Unit.is_active).order_by(Unit.path)
    ))


def register_participant(contest: Contest, form: Registration, *, now: dt.datetime, zone: ZoneInfo,
                         secret: str, client_hash: str | None = None) -> Participant:
    """Create a participant after checking every field (contest.md §5.2); one account per phone and contest.

    :raise RegistrationInvalid: field → Vietnamese message for every mistake; nothing is stored.
    :raise ConflictError: the contest does not take registrations now.
    """
    from app.contests.imports import parse_birth_date

    if not contest.accepts_attempts:
        raise ConflictError(_l("Cuộc thi hiện không nhận đăng ký."))
    spec = contest_spec(contest, zone)
    rules = spec.registration
    errors: dict[str, str] = {}
    phone = normalise_phone(form.phone)
    if phone is None:
        errors["phone"] = _l("Số điện thoại di động không hợp lệ (10 chữ số, ví dụ 0912345678).")
    elif db.session.scalar(sa.select(Participant.id).where(Participant.contest_id == contest.id,
                                                           Participant.phone == phone)) is not None:
        errors["phone"] = _l("Số điện thoại này đã đăng ký dự thi. Vui lòng đăng nhập.")
    full_name = " ".join(unicodedata.normalize("NFC", form.full_name or "").split())
    if len(full_name) < 2 or len(full_name.split()) < 2:
        errors["full_name"] = _l("Vui lòng ghi đầy đủ họ và tên.")
    elif len(full_name) > 200 or any(char.isdigit() for char in full_name):
        errors["full_name"] = _l("Họ và tên không hợp lệ.")
    birth = parse_birth_date(form.birth_date) if form.birth_date else None
    today = now.astimezone(zone).date()
    if birth is None:
        errors["birth_date"] = _l("Vui lòng nhập ngày sinh hợp lệ (ngày/tháng/năm).")
    elif birth > today or birth.year < 1900:
        errors["birth_date"] = _l("Ngày sinh không hợp lệ.")
    elif rules.min_age is not None and age_on(birth, today) < rules.min_age:
        errors["birth_date"] = _l("Người dự thi phải từ đủ %(n)d tuổi trở lên.", n=rules.min_age)
    elif rules.max_age is not None and age_on(birth, today) > rules.max_age:
        errors["birth_date"] = _l("Người dự thi không quá %(n)d tuổi.", n=rules.max_age)
    unit = _unit_in_contest(contest, form.unit_id)
    if unit is None:
        errors["unit_id"] = _l("Vui lòng chọn đơn vị trong danh sách.")
    if spec.group(form.group) is None:
        errors["group"] = _l("Vui lòng chọn đối tượng dự thi.")
    cccd = re.sub(r"\s", "", form.cccd or "")
    if rules.cccd == "off":
        cccd = ""
    elif cccd and not re.fullmatch(r"\d{12}", cccd):
        errors["cccd"] = _l("Số CCCD gồm đúng 12 chữ số.")
    elif not cccd and rules.cccd == "required":
        errors["cccd"] = _l("Vui lòng nhập số CCCD (12 chữ số).")
    if len(form.password or "") < MIN_PASSWORD_LENGTH:
        errors["password"] = _l("Mật khẩu phải có ít nhất %(n)d ký tự.", n=MIN_PASSWORD_LENGTH)
    elif form.password != form.password_again:
        errors["password_again"] = _l("Hai lần nhập mật khẩu không khớp.")
    if not form.consent:
        errors["consent"] = _l("Vui lòng đồng ý với việc xử lý dữ liệu cá nhân để dự thi.")
    if errors:
        raise RegistrationInvalid(errors)
    values = dict(
        contest_id=contest.id, phone=phone, full_name=full_name, birth_date=birth, unit_id=unit.id,
        group_code=form.group, cccd_hash=keyed_hash(secret, "cccd", cccd) if cccd else None,
        cccd_last4=cccd[-4:] if cccd else None,
        password_hash=generate_password_hash(form.password), consent_at=now,
        consent_version=consent_version(rules.consent_text), created_at=now,
    )
    # The unique (contest, phone) constraint decides between two concurrent registrations of one number.
    participant_id = db.session.execute(insert_for(db.session, Participant).values(**values).on_conflict_do_nothing()
                                        .returning(Participant.id)).scalar()
    if participant_id is None:
        raise RegistrationInvalid({"phone": _l("Số điện thoại này đã đăng ký dự thi. Vui lòng đăng nhập.")})
    return db.session.get(Participant, participant_id)


def consent_version(text: str) -> str:
    """Return the short hash that records which purpose text was agreed to."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _unit_in_contest(contest: Contest, unit_id: str | int) -> Unit | None:
    """Return the active unit with this id inside the contest's subtree, or None."""
    try:
        unit = db.session.get(Unit, int(unit_id))
    except (TypeError, ValueError):
        return None
    if unit is None or not unit.is_active or not unit.is_within(contest.unit):
        return None
    return unit


@dataclass(frozen=True)
class Credential:
    """A pre-issued account's login, shown to the organiser once."""

    row: int
    phone: str
    full_name: str
    code: str


def preissue_participants(contest: Contest, rows: Sequence[ParticipantRow], *, now: dt.datetime, zone: ZoneInfo,
                          secret: str, rng: secrets.SystemRandom | None = None,
                          organiser_id: int | None = None) -> list[Credential]:
    """Create accounts from a checked list, all or nothing; return each account's generated login code.

    The code is random (8 characters, about 40 bits) and only its hash is stored: hand it to the person once.
    :raise FileRejected: listing every row problem (bad phone, unit outside the subtree, unknown group, duplicates).
    """
    spec = contest_spec(contest, zone)
    units = {unit.code: unit for unit in registration_units(contest)}
    taken = set(db.session.scalars(sa.select(Participant.phone).where(Participant.contest_id == contest.id)))
    problems = []
    seen: dict[str, int] = {}
    cleaned = []
    default_group = spec.groups[0].code if len(spec.groups) == 1 else None
    for row in rows:
        phone = normalise_phone(row.phone)
        group = row.group or default_group
        if phone is None:
            problems.append(_l("Dòng %(row)d: số điện thoại “%(phone)s” không hợp lệ", row=row.row, phone=row.phone))
        elif phone in taken:
            problems.append(_l("Dòng %(row)d: số điện thoại %(phone)s đã có tài khoản trong cuộc thi",
                               row=row.row, phone=phone))
        elif phone in seen:
            problems.append(_l("Dòng %(row)d: số điện thoại %(phone)s trùng với dòng %(first)d",
                               row=row.row, phone=phone, first=seen[phone]))
        if len(row.full_name.split()) < 2:
            problems.append(_l("Dòng %(row)d: thiếu họ và tên đầy đủ", row=row.row))
        if row.unit not in units:
            problems.append(_l("Dòng %(row)d: đơn vị “%(code)s” không có trong phạm vi cuộc thi",
                               row=row.row, code=row.unit))
        if group is None or spec.group(group) is None:
            problems.append(_l("Dòng %(row)d: đối tượng “%(code)s” không có trong cuộc thi",
                               row=row.row, code=row.group))
        cccd = re.sub(r"\s", "", row.cccd)
        if cccd and not re.fullmatch(r"\d{12}", cccd):
            problems.append(_l("Dòng %(row)d: số CCCD phải gồm đúng 12 chữ số", row=row.row))
        if phone:
            seen.setdefault(phone, row.row)
        cleaned.append((row, phone, group, cccd))
    if problems:
        raise FileRejected(_l("Danh sách có lỗi; chưa tài khoản nào được tạo."), problems)
    chooser = rng or secrets.SystemRandom()
    credentials = []
    values = []
    for row, phone, group, cccd in cleaned:
        code = "".join(chooser.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        credentials.append(Credential(row.row, phone, row.full_name, code))
        values.append(dict(
            contest_id=contest.id, phone=phone, full_name=row.full_name, birth_date=row.birth_date,
            unit_id=units[row.unit].id, group_code=group,
            cccd_hash=keyed_hash(secret, "cccd", cccd) if cccd else None, cccd_last4=cccd[-4:] if cccd else None,
            # A random 40-bit code needs no slow hash to resist guessing; pbkdf2 keeps big lists quick to issue.
            password_hash=generate_password_hash(code, method="pbkdf2:sha256:1000"), preissued=True, created_at=now,
        ))
    db.session.execute(sa.insert(Participant), values)
    record(organiser_id, contest.unit_id, "participant.preissue", "contest", contest.id, {"count": len(values)}, now)
    return credentials


def authenticate(contest: Contest, phone_text: str, password: str, *, now: dt.datetime) -> Participant | None:
    """Return the participant these credentials name, or None; failures are counted and lock the account.

    The caller commits either way (so the failure count sticks) and shows one message for every failure.
    """
    phone = normalise_phone(phone_text)
    participant = None if phone is None else db.session.scalar(
        sa.select(Participant).where(Participant.contest_id == contest.id, Participant.phone == phone))
    if participant is None or participant.password_hash is None:
        check_password_hash(_decoy_hash(), password or "")
        return None
    if participant.locked_until is not None and participant.locked_until > now:
        return None
    if not check_password_hash(participant.password_hash, password or ""):
        participant.failed_logins += 1
        if participant.failed_logins >= MAX_FAILED_LOGINS:
            participant.failed_logins = 0
            participant.locked_until = now + LOCKOUT
        return None
    participant.failed_logins = 0
    participant.locked_until = None
    return participant


@functools.cache
def _decoy_hash() -> str:
    # A wrong phone costs as long as a wrong password, so responses do not reveal who registered.
    return generate_password_hash("no participant has this password")


def retention_ends(contest: Contest, zone: ZoneInfo) -> dt.datetime | None:
    """Return when personal data may be erased: retention days after results (or closing); None while running."""
    end = contest.results_published_at or contest.closed_at
    if end is None or contest.status in ("draft", "open"):
        return None
    return end + dt.timedelta(days=contest_spec(contest, zone).registration.retention_days)


def erase_personal_data(contest: Contest, *, now: dt.datetime, zone: ZoneInfo,
                        organiser_id: int | None = None) -> int:
    """Erase names, phones, birth dates, CCCD hashes and passwords; attempts stay as anonymous statistics.

    :raise ConflictError: before the retention period has ended.
    """
    ends = retention_ends(contest, zone)
    if ends is None or now < ends:
        when = ends.astimezone(zone).strftime("%d/%m/%Y") if ends else None
        raise ConflictError(_l("Chưa hết thời hạn lưu trữ dữ liệu cá nhân (đến %(day)s).", day=when)
                            if when else _l("Cuộc thi chưa kết thúc nên chưa thể xoá dữ liệu cá nhân."))
    result = db.session.execute(
        sa.update(Participant).where(Participant.contest_id == contest.id, Participant.erased_at.is_(None))
        .values(phone=None, full_name=None, birth_date=None, cccd_hash=None, cccd_last4=None,
                password_hash=None, erased_at=now, session_version=Participant.session_version + 1)
    )
    contest.personal_data_erased_at = now
    record(organiser_id, contest.unit_id, "participant.erase", "contest", contest.id, {"count": result.rowcount},
           now)
    return result.rowcount


PERSONAL_DATA_COLUMNS = ["participant_id", "phone", "full_name", "birth_date", "unit", "group", "cccd_last4",
                         "consent_at", "consent_version", "preissued", "excluded", "excluded_reason", "created_at"]


def personal_data_rows(contest: Contest, zone: ZoneInfo) -> Iterator[list[object]]:
    """Yield the participants' personal data for export (organisers; every export is audited by the caller)."""
    query = (sa.select(Participant, Unit.code).join(Unit, Unit.id == Participant.unit_id)
             .where(Participant.contest_id == contest.id).order_by(Participant.id))
    for participant, unit_code in db.session.execute(query):
        yield [participant.id, participant.phone, participant.full_name,
               participant.birth_date.isoformat() if participant.birth_date else None, unit_code,
               participant.group_code, participant.cccd_last4, _local(participant.consent_at, zone),
               participant.consent_version, int(participant.preissued), int(participant.excluded),
               participant.excluded_reason, _local(participant.created_at, zone)]


def _local(moment: dt.datetime | None, zone: ZoneInfo) -> str | None:
    return None if moment is None else moment.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")


# --- attempts --------------------------------------------------------------------------------------------------


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


@dataclass(frozen=True)
class ShownQuestion:
    """A question as the attempt page shows it: options in display order, never the key."""

    position: int
    id: int
    type: str
    text: str
    #: (display value, option text, checked)
    options: tuple[tuple[int, str, bool], ...]


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

    A round counts as closed once its window has ended or the whole contest has stopped taking attempts.
    """
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
                Attempt.max_score, Attempt.prediction, Attempt.saved_at, Round.grace_seconds, Round.settings)
_HOT_SELECT = sa.select(*_HOT_COLUMNS).join(Round, Round.id == Attempt.round_id)
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


def _hot_attempt(attempt_id: int, participant_id: int):
    row = db.session.connection().execute(_LOAD_HOT, {"attempt_id": attempt_id}).first()
    if row is None or row.participant_id != participant_id:
        raise NotFoundError(_l("Không tìm thấy bài thi."))
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
                 prediction_text: str | None, *, now: dt.datetime) -> Outcome:
    """Replace the saved answers (and prediction) of a running attempt; an expired one is auto-submitted instead.

    :raise AppError: tampered answers or prediction (nothing stored). :raise ConflictError: already submitted.
    """
    row = _hot_attempt(attempt_id, participant_id)
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
                   prediction_text: str | None, *, now: dt.datetime) -> Outcome:
    """Grade and submit a running attempt from its snapshot; a replay returns "replayed" and changes nothing.

    After the deadline plus grace the posted answers are refused and the saved ones are submitted ("expired"),
    stamped at the deadline. The duration is min(now, deadline) − start, so the grace is never counted.
    :raise AppError: tampered answers, a bad prediction, or a missing required prediction (nothing stored).
    """
    row = _hot_attempt(attempt_id, participant_id)
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

