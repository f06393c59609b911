"""SIPAS report service: packed responses of a unit subtree and period → numpy arrays → app.stats → frozen dataclasses.

One report never mixes instrument versions or kinds: the SIPAS indices come from one version of one instrument of
kind "sipas" (by default the newest version of the instrument with the most responses in the period), and the
per-dossier rating is reported apart (``DossierResult``). Responses are read from the packs of
``app.organiser.aggregates`` and, beside them, those not folded yet (so nothing stored is left out, and a report
writes nothing), once for the whole span the report needs (the period, the period before it, the trend window).
A report loads everything first, then computes (every statistic comes from ``app.stats``) and presents.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

import numpy as np
import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from numpy.typing import NDArray

from app import cache
from app.errors import AppError, NotFoundError
from app.extensions import db
from app.organiser.aggregates import (FLAG_BURST, FLAG_DUPLICATE, FLAG_FAST, FLAG_UNTIMED, DossierVolume, ResponseData,
                                      Unfolded, VersionCount, cell_scope, day_number, load_cells, load_responses,
                                      month_start, unfolded_responses, versions_with_responses)
from app.organiser.cells import CellData, CellScope, layout_of
from app.periods import Period, parse_period, trailing_periods
from app.stats.abuse import BURST_SECONDS, BURST_SIZE, DUPLICATE_SECONDS, FAST_MS
from app.stats.compare import (index_ranking, index_trend, period_difference, respondent_mean_scores,
                               score_comparison, share_comparison)
from app.stats.reliability import cronbach_alpha
from app.stats.sufficient import (alpha_from_moments, dossier_shares_from_counts, indices_from_moments,
                                  kruskal_from_moments)
from app.stats.satisfaction import (SMALL_SAMPLE_N, WIDE_HALF_WIDTH, AggregationRule, IndexSet, IndexTable,
                                    dossier_rating_shares, satisfaction_indices)
from app.stats.weighting import poststratification_from_counts, poststratification_weights
from app.surveys.instruments import Instrument
from app.surveys.models import InstrumentVersion, SurveyResponse
from app.surveys.services import get_instrument
from app.units.models import Counter, ServiceField, Unit

CONFIDENCE = 0.95
#: Significance level of every test and of the not-significantly-different marks.
ALPHA = 0.05
#: Periods of at most this many days get a monthly trend; longer ones a quarterly trend.
MONTHLY_TREND_MAX_DAYS = 184
#: Trend window: this many months, or quarters, ending with the report period.
TREND_MONTHS, TREND_QUARTERS = 12, 8
#: Counters listed in the review-flag summary, most flagged first.
FLAGGED_COUNTERS = 10
TREND_GRANULARITIES = ("month", "quarter")
#: Service field ids are below this, so unit_id × _FIELD_SPAN + field_id numbers a unit × field cell.
_FIELD_SPAN = 1 << 31
#: What the report says about itself (a label readers see next to the figures).
SURVEY_LABEL = _l("Khảo sát thường xuyên qua mã QR (người dân tự nguyện trả lời, không phải mẫu xác suất)")
WEIGHTED_LABEL = _l("Có trọng số theo số hồ sơ của đơn vị × lĩnh vực (hậu phân tầng); "
                    "kết quả chính là không trọng số")


@dataclass(frozen=True)
class Estimate:
    """One published figure: points 0–100 with 2 decimals and its 95% interval; None where suppressed."""

    value: float | None
    n: int
    ci_low: float | None
    ci_high: float | None
    #: "small_sample" (n < 30), "wide_interval" (half-width > 10 points), "suppressed" (n < min_n).
    flags: tuple[str, ...]


@dataclass(frozen=True)
class InstrumentInfo:
    """Which instrument version a figure comes from."""

    code: str
    version: int
    kind: str
    title: str
    responses: int


@dataclass(frozen=True)
class ElementResult:
    """An element (service component) index with Cronbach's alpha of its criteria."""

    code: str
    title: str
    estimate: Estimate
    #: Cronbach's alpha (3 decimals), respondents who answered every criterion of the element; None if undefined.
    alpha: float | None
    alpha_n: int
    criteria: tuple[str, ...]


@dataclass(frozen=True)
class CriterionResult:
    """A criterion index (share answering a satisfied level among valid answers) and its mean score."""

    code: str
    element: str
    text: str
    estimate: Estimate
    #: Mean scale point (diagnostic, never the headline); None where suppressed.
    mean: float | None


@dataclass(frozen=True)
class ChildResult:
    """A child unit's overall index, its rank and the units it is not significantly different from."""

    unit: str
    name: str
    #: True for the responses given at the report unit's own counters (not a child unit).
    own: bool
    estimate: Estimate
    #: Competition rank by value (1 = best); None when not ranked (suppressed or no responses).
    rank: int | None
    #: Best and worst rank the data support (Holm-adjusted pairwise z-tests).
    best_rank: int | None
    worst_rank: int | None
    not_different_from: tuple[str, ...]
    #: Responses with a review flag.
    flagged: int


@dataclass(frozen=True)
class GroupTest:
    """A test across groups: statistic, degrees of freedom, p-value and effect size."""

    test: str
    statistic: float | None
    dof: int
    p_value: float | None
    effect_name: str
    effect: float | None
    n: int


@dataclass(frozen=True)
class Change:
    """Current minus previous value of one index, its 95% interval and test."""

    code: str
    previous: float | None
    current: float | None
    difference: float | None
    ci_low: float | None
    ci_high: float | None
    #: "z" (linearised standard errors, independent periods) or "chi-square" (satisfied / not, 2 × 2).
    test: str
    statistic: float | None
    p_value: float | None


@dataclass(frozen=True)
class PeriodInfo:
    """A reporting period as asked and as days."""

    label: str
    start: dt.date
    end: dt.date


@dataclass(frozen=True)
class Comparison:
    """The report period against the period just before it (same instrument version)."""

    period: PeriodInfo
    previous_responses: int
    overall: Change
    elements: tuple[Change, ...]
    criteria: tuple[Change, ...]


@dataclass(frozen=True)
class TrendPoint:
    """The overall index of one month or quarter."""

    label: str
    start: dt.date
    end: dt.date
    estimate: Estimate


