"""Synthetic contest data: bulk attempts for benchmarks (`flask synth --attempts M`) and the demo contest.

Rows are written with bulk Core inserts, never one ORM object per row. Answers follow a Rasch model (ability minus
question difficulty) so that scores spread, questions discriminate and item statistics look like real rounds.
"""
from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import numpy as np
import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from app.auth.audit import COMMAND_LINE
from app.contests.banks import bank_pool, import_questions
from app.contests.grading import MAX_OPTIONS
from app.contests.imports import parse_questions
from app.contests.lifecycle import save_contest
from app.contests.models import Contest, Participant, QuestionBank, Round
from app.contests.spec import load_contest_file, local_text, parse_contest
from app.errors import AppError
from app.extensions import db
from app.i18n import local_zone
from app.units.models import Unit

_log = logging.getLogger(__name__)

CHUNK = 20_000
BANK_FILE = Path(__file__).parent / "banks" / "cchc-demo.yaml"
EXAMPLE_FILE = Path(__file__).parent / "examples" / "cchc-2026.yaml"
SYNTH_SLUG = "thi-tong-hop"
#: Family names with their approximate shares of the population (Nguyễn about 38 %, Trần 11 %, Lê 9,5 % …).
FAMILY = {"Nguyễn": 38.4, "Trần": 11.0, "Lê": 9.5, "Phạm": 7.0, "Hoàng": 3.1, "Huỳnh": 2.0, "Phan": 4.5, "Vũ": 2.0,
          "Võ": 1.9, "Đặng": 2.1, "Bùi": 2.0, "Đỗ": 1.4, "Hồ": 1.3, "Ngô": 1.3, "Dương": 1.0, "Lý": 0.5, "Đào": 0.8,
          "Đoàn": 0.6, "Trương": 0.7, "Lương": 0.5}
#: Middle and given names by gender, with rough frequencies: "Huỳnh Thị Hùng" cannot happen.
MIDDLE = {
    "nam": {"Văn": 38, "Đức": 10, "Minh": 10, "Hữu": 8, "Quang": 8, "Thành": 6, "Công": 6, "Xuân": 5, "Ngọc": 4,
            "Hoàng": 5},
    "nu": {"Thị": 55, "Ngọc": 10, "Thu": 8, "Thanh": 7, "Minh": 5, "Hồng": 5, "Phương": 5, "Kim": 5},
}
GIVEN = {
    "nam": {"Anh": 8, "Hùng": 7, "Dũng": 7, "Tuấn": 7, "Minh": 6, "Hải": 6, "Nam": 6, "Long": 5, "Sơn": 5, "Hưng": 5,
            "Cường": 5, "Đức": 4, "Quân": 4, "Huy": 5, "Thắng": 4, "Tùng": 4, "Bình": 3, "Phong": 3, "Khánh": 3,
            "Trung": 3, "Thành": 4, "Việt": 3},
    "nu": {"Linh": 8, "Trang": 8, "Hương": 7, "Lan": 6, "Hà": 6, "Hằng": 5, "Thảo": 6, "Ngọc": 5, "Mai": 5, "Hoa": 4,
           "Phương": 5, "Anh": 6, "Nhung": 4, "Yến": 4, "Thủy": 4, "Hạnh": 4, "Dung": 3, "Vy": 3, "Huyền": 5,
           "Giang": 3},
}


def _weighted(rng: np.random.Generator, table: dict[str, float], count: int) -> np.ndarray:
    names = np.array(list(table))
    weights = np.array(list(table.values()), dtype=float)
    return names[rng.choice(len(names), size=count, p=weights / weights.sum())]


def vietnamese_names(rng: np.random.Generator, count: int) -> list[str]:
    """Return natural full names: family name by frequency, then a middle and a given name of one gender."""
    family = _weighted(rng, FAMILY, count)
    female = rng.random(count) < 0.5
    names = []
    middle = {gender: _weighted(rng, MIDDLE[gender], count) for gender in MIDDLE}
    given = {gender: _weighted(rng, GIVEN[gender], count) for gender in GIVEN}
    for index in range(count):
        gender = "nu" if female[index] else "nam"
        first, second = middle[gender][index], given[gender][index]
        if first == second:  # "Minh Minh", "Ngọc Ngọc": take the most common middle name instead
            first = "Thị" if gender == "nu" else "Văn"
        names.append(f"{family[index]} {first} {second}")
    return names


def ensure_demo_bank(now: dt.datetime) -> QuestionBank:
    """Return the shipped demo bank, importing it on first use."""
    bank = db.session.scalar(sa.select(QuestionBank).where(QuestionBank.code == "cchc-demo"))
    if bank is None:
        rows = parse_questions(BANK_FILE.name, BANK_FILE.read_bytes())
        bank, _ = import_questions("cchc-demo", rows, actor=COMMAND_LINE, now=now,
                                   title="Ngân hàng câu hỏi mẫu: tìm hiểu cải cách hành chính")
    return bank


