"""What organisers read besides the reports: citizens' comments with filters, and raw response exports (logged).

Every function takes objects the view has already loaded within the organiser's subtree.
"""
from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from app.auth.audit import record
from app.auth.models import Organiser
from app.database import text_search
from app.errors import NotFoundError
from app.extensions import db
from app.jobs import Job, enqueue
from app.periods import Period
from app.surveys.exports import response_table
from app.surveys.models import InstrumentVersion, SurveyResponse
from app.surveys.services import get_instrument, instrument_codes
from app.units.models import Counter, ServiceField, Unit

#: Page numbers beyond this are read as this one (a typed 10**30 must not overflow the database integer).
MAX_PAGE = 100_000


# --- the units a report selection moves between ----------------------------------------------------------------


@dataclass(frozen=True)
class UnitChoice:
    """A unit offered by a report's selection, with its depth below the organiser's unit."""

    id: int
    code: str
    name: str
    depth: int


def units_around(scope: Unit, selected: Unit) -> list[UnitChoice]:
    """Return the units a report selection offers, in tree order: the way from the organiser's unit down to the
    chosen one, the chosen one's siblings and its children. The whole subtree would make a nation's select list
    17,000 communes (a page of a megabyte no one can pick from); one step up or down at a time stays short."""
    way = [int(part) for part in selected.path.strip("/").split("/")][scope.path.count("/") - 2:]
    parents = set(way) if selected.id == scope.id else set(way[:-1]) | {selected.id}
    rows = db.session.execute(
        sa.select(Unit.id, Unit.code, Unit.name, Unit.parent_id, Unit.path)
        .where(sa.or_(Unit.id.in_(way), sa.and_(Unit.parent_id.in_(parents), Unit.is_within(scope))))
    ).all()
    children: dict[int | None, list] = {}
    for row in rows:
        children.setdefault(row.parent_id, []).append(row)
    top = next(row for row in rows if row.id == scope.id)
    ordered: list[UnitChoice] = []

    def visit(row, depth: int) -> None:
        ordered.append(UnitChoice(row.id, row.code, row.name, depth))
        for child in sorted(children.get(row.id, []), key=lambda unit: unit.code):
            visit(child, depth + 1)

    visit(top, 0)
    return ordered


# --- comments ----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CommentFilter:
    """What the comments list is narrowed to; every part is optional.

    `max_score` keeps responses whose mean criterion score in `element` (or, without an element, in some
    element) is at most that value.
    """

    search: str = ""
    field_id: int | None = None
    period: Period | None = None
    instrument_code: str | None = None
    element: str | None = None
    max_score: float | None = None


@dataclass(frozen=True)
class Comment:
    """One response's free-text answers with where and when it was given."""

    id: int
    submitted_at: dt.datetime
    unit_name: str
    counter_name: str
    field_name: str | None
    texts: tuple[tuple[str, str], ...]
    element_means: tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class CommentPage:
    """One page of comments; `total` is None when a search or score filter makes counting cost a full scan."""

    items: tuple[Comment, ...]
    page: int
    per_page: int
    total: int | None
    has_next: bool

    @property
    def has_prev(self) -> bool:
        return self.page > 1


def element_choices(locale: str) -> list[tuple[str, str]]:
    """Return (code, title) of the elements of every published SIPAS instrument, in order, without repeats."""
    choices: dict[str, str] = {}
    versions = db.session.scalars(sa.select(InstrumentVersion.id).where(InstrumentVersion.kind == "sipas")
                                  .order_by(InstrumentVersion.code, InstrumentVersion.version.desc()))
    for version_id in versions:
        for element in get_instrument(version_id).elements:
            choices.setdefault(element.code, element.title.get(locale) or element.title["vi"])
    return list(choices.items())