@dataclass(frozen=True)
class Trend:
    """Overall index by month or quarter up to the end of the period, with a weighted least-squares slope."""

    granularity: str
    points: tuple[TrendPoint, ...]
    #: Points per month or quarter, its standard error and the two-sided p-value; None with fewer than 2 points.
    slope: float | None
    slope_se: float | None
    p_value: float | None


@dataclass(frozen=True)
class WeightedResult:
    """Volume-weighted (post-stratified) indices: a labelled variant, never the headline."""

    label: str
    overall: Estimate
    elements: tuple[tuple[str, Estimate], ...]
    dossiers: int
    effective_n: float
    design_effect: float
    #: Share of the dossier volume in unit × field cells without any response (not represented).
    uncovered_volume_share: float
    #: Responses in cells without a known volume (weight 0).
    unweighted_responses: int


@dataclass(frozen=True)
class FieldResult:
    """The overall index of the responses that named one service field ("" = none named)."""

    code: str
    name: str
    estimate: Estimate


@dataclass(frozen=True)
class CounterFlags:
    """Review flags at one counter."""

    code: str
    name: str
    unit: str
    responses: int
    fast: int
    burst: int
    duplicate: int
    untimed: int
    flagged: int


@dataclass(frozen=True)
class AbuseSummary:
    """How many responses carry each review flag (they stay in every index; flags ask for a human look)."""

    responses: int
    fast: int
    burst: int
    duplicate: int
    untimed: int
    flagged: int
    counters: tuple[CounterFlags, ...]
    fast_seconds: float
    burst_size: int
    burst_minutes: float
    duplicate_minutes: float


@dataclass(frozen=True)
class RatingLevel:
    """One level of the per-dossier rating with its share."""

    level: int
    label: str
    count: int
    estimate: Estimate


@dataclass(frozen=True)
class DossierResult:
    """The 3-level per-dossier rating, kept apart from the SIPAS indices."""

    instrument: InstrumentInfo
    n: int
    levels: tuple[RatingLevel, ...]
    #: Share of Hài lòng + Rất hài lòng.
    satisfaction: Estimate


@dataclass(frozen=True)
class Method:
    """How the figures were computed."""

    instrument_code: str
    instrument_version: int
    satisfied: tuple[int, ...]
    element_rule: str
    overall_rule: str
    unit_rule: str
    min_n: int
    small_sample_n: int
    wide_half_width: float
    confidence: float
    alpha: float
    survey: str


@dataclass(frozen=True)
class DayCount:
    """Responses on one local day."""

    day: dt.date
    responses: int


@dataclass(frozen=True)
class SipasReport:
    """Everything a SIPAS report or dashboard shows for one unit subtree and period."""

    unit_code: str
    unit_name: str
    period: PeriodInfo
    generated_at: dt.datetime
    instrument: InstrumentInfo | None
    #: Other SIPAS versions with responses in the period, left out of this report.
    other_versions: tuple[InstrumentInfo, ...]
    responses: int
    overall: Estimate
    elements: tuple[ElementResult, ...]
    criteria: tuple[CriterionResult, ...]
    children: tuple[ChildResult, ...]
    children_test: GroupTest | None
    comparison: Comparison | None
    trend: Trend
    weighted: WeightedResult | None
    fields: tuple[FieldResult, ...]
    daily: tuple[DayCount, ...]
    abuse: AbuseSummary
    dossier: DossierResult | None
    method: Method | None

    @property
    def child_names(self) -> dict[str, str]:
        """Child unit code → name: the children table names every unit a child is not different from with one
        lookup, not a scan of all children per child (500 × 500 on a province)."""
        return {child.unit: child.name for child in self.children}


# --- the service --------------------------------------------------------------------------------------------------


def sipas_report(root: Unit, period: Period, *, now: dt.datetime, instrument_code: str | None = None,
                 version: int | None = None, trend: str | None = None, locale: str = "vi",
                 full: bool = True, unfolded: Unfolded | None = None) -> SipasReport:
    """Compute the SIPAS report of a unit's subtree for a period; reads only (the packs and what is not folded yet).

    Everything the report needs is read first (``_load``), then computed and presented; no query runs between
    two statistics.

    :param instrument_code: a SIPAS instrument code; default the one with the most responses in the period.
    :param version: a version of that instrument; default its newest version with responses in the period.
    :param trend: "month" or "quarter"; default month for periods up to 6 months, quarter for longer ones.
    :param full: False leaves out the slower parts a dashboard does not show (the test across child units and
        the volume-weighted variant).
    :param unfolded: what the packs do not hold yet, when the caller has just looked (``unfolded_responses``).
    :raise NotFoundError: when the instrument or version asked for does not exist.
    """
    granularity = trend or ("month" if period.days <= MONTHLY_TREND_MAX_DAYS else "quarter")
    if granularity not in TREND_GRANULARITIES:
        raise ValueError(f"trend must be one of {TREND_GRANULARITIES}")
    previous = period.previous()
    buckets = trend_periods(period, granularity)
    first_day = min(previous.start, buckets[0].start)
    # Cells hold whole months: they serve when the period and the one it is compared with are whole months (the
    # trend's buckets always are); a range that cuts a month is read from the responses, exactly.
    from_cells = all(_whole_months(span.start, span.end) for span in (period, previous)) and first_day.day == 1
    inputs = _load(root, period, first_day, instrument_code, version, full=full, from_cells=from_cells,
                   unfolded=unfolded if unfolded is not None else unfolded_responses(now))
    instrument, span = inputs.instrument, inputs.span
    current = _within(span, period) if span is not None else None
    info = PeriodInfo(period.label, period.start, period.end)
    daily = _daily_cells(current, period) if isinstance(current, CellData) else _daily(current, period)
    abuse = (_abuse_cells(current, inputs.counters) if isinstance(current, CellData)
             else _abuse(current, inputs.counters))
    dossier = _dossier_result(inputs.dossier, locale)
    if instrument is None or current is None:
        return SipasReport(root.code, root.name, info, now, None, inputs.others, 0, _empty(), (), (), (), None, None,
                           Trend(granularity, tuple(TrendPoint(b.label, b.start, b.end, _empty()) for b in buckets),
                                 None, None, None),
                           None, (), daily, abuse, dossier, None)
    setup = (_CellSetup if isinstance(current, CellData) else _Setup)(instrument, inputs.units)
    indices = setup.indices(current)
    total = indices.total
    alpha = setup.alpha(current)
    elements = tuple(
        ElementResult(section.code, _text(section.title, locale), _estimate(total.elements, e), _rounded(
            alpha.alpha[e], 3), int(alpha.n[e]), tuple(item.code for item in section.items if item.type == "scale"))
        for e, section in enumerate(instrument.elements)
    )
    column_of = {item.code: index for index, item in enumerate(instrument.scale_items)}
    criteria = tuple(
        CriterionResult(item.code, section.code, _text(item.text, locale),
                        _estimate(total.criteria, column_of[item.code]),
                        _rounded(total.criteria_mean.mean[column_of[item.code]], 2))
        for section in instrument.elements for item in section.items if item.type == "scale"
    )
    previous_data = _within(span, previous)
    return SipasReport(
        unit_code=root.code, unit_name=root.name, period=info, generated_at=now,
        instrument=InstrumentInfo(instrument.code, instrument.version, instrument.kind,
                                  _text(instrument.title, locale), len(current)),
        other_versions=inputs.others,
        responses=len(current), overall=_estimate(total.overall), elements=elements, criteria=criteria,
        children=setup.children(indices, current),
        children_test=setup.children_test(current) if full else None,
        comparison=setup.comparison(indices, previous_data, previous),
        trend=setup.trend(span, buckets, granularity),
        weighted=setup.weighted(current, inputs.volumes) if full else None,
        fields=setup.fields(current, inputs.fields, locale),
        daily=daily, abuse=abuse, dossier=dossier,
        method=Method(
            instrument_code=instrument.code, instrument_version=instrument.version,
            satisfied=tuple(sorted(instrument.aggregation.satisfied)), element_rule=setup.rule.element,
            overall_rule=setup.rule.overall, unit_rule=setup.rule.units, min_n=instrument.aggregation.min_n,
            small_sample_n=SMALL_SAMPLE_N, wide_half_width=WIDE_HALF_WIDTH, confidence=CONFIDENCE, alpha=ALPHA,
            survey=str(SURVEY_LABEL),
        ),
    )