def synthesise_attempts(count: int, rng: np.random.Generator, now: dt.datetime) -> int:
    """Store `count` finished 20-question attempts (one per new participant) in the synthetic contest.

    The contest "thi-tong-hop" (one round over the last 30 days, the demo bank) is created under the first root unit
    on first use; later calls add more participants and attempts to it.
    """
    root = db.session.scalar(sa.select(Unit).where(Unit.parent_id.is_(None)).order_by(Unit.id))
    if root is None:
        raise AppError(_l("Chưa có đơn vị nào; hãy chạy flask seed-demo trước khi tạo bài thi tổng hợp."))
    zone = local_zone()
    ensure_demo_bank(now)
    contest = db.session.scalar(sa.select(Contest).where(Contest.slug == SYNTH_SLUG))
    if contest is None:
        definition = {
            "slug": SYNTH_SLUG, "title": "Cuộc thi tổng hợp (dữ liệu đo hiệu năng)", "unit": root.code,
            "audience_groups": [{"code": "cbccvc", "name": "Cán bộ, công chức, viên chức"},
                                {"code": "nguoi_dan", "name": "Người dân"}],
            "rounds": [{"name": "Vòng tổng hợp", "opens_at": local_text(now - dt.timedelta(days=30), zone),
                        "closes_at": local_text(now + dt.timedelta(days=1), zone), "bank": "cchc-demo",
                        "question_count": 20, "time_limit_minutes": 15}],
        }
        contest, _ = save_contest(parse_contest(definition, zone), actor=COMMAND_LINE, now=now)
        contest.transition("open", now)
        db.session.flush()
    round_ = contest.rounds[0]
    return bulk_attempts(contest, round_, count, rng, start=now - dt.timedelta(days=30), end=now)


def bulk_attempts(contest: Contest, round_: Round, count: int, rng: np.random.Generator, *, start: dt.datetime,
                  end: dt.datetime, ability: float = 0.6) -> int:
    """Create `count` participants, each with one finished attempt of the round submitted between start and end."""
    pool = bank_pool(round_.bank_id)
    units = np.array(db.session.scalars(sa.select(Unit.id).where(Unit.is_within(contest.unit),
                                                                 Unit.is_active)).all())
    groups = [group["code"] for group in contest.definition["audience_groups"]]
    question_ids = np.array([entry.question.id for entry in pool], dtype=np.uint32)
    difficulty = np.array([entry.question.difficulty for entry in pool], dtype=np.float64) - 2.0
    keys = np.array([entry.key for entry in pool], dtype=np.uint8)
    # A wrong answer ticks the option after the question's first correct one.
    wrong_of = np.array([1 << (((entry.key & -entry.key).bit_length()) % entry.question.n_options)
                         for entry in pool], dtype=np.uint8)
    types = np.array([entry.type_code for entry in pool], dtype=np.uint8)
    size = round_.question_count
    limit = round_.time_limit_seconds or 900
    first_phone = 900_000_000 + (db.session.scalar(sa.select(sa.func.count()).select_from(Participant)
                                                   .where(Participant.contest_id == contest.id)) or 0)
    span = max(1.0, (end - start).total_seconds() - limit)
    identity = bytes(range(MAX_OPTIONS))
    timestamps = _timestamp_texts(db.session.connection().dialect.name)
    write_participants = _bulk_writer("contest_participants", PARTICIPANT_COLUMNS)
    write_attempts = _bulk_writer("contest_attempts", ATTEMPT_COLUMNS)
    base = np.datetime64(start.astimezone(dt.timezone.utc).replace(tzinfo=None), "us")
    created = timestamps(np.array([base]))[0]
    stored = 0
    while stored < count:
        chunk = min(CHUNK, count - stored)
        phones = [f"0{first_phone + stored + i}" for i in range(chunk)]
        unit_of = units[rng.integers(0, len(units), chunk)]
        group_of = rng.integers(0, len(groups), chunk)
        names = vietnamese_names(rng, chunk)
        write_participants([
            (contest.id, phone, name, int(unit), groups[group], created, "synthetic", True, False, 1, 0, created)
            for phone, name, unit, group in zip(phones, names, unit_of, group_of)
        ])
        ids = dict(db.session.execute(sa.select(Participant.phone, Participant.id).where(
            Participant.contest_id == contest.id, Participant.phone.between(phones[0], phones[-1]))).all())
        # Draw `size` distinct questions per attempt: the smallest of random keys (no Python loop per attempt).
        drawn = np.argpartition(rng.random((chunk, len(pool))), size - 1, axis=1)[:, :size]
        theta = rng.normal(ability, 1.1, chunk)
        right = rng.random((chunk, size)) < 1 / (1 + np.exp(-(theta[:, None] - difficulty[drawn])))
        key = keys[drawn]
        # Some wrong answers are left blank.
        answers = np.where(right, key, np.where(rng.random((chunk, size)) < 0.1, 0, wrong_of[drawn])).astype(np.uint8)
        marks = right.astype(np.uint8)
        scores = marks.sum(1)
        durations = np.minimum(np.clip(rng.lognormal(np.log(limit * 0.4), 0.35, chunk), 20.0, float(limit))
                               .astype(np.int64) * 1000 + rng.integers(0, 1000, chunk), limit * 1000)
        started = base + (rng.uniform(0, span, chunk) * 1e6).astype("timedelta64[us]")
        started_text = timestamps(started)
        deadline_text = timestamps(started + np.timedelta64(limit, "s"))
        submitted_text = timestamps(started + durations.astype("timedelta64[ms]"))
        # Most people predict (the tie-break is visible), guessing around the real number of full marks.
        expected = max(1.0, float((scores == size).sum()) * count / chunk)
        guesses = np.rint(expected * rng.lognormal(0.0, 0.45, chunk)).astype(np.int64)
        predictions = np.where(rng.random(chunk) < 0.9, guesses, -1)
        question_bytes = question_ids[drawn].astype("<u4")
        type_bytes = types[drawn]
        orders = identity * size
        write_attempts([
            (contest.id, round_.id, ids[phones[i]], 1, "submitted", int(unit_of[i]), groups[group_of[i]],
             started_text[i], deadline_text[i], submitted_text[i], int(durations[i]), int(scores[i]), size,
             None if predictions[i] < 0 else float(predictions[i]), question_bytes[i].tobytes(), orders,
             type_bytes[i].tobytes(), key[i].tobytes(), answers[i].tobytes(), marks[i].tobytes())
            for i in range(chunk)
        ])
        stored += chunk
        _log.info("synthesised %d/%d attempts", stored, count)
    db.session.flush()
    return stored