def _element_means(version_id: int, scores: bytes, locale: str) -> dict[str, tuple[str, float]]:
    """Return code → (title, mean of the answered criteria) for each element of a response."""
    instrument = get_instrument(version_id)
    means = {}
    for element, columns in zip(instrument.elements, instrument.element_columns):
        values = [scores[column] for column in columns if column < len(scores) and scores[column]]
        if values:
            means[element.code] = (element.title.get(locale) or element.title["vi"], sum(values) / len(values))
    return means


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def list_comments(root: Unit, filters: CommentFilter, page: int, per_page: int = 25, locale: str = "vi"
                  ) -> CommentPage:
    """Return one page of the responses with free text in a subtree, newest first, narrowed by `filters`."""
    texts = sa.cast(SurveyResponse.texts, sa.Text)
    query = (
        sa.select(SurveyResponse.id, SurveyResponse.instrument_version_id, SurveyResponse.submitted_at,
                  SurveyResponse.scores, SurveyResponse.texts, Unit.name, Counter.name, ServiceField.name,
                  ServiceField.name_en)
        .join(Unit, Unit.id == SurveyResponse.unit_id)
        .join(Counter, Counter.id == SurveyResponse.counter_id)
        .outerjoin(ServiceField, ServiceField.id == SurveyResponse.service_field_id)
        .where(SurveyResponse.unit_id.in_(_subtree_ids(root)), texts != "{}")
        .order_by(SurveyResponse.submitted_at.desc(), SurveyResponse.id.desc())
    )
    words = search_words(filters.search)
    if words:
        query = query.where(comment_search(words))
    elif filters.search.strip():  # only signs (%, _, …): matched literally inside the texts
        query = query.where(texts.ilike(_like_pattern(filters.search.strip()), escape="\\"))
    if filters.field_id is not None:
        query = query.where(SurveyResponse.service_field_id == filters.field_id)
    if filters.period is not None:
        query = query.where(SurveyResponse.local_day.between(filters.period.start, filters.period.end))
    if filters.instrument_code:
        query = query.where(SurveyResponse.instrument_version_id.in_(
            sa.select(InstrumentVersion.id).where(InstrumentVersion.code == filters.instrument_code)))
    page = min(max(page, 1), MAX_PAGE)
    skip = (page - 1) * per_page
    if filters.max_score is None and (words or not filters.search.strip()):
        total = db.session.scalar(sa.select(sa.func.count()).select_from(query.order_by(None).subquery()))
        rows = db.session.execute(query.offset(skip).limit(per_page + 1)).all()
    else:
        # What SQL cannot decide (means of packed scores; a match in the answers, not in the JSON keys) is
        # checked row by row, so such a page has no total.
        total = None
        result = db.session.execute(query.execution_options(yield_per=1000))
        try:
            kept = (row for row in result if _matches(row[1], row[3], row[4], filters))
            rows = list(itertools.islice(kept, skip, skip + per_page + 1))
        finally:
            result.close()
    items = tuple(_comment(row, locale) for row in rows[:per_page])
    return CommentPage(items, page, per_page, total, len(rows) > per_page)


#: Words of a search (letters and digits, Vietnamese included); at most this many are used.
_WORD = re.compile(r"\w+", re.UNICODE)
MAX_SEARCH_WORDS = 8


def search_words(text: str) -> list[str]:
    """Return the words of a comment search (none when it holds only signs such as % or _)."""
    return [word for word in _WORD.findall(text.casefold()) if word.strip("_")][:MAX_SEARCH_WORDS]


def comment_search(words: list[str]) -> sa.ColumnElement[bool]:
    """Select the responses whose texts hold every word as the start of a word, whatever the accents and case
    (``app.database.text_search``: an index, never a scan of the texts)."""
    return text_search(db.session, SurveyResponse.texts, SurveyResponse.id, words)


def _subtree_ids(root: Unit) -> sa.BindParameter:
    """The ids of the subtree's units (``Unit.is_within``), rendered into the statement: with a join on the unit
    path PostgreSQL misjudges how many units match and repeats the search index scan once per unit."""
    ids = db.session.scalars(sa.select(Unit.id).where(Unit.is_within(root))).all()
    return sa.bindparam("comment_units", sorted(ids), expanding=True, literal_execute=True)


def _matches(version_id: int, scores: bytes, texts: dict, filters: CommentFilter) -> bool:
    term = filters.search.strip().casefold()
    if term and not search_words(filters.search) and term not in "\n".join(str(text) for text in (texts or {}).values()).casefold():
        return False
    if filters.max_score is None:
        return True
    means = _element_means(version_id, scores, "vi")
    if filters.element:
        return filters.element in means and means[filters.element][1] <= filters.max_score
    return any(mean <= filters.max_score for _, mean in means.values())