def current_report(root: Unit, period: Period, instrument: tuple[str | None, int | None], *, now: dt.datetime,
                   locale: str, full: bool, state: str | None = None) -> tuple[SipasReport, str]:
    """Return the report of a selection and the state of the responses it was computed from, computing it only when
    the responses changed since it was last computed (a dashboard, its charts and downloads share it).

    A report of the ``state`` asked for (the state a page's charts and downloads were given) is reused as it is,
    so they show what the page shows; otherwise the report of the current state is reused or computed.
    """
    selection = (root.id, root.path, period, instrument, locale, _volumes_token())
    if state:
        report, complete = cache.sipas_reports.get((*selection, state), (None, False))
        if report is not None and (complete or not full):
            return report, state
    unfolded = unfolded_responses(now)
    report, complete = cache.sipas_reports.get((*selection, unfolded.token), (None, False))
    if report is None or (full and not complete):
        report = sipas_report(root, period, now=now, instrument_code=instrument[0], version=instrument[1],
                              locale=locale, full=full, unfolded=unfolded)
        cache.sipas_reports.put((*selection, unfolded.token), (report, full))
    return report, unfolded.token


def _volumes_token() -> tuple[int, int, int]:
    """What the weighted variant depends on besides the responses: the imported dossier volumes (an import replaces
    rows, so the highest id moves with every import)."""
    row = db.session.execute(sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(DossierVolume.dossiers), 0),
                                       sa.func.coalesce(sa.func.max(DossierVolume.id), 0))).one()
    return int(row[0]), int(row[1]), int(row[2])


def _selection(unit_code: str, period_text: str, scope: Unit | None) -> tuple[Unit, Period]:
    unit = db.session.scalar(sa.select(Unit).where(Unit.code == unit_code))
    if unit is None or (scope is not None and not unit.is_within(scope)):
        raise NotFoundError(_l("Không tìm thấy đơn vị có mã “%(code)s”.", code=unit_code))
    try:
        period = parse_period(period_text)
    except ValueError as error:
        raise AppError(str(error)) from None
    return unit, period


def report_for_code(unit_code: str, period_text: str, *, now: dt.datetime, scope: Unit | None = None,
                    **options) -> SipasReport:
    """Parse a unit code and period label, check the unit lies in ``scope`` (404 otherwise), and report."""
    unit, period = _selection(unit_code, period_text, scope)
    return sipas_report(unit, period, now=now, **options)


def cached_report_for_code(unit_code: str, period_text: str, *, now: dt.datetime, scope: Unit | None = None,
                           locale: str = "vi") -> SipasReport:
    """``report_for_code`` (the full report), computed again only when what it depends on changed: the responses
    (packs, cells and the unfolded ones), the imported dossier volumes, the selection and the language
    (``current_report``; shared with the dashboards through ``app.cache.sipas_reports``)."""
    unit, period = _selection(unit_code, period_text, scope)
    return current_report(unit, period, (None, None), now=now, locale=locale, full=True)[0]


# --- loading ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Inputs:
    """Everything one report reads from the database."""

    units: _Subtree
    instrument: Instrument | None
    #: Other SIPAS versions with responses in the period.
    others: tuple[InstrumentInfo, ...]
    #: The chosen version's responses from the first day the report needs (period before, trend) to the period's end.
    #: Report cells instead (``app.organiser.cells``) when the span is whole months: the figures follow from them.
    span: ResponseData | CellData | None
    #: Dossiers per (unit id, service field id) in the period's months; None when the report leaves weighting out.
    volumes: list[tuple[int, int, int]] | None
    fields: dict[int, ServiceField]
    #: The subtree's counters by id: code, name and unit code.
    counters: dict[int, sa.Row]
    #: The per-dossier rating reported apart: its instrument and its responses in the period.
    dossier: tuple[Instrument, ResponseData] | None


