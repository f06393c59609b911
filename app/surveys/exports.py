"""Raw responses out: one row per response, one column per item code, in local time."""
from __future__ import annotations

from collections.abc import Iterator
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from app.errors import NotFoundError
from app.extensions import db
from app.periods import Period
from app.surveys.instruments import Instrument, instrument_from_definition
from app.surveys.models import InstrumentVersion, SurveyResponse
from app.units.models import Counter, ServiceField, Unit

FIXED_COLUMNS = ["response_id", "instrument_version", "counter", "unit", "service_field", "submitted_at",
                 "duration_s", "dossier_code"]


def _cell(instrument_item_type: str, value: object) -> object:
    if value is None:
        return None
    if instrument_item_type == "multi":
        return ";".join(str(v) for v in value)
    return value


def response_table(code: str, root: Unit | None, period: Period | None, zone: ZoneInfo
                   ) -> tuple[list[str], Iterator[list[object]]]:
    """Return the headers and a lazy row iterator of an instrument's responses within a subtree and period.

    Columns: the fixed ones, then every item code of the instrument's versions (newest version's order first).
    Scale items come from the packed scores (0 = not answered → empty cell).
    """
    versions = list(db.session.scalars(
        sa.select(InstrumentVersion).where(InstrumentVersion.code == code).order_by(InstrumentVersion.version.desc())
    ))
    if not versions:
        raise NotFoundError(_l("Không có phiếu khảo sát mã “%(code)s”.", code=code))
    parsed: dict[int, Instrument] = {v.id: instrument_from_definition(v.definition) for v in versions}
    item_types: dict[str, str] = {}
    for instrument in parsed.values():
        for item in instrument.items:
            item_types.setdefault(item.code, item.type)
    headers = FIXED_COLUMNS + list(item_types)
    version_numbers = {v.id: v.version for v in versions}

    query = (
        sa.select(SurveyResponse.id, SurveyResponse.instrument_version_id, Counter.code, Unit.code, ServiceField.name,
                  SurveyResponse.submitted_at, SurveyResponse.duration_ms, SurveyResponse.dossier_code,
                  SurveyResponse.scores, SurveyResponse.answers, SurveyResponse.texts)
        .join(Counter, Counter.id == SurveyResponse.counter_id)
        .join(Unit, Unit.id == SurveyResponse.unit_id)
        .outerjoin(ServiceField, ServiceField.id == SurveyResponse.service_field_id)
        .where(SurveyResponse.instrument_version_id.in_(list(parsed)))
        .order_by(SurveyResponse.id)
    )
    if root is not None:
        query = query.where(Unit.is_within(root))
    if period is not None:
        query = query.where(SurveyResponse.local_day.between(period.start, period.end))

    def rows() -> Iterator[list[object]]:
        for (rid, version_id, counter, unit, field, submitted, duration, dossier, scores, answers,
             texts) in db.session.execute(query.execution_options(yield_per=2000)):
            instrument = parsed[version_id]
            values: dict[str, object] = dict(answers or {})
            values.update(texts or {})
            for item, score in zip(instrument.scale_items, scores):
                if score:
                    values[item.code] = score
            yield [rid, version_numbers[version_id], counter, unit, field,
                   submitted.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S"),
                   None if duration is None else round(duration / 1000, 1), dossier,
                   *(_cell(kind, values.get(code)) for code, kind in item_types.items())]

    return headers, rows()
