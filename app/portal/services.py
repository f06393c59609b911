"""Publishing and withdrawing a unit's results for a period, and the portal's settings: plain values in, flush only,
every change audited.

A publication freezes the JSON of the SIPAS report (``app.organiser.report_files.report_data``, the document of
``flask report sipas``) computed at that moment, plus the answers per scale point; the public pages only ever read it.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from app import cache
from app.auth.audit import Actor, record
from app.errors import AppError, NotFoundError
from app.extensions import db
from app.organiser.aggregates import load_responses, unfolded_responses
from app.organiser.report_files import report_data
from app.organiser.reports import SipasReport, sipas_report
from app.periods import Period, parse_period
from app.portal.models import PortalSettings, PublishedResult
from app.surveys.models import InstrumentVersion
from app.surveys.services import get_instrument
from app.units.models import Unit

#: Longest introduction and hotline an organiser may set (the home page shows them as they are).
INTRO_MAX = 600
HOTLINE_MAX = 40


@dataclass(frozen=True)
class Preview:
    """What the confirmation page says before a publication: the figures that would be frozen."""

    unit_code: str
    unit_name: str
    period: str
    responses: int
    overall: float | None
    min_n: int | None
    republish: bool


def _period(text: str) -> Period:
    try:
        return parse_period(text.strip())
    except ValueError as error:
        raise AppError(str(error)) from None


def _publishable(report: SipasReport) -> None:
    """Refuse a period without enough responses: nothing is published that the report itself suppresses."""
    if report.instrument is None or report.responses == 0:
        raise AppError(_l("Kỳ %(period)s của %(unit)s chưa có phiếu khảo sát nào, nên chưa có kết quả để công bố.",
                          period=report.period.label, unit=report.unit_name), status=409)
    if report.overall.value is None:
        raise AppError(_l("Kỳ %(period)s của %(unit)s mới có %(n)d phiếu, chưa đủ %(min)d phiếu để công bố kết quả.",
                          period=report.period.label, unit=report.unit_name, n=report.responses,
                          min=report.method.min_n if report.method else 0), status=409)


def preview(unit: Unit, period_text: str, *, now: dt.datetime) -> Preview:
    """Compute what a publication would show (refusing, as publishing would, a period without enough responses)."""
    period = _period(period_text)
    report = sipas_report(unit, period, now=now)
    _publishable(report)
    existing = _find(unit, period.label)
    return Preview(unit.code, unit.name, period.label, report.responses, report.overall.value,
                   report.method.min_n if report.method else None,
                   existing is not None and existing.withdrawn_at is None)


def level_counts(unit: Unit, period: Period, report: SipasReport, *, now: dt.datetime) -> dict | None:
    """Count the answers at each point of the scale, over all criteria and per criterion, for the report's version."""
    if report.instrument is None:
        return None
    version_id = db.session.scalar(sa.select(InstrumentVersion.id).where(
        InstrumentVersion.code == report.instrument.code, InstrumentVersion.version == report.instrument.version))
    instrument = get_instrument(version_id)
    scale_items = instrument.scale_items
    column_of = {item.code: index for index, item in enumerate(scale_items)}
    criteria = [item for item in instrument.criteria]
    if not criteria:
        return None
    choices = criteria[0].choices
    top = max(choice.value for choice in choices)
    data = load_responses(version_id, len(scale_items), unit, period.start, period.end, unfolded_responses(now))
    per_criterion = {}
    total = np.zeros(top + 1, dtype=np.int64)
    for item in criteria:
        counts = np.bincount(data.scores[:, column_of[item.code]], minlength=top + 1)[: top + 1]
        per_criterion[item.code] = [int(counts[choice.value]) for choice in choices]
        total += counts
    return {
        "points": [{"value": choice.value, "label": dict(choice.label)} for choice in choices],
        "satisfied": sorted(instrument.aggregation.satisfied),
        "answers": [int(total[choice.value]) for choice in choices],
        "criteria": per_criterion,
    }


def _find(unit: Unit, period_label: str) -> PublishedResult | None:
    return db.session.scalar(sa.select(PublishedResult).where(PublishedResult.unit_id == unit.id,
                                                              PublishedResult.period == period_label))


def publish(actor: Actor, unit: Unit, period_text: str, *, now: dt.datetime) -> PublishedResult:
    """Freeze the unit's SIPAS report for the period and make it public (a new version if it was published)."""
    period = _period(period_text)
    report = sipas_report(unit, period, now=now)
    _publishable(report)
    snapshot = {"report": report_data(report), "levels": level_counts(unit, period, report, now=now)}
    row = _find(unit, period.label)
    if row is None:
        row = PublishedResult(unit_id=unit.id, period=period.label, version=1)
        db.session.add(row)
    else:
        row.version += 1
    row.period_start, row.period_end = period.start, period.end
    row.snapshot, row.data_at, row.published_at, row.withdrawn_at, row.changed_at = snapshot, now, now, None, now
    row.published_by = actor.id
    db.session.flush()
    record(actor, unit.id, "results.publish", "published_result", row.id,
           {"unit": unit.code, "period": period.label, "version": row.version, "responses": report.responses,
            "overall": report.overall.value}, now)
    cache.portal_state.invalidate()
    return row


def withdraw(actor: Actor, unit: Unit, period_text: str, *, now: dt.datetime) -> PublishedResult:
    """Take a publication off the public pages (its snapshot is kept for the audit trail)."""
    period = _period(period_text)
    row = _find(unit, period.label)
    if row is None or row.withdrawn_at is not None:
        raise NotFoundError(_l("Kết quả kỳ %(period)s của %(unit)s chưa được công bố.", period=period.label,
                               unit=unit.name))
    row.withdrawn_at = row.changed_at = now
    db.session.flush()
    record(actor, unit.id, "results.withdraw", "published_result", row.id,
           {"unit": unit.code, "period": period.label, "version": row.version}, now)
    cache.portal_state.invalidate()
    return row


def publications(root: Unit) -> list[PublishedResult]:
    """Every publication (public or withdrawn) of a subtree, newest period first."""
    return list(db.session.scalars(
        sa.select(PublishedResult).join(Unit, PublishedResult.unit_id == Unit.id).where(Unit.is_within(root))
        .order_by(PublishedResult.period_end.desc(), Unit.code)))


def get_settings(root: Unit) -> PortalSettings | None:
    return db.session.get(PortalSettings, root.id)


def save_settings(actor: Actor, root: Unit, intro: str, hotline: str, *, now: dt.datetime) -> PortalSettings:
    """Set the home page's introduction and hotline (organisers of the root unit only: the caller checks)."""
    intro, hotline = intro.strip(), hotline.strip()
    if len(intro) > INTRO_MAX:
        raise AppError(_l("Lời giới thiệu dài tối đa %(max)d ký tự.", max=INTRO_MAX))
    if len(hotline) > HOTLINE_MAX:
        raise AppError(_l("Số đường dây nóng dài tối đa %(max)d ký tự.", max=HOTLINE_MAX))
    settings = db.session.get(PortalSettings, root.id)
    if settings is None:
        settings = PortalSettings(unit_id=root.id)
        db.session.add(settings)
    settings.intro, settings.hotline, settings.updated_at = intro, hotline, now
    db.session.flush()
    record(actor, root.id, "portal.settings", "unit", root.id, {"intro": intro, "hotline": hotline}, now)
    cache.portal_state.invalidate()
    return settings