def _load(root: Unit, period: Period, first_day: dt.date, instrument_code: str | None, version: int | None, *,
          full: bool, from_cells: bool, unfolded: Unfolded) -> _Inputs:
    units = _Subtree.load(root)
    scope = cell_scope(root, units=units.rows)
    counted = versions_with_responses(root, period.start, period.end, unfolded, scope)
    chosen, others = _choose_version(counted, instrument_code, version)
    instrument = get_instrument(chosen.id) if chosen is not None else None
    volumes = None
    if full and instrument is not None:
        volumes = [tuple(row) for row in db.session.execute(
            sa.select(DossierVolume.unit_id, DossierVolume.service_field_id, sa.func.sum(DossierVolume.dossiers))
            .join(Unit, Unit.id == DossierVolume.unit_id)
            .where(Unit.is_within(root),
                   DossierVolume.month.between(month_start(period.start), month_start(period.end)))
            .group_by(DossierVolume.unit_id, DossierVolume.service_field_id)
        )]
    if volumes:  # the weighted variant post-stratifies by unit × field: every unit's own cells
        scope = dataclasses.replace(scope, rolled_up=False)
    span = None
    if instrument is not None and from_cells:
        span = load_cells(chosen.id, layout_of(instrument), root, first_day, period.end, unfolded,
                          (period.start, period.end), scope)
    elif instrument is not None:
        span = load_responses(chosen.id, len(instrument.scale_items), root, first_day, period.end, unfolded)
    # Names only of the counters the review-flag summary may list (with a flag), not of a nation's every counter.
    if isinstance(span, CellData):
        listed = span.days.counters.keys
    else:
        listed = span.counters[span.flags != 0] if span is not None else np.zeros(0, dtype=np.int64)
    counters = {row.id: row for row in db.session.execute(
        sa.select(Counter.id, Counter.code, Counter.name, Unit.code.label("unit"))
        .join(Unit, Unit.id == Counter.unit_id)
        .where(Unit.is_within(root), Counter.id.in_(sa.bindparam("listed_counters", np.unique(listed).tolist(),
                                                                 expanding=True, literal_execute=True)))
    )}
    return _Inputs(
        units=units, instrument=instrument, others=others, span=span, volumes=volumes,
        fields={row.id: row for row in db.session.scalars(sa.select(ServiceField))}, counters=counters,
        dossier=_load_dossier(root, period, counted, unfolded, scope),
    )


def _load_dossier(root: Unit, period: Period, counted: list[VersionCount], unfolded: Unfolded, scope: CellScope
                  ) -> tuple[Instrument, ResponseData] | None:
    """Read the newest dossier version with ratings in the period, and its responses."""
    dossier = [entry for entry in counted if entry.kind == "dossier"]
    if not dossier:
        return None
    entry = max(dossier, key=lambda candidate: (candidate.responses, candidate.version))
    instrument = get_instrument(entry.version_id)
    if _whole_months(period.start, period.end):
        return instrument, load_cells(entry.version_id, layout_of(instrument), root, period.start, period.end,
                                      unfolded, (period.start, period.end), scope)
    data = load_responses(entry.version_id, len(instrument.scale_items), root, period.start, period.end, unfolded)
    return instrument, data


def _whole_months(start: dt.date, end: dt.date) -> bool:
    """Whether the days from ``start`` to ``end`` are whole calendar months (reported from cells)."""
    return start.day == 1 and (end + dt.timedelta(days=1)).day == 1


def _within(span: ResponseData | CellData, period: Period) -> ResponseData | CellData:
    """Return the part of the span in the period (cells: the period's months, as the span is in whole months)."""
    if isinstance(span, CellData):
        return span.between(period.start, period.end)
    return span.take(_between(span.days, period))


# --- pieces -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Chosen:
    """The version a report uses."""

    id: int
    responses: int


def _choose_version(counted, instrument_code: str | None, version: int | None
                    ) -> tuple[_Chosen | None, tuple[InstrumentInfo, ...]]:
    """Pick the SIPAS version to report and list the other SIPAS versions with responses in the period."""
    sipas = [entry for entry in counted if entry.kind == "sipas"]
    if instrument_code is not None or version is not None:
        query = sa.select(InstrumentVersion).where(InstrumentVersion.kind == "sipas")
        if instrument_code is not None:
            query = query.where(InstrumentVersion.code == instrument_code)
        if version is not None:
            query = query.where(InstrumentVersion.version == version)
        candidates = list(db.session.scalars(query.order_by(InstrumentVersion.version.desc())))
        answered = {entry.version_id for entry in sipas}
        pick = next((c for c in candidates if c.id in answered), candidates[0] if candidates else None)
        if pick is None:
            if version is None:
                missing = _l("Không có phiếu khảo sát SIPAS “%(code)s”.", code=instrument_code)
            elif instrument_code is None:  # any form code was searched, so none is named
                missing = _l("Không có phiếu khảo sát SIPAS nào có phiên bản %(version)s.", version=version)
            else:
                missing = _l("Không có phiếu khảo sát SIPAS “%(code)s” phiên bản %(version)s.",
                             code=instrument_code, version=version)
            raise NotFoundError(missing)
        chosen_id = pick.id
    elif sipas:
        by_code: dict[str, int] = {}
        for entry in sipas:
            by_code[entry.code] = by_code.get(entry.code, 0) + entry.responses
        code = max(sorted(by_code), key=lambda name: by_code[name])
        chosen_id = next(entry.version_id for entry in sipas if entry.code == code)
    else:
        chosen_id = db.session.scalar(sa.select(InstrumentVersion.id).where(InstrumentVersion.kind == "sipas")
                                      .order_by(InstrumentVersion.code != "sipas-counter",
                                                InstrumentVersion.version.desc()).limit(1))
        if chosen_id is None:
            return None, ()
    responses = next((entry.responses for entry in sipas if entry.version_id == chosen_id), 0)
    others = tuple(InstrumentInfo(entry.code, entry.version, entry.kind, "", entry.responses)
                   for entry in sipas if entry.version_id != chosen_id)
    return _Chosen(chosen_id, responses), others


def trend_periods(period: Period, granularity: str) -> tuple[Period, ...]:
    """Return the months (12) or quarters (8) of a report's trend, ending with the one that holds its last day."""
    if granularity == "month":
        return trailing_periods(period.end, 1, TREND_MONTHS)
    return trailing_periods(period.end, 3, TREND_QUARTERS)


def _between(days: NDArray[np.int64], period: Period) -> NDArray[np.bool_]:
    return (days >= day_number(period.start)) & (days <= day_number(period.end))


