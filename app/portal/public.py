"""What the public pages read: the portal's cheap state, the root unit, published results (only ever their frozen
snapshots), and the contests a citizen may hear about. Plain values out; no Flask.

The state is one query over a handful of aggregates, read at most once a second per process
(``app.cache.portal_state``); the pages are cached by it, so a viral link costs no query beyond that.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from app import cache
from app.contests.models import Contest
from app.errors import NotFoundError
from app.extensions import db
from app.feedback.models import Feedback
from app.feedback.services import public_view, published_query
from app.portal.models import PortalSettings, PublishedResult
from app.units.models import Unit

#: Contest statuses whose results are public.
FINISHED = ("results_published", "archived")
NOT_PUBLISHED = _l("Không tìm thấy kết quả đã công bố cho đơn vị và kỳ này.")


def state() -> str:
    """Return a short token that changes with every publication, withdrawal, contest, settings or unit change, and
    with every feedback published or hidden."""
    token = cache.portal_state.get("state")
    if token is None:
        def aggregate(*columns):
            return sa.select(*columns).scalar_subquery()

        row = db.session.execute(sa.select(
            aggregate(sa.func.max(PublishedResult.changed_at)), aggregate(sa.func.count(PublishedResult.id)),
            aggregate(sa.func.max(Contest.updated_at)), aggregate(sa.func.count(Contest.id)),
            aggregate(sa.func.max(PortalSettings.updated_at)), aggregate(sa.func.count(Unit.id)),
            aggregate(sa.func.max(Feedback.published_at)),
            aggregate(sa.func.count(Feedback.id).filter(Feedback.published_at.is_not(None), Feedback.hidden.is_(False))),
        )).one()
        token = hashlib.sha256(repr(tuple(row)).encode()).hexdigest()[:16]
        cache.portal_state.put("state", token)
    return token


@dataclass(frozen=True)
class Site:
    """Who the portal speaks for: the root unit, and what its organisers set."""

    code: str
    name: str
    intro: str
    hotline: str


def site() -> Site | None:
    """Return the root unit (the first without a parent) with its settings, or None on an empty database."""
    unit = db.session.scalar(sa.select(Unit).where(Unit.parent_id.is_(None)).order_by(Unit.id).limit(1))
    if unit is None:
        return None
    settings = db.session.get(PortalSettings, unit.id)
    return Site(unit.code, unit.name, settings.intro if settings else "", settings.hotline if settings else "")


@dataclass(frozen=True)
class Publication:
    """One public publication as the pages show it."""

    unit_code: str
    unit_name: str
    period: str
    start: dt.date
    end: dt.date
    version: int
    data_at: dt.datetime
    published_at: dt.datetime
    report: dict
    levels: dict | None

    @property
    def overall(self) -> dict:
        return self.report["overall"]

    @property
    def responses(self) -> int:
        return int(self.report["responses"])


def _publication(row: PublishedResult, unit: Unit) -> Publication:
    return Publication(unit.code, unit.name, row.period, row.period_start, row.period_end, row.version, row.data_at,
                       row.published_at, row.snapshot["report"], row.snapshot.get("levels"))


def _public_rows():
    return (sa.select(PublishedResult, Unit).join(Unit, PublishedResult.unit_id == Unit.id)
            .where(PublishedResult.withdrawn_at.is_(None)))


def publications(limit: int | None = None) -> list[Publication]:
    """Every public publication, newest period first, then the higher unit first (shorter path)."""
    query = _public_rows().order_by(PublishedResult.period_end.desc(), sa.func.length(Unit.path), Unit.code)
    if limit:
        query = query.limit(limit)
    return [_publication(row, unit) for row, unit in db.session.execute(query)]


def unit_publications(unit_code: str) -> tuple[str, list[Publication]]:
    """Return a unit's name and its public publications, newest period first; 404 for an unknown unit."""
    name = db.session.scalar(sa.select(Unit.name).where(Unit.code == unit_code))
    if name is None:
        raise NotFoundError(_l("Không tìm thấy đơn vị có mã “%(code)s”.", code=unit_code))
    rows = db.session.execute(_public_rows().where(Unit.code == unit_code)
                              .order_by(PublishedResult.period_end.desc(), PublishedResult.period_start))
    return name, [_publication(row, unit) for row, unit in rows]