def _comment(row, locale: str) -> Comment:
    (response_id, version_id, submitted_at, scores, texts, unit_name, counter_name, field_name, field_name_en) = row
    instrument = get_instrument(version_id)
    labelled = []
    for code, text in (texts or {}).items():
        try:
            label = instrument.item(code).text.get(locale) or instrument.item(code).text["vi"]
        except KeyError:
            label = code
        labelled.append((label, str(text)))
    means = tuple(_element_means(version_id, scores, locale).values())
    field = field_name_en if locale == "en" and field_name_en else field_name
    return Comment(response_id, submitted_at, unit_name, counter_name, field, tuple(labelled), means)


# --- exports -----------------------------------------------------------------------------------------------------

def export_responses(actor: Organiser, root: Unit, code: str, period: Period | None, fmt: str, zone: ZoneInfo,
                     now: dt.datetime) -> tuple[list[str], Iterator[list[object]]]:
    """Log the export and return the raw response table of an instrument in a subtree (rows are read lazily)."""
    headers, rows = response_table(code, root, period, zone)
    record(actor, root.id, "export.responses", "instrument", code,
           {"unit": root.code, "period": period.label if period else None, "format": fmt}, now)
    return headers, rows


def count_responses(root: Unit, code: str, period: Period | None) -> int:
    """Count the responses an export of an instrument in a subtree and period will hold (for its progress)."""
    query = (sa.select(sa.func.count()).select_from(SurveyResponse)
             .join(InstrumentVersion, InstrumentVersion.id == SurveyResponse.instrument_version_id)
             .join(Unit, Unit.id == SurveyResponse.unit_id)
             .where(InstrumentVersion.code == code, Unit.is_within(root)))
    if period is not None:
        query = query.where(SurveyResponse.local_day.between(period.start, period.end))
    return int(db.session.scalar(query) or 0)


def request_responses_export(actor: Organiser, root: Unit, code: str, period: Period | None, fmt: str, locale: str,
                             now: dt.datetime) -> Job:
    """Queue the export of an instrument's raw responses in a subtree (the job logs it when it reads them)."""
    if code not in instrument_codes():
        raise NotFoundError(_l("Không có phiếu khảo sát mã “%(code)s”.", code=code))
    label = period.label if period else "tat-ca"
    return enqueue("responses", owner_id=actor.id, unit_id=root.id,
                   params={"instrument": code, "period": period.label if period else None, "format": fmt,
                           "locale": locale},
                   title=f"{code} · {root.name} · {period.label if period else '*'}",
                   result_name=f"phieu-{code}-{root.code}-{label.replace('..', '_')}.{fmt}", now=now)


def request_report_file(actor: Organiser, root: Unit, period: Period, instrument: tuple[str | None, int | None],
                        state: str | None, fmt: str, locale: str, now: dt.datetime) -> Job:
    """Queue the periodic report of a unit and period as a PDF or XLSX file."""
    return enqueue("report", owner_id=actor.id, unit_id=root.id,
                   params={"period": period.label, "instrument": instrument[0], "version": instrument[1],
                           "state": state, "format": fmt, "locale": locale},
                   title=f"{root.name} · {period.label}",
                   result_name=f"bao-cao-{root.code}-{period.label.replace('..', '_')}.{fmt}", now=now)


# --- jobs --------------------------------------------------------------------------------------------------------

def list_jobs(actor: Organiser, limit: int = 20) -> list[Job]:
    """Return the organiser's most recent jobs, newest first."""
    return list(db.session.scalars(sa.select(Job).where(Job.owner_id == actor.id).order_by(Job.id.desc())
                                   .limit(limit)))


def own_job(actor: Organiser, job_id: int) -> Job | None:
    """Return one of the organiser's own jobs, or None."""
    found = db.session.get(Job, job_id) if 0 < job_id < 2**31 else None
    return found if found is not None and found.owner_id == actor.id else None


def visible_job(actor: Organiser, job_id: int) -> Job | None:
    """Return a job whose unit lies in the organiser's subtree (a colleague's export may be shared), or None."""
    found = db.session.get(Job, job_id) if isinstance(job_id, int) and 0 < job_id < 2**31 else None
    if found is None or found.unit_id is None:
        return None
    unit = db.session.get(Unit, found.unit_id)
    return found if unit is not None and unit.is_within(actor.unit) else None