class _Subtree:
    """The report unit's subtree: which child unit (or the unit itself) every unit id belongs to."""

    def __init__(self, root: Unit, rows: list) -> None:
        self.root = root
        self.rows = rows
        children = sorted((row for row in rows if row.parent_id == root.id), key=lambda row: row.code)
        self.groups = [(row.code, row.name, False) for row in children] + [(root.code, root.name, True)]
        position = {row.id: index for index, row in enumerate(children)}
        ids = np.array([row.id for row in rows], dtype=np.int64)
        group = []
        for row in rows:
            parts = row.path[len(root.path):].split("/")
            group.append(position[int(parts[0])] if parts[0] else len(children))
        # Unit ids are small database keys: a dense id → group table makes the lookup one gather.
        self.group_of = np.zeros(int(ids.max()) + 1 if ids.size else 1, dtype=np.intp)
        self.group_of[ids] = group
        self._last: tuple[NDArray[np.int64], NDArray[np.intp]] | None = None

    @classmethod
    def load(cls, root: Unit) -> _Subtree:
        rows = db.session.execute(
            sa.select(Unit.id, Unit.code, Unit.name, Unit.path, Unit.parent_id)
            .where(Unit.is_within(root))
        ).all()
        return cls(root, rows)

    def of(self, unit_ids: NDArray[np.int64]) -> NDArray[np.intp]:
        """Return the group (child position, or the last group for the unit itself) of each unit id.

        The groups of the last array asked for are kept: a report asks for those of its period several times.
        """
        if self._last is None or self._last[0] is not unit_ids:
            self._last = (unit_ids, self.group_of[unit_ids])
        return self._last[1]


class _Setup:
    """One report's instrument, rule and subtree, with the statistics computed from them."""

    def __init__(self, instrument: Instrument, units: _Subtree) -> None:
        self.instrument = instrument
        self.units = units
        aggregation = instrument.aggregation
        self.rule = AggregationRule(aggregation.element_rule, aggregation.overall_rule, aggregation.unit_rule)
        self.union = sorted({column for columns in instrument.element_columns for column in columns})

    def indices(self, data: ResponseData, weights: NDArray[np.float64] | None = None):
        """Return satisfaction_indices grouped by child unit (so totals follow the instrument's unit rule)."""
        aggregation = self.instrument.aggregation
        return satisfaction_indices(
            data.scores, self.instrument.element_columns, satisfied=aggregation.satisfied,
            groups=self.units.of(data.unit_ids), n_groups=len(self.units.groups), weights=weights, rule=self.rule,
            min_n=aggregation.min_n, confidence=CONFIDENCE,
        )

    def alpha(self, data: ResponseData):
        """Cronbach's alpha per element of the whole set."""
        return cronbach_alpha(data.scores, self.instrument.element_columns).total

    def flagged(self, data: ResponseData) -> NDArray[np.int64]:
        """Responses with a review flag per group."""
        return np.bincount(self.units.of(data.unit_ids)[data.flags != 0], minlength=len(self.units.groups))

    def children(self, indices, data: ResponseData) -> tuple[ChildResult, ...]:
        """Return each child unit (and the unit's own counters, if answered) with rank and marks."""
        by_group = indices.by_group
        ranking = index_ranking(by_group.overall.value, by_group.overall.se, alpha=ALPHA)
        flagged = self.flagged(data)
        codes = [code for code, _, _ in self.units.groups]
        results = []
        for group in ranking.order.tolist() + [g for g in range(len(codes)) if ranking.rank[g] == 0]:
            code, name, own = self.units.groups[group]
            if own and by_group.overall.n[group] == 0:
                continue
            ranked = ranking.rank[group] > 0
            results.append(ChildResult(
                unit=code, name=name, own=own, estimate=_estimate(by_group.overall, group),
                rank=int(ranking.rank[group]) if ranked else None,
                best_rank=int(ranking.best_rank[group]) if ranked else None,
                worst_rank=int(ranking.worst_rank[group]) if ranked else None,
                not_different_from=tuple(codes[other] for other in ranking.not_different[group]),
                flagged=int(flagged[group]),
            ))
        return tuple(results)

    def children_test(self, data: ResponseData) -> GroupTest | None:
        """Kruskal–Wallis test of respondents' mean criterion scores across child units."""
        if len(self.units.groups) < 2 or not len(data):
            return None
        scores = respondent_mean_scores(data.scores, self.union, scale_max=_scale_max(self.instrument))
        result = score_comparison(scores, self.units.of(data.unit_ids), n_groups=len(self.units.groups),
                                  alpha=ALPHA, pairwise=False)
        return GroupTest("kruskal-wallis", _rounded(result.statistic, 4), result.dof, _rounded(result.p_value, 6),
                         "epsilon_squared", _rounded(result.epsilon_squared, 4), result.n)

    def comparison(self, indices, previous_data: ResponseData, previous: Period) -> Comparison:
        """Compare with the period before: z-tests on overall and element indices, chi-square per criterion."""
        info = PeriodInfo(previous.label, previous.start, previous.end)
        current = indices.total
        before = self.indices(previous_data).total
        overall = _change("overall", before.overall, current.overall, None)
        elements = tuple(_change(section.code, before.elements, current.elements, e)
                         for e, section in enumerate(self.instrument.elements))
        criteria = []
        for index, item in enumerate(self.instrument.scale_items):
            if index not in self.union:
                continue
            counts = share_comparison([before.satisfied_count[index], current.satisfied_count[index]],
                                      [before.criteria.n[index], current.criteria.n[index]], alpha=ALPHA)
            previous_value, current_value = _point(before.criteria, index), _point(current.criteria, index)
            difference = (None if previous_value is None or current_value is None
                          else round(current_value - previous_value, 2))
            criteria.append(Change(item.code, previous_value, current_value, difference, None, None, "chi-square",
                                   _rounded(counts.statistic, 4), _rounded(counts.p_value, 6)))
        return Comparison(info, len(previous_data), overall, elements, tuple(criteria))

    def trend(self, span: ResponseData, buckets: tuple[Period, ...], granularity: str) -> Trend:
        """Overall index per month or quarter; slope by weighted least squares on the linearised errors."""
        labels = self.bucket_labels(span, buckets)
        inside = labels >= 0
        table = self.totals_by(span.take(inside), labels[inside], len(buckets)).overall
        points = tuple(TrendPoint(b.label, b.start, b.end, _estimate(table, i)) for i, b in enumerate(buckets))
        test = index_trend(table.value, table.se)
        return Trend(granularity, points, _rounded(test.slope, 4), _rounded(test.se, 4), _rounded(test.p_value, 6))

    def bucket_labels(self, span: ResponseData, buckets: tuple[Period, ...]) -> NDArray[np.intp]:
        """Each response's trend bucket (−1: none)."""
        labels = np.full(len(span), -1, dtype=np.intp)
        for position, bucket in enumerate(buckets):
            labels[_between(span.days, bucket)] = position
        return labels

    def totals_by(self, data: ResponseData, labels: NDArray[np.intp], count: int) -> IndexSet:
        """Return the indices of each label's responses (months, fields), each following the unit rule.

        Under the pooled rule one grouped pass gives them all; under "mean of children" each label's responses are
        grouped by child unit on their own, so that every total is a mean of its children.
        """
        if self.rule.units == "pooled":
            aggregation = self.instrument.aggregation
            return satisfaction_indices(
                data.scores, self.instrument.element_columns, satisfied=aggregation.satisfied, groups=labels,
                n_groups=count, rule=self.rule, min_n=aggregation.min_n, confidence=CONFIDENCE, total=False,
            ).by_group
        totals = [self.indices(data.take(labels == label)).total for label in range(count)]
        return _stack_sets(totals)

    def weighted(self, data: ResponseData, volumes: list[tuple[int, int, int]]) -> WeightedResult | None:
        """Post-stratify by unit × service field when dossier volumes are known for the period's months."""
        if not volumes or not len(data):
            return None
        # Strata: the unit × field cells with a known volume, then the answered cells without one (volume 0).
        known = np.array([unit_id * _FIELD_SPAN + field_id for unit_id, field_id, _ in volumes], dtype=np.int64)
        sizes = np.array([int(total) for _, _, total in volumes], dtype=np.int64)
        cells = data.unit_ids * _FIELD_SPAN + data.fields
        unknown = np.setdiff1d(cells, known)
        keys = np.concatenate([known, unknown])
        sizes = np.concatenate([sizes, np.zeros(unknown.size, dtype=np.int64)])
        order = np.argsort(keys)
        strata = order[np.searchsorted(keys, cells, sorter=order)]
        stratified = poststratification_weights(strata, sizes)
        total = self.indices(data, weights=stratified.weights).total
        return WeightedResult(
            label=str(WEIGHTED_LABEL), overall=_estimate(total.overall),
            elements=tuple((section.code, _estimate(total.elements, e))
                           for e, section in enumerate(self.instrument.elements)),
            dossiers=int(sizes.sum()), effective_n=round(stratified.effective_n, 1),
            design_effect=_rounded(stratified.design_effect, 3) or 0.0,
            uncovered_volume_share=round(stratified.uncovered_volume_share, 4),
            unweighted_responses=stratified.unweighted_responses,
        )

    def fields(self, data: ResponseData, known: dict[int, ServiceField], locale: str) -> tuple[FieldResult, ...]:
        """Overall index per service field named by the respondent (most responses first)."""
        if not len(data):
            return ()
        field_ids, labels = _dense_labels(data.fields)
        table = self.totals_by(data, labels, field_ids.size).overall
        results = []
        for position, field_id in enumerate(field_ids.tolist()):
            field = known.get(field_id)
            results.append(FieldResult(field.code if field is not None else "",
                                       field.label(locale) if field is not None else str(_l("Không chọn lĩnh vực")),
                                       _estimate(table, position)))
        return tuple(sorted(results, key=lambda result: (-result.estimate.n, result.code)))


