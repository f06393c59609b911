"""Synthetic survey responses (and, through the contests package, attempts) for benchmarks and demos.

Answers follow a latent satisfaction trait plus a per-unit shift, so criteria correlate (alpha ≈ 0.8–0.9),
units differ, and about half of the answers are satisfied, like real counter surveys.
"""
from __future__ import annotations

import datetime as dt
import logging

import numpy as np
import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from app.database import utcnow
from app.errors import AppError
from app.extensions import db
from app.i18n import local_zone
from app.surveys.models import SurveyResponse
from app.surveys.services import current_version_id, get_instrument
from app.units.models import Counter, Unit, counter_service_fields

_log = logging.getLogger(__name__)

CHUNK = 20_000
COMMENTS = (
    "Cán bộ hướng dẫn tận tình, cảm ơn.",
    "Chỗ ngồi chờ còn chật, mong bố trí thêm ghế.",
    "Thời gian chờ hơi lâu vào buổi sáng.",
    "Thủ tục nhanh gọn hơn trước.",
    "Nên có thêm hướng dẫn nộp hồ sơ trực tuyến.",
)


def synthesise(*, responses: int, attempts: int, seed: int, days: int) -> dict[str, int]:
    """Add synthetic responses and attempts; return how many of each were stored."""
    rng = np.random.default_rng(seed)
    now = utcnow()
    counts: dict[str, int] = {}
    if responses:
        counts["responses"] = synthesise_responses(responses, rng, now, days)
    if attempts:
        from app.contests.synth import synthesise_attempts

        counts["attempts"] = synthesise_attempts(attempts, rng, now)
    return counts


def synthesise_responses(count: int, rng: np.random.Generator, now: dt.datetime, days: int,
                         instrument_code: str = "sipas-counter") -> int:
    """Store `count` responses spread over the last `days` days across the active counters."""
    counters = db.session.execute(
        sa.select(Counter.id, Counter.unit_id).join(Unit, Unit.id == Counter.unit_id)
        .where(Counter.is_active, Unit.is_active, Counter.instrument_code == instrument_code)
        .order_by(Counter.id)
    ).all()
    if not counters:
        raise AppError(_l("Chưa có quầy nào dùng phiếu %(code)s để tạo dữ liệu.", code=instrument_code))
    version_id = current_version_id(instrument_code)
    instrument = get_instrument(version_id)
    counter_ids = np.array([c[0] for c in counters])
    unit_ids = np.array([c[1] for c in counters])
    fields_by_counter: dict[int, list[int]] = {}
    for counter_id, field_id in db.session.execute(sa.select(counter_service_fields)):
        fields_by_counter.setdefault(counter_id, []).append(field_id)
    unit_index = {unit: index for index, unit in enumerate(np.unique(unit_ids))}
    unit_shift = rng.normal(0.0, 0.45, len(unit_index))
    optional = np.array([not item.required for item in instrument.scale_items])
    choice_items = [item for item in instrument.items if item.type in ("choice", "multi")]
    zone = local_zone()
    table = SurveyResponse.__table__
    stored = 0
    while stored < count:
        size = min(CHUNK, count - stored)
        picks = rng.integers(0, len(counter_ids), size)
        shift = unit_shift[np.array([unit_index[u] for u in unit_ids[picks]])]
        latent = rng.normal(0.0, 1.0, size)[:, None]
        raw = 3.55 + shift[:, None] + 0.85 * latent + rng.normal(0.0, 0.75, (size, len(optional)))
        scores = np.clip(np.rint(raw), 1, 5).astype(np.uint8)
        scores[(rng.random(scores.shape) < 0.10) & optional] = 0
        ages = rng.uniform(0, days * 86400, size)
        keys = rng.bytes(12 * size).hex()
        closed = _closed_answers(choice_items, rng, size)
        commented = rng.random(size) < 0.03
        comment_picks = rng.integers(0, len(COMMENTS), size)
        field_draws = rng.random(size)
        durations = rng.lognormal(11.0, 0.4, size).astype(int)
        rows = []
        for i in range(size):
            counter_id = int(counter_ids[picks[i]])
            submitted = now - dt.timedelta(seconds=float(ages[i]))
            fields = fields_by_counter.get(counter_id)
            rows.append(dict(
                instrument_version_id=version_id, counter_id=counter_id, unit_id=int(unit_ids[picks[i]]),
                service_field_id=fields[int(field_draws[i] * len(fields))] if fields else None,
                submission_key=f"s{keys[24 * i:24 * i + 24]}", submitted_at=submitted,
                local_day=submitted.astimezone(zone).date(), scores=scores[i].tobytes(), answers=closed[i],
                texts={"Y_KIEN": COMMENTS[comment_picks[i]]} if commented[i] else {},
                duration_ms=int(durations[i]), client_hash=None,
            ))
        db.session.execute(table.insert(), rows)
        stored += size
        _log.info("synthesised %d/%d responses", stored, count)
    db.session.flush()
    return stored


def _closed_answers(items: list, rng: np.random.Generator, size: int) -> list[dict]:
    """Draw the choice and multi-choice answers of `size` responses (about 60% answer each item)."""
    answers: list[dict] = [{} for _ in range(size)]
    for item in items:
        values = [choice.value for choice in item.choices]
        answered = np.flatnonzero(rng.random(size) < 0.6)
        first = rng.integers(0, len(values), answered.size)
        if item.type == "multi" and len(values) > 1:
            second = (first + 1 + rng.integers(0, len(values) - 1, answered.size)) % len(values)
            for row, a, b in zip(answered, first, second):
                answers[row][item.code] = sorted((values[a], values[b]))
        else:
            for row, a in zip(answered, first):
                answers[row][item.code] = values[a]
    return answers
