"""Helpers of the report tests: answer vectors of the shipped SIPAS instrument and direct response inserts."""
from __future__ import annotations

import datetime as dt
import itertools

from flask import Flask

from tests.factories import CounterInfo

UTC = dt.timezone.utc
#: Criteria per element of surveys/sipas-counter-v1.yaml, in order, then the general question HL_CHUNG.
ELEMENTS = {"TC": 4, "TTHC": 5, "CC": 6, "KQ": 3, "PAKN": 4}
WIDTH = sum(ELEMENTS.values()) + 1
_keys = itertools.count(1)


def vector(value: int, **elements: int | list[int]) -> bytes:
    """Return a response's scores: every criterion `value` unless an element (by code) gets its own value(s)."""
    scores = []
    for code, size in ELEMENTS.items():
        given = elements.get(code, value)
        scores += given if isinstance(given, list) else [given] * size
    return bytes(scores + [elements.get("HL_CHUNG", value)])


def store(app: Flask, counter: CounterInfo, scores: bytes, *, day: dt.date, field: str | None = None,
          at: dt.datetime | None = None, duration_ms: int | None = 30_000, client: str | None = None,
          code: str = "sipas-counter", version: int = 1, texts: dict | None = None, response_id: int | None = None
          ) -> int:
    """Insert one response row directly (as bulk loaders do) and return its id."""
    import sqlalchemy as sa

    from app.extensions import db
    from app.surveys.models import InstrumentVersion, SurveyResponse
    from app.units.models import ServiceField

    with app.app_context():
        version_id = db.session.scalar(sa.select(InstrumentVersion.id).where(
            InstrumentVersion.code == code, InstrumentVersion.version == version))
        field_id = None if field is None else db.session.scalar(
            sa.select(ServiceField.id).where(ServiceField.code == field))
        values = dict(
            instrument_version_id=version_id, counter_id=counter.id, unit_id=counter.unit_id,
            service_field_id=field_id, submission_key=f"test-{next(_keys)}-{day.isoformat()}",
            submitted_at=at or dt.datetime.combine(day, dt.time(3, 0), UTC), local_day=day, scores=scores,
            answers={}, texts=texts or {}, duration_ms=duration_ms, client_hash=client,
        )
        if response_id is not None:
            values["id"] = response_id
        result = db.session.execute(sa.insert(SurveyResponse).values(**values).returning(SurveyResponse.id))
        new_id = result.scalar_one()
        db.session.commit()
        return new_id


def store_many(app: Flask, counter: CounterInfo, scores: bytes, count: int, **options) -> None:
    """Insert `count` identical responses, a minute apart so that none looks like a burst or a duplicate."""
    day = options.pop("day")
    start = dt.datetime.combine(day, dt.time(1, 0), UTC)
    for index in range(count):
        store(app, counter, scores, day=day, at=start + dt.timedelta(minutes=11 * index), **options)