class _CellSetup(_Setup):
    """The same statistics from report cells (``app.organiser.cells``): sufficient statistics per unit × month ×
    service field, whose figures equal those of the responses behind them (``app.stats.sufficient``)."""

    def indices(self, data: CellData, weights: NDArray[np.float64] | None = None):
        aggregation = self.instrument.aggregation
        return indices_from_moments(
            data.moments, self.instrument.element_columns, satisfied=aggregation.satisfied,
            scale_max=data.moments.counts.shape[2] - 1, groups=self.units.of(data.unit_ids),
            n_groups=len(self.units.groups), weights=weights, rule=self.rule, min_n=aggregation.min_n,
            confidence=CONFIDENCE,
        )

    def alpha(self, data: CellData):
        return alpha_from_moments(data.moments, self.instrument.element_columns).total

    def flagged(self, data: CellData) -> NDArray[np.int64]:
        units = data.days.units
        return np.bincount(self.units.group_of[units.keys], weights=units.flagged,
                           minlength=len(self.units.groups)).astype(np.int64)

    def children_test(self, data: CellData) -> GroupTest | None:
        if len(self.units.groups) < 2 or not len(data):
            return None
        result = kruskal_from_moments(data.moments, self.units.of(data.unit_ids), len(self.units.groups))
        return GroupTest("kruskal-wallis", _rounded(result.statistic, 4), result.dof, _rounded(result.p_value, 6),
                         "epsilon_squared", _rounded(result.epsilon_squared, 4), result.n)

    def bucket_labels(self, span: CellData, buckets: tuple[Period, ...]) -> NDArray[np.intp]:
        labels = np.full(span.months.size, -1, dtype=np.intp)
        for position, bucket in enumerate(buckets):
            labels[_between(span.months, bucket)] = position
        return labels

    def totals_by(self, data: CellData, labels: NDArray[np.intp], count: int) -> IndexSet:
        if self.rule.units == "pooled":
            aggregation = self.instrument.aggregation
            return indices_from_moments(
                data.moments, self.instrument.element_columns, satisfied=aggregation.satisfied,
                scale_max=data.moments.counts.shape[2] - 1, groups=labels, n_groups=count, rule=self.rule,
                min_n=aggregation.min_n, confidence=CONFIDENCE, total=False,
            ).by_group
        return _stack_sets([self.indices(data.take(labels == label)).total for label in range(count)])

    def weighted(self, data: CellData, volumes: list[tuple[int, int, int]]) -> WeightedResult | None:
        if not volumes or not len(data):
            return None
        known = np.array([unit_id * _FIELD_SPAN + field_id for unit_id, field_id, _ in volumes], dtype=np.int64)
        sizes = np.array([int(total) for _, _, total in volumes], dtype=np.int64)
        cells = data.unit_ids * _FIELD_SPAN + data.fields
        unknown = np.setdiff1d(cells, known)
        keys = np.concatenate([known, unknown])
        sizes = np.concatenate([sizes, np.zeros(unknown.size, dtype=np.int64)])
        order = np.argsort(keys)
        strata = order[np.searchsorted(keys, cells, sorter=order)]
        stratified = poststratification_from_counts(np.bincount(strata, weights=data.sizes, minlength=keys.size)
                                                    .astype(np.int64), sizes)
        total = self.indices(data, weights=stratified.weights[strata]).total
        return WeightedResult(
            label=str(WEIGHTED_LABEL), overall=_estimate(total.overall),
            elements=tuple((section.code, _estimate(total.elements, e))
                           for e, section in enumerate(self.instrument.elements)),
            dossiers=int(sizes.sum()), effective_n=round(stratified.effective_n, 1),
            design_effect=_rounded(stratified.design_effect, 3) or 0.0,
            uncovered_volume_share=round(stratified.uncovered_volume_share, 4),
            unweighted_responses=stratified.unweighted_responses,
        )


