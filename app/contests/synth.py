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
FAMILY = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ")
MIDDLE = ("Văn", "Thị", "Hữu", "Minh", "Thanh", "Ngọc", "Đức", "Thu")
GIVEN = ("An", "Bình", "Cường", "Dung", "Giang", "Hà", "Hải", "Hoa", "Hùng", "Lan", "Long", "Mai", "Nam", "Phương",
         "Quân", "Sơn", "Tâm", "Thảo", "Trang", "Tuấn", "Việt", "Yến")


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
        names = [f"{FAMILY[a]} {MIDDLE[b]} {GIVEN[c]}" for a, b, c in
                 zip(rng.integers(0, len(FAMILY), chunk), rng.integers(0, len(MIDDLE), chunk),
                     rng.integers(0, len(GIVEN), chunk))]
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
        durations = np.clip(rng.lognormal(np.log(limit * 0.4), 0.35, chunk), 20.0, float(limit)).astype(np.int64) \
            * 1000 + rng.integers(0, 1000, chunk)
        started = base + (rng.uniform(0, span, chunk) * 1e6).astype("timedelta64[us]")
        started_text = timestamps(started)
        deadline_text = timestamps(started + np.timedelta64(limit, "s"))
        submitted_text = timestamps(started + durations.astype("timedelta64[ms]"))
        predictions = np.where(rng.random(chunk) < 0.9, rng.integers(0, max(10, count // 20), chunk), -1)
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