PARTICIPANT_COLUMNS = ("contest_id", "phone", "full_name", "unit_id", "group_code", "consent_at", "consent_version",
                       "preissued", "excluded", "session_version", "failed_logins", "created_at")
ATTEMPT_COLUMNS = ("contest_id", "round_id", "participant_id", "number", "state", "unit_id", "group_code",
                   "started_at", "deadline_at", "submitted_at", "duration_ms", "score", "max_score", "prediction",
                   "question_ids", "option_orders", "types", "keys", "answers", "marks")


def _bulk_writer(table: str, columns: tuple[str, ...]):
    """Return a function that inserts rows of already-formatted values: COPY on PostgreSQL, executemany on SQLite."""
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        def copy(rows: list[tuple]) -> None:
            cursor = connection.connection.driver_connection.cursor()
            with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as stream:
                for row in rows:
                    stream.write_row(row)
            cursor.close()
        return copy
    marker = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    # Table and columns are the synthesiser's own constants; the values travel as parameters.
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join([marker] * len(columns))})"  # nosec B608
    return lambda rows: connection.exec_driver_sql(sql, rows)


def _timestamp_texts(dialect: str):
    """Return a function turning UTC datetime64 values into the text each database stores for UTCDateTime."""
    suffix = "" if dialect == "sqlite" else "+00:00"

    def texts(values: np.ndarray) -> list[str]:
        return [text.replace("T", " ") + suffix for text in np.datetime_as_string(values, unit="us")]

    return texts


def seed_demo_contest(now: dt.datetime, rng: np.random.Generator, participants: int = 160) -> bool:
    """Load the example contest with live dates (week 1 finished, week 2 running) and synthetic attempts, once.

    Return False when the contest already exists (the function is idempotent).
    """
    zone = local_zone()
    spec = load_contest_file(EXAMPLE_FILE.read_bytes(), zone)
    if db.session.scalar(sa.select(Contest.id).where(Contest.slug == spec.slug)) is not None:
        return False
    ensure_demo_bank(now)
    definition = dict(spec.definition)
    today = now.astimezone(zone).replace(hour=10, minute=0, second=0, microsecond=0)
    windows = [(today - dt.timedelta(days=10), today - dt.timedelta(days=3, minutes=30)),
               (today - dt.timedelta(days=3), today + dt.timedelta(days=4, minutes=-30))]
    definition["rounds"] = [dict(round_, opens_at=local_text(opens, zone), closes_at=local_text(closes, zone))
                            for round_, (opens, closes) in zip(definition["rounds"], windows)]
    contest, _ = save_contest(parse_contest(definition, zone), actor=COMMAND_LINE, now=now)
    contest.transition("open", now)
    first, second = contest.rounds
    bulk_attempts(contest, first, participants, rng, start=first.opens_at, end=first.closes_at)
    bulk_attempts(contest, second, participants // 3, rng, start=second.opens_at, end=now)
    db.session.flush()
    return True