def _daily_cells(data: CellData, period: Period) -> tuple[DayCount, ...]:
    """Responses per day of the period from the day counts, zeros included."""
    days = data.days
    counts = np.bincount(days.days - day_number(period.start), weights=days.day_responses, minlength=period.days)
    return tuple(DayCount(period.start + dt.timedelta(days=offset), int(count))
                 for offset, count in enumerate(counts[:period.days]))


def _abuse_cells(data: CellData, names: dict[int, sa.Row]) -> AbuseSummary:
    """``_abuse`` from the day counts per counter."""
    thresholds = dict(fast_seconds=FAST_MS / 1000, burst_size=BURST_SIZE, burst_minutes=BURST_SECONDS / 60,
                      duplicate_minutes=DUPLICATE_SECONDS / 60)
    units, counted = data.days.units, data.days.counters
    if not int(units.responses.sum()):
        return AbuseSummary(0, 0, 0, 0, 0, 0, (), **thresholds)
    counter_ids, positions = _dense_labels(counted.keys)
    columns = ("responses", "fast", "burst", "duplicate", "untimed", "flagged")
    per_counter = {name: np.bincount(positions, weights=getattr(counted, name), minlength=counter_ids.size)
                   .astype(np.int64) for name in columns}
    worst = [int(i) for i in np.argsort(-per_counter["flagged"], kind="stable")[:FLAGGED_COUNTERS]
             if per_counter["flagged"][i] > 0]
    counters = tuple(
        CounterFlags(names[int(counter_ids[i])].code, names[int(counter_ids[i])].name, names[int(counter_ids[i])].unit,
                     *(int(per_counter[name][i]) for name in columns))
        for i in worst if int(counter_ids[i]) in names
    )
    return AbuseSummary(int(units.responses.sum()), *(int(getattr(units, name).sum()) for name in columns[1:]),
                        counters, **thresholds)


def _stack_sets(sets: list[IndexSet]) -> IndexSet:
    """Stack per-label IndexSets into one whose arrays have the labels on axis 0."""
    def stack(parts: list) -> object:
        first = parts[0]
        if isinstance(first, np.ndarray) or np.isscalar(first):
            return np.stack([np.asarray(part) for part in parts])
        return type(first)(**{field.name: stack([getattr(part, field.name) for part in parts])
                              for field in dataclasses.fields(first)})
    return stack(sets)


def _dense_labels(ids: NDArray[np.int64]) -> tuple[NDArray[np.int64], NDArray[np.intp]]:
    """Return the distinct ids (ascending) and each entry's position among them, like ``np.unique``.

    Ids here are small non-negative database keys, so one ``np.bincount`` replaces sorting a million entries.
    """
    present = np.flatnonzero(np.bincount(ids)) if ids.size else np.zeros(0, dtype=np.int64)
    position = np.zeros(present[-1] + 1 if present.size else 1, dtype=np.intp)
    position[present] = np.arange(present.size)
    return present, position[ids]


def _scale_max(instrument: Instrument) -> int:
    return max(choice.value for item in instrument.scale_items for choice in item.choices)


def _daily(data: ResponseData | None, period: Period) -> tuple[DayCount, ...]:
    """Responses per day of the period, zeros included."""
    counts = np.zeros(period.days, dtype=np.int64)
    if data is not None and len(data):
        counts = np.bincount(data.days - day_number(period.start), minlength=period.days)
    return tuple(DayCount(period.start + dt.timedelta(days=offset), int(count)) for offset, count in enumerate(counts))


def _abuse(data: ResponseData | None, names: dict[int, sa.Row]) -> AbuseSummary:
    """Count the review flags, overall and at the most flagged counters."""
    thresholds = dict(fast_seconds=FAST_MS / 1000, burst_size=BURST_SIZE, burst_minutes=BURST_SECONDS / 60,
                      duplicate_minutes=DUPLICATE_SECONDS / 60)
    if data is None or not len(data):
        return AbuseSummary(0, 0, 0, 0, 0, 0, (), **thresholds)
    bits = {name: (data.flags & bit) != 0 for name, bit in
            (("fast", FLAG_FAST), ("burst", FLAG_BURST), ("duplicate", FLAG_DUPLICATE), ("untimed", FLAG_UNTIMED))}
    flagged = data.flags != 0
    counter_ids, positions = _dense_labels(data.counters)
    # Integer counts of the (few) flagged responses' counters, not float sums of a mask over every response.
    per_counter = {name: np.bincount(positions[mask], minlength=counter_ids.size)
                   for name, mask in (*bits.items(), ("flagged", flagged))}
    per_counter["responses"] = np.bincount(positions, minlength=counter_ids.size)
    worst = [int(i) for i in np.argsort(-per_counter["flagged"], kind="stable")[:FLAGGED_COUNTERS]
             if per_counter["flagged"][i] > 0]
    counters = tuple(
        CounterFlags(names[int(counter_ids[i])].code, names[int(counter_ids[i])].name, names[int(counter_ids[i])].unit,
                     *(int(per_counter[name][i]) for name in ("responses", "fast", "burst", "duplicate", "untimed",
                                                     "flagged")))
        for i in worst if int(counter_ids[i]) in names
    )
    return AbuseSummary(len(data), *(int(mask.sum()) for mask in bits.values()), int(flagged.sum()), counters,
                        **thresholds)