def publication(unit_code: str, period: str) -> Publication:
    """Return the public publication of a unit's period, or 404 (never published, or withdrawn)."""
    found = db.session.execute(_public_rows().where(Unit.code == unit_code, PublishedResult.period == period)).first()
    if found is None:
        raise NotFoundError(NOT_PUBLISHED)
    return _publication(*found)


def latest_publication(unit_code: str) -> Publication:
    """Return the unit's public publication of the latest period, or 404."""
    found = db.session.execute(_public_rows().where(Unit.code == unit_code)
                               .order_by(PublishedResult.period_end.desc(), PublishedResult.period_start).limit(1)
                               ).first()
    if found is None:
        raise NotFoundError(NOT_PUBLISHED)
    return _publication(*found)


def period_kind(label: str) -> str:
    """Say what kind of period a label is: year, half, quarter, month or a range of days."""
    if re.fullmatch(r"\d{4}", label):
        return "year"
    for kind, pattern in (("half", r"\d{4}-H[12]"), ("quarter", r"\d{4}-Q[1-4]"), ("month", r"\d{4}-\d{2}")):
        if re.fullmatch(pattern, label):
            return kind
    return "range"


def previous_publication(current: Publication) -> Publication | None:
    """Return the same unit's public publication of the latest earlier period of the same kind, if any."""
    kind = period_kind(current.period)
    rows = db.session.execute(_public_rows().where(Unit.code == current.unit_code,
                                                   PublishedResult.period_end < current.start)
                              .order_by(PublishedResult.period_end.desc()))
    for row, unit in rows:
        if period_kind(row.period) == kind:
            return _publication(row, unit)
    return None


@dataclass(frozen=True)
class ContestEntry:
    """A contest as the public lists show it."""

    slug: str
    title: str
    unit_name: str
    status: str
    starts: dt.datetime | None
    ends: dt.datetime | None
    #: The round running now, or the next one.
    round_name: str | None
    round_opens: dt.datetime | None
    round_closes: dt.datetime | None
    version: int


@dataclass(frozen=True)
class ContestLists:
    open: list[ContestEntry]
    upcoming: list[ContestEntry]
    finished: list[ContestEntry]


def contest_version(contest: Contest) -> int:
    """A number that changes with every change of the contest (its share image's URL carries it)."""
    return int(contest.updated_at.timestamp())


def contest_entry(contest: Contest, now: dt.datetime) -> ContestEntry:
    rounds = sorted(contest.rounds, key=lambda r: r.opens_at)
    current = next((r for r in rounds if r.opens_at <= now < r.closes_at), None)
    following = next((r for r in rounds if r.opens_at > now), None)
    shown = current or following
    return ContestEntry(contest.slug, contest.title, contest.unit.name, contest.status,
                        rounds[0].opens_at if rounds else None, rounds[-1].closes_at if rounds else None,
                        shown.name if shown else None, shown.opens_at if shown else None,
                        shown.closes_at if shown else None, contest_version(contest))


def contests(now: dt.datetime) -> ContestLists:
    """Open contests (a round runs now or comes later), upcoming ones (no round has opened yet), and finished ones
    whose results are published. Drafts and closed contests awaiting results are not public."""
    rows = db.session.scalars(sa.select(Contest).where(Contest.status.in_(("open", *FINISHED)))
                              .order_by(Contest.id.desc()))
    lists = ContestLists([], [], [])
    for contest in rows:
        entry = contest_entry(contest, now)
        if contest.status in FINISHED:
            lists.finished.append(entry)
        elif entry.starts is not None and now < entry.starts:
            lists.upcoming.append(entry)
        elif entry.ends is not None and now < entry.ends:
            lists.open.append(entry)
    return lists


def public_contest(slug: str, now: dt.datetime) -> ContestEntry:
    """Return a public contest (open or finished with results), or 404: a draft has no share image."""
    contest = db.session.scalar(sa.select(Contest).where(Contest.slug == slug,
                                                         Contest.status.in_(("open", *FINISHED))))
    if contest is None:
        raise NotFoundError(_l("Không tìm thấy cuộc thi này."))
    return contest_entry(contest, now)


def answered_feedback(limit: int) -> list[dict]:
    """The latest published feedback with its answer, as the public sees it (never the sender)."""
    return [public_view(row) for row in db.session.scalars(published_query().limit(limit))]