def _dossier_result(dossier: tuple[Instrument, ResponseData] | None, locale: str) -> DossierResult | None:
    """Shares of the 3-level per-dossier rating from the newest dossier version with ratings in the period."""
    if dossier is None or not len(dossier[1]):
        return None
    instrument, data = dossier
    rated = instrument.scale_items[0]
    if isinstance(data, CellData):
        shares = dossier_shares_from_counts(data.moments.counts[:, 0, 1:4].sum(axis=0),
                                            min_n=instrument.aggregation.min_n, confidence=CONFIDENCE)
    else:
        shares = dossier_rating_shares(data.scores[:, 0], min_n=instrument.aggregation.min_n, confidence=CONFIDENCE)
    total = shares.total
    labels = {choice.value: _text(choice.label, locale) for choice in rated.choices}
    levels = tuple(RatingLevel(level, labels.get(level, str(level)), int(total.counts[level - 1]),
                               _estimate(total.levels, level - 1))
                   for level in sorted(labels, reverse=True))
    return DossierResult(InstrumentInfo(instrument.code, instrument.version, instrument.kind,
                                        _text(instrument.title, locale), len(data)),
                         int(total.counts.sum()), levels, _estimate(total.satisfaction))


# --- numbers ------------------------------------------------------------------------------------------------------


def _text(texts: dict[str, str], locale: str) -> str:
    return texts.get(locale) or texts["vi"]


def _rounded(value: float, decimals: int) -> float | None:
    """Round a float for publication; nan and inf become None."""
    value = float(value)
    return round(value, decimals) if np.isfinite(value) else None


def _point(table: IndexTable, *index: int) -> float | None:
    return _rounded(np.asarray(table.value)[index], 2)


def _estimate(table: IndexTable, *index: int) -> Estimate:
    """Return one cell of an IndexTable as a published Estimate (2 decimals, flags by name)."""
    return Estimate(
        value=_point(table, *index), n=int(np.asarray(table.n)[index]),
        ci_low=_rounded(np.asarray(table.low)[index], 2), ci_high=_rounded(np.asarray(table.high)[index], 2),
        flags=table.flags(*index),
    )


def _empty() -> Estimate:
    return Estimate(None, 0, None, None, ("small_sample", "suppressed"))


def _change(code: str, before: IndexTable, after: IndexTable, index: int | None) -> Change:
    """Difference after − before of one index with its interval and z-test (``app.stats.compare``)."""
    at = () if index is None else (index,)
    result = period_difference(np.asarray(before.value)[at], np.asarray(before.se)[at],
                               np.asarray(after.value)[at], np.asarray(after.se)[at], confidence=CONFIDENCE)
    return Change(code, _point(before, *at), _point(after, *at), _rounded(result.difference, 2),
                  _rounded(result.low, 2), _rounded(result.high, 2), "z", _rounded(result.statistic, 4),
                  _rounded(result.p_value, 6))


# --- plain-language reading -------------------------------------------------------------------------------------


def units_apart(report: SipasReport) -> tuple[list[ChildResult], list[ChildResult]]:
    """Return the child units whose whole 95 % interval lies above the overall index (best first), and those whose
    interval lies below it (worst first): the ones clearly apart from the rest, not just ranked apart."""
    overall = report.overall.value
    if overall is None:
        return [], []
    above = [c for c in report.children if c.estimate.ci_low is not None and c.estimate.ci_low > overall]
    below = [c for c in report.children if c.estimate.ci_high is not None and c.estimate.ci_high < overall]
    return above, sorted(below, key=lambda c: c.estimate.value)


def ranked_criteria(report: SipasReport, count: int = 3) -> tuple[list[CriterionResult], list[CriterionResult]]:
    """Return the `count` weakest criteria (weakest first) and the `count` strongest (strongest first); none when
    there are fewer than twice `count` criteria with a value."""
    criteria = sorted((c for c in report.criteria if c.estimate.value is not None), key=lambda c: c.estimate.value)
    if len(criteria) < 2 * count or criteria[0].estimate.value == criteria[-1].estimate.value:
        return [], []  # too few, or all alike: no criterion stands out
    return criteria[:count], list(reversed(criteria[-count:]))


def change_is_real(report: SipasReport) -> bool | None:
    """Tell whether the overall index moved beyond noise since the previous period (None: nothing to compare)."""
    comparison = report.comparison
    if comparison is None or comparison.overall.p_value is None:
        return None
    return comparison.overall.p_value < ALPHA


@dataclass(frozen=True)
class CounterFigures:
    """What a counter's page says about its responses in a period."""

    period: PeriodInfo
    responses: int
    #: The newest response ever given at the counter (None: none yet).
    last_response: dt.datetime | None
    #: Its overall index in the period, from the version most answered there (None without a SIPAS version).
    overall: Estimate | None


def counter_figures(counter: Counter, period: Period, *, now: dt.datetime) -> CounterFigures:
    """Count a counter's responses in the period, find its last response, and compute its overall index (reads
    only; the packs and what is not folded yet, like every report)."""
    responses = db.session.scalar(sa.select(sa.func.count()).select_from(SurveyResponse).where(
        SurveyResponse.counter_id == counter.id, SurveyResponse.local_day.between(period.start, period.end))) or 0
    last = db.session.scalar(sa.select(sa.func.max(SurveyResponse.submitted_at))
                             .where(SurveyResponse.counter_id == counter.id))
    if last is not None and last.tzinfo is None:
        last = last.replace(tzinfo=dt.timezone.utc)
    overall = None
    version_id = db.session.scalar(
        sa.select(SurveyResponse.instrument_version_id).join(
            InstrumentVersion, InstrumentVersion.id == SurveyResponse.instrument_version_id)
        .where(SurveyResponse.counter_id == counter.id, InstrumentVersion.kind == "sipas",
               SurveyResponse.local_day.between(period.start, period.end))
        .group_by(SurveyResponse.instrument_version_id).order_by(sa.func.count().desc()).limit(1))
    if version_id is not None:
        instrument = get_instrument(version_id)
        data = load_responses(version_id, len(instrument.scale_items), counter.unit, period.start, period.end,
                              unfolded_responses(now))
        data = data.take(data.counters == counter.id)
        if len(data):
            aggregation = instrument.aggregation
            table = satisfaction_indices(
                data.scores, instrument.element_columns, satisfied=aggregation.satisfied,
                rule=AggregationRule(aggregation.element_rule, aggregation.overall_rule, aggregation.unit_rule),
                min_n=aggregation.min_n, confidence=CONFIDENCE).total.overall
            overall = _estimate(table)
    return CounterFigures(PeriodInfo(period.label, period.start, period.end), responses, last, overall)
