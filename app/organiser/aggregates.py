"""Report aggregates: survey responses folded into packed per-unit, per-month vectors and into report cells
(``app.organiser.cells``: fixed-size sufficient statistics per unit × month × service field, from which reports over
whole months are computed, so their cost does not grow with responses), and dossier volumes. The packs below serve
ranges that cut a month and exports; ``delete_responses`` takes responses out of both incrementally.

The reasoning that led to packs (before cells), kept for the record:

Why packs of per-response vectors, not counts per unit × day × item × value (figures measured on this 2-core
machine with 1,000,000 synthetic responses × 23 scale items, 500 units, one year, while other work shared it):

* What the report needs does not add up from counts. Element and overall intervals are linearised over
  respondents (``app.stats.satisfaction``): their variance needs, per unit, every pair of criteria answered
  together (3 × 23 × 23 sums); the not-significantly-different ranks need those per child unit; alpha-if-deleted
  needs per-element cross moments; the Kruskal–Wallis comparison and the review flags need respondents. Counts
  per unit × day × item × value would cover only the criterion shares.
* Counts are not even smaller here. 1 M responses a year over 500 units is 5.5 responses per unit-day: a
  unit-day's 23 × 5 value counts (115 numbers) outweigh its 5.5 × 23 answer bytes (127 bytes). The compact
  per-response vector (one byte per item, as ``survey_responses.scores`` already stores) is the aggregate.
* Loading, not arithmetic, is the limit, and it is set by the number of rows. Reading the 1 M rows of
  (unit, field, day, scores) from ``survey_responses`` took 3.4–6 s on SQLite through the report index
  (1.4–2 s by a full scan; the table holds 283 bytes a row with the JSON answers) and ~1 s on PostgreSQL (10–15 s
  while its planner misjudged the unit filter; ``COPY … (FORMAT binary)`` was no faster than a fetch there,
  0.9–1.2 s). The same responses packed by unit and month (6,500 rows of ~5 kB) load in 0.09–0.14 s on SQLite
  and 0.15–0.25 s on PostgreSQL (binary cursor, storage without compression; 0.3–0.35 s as hex text);
  ``app.stats`` then needs ~0.4 s for indices of 500 child units and alpha. A whole report of the year takes
  ~1.8 s of CPU on either database, the dashboard 1.0–1.7 s, with ~450 MB peak memory.

So each pack row holds, for one instrument version, unit and calendar month, the fixed-width records of its
responses (day of month, review flags, service field, counter, one byte per scale item). A report reads the packs
of its months and unit subtree in one query and filters days in numpy; custom ranges need no other grain.

Keeping packs current: ``refresh_packs`` folds the responses stored since the last fold (a watermark on the
response id). It runs from ``flask report refresh`` (after bulk loads such as ``flask synth``, and periodically:
folding 1 M rows at once reads them all and costs ~6–7 s of CPU, 0.4–0.7 GB; a fold with nothing new costs
~0.1 s, the guard's count) and before ``flask report sipas``. A report read on the web writes nothing: it reads
the packs and, beside them, the responses not folded yet (``Unfolded``: the same guard, then the rows a fold would
read, their review flags decided as the fold will decide them), so it is current whenever it runs; the fold only
keeps that unfolded part small. Folding appends a chunk per (version, unit, month) touched; a key with more than
``MAX_CHUNKS`` chunks is merged into one. Guards: ids below the watermark that were missing at a fold (a
transaction still open on PostgreSQL, whose sequence hands out ids before commit) are remembered for
``PENDING_SECONDS`` and folded when they appear; a count of the responses below the watermark that differs from
the folded count (deleted rows, an id that appeared after it was given up) rebuilds every pack (and until then
makes reports read every response). Two folds at once cannot both win: the watermark is
advanced by a compare-and-set update, and the loser adds nothing. Review flags (``app.stats.abuse``) are decided
at the fold from the response and the earlier ones at its counter, so they never change afterwards.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from numpy.typing import NDArray
from sqlalchemy.orm import Mapped, mapped_column

from app.database import BigIntId, UTCDateTime, in_batches, insert_for, is_postgresql, raw_cursor, utcnow
from app.extensions import db
from app.organiser import cells
from app.organiser.cells import FLAG_BURST, FLAG_DUPLICATE, FLAG_FAST, FLAG_UNTIMED
from app.stats.abuse import BURST_SECONDS, DUPLICATE_SECONDS, response_flags
from app.surveys.models import InstrumentVersion, SurveyResponse
from app.units.models import ServiceField, Unit
from app.uploads import Column, TableRow, not_imported
from app.validation import Problem

#: Chunks of one (version, unit, month) above which a fold merges them into one row.
MAX_CHUNKS = 8
#: How long an id missing below the watermark is awaited before it is given up (seconds).
PENDING_SECONDS = 3600
#: Most missing ids remembered (older gaps are rolled-back or conflicting inserts, which never appear).
MAX_PENDING = 1000
#: Review flag bits stored per response.
EPOCH = dt.date(1970, 1, 1)
_HEAD = [("day", "u1"), ("flags", "u1"), ("field", "<i4"), ("counter", "<i4")]


class ResponsePack(db.Model):
    """The responses of one instrument version, unit and month (one chunk of them), packed as fixed records."""

    __tablename__ = "response_packs"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    instrument_version_id: Mapped[int] = mapped_column(sa.ForeignKey("instrument_versions.id"))
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"))
    #: First day of the calendar month (local days, as survey_responses.local_day).
    month: Mapped[dt.date] = mapped_column(sa.Date)
    #: Number of records.
    n: Mapped[int] = mapped_column(sa.Integer)
    #: n records of ``record_dtype(width)``: day of month, flags, service field id (0 = none), counter id, scores.
    records: Mapped[bytes] = mapped_column(sa.LargeBinary)

    __table_args__ = (sa.Index("ix_response_packs_lookup", "instrument_version_id", "month", "unit_id"),)


class FoldState(db.Model):
    """Where folding stands: the highest folded response id, how many were folded, and ids still awaited."""

    __tablename__ = "response_fold_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    last_response_id: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    folded: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    #: [[response id, unix time first missed], …] for ids below the watermark not yet seen.
    pending: Mapped[list] = mapped_column(sa.JSON, default=list)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: First month whose raw responses are all still stored: the packs and cells of earlier months hold responses
    #: that retention archived and deleted (``delete_responses(…, keep_aggregates=True)``), so no rebuild drops them.
    archived_before: Mapped[dt.date | None] = mapped_column(sa.Date)


class DossierVolume(db.Model):
    """Dossiers handled by a unit in a service field during a month: the frame for volume weighting."""

    __tablename__ = "dossier_volumes"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"))
    service_field_id: Mapped[int] = mapped_column(sa.ForeignKey("service_fields.id"))
    #: First day of the calendar month.
    month: Mapped[dt.date] = mapped_column(sa.Date)
    dossiers: Mapped[int] = mapped_column(sa.Integer)

    __table_args__ = (
        sa.UniqueConstraint("unit_id", "service_field_id", "month", name="uq_dossier_volumes_cell"),
        sa.CheckConstraint("dossiers >= 0", name="dossiers_not_negative"),
    )


@dataclass(frozen=True)
class FoldResult:
    """What one call of refresh_packs did."""

    folded: int
    rebuilt: bool
    #: False when another fold advanced the watermark first (nothing was written by this one).
    won: bool


@dataclass(frozen=True, eq=False)
class ResponseData:
    """Responses of one instrument version in a unit subtree and a range of days, as aligned numpy arrays."""

    #: (responses, scale items), 0 = no answer; Fortran-ordered (each item's answers contiguous), the layout
    #: app.stats reads column by column, so no statistic makes its own transposed copy.
    scores: NDArray[np.uint8]
    unit_ids: NDArray[np.int64]
    #: Local calendar day as days since 1970-01-01.
    days: NDArray[np.int64]
    #: Service field id, 0 = none given.
    fields: NDArray[np.int64]
    counters: NDArray[np.int64]
    #: FLAG_* bits.
    flags: NDArray[np.uint8]

    def __len__(self) -> int:
        return self.scores.shape[0]

    def take(self, mask: NDArray[np.bool_]) -> ResponseData:
        """Return the responses where ``mask`` is True (this data itself when that is every response)."""
        if mask.all():
            return self
        # Select along the rows of the item-major transpose: the result stays Fortran-ordered.
        return ResponseData(self.scores.T[:, mask].T,
                            *(getattr(self, name)[mask] for name in _DATA_FIELDS[1:]))


_DATA_FIELDS = ("scores", "unit_ids", "days", "fields", "counters", "flags")


def record_dtype(width: int) -> np.dtype:
    """Return the packed record layout of an instrument with ``width`` scale items (10 + width bytes)."""
    return np.dtype([*_HEAD, ("scores", "u1", (width,))])


def day_number(day: dt.date) -> int:
    """Return a date as days since 1970-01-01 (the day axis of ResponseData)."""
    return (day - EPOCH).days


def month_start(day: dt.date) -> dt.date:
    """Return the first day of the day's month."""
    return day.replace(day=1)


# --- folding ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Position:
    """Where the last fold left off."""

    #: The fold state row as read (None before the first fold): a fold moves it by compare-and-set.
    state: sa.Row | None
    watermark: int
    folded: int
    #: [[response id, unix time first missed], …]: the ids below the watermark still awaited at ``now``.
    pending: list[list[int]]
    archived_before: dt.date | None

    @property
    def pending_ids(self) -> list[int]:
        return [entry[0] for entry in self.pending]


def _position(now: dt.datetime) -> _Position:
    state = db.session.execute(
        sa.select(FoldState.last_response_id, FoldState.folded, FoldState.pending, FoldState.archived_before)
        .where(FoldState.id == 1)
    ).first()
    watermark, folded, pending = (0, 0, []) if state is None else (state[0], state[1], list(state[2] or []))
    moment = int(now.timestamp())
    return _Position(state, watermark, folded, [entry for entry in pending if moment - entry[1] <= PENDING_SECONDS],
                     None if state is None else state[3])


def folded_ids_condition(now: dt.datetime) -> sa.ColumnElement:
    """The responses whose moments are already in the packs and cells (at or below the watermark, not awaited)."""
    position = _position(now)
    response = SurveyResponse.__table__
    condition = response.c.id <= position.watermark
    if position.pending_ids:
        condition = sa.and_(condition, response.c.id.not_in(position.pending_ids))
    return condition


def mark_archived_before(month: dt.date) -> None:
    """Record that the raw responses before ``month`` are archived (their aggregates must survive a rebuild)."""
    table = FoldState.__table__
    db.session.execute(table.update().where(table.c.id == 1, sa.or_(table.c.archived_before.is_(None),
                                                                    table.c.archived_before < month))
                       .values(archived_before=month))


def refresh_packs(now: dt.datetime) -> FoldResult:
    """Fold every response stored since the last fold into the packs (rebuilding them when the guard fails).

    Runs in the caller's transaction and flushes; the caller commits. See the module docstring for the guards.
    """
    position = _position(now)
    state, watermark, folded, pending = position.state, position.watermark, position.folded, position.pending
    pending_ids, moment = position.pending_ids, int(now.timestamp())
    rebuild, nothing_new = False, False
    if watermark > 0:
        stored, highest = _folded_below(watermark, pending_ids)
        rebuild = stored != folded
        # Nothing above the watermark and no id awaited: skip reading (a range on the id may scan the table).
        nothing_new = highest <= watermark and not pending_ids
    response = SurveyResponse.__table__
    archived, kept = position.archived_before, 0
    if rebuild and archived is not None:
        # Months before ``archived`` keep their aggregates (their raw rows are archived): rebuild the later ones,
        # and fold only what of the earlier ones was not folded yet.
        unfolded = sa.or_(response.c.id > watermark, response.c.id.in_(pending_ids)) if pending_ids else \
            response.c.id > watermark
        kept = int(db.session.scalar(sa.select(sa.func.count()).select_from(response).where(
            response.c.local_day < archived, sa.not_(unfolded))) or 0)
        chosen = sa.or_(response.c.local_day >= archived, unfolded)
        watermark, folded, pending, pending_ids = 0, kept, [], []
    elif rebuild:
        watermark, folded, pending, pending_ids = 0, 0, [], []
        chosen = response.c.id > 0
    elif nothing_new:
        return FoldResult(0, False, True)
    else:
        chosen = response.c.id > watermark
        if pending_ids:
            chosen = sa.or_(chosen, response.c.id.in_(pending_ids))
    devices: dict[str, int] = {}
    rows = _read_rows(chosen, devices)
    if not rows.size and not rebuild:
        return FoldResult(0, False, True)
    ids = rows.columns["id"]
    arrived = set(ids[ids <= watermark].tolist())
    top = max(watermark, int(ids.max())) if ids.size else watermark
    waiting = [entry for entry in pending if entry[0] not in arrived]
    new_ids = ids[ids > watermark]
    # Below the lowest id of a first fold lie deleted rows, not transactions in flight: await only gaps above it.
    floor = watermark if watermark or not new_ids.size else int(new_ids[0]) - 1
    waiting += [[missing, moment] for missing in _missing_ids(new_ids, floor, top)]
    if rebuild and archived is not None:
        top = max(top, int(db.session.scalar(sa.select(sa.func.coalesce(sa.func.max(response.c.id), 0)))))
        waiting = []  # the kept rows below the top were folded before; every other row is read now
    if not _advance(state, top, folded + int(ids.size), waiting[-MAX_PENDING:], now):
        return FoldResult(0, rebuild, False)
    if rebuild:
        db.session.execute(sa.delete(ResponsePack).where(ResponsePack.month >= archived) if archived is not None
                           else sa.delete(ResponsePack))
        cells.clear(since=archived)
    flags = _review_flags(rows, watermark, devices)
    _store_packs(rows, flags)
    _store_cells(rows, flags)
    db.session.flush()
    return FoldResult(int(ids.size), rebuild, True)


def delete_responses(ids: Sequence[int], now: dt.datetime, *, keep_aggregates: bool = False) -> int:
    """Delete stored responses and correct the aggregates incrementally: each folded response is taken out of its
    pack (one record with its day, review flags, field, counter and answers), its cell and its day count, and the
    folded count goes down with it, so the fold's guard still holds and nothing is rebuilt.

    With ``keep_aggregates`` (retention: the raw rows are archived, the published figures must not change) only
    folded responses are deleted, and their records stay in packs and cells: the folded count alone goes down.

    Review flags are decided again as the fold decided them (from the response and the folded ones before it at its
    counter). Runs in the caller's transaction and flushes; returns how many responses were deleted. A folded
    response whose record cannot be found in its pack (flags decided otherwise) is deleted all the same and left
    to the guard, which then rebuilds the aggregates at the next fold.
    """
    wanted = sorted({int(value) for value in ids})
    if not wanted:
        return 0
    response = SurveyResponse.__table__
    devices: dict[str, int] = {}
    rows = _read_rows(response.c.id.in_(wanted), devices)
    if not rows.size:
        return 0
    position = _position(now)
    found = rows.columns["id"]
    folded_mask = (found <= position.watermark) & ~np.isin(found, position.pending_ids)
    if keep_aggregates:
        found = found[folded_mask]
        if found.size:
            table = FoldState.__table__
            db.session.execute(table.update().where(table.c.id == 1).values(folded=table.c.folded - int(found.size)))
            for batch in in_batches(found.tolist()):
                db.session.execute(sa.delete(SurveyResponse).where(SurveyResponse.id.in_(batch)))
            db.session.flush()
        return int(found.size)
    folded = rows.take(folded_mask)
    if folded.size:
        flags = _decided_flags(folded, devices)
        if _remove_records(folded, flags):
            _store_cells_signed(folded, flags, -1)
            table = FoldState.__table__
            db.session.execute(table.update().where(table.c.id == 1)
                               .values(folded=table.c.folded - int(folded.size)))
    db.session.execute(sa.delete(SurveyResponse).where(SurveyResponse.id.in_(found.tolist())))
    db.session.flush()
    return int(found.size)


def _decided_flags(rows: _Rows, devices: dict[str, int]) -> NDArray[np.uint8]:
    """Decide the review flags of folded rows again, from them and the responses up to them at their counters."""
    response = SurveyResponse.__table__
    earliest = rows.columns["second"].min() - max(BURST_SECONDS, DUPLICATE_SECONDS)
    context = _read_rows(
        sa.and_(response.c.id <= int(rows.columns["id"].max()),
                response.c.counter_id.in_(sorted(set(rows.columns["counter"].tolist())))),
        devices, response.c.submitted_at >= dt.datetime.fromtimestamp(earliest, dt.timezone.utc))
    flags = np.zeros(context.size, dtype=np.uint8)
    columns = context.columns
    for version, scores in context.scores.items():
        chosen = np.flatnonzero(columns["version"] == version)
        found = response_flags(columns["counter"][chosen], columns["second"][chosen], columns["device"][chosen],
                               scores, columns["duration"][chosen])
        flags[chosen] = _flag_bits(found)
    order = np.argsort(columns["id"])
    return flags[order[np.searchsorted(columns["id"], rows.columns["id"], sorter=order)]]


def _remove_records(rows: _Rows, flags: NDArray[np.uint8]) -> bool:
    """Take one matching record per row out of its (version, unit, month) pack; False (nothing changed) when a
    record is not found."""
    columns = rows.columns
    months = cells.month_numbers(columns["day"])
    pack = ResponsePack.__table__
    changes = []
    for version, scores in rows.scores.items():
        layout = record_dtype(scores.shape[1])
        chosen = np.flatnonzero(columns["version"] == version)
        for key in sorted({(int(columns["unit"][i]), int(months[i])) for i in chosen}):
            query = (sa.select(pack.c.id, pack.c.records)
                     .where(pack.c.instrument_version_id == version, pack.c.unit_id == key[0],
                            pack.c.month == EPOCH + dt.timedelta(days=key[1])).order_by(pack.c.id))
            if is_postgresql(db.session):
                query = query.with_for_update()
            chunks = db.session.execute(query).all()
            records = np.frombuffer(b"".join(chunk.records for chunk in chunks), dtype=layout)
            keep = np.ones(records.size, dtype=bool)
            for i in chosen[(columns["unit"][chosen] == key[0]) & (months[chosen] == key[1])]:
                match = np.flatnonzero(keep & (records["day"] == columns["day"][i] - key[1] + 1)
                                       & (records["flags"] == flags[i]) & (records["field"] == columns["field"][i])
                                       & (records["counter"] == columns["counter"][i])
                                       & (records["scores"] == scores[np.flatnonzero(chosen == i)[0]]).all(axis=1))
                if not match.size:
                    return False
                keep[match[0]] = False
            changes.append((version, key, [chunk.id for chunk in chunks], records[keep]))
    for version, (unit_id, month), chunk_ids, kept in changes:
        db.session.execute(sa.delete(ResponsePack).where(ResponsePack.id.in_(chunk_ids)))
        if kept.size:
            db.session.execute(sa.insert(ResponsePack).values(
                instrument_version_id=version, unit_id=unit_id, month=EPOCH + dt.timedelta(days=month),
                n=int(kept.size), records=kept.tobytes()))
    return True


def _folded_below(watermark: int, pending_ids: list[int]) -> tuple[int, int]:
    """Count the stored responses with id ≤ watermark that are not awaited, and return it with the highest stored
    id (0 when none), each pair from one statement (one snapshot).

    Written as all rows − rows above − awaited rows, because a bare ``count(*)`` reads the smallest index
    (SQLite counts 1 M rows that way in tens of milliseconds, a range on the id walks the whole table). The rows
    above are counted only when the highest id, read from the primary key, lies above the watermark: without
    planner statistics (PostgreSQL after a bulk load, before ANALYZE) that count scans the whole table.
    """
    response = SurveyResponse.__table__

    def count(*conditions: sa.ColumnElement) -> sa.ScalarSelect:
        return sa.select(sa.func.count()).select_from(response).where(*conditions).scalar_subquery()

    awaited = count(response.c.id.in_(pending_ids), response.c.id <= watermark) if pending_ids else sa.literal(0)
    highest = sa.select(sa.func.coalesce(sa.func.max(response.c.id), 0)).scalar_subquery()
    stored, top = db.session.execute(sa.select(count() - awaited, highest)).one()
    if top > watermark:
        stored, top = db.session.execute(sa.select(count() - count(response.c.id > watermark) - awaited,
                                                   highest)).one()
    return int(stored), int(top)


def _missing_ids(new_ids: NDArray[np.int64], floor: int, top: int) -> list[int]:
    """Return the highest (at most MAX_PENDING) ids in (floor, top] absent from the sorted ``new_ids``."""
    if top - floor == new_ids.size:
        return []
    bounds = np.concatenate([[floor], new_ids, [top + 1]])
    missing: list[int] = []
    for position in np.flatnonzero(np.diff(bounds) > 1)[::-1]:
        low, high = int(bounds[position]) + 1, int(bounds[position + 1])
        missing[:0] = range(max(low, high - (MAX_PENDING - len(missing))), high)
        if len(missing) >= MAX_PENDING:
            break
    return missing


def _advance(state, top: int, folded: int, pending: list, now: dt.datetime) -> bool:
    """Move the watermark by compare-and-set; return False when another fold moved it first."""
    table = FoldState.__table__
    values = dict(last_response_id=top, folded=folded, pending=pending, updated_at=now)
    if state is None:
        statement = insert_for(db.session, table).values(id=1, **values).on_conflict_do_nothing()
    else:
        statement = (table.update().values(**values)
                     .where(table.c.id == 1, table.c.last_response_id == state[0], table.c.folded == state[1]))
    # RETURNING, not rowcount: psycopg reports -1 for some statements.
    return db.session.execute(statement.returning(table.c.id)).first() is not None


_ROW_DTYPE = np.dtype([("id", np.int64), ("version", np.int64), ("unit", np.int64), ("counter", np.int64),
                       ("field", np.int64), ("day", np.int64), ("second", np.float64), ("duration", np.float64),
                       ("device", np.int64)])
#: Rows converted to numpy at a time while reading a fold (bounds the Python objects alive at once).
_READ_BATCH = 100_000


@dataclass(frozen=True, eq=False)
class _Rows:
    """Raw responses read for a fold: numeric columns, and each version's scores in row order."""

    columns: NDArray
    #: Version id → (rows of that version, scale items) matrix, rows in the order of ``columns``.
    scores: dict[int, NDArray[np.uint8]]

    @property
    def size(self) -> int:
        return self.columns.shape[0]

    def take(self, mask: NDArray[np.bool_]) -> _Rows:
        """Return the rows where ``mask`` is True."""
        return _Rows(self.columns[mask], {version: matrix[mask[self.columns["version"] == version]]
                                          for version, matrix in self.scores.items()})

    def __add__(self, other: _Rows) -> _Rows:
        scores = {}
        for version in {*self.scores, *other.scores}:
            scores[version] = np.concatenate([part.scores[version] for part in (self, other) if version in part.scores])
        return _Rows(np.concatenate([self.columns, other.columns]), scores)


def _read_rows(condition: sa.ColumnElement, devices: dict[str, int], extra: sa.ColumnElement | None = None) -> _Rows:
    """Read the raw responses a fold needs in one narrow query, ordered by id, straight from the DBAPI cursor.

    SQLite returns days and times as text, parsed by numpy; PostgreSQL computes them as numbers. ``devices``
    numbers the daily client hashes (shared by every read of one fold, so labels agree).
    """
    response = SurveyResponse.__table__
    if is_postgresql(db.session):
        day = sa.cast(response.c.local_day - sa.literal(EPOCH, sa.Date), sa.Integer)
        second = sa.extract("epoch", response.c.submitted_at)
    else:
        day, second = response.c.local_day, response.c.submitted_at
    query = sa.select(
        response.c.id, response.c.instrument_version_id, response.c.unit_id, response.c.counter_id,
        sa.func.coalesce(response.c.service_field_id, 0), day, second, response.c.duration_ms,
        response.c.client_hash, response.c.scores,
    ).where(condition)
    if extra is not None:
        query = query.where(extra)
    parts, scores = [], {}
    with raw_cursor(db.session.connection(), query.order_by(response.c.id)) as cursor:
        while batch := cursor.fetchmany(_READ_BATCH):
            parts.append(_convert(batch, devices, scores))
    columns = np.concatenate(parts) if parts else np.zeros(0, dtype=_ROW_DTYPE)
    return _Rows(columns, {version: np.concatenate(matrices) for version, matrices in scores.items()})


def _convert(batch: list[tuple], devices: dict[str, int], scores: dict[int, list]) -> NDArray:
    """Turn fetched rows into numeric columns, appending each version's score matrix to ``scores``."""
    (ids, versions, units, counters, fields, days, seconds, durations, hashes, blobs) = zip(*batch)
    columns = np.zeros(len(batch), dtype=_ROW_DTYPE)
    for name, values in (("id", ids), ("version", versions), ("unit", units), ("counter", counters),
                         ("field", fields)):
        columns[name] = np.array(values, dtype=np.int64)
    if isinstance(days[0], str):
        columns["day"] = np.array(days, dtype="datetime64[D]").astype(np.int64)
        columns["second"] = np.array(seconds, dtype="datetime64[us]").astype(np.int64) / 1e6
    else:
        columns["day"], columns["second"] = np.array(days, dtype=np.int64), np.array(seconds, dtype=np.float64)
    columns["duration"] = np.array(durations, dtype=np.float64)
    columns["device"] = [devices.setdefault(value, len(devices)) if value else -1 for value in hashes]
    for version in np.unique(columns["version"]):
        chosen = np.flatnonzero(columns["version"] == version)
        picked = blobs if chosen.size == len(batch) else [blobs[i] for i in chosen]
        scores.setdefault(int(version), []).append(_score_matrix(picked))
    return columns


def _review_flags(rows: _Rows, watermark: int, devices: dict[str, int]) -> NDArray[np.uint8]:
    """Decide the review flags of the folded rows from them and the already folded responses just before them."""
    together = rows
    if watermark > 0:
        response = SurveyResponse.__table__
        earliest = rows.columns["second"].min() - max(BURST_SECONDS, DUPLICATE_SECONDS)
        context = _read_rows(
            sa.and_(response.c.id <= watermark, response.c.counter_id.in_(sorted(set(rows.columns["counter"].tolist())))),
            devices,
            response.c.submitted_at >= dt.datetime.fromtimestamp(earliest, dt.timezone.utc),
        )
        together = context.take(~np.isin(context.columns["id"], rows.columns["id"])) + rows
    columns = together.columns
    flags = np.zeros(together.size, dtype=np.uint8)
    for version, scores in together.scores.items():
        # Answers of different instrument versions never compare equal: flag them version by version.
        chosen = np.flatnonzero(columns["version"] == version)
        found = response_flags(columns["counter"][chosen], columns["second"][chosen], columns["device"][chosen],
                               scores, columns["duration"][chosen])
        flags[chosen] = _flag_bits(found)
    return flags[together.size - rows.size:]


def _flag_bits(found) -> NDArray[np.uint8]:
    """The flags byte of each response from ``response_flags``' masks."""
    return ((found.fast * FLAG_FAST) | (found.burst * FLAG_BURST) | (found.duplicate * FLAG_DUPLICATE)
            | (found.untimed * FLAG_UNTIMED)).astype(np.uint8)


def _score_matrix(scores: Sequence[bytes]) -> NDArray[np.uint8]:
    """Return score byte strings of equal length as a (responses, items) matrix."""
    width = len(scores[0]) if scores else 0
    joined = b"".join(scores)
    if len(joined) != width * len(scores):
        raise ValueError("responses of one instrument version have scores of different lengths")
    return np.frombuffer(joined, dtype=np.uint8).reshape(len(scores), width)


def _store_packs(rows: _Rows, flags: NDArray[np.uint8]) -> None:
    """Append one chunk per (version, unit, month) of the folded rows, then merge keys with too many chunks."""
    columns = rows.columns
    month_days = columns["day"].astype("datetime64[D]").astype("datetime64[M]").astype("datetime64[D]")
    month_days = month_days.astype(np.int64)
    packs = []
    for version, scores in rows.scores.items():
        chosen = np.flatnonzero(columns["version"] == version)
        order = np.lexsort((columns["id"][chosen], month_days[chosen], columns["unit"][chosen]))
        chosen = chosen[order]
        records = np.zeros(chosen.size, dtype=record_dtype(scores.shape[1]))
        records["day"] = columns["day"][chosen] - month_days[chosen] + 1
        records["flags"] = flags[chosen]
        records["field"] = columns["field"][chosen]
        records["counter"] = columns["counter"][chosen]
        records["scores"] = scores[order]
        units, months = columns["unit"][chosen], month_days[chosen]
        starts = np.flatnonzero(np.r_[True, (units[1:] != units[:-1]) | (months[1:] != months[:-1])])
        for start, end in zip(starts, np.r_[starts[1:], chosen.size]):
            packs.append(dict(instrument_version_id=version, unit_id=int(units[start]),
                              month=EPOCH + dt.timedelta(days=int(months[start])), n=int(end - start),
                              records=records[start:end].tobytes()))
    if packs:
        db.session.execute(sa.insert(ResponsePack), packs)
        _merge_chunks({pack["month"] for pack in packs})


def _store_cells(rows: _Rows, flags: NDArray[np.uint8]) -> None:
    """Add the folded rows to their report cells and day counts (``app.organiser.cells``)."""
    _store_cells_signed(rows, flags, 1)


def _store_cells_signed(rows: _Rows, flags: NDArray[np.uint8], sign: int) -> None:
    columns = rows.columns
    for version, scores in rows.scores.items():
        chosen = np.flatnonzero(columns["version"] == version)
        cells.add_responses(version, scores, columns["unit"][chosen], columns["field"][chosen],
                            columns["counter"][chosen], columns["day"][chosen], flags[chosen], sign=sign)


def _merge_chunks(months: set[dt.date]) -> None:
    """Merge the chunks of every (version, unit, month) in ``months`` that has more than MAX_CHUNKS of them."""
    crowded = db.session.execute(
        sa.select(ResponsePack.instrument_version_id, ResponsePack.unit_id, ResponsePack.month)
        .where(ResponsePack.month.in_(sorted(months)))
        .group_by(ResponsePack.instrument_version_id, ResponsePack.unit_id, ResponsePack.month)
        .having(sa.func.count() > MAX_CHUNKS)
    ).all()
    for version_id, unit_id, month in crowded:
        key = sa.and_(ResponsePack.instrument_version_id == version_id, ResponsePack.unit_id == unit_id,
                      ResponsePack.month == month)
        chunks = db.session.execute(sa.select(ResponsePack.n, ResponsePack.records).where(key)).all()
        db.session.execute(sa.delete(ResponsePack).where(key))
        db.session.execute(sa.insert(ResponsePack).values(
            instrument_version_id=version_id, unit_id=unit_id, month=month, n=sum(n for n, _ in chunks),
            records=b"".join(records for _, records in chunks),
        ))


# --- reading ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VersionCount:
    """An instrument version with responses packed for a subtree and a range of months."""

    version_id: int
    code: str
    version: int
    kind: str
    #: Responses in the months touching the range (an upper bound for the exact days).
    responses: int


def _subtree_ids(root: Unit) -> sa.BindParameter:
    """Return the ids of the unit's subtree as a list rendered into the statement (no bind-parameter limit).

    Packs are filtered by these ids rather than joined with ``units`` on the path: without planner statistics
    (PostgreSQL after a bulk load, before ANALYZE) that join rescans ``units`` for every pack, which cost more
    than reading the packs.
    """
    ids = db.session.scalars(sa.select(Unit.id).where(Unit.is_within(root))).all()
    return sa.bindparam("subtree_ids", sorted(ids), expanding=True, literal_execute=True)


@dataclass(frozen=True)
class Unfolded:
    """The stored responses a report reads besides the packs, without folding them: a report writes nothing.

    Normally the responses above the watermark and the awaited ids below it, their review flags decided as the
    next fold will decide them. When the packs fail the guard (a response deleted below the watermark, an id
    given up that appeared), the packs are left out and every stored response is read, until a fold rebuilds them.
    """

    #: Whether the packs are read (they hold exactly the responses folded).
    packs: bool
    #: The flags of the unfolded responses are decided against the responses up to this id (0: none).
    watermark: int
    pending: tuple[int, ...]
    #: How many stored responses are read besides the packs.
    size: int
    #: Changes whenever what a report reads changes: the packs, or the responses beyond them.
    token: str

    def condition(self) -> sa.ColumnElement[bool]:
        """Select the unfolded responses of ``survey_responses``."""
        if not self.packs:
            return sa.true()
        response = SurveyResponse.__table__
        above = response.c.id > self.watermark
        return sa.or_(above, response.c.id.in_(self.pending)) if self.pending else above


def unfolded_responses(now: dt.datetime) -> Unfolded:
    """Find what the packs do not hold yet (reading only): the guard of a fold, then a count of the rest."""
    position = _position(now)
    stored, highest = _folded_below(position.watermark, position.pending_ids)
    packs = stored == position.folded
    watermark, pending = (position.watermark, tuple(position.pending_ids)) if packs else (0, ())
    size = 0
    # Nothing above the watermark and no id awaited: skip counting (a range on the id may scan the table).
    if highest > watermark or pending:
        beyond = Unfolded(packs, watermark, pending, 0, "").condition()
        size = db.session.scalar(sa.select(sa.func.count()).select_from(SurveyResponse.__table__).where(beyond))
    token = f"{position.watermark}-{position.folded}-{stored}-{highest}-{size}"
    return Unfolded(packs, watermark, pending, size, token)


def cell_scope(root: Unit, *, rolled_up: bool = True, units: Sequence | None = None) -> cells.CellScope:
    """Return the cells of the unit's subtree: rolled up (the unit's own cells, its children's own cells and their
    roll-ups), or every unit's own cells. ``units``: the subtree's rows (id, parent_id) when already read."""
    rows = units if units is not None else db.session.execute(
        sa.select(Unit.id, Unit.parent_id).where(Unit.is_within(root))).all()
    ids = sorted(row.id for row in rows)
    children = tuple(sorted(row.id for row in rows if row.parent_id == root.id))
    return cells.CellScope(root.id, children, sa.bindparam("subtree_ids", ids, expanding=True, literal_execute=True),
                           rolled_up)


def versions_with_responses(root: Unit, start: dt.date, end: dt.date, unfolded: Unfolded,
                            scope: cells.CellScope | None = None) -> list[VersionCount]:
    """Return the instrument versions with responses in the subtree and months, folded or not, newest first (the
    folded ones counted in the cells, which hold exactly the folded responses, as the packs do)."""
    counts: dict[tuple[int, str, int, str], int] = {}
    version = InstrumentVersion
    described = (version.id, version.code, version.version, version.kind)
    if unfolded.packs:
        cell = cells.ResponseCell.__table__
        rows = db.session.execute(
            sa.select(*described, sa.func.sum(cell.c.n))
            .join(cell, cell.c.instrument_version_id == version.id)
            .where((scope or cell_scope(root)).cells(cell), cell.c.month.between(month_start(start), month_start(end)))
            .group_by(*described)
        ).all()
        counts.update({tuple(row[:4]): int(row[4]) for row in rows})
    if unfolded.size:
        response = SurveyResponse.__table__
        rows = db.session.execute(
            sa.select(*described, sa.func.count())
            .join(response, response.c.instrument_version_id == version.id)
            .where(unfolded.condition(), response.c.unit_id.in_(_subtree_ids(root)),
                   response.c.local_day >= month_start(start), response.c.local_day < _next_month(end))
            .group_by(*described)
        ).all()
        for row in rows:
            counts[tuple(row[:4])] = counts.get(tuple(row[:4]), 0) + int(row[4])
    ordered = sorted(counts.items(), key=lambda item: (item[0][1], -item[0][2]))
    return [VersionCount(*key, responses) for key, responses in ordered]


def _next_month(day: dt.date) -> dt.date:
    return (month_start(day) + dt.timedelta(days=32)).replace(day=1)


def load_responses(version_id: int, width: int, root: Unit, start: dt.date, end: dt.date,
                   unfolded: Unfolded) -> ResponseData:
    """Return the responses of one instrument version in the unit's subtree from ``start`` to ``end`` (inclusive):
    the packs of the months touching the range in one query, and the unfolded responses; days outside the range
    are dropped in numpy."""
    parts = []
    if unfolded.packs:
        parts.append(_packed(version_id, width, root, start, end))
    if unfolded.size:
        parts.append(_unfolded(version_id, width, root, unfolded))
    data = _concatenated(parts, width)
    inside = (data.days >= day_number(start)) & (data.days <= day_number(end))
    return data if inside.all() else data.take(inside)


def _packed(version_id: int, width: int, root: Unit, start: dt.date, end: dt.date) -> ResponseData:
    pack = ResponsePack.__table__
    query = (sa.select(pack.c.unit_id, pack.c.month, pack.c.n, pack.c.records)
             .where(pack.c.instrument_version_id == version_id,
                    pack.c.month.between(month_start(start), month_start(end)), pack.c.unit_id.in_(_subtree_ids(root))))
    with raw_cursor(db.session.connection(), query) as cursor:
        rows = cursor.fetchall()
    layout = record_dtype(width)
    if not rows:
        records = np.zeros(0, dtype=layout)
        units = months = np.zeros(0, dtype=np.int64)
    else:
        unit_ids, month_list, counts, blobs = zip(*rows)
        records = np.frombuffer(b"".join(blobs), dtype=layout)
        counts = np.array(counts, dtype=np.int64)
        units = np.repeat(np.array(unit_ids, dtype=np.int64), counts)
        # SQLite returns the month as ISO text, PostgreSQL as a date: numpy reads both.
        months = np.repeat(np.array(month_list, dtype="datetime64[D]").astype(np.int64), counts)
    return ResponseData(
        scores=np.asfortranarray(records["scores"].reshape(records.shape[0], width)),
        unit_ids=units,
        days=months + records["day"] - 1,
        fields=records["field"].astype(np.int64),
        counters=records["counter"].astype(np.int64),
        flags=records["flags"].copy(),
    )


def load_cells(version_id: int, layout: cells.CellLayout, root: Unit, start: dt.date, end: dt.date,
               unfolded: Unfolded, days: tuple[dt.date, dt.date], scope: cells.CellScope | None = None
               ) -> cells.CellData:
    """Return the report cells of one instrument version in the unit's subtree for the months from ``start`` to
    ``end`` (both month-aligned: ``start`` the first day of a month, ``end`` the last day of one): the stored cells
    of the ``scope`` (default rolled up) and the unfolded responses of those days as cells; the day counts
    (responses per day, review flags per unit and counter) of the ``days`` (first, last), the report period. When
    the packs fail the guard, cells do too (they hold the same folded responses): every stored response is then
    read, as ``load_responses`` does."""
    scope = scope or cell_scope(root)
    parts, flagged = [], set()
    if unfolded.size:
        data = _unfolded(version_id, layout.moments.n_items, root, unfolded)
        data = data.take((data.days >= day_number(start)) & (data.days <= day_number(end)))
        if len(data):
            parts.append(cells.cells_of(version_id, np.ascontiguousarray(data.scores), data.unit_ids, data.fields,
                                        data.counters, data.days, data.flags, days))
            # A counter flagged only among these: its folded responses are counted with them.
            marked = (data.flags != 0) & (data.days >= day_number(days[0])) & (data.days <= day_number(days[1]))
            flagged = set(zip(data.unit_ids[marked].tolist(), data.counters[marked].tolist()))
    if unfolded.packs:
        parts.insert(0, cells.read_cells(version_id, layout, scope, start, month_start(end), days, flagged))
    if not parts:
        parts.append(cells.read_cells(version_id, layout, scope, start, start - dt.timedelta(days=1), days))
    return cells.joined(parts)


def _unfolded(version_id: int, width: int, root: Unit, unfolded: Unfolded) -> ResponseData:
    """Read the unfolded responses of one version in the subtree, every day of them: their flags depend on the
    responses just before them at their counter, whatever the report's range."""
    response = SurveyResponse.__table__
    devices: dict[str, int] = {}
    rows = _read_rows(unfolded.condition(), devices, sa.and_(response.c.instrument_version_id == version_id,
                                                             response.c.unit_id.in_(_subtree_ids(root))))
    if not rows.size:
        return _concatenated([], width)
    columns = rows.columns
    return ResponseData(
        scores=np.asfortranarray(rows.scores[version_id]),
        unit_ids=columns["unit"].copy(),
        days=columns["day"].copy(),
        fields=columns["field"].copy(),
        counters=columns["counter"].copy(),
        flags=_review_flags(rows, unfolded.watermark, devices),
    )


def _concatenated(parts: list[ResponseData], width: int) -> ResponseData:
    """Join responses read in parts (none: no responses, of ``width`` scale items)."""
    if len(parts) == 1:
        return parts[0]
    if not parts:
        return ResponseData(np.zeros((0, width), dtype=np.uint8, order="F"),
                            *(np.zeros(0, dtype=np.uint8 if name == "flags" else np.int64)
                              for name in _DATA_FIELDS[1:]))
    return ResponseData(np.asfortranarray(np.concatenate([part.scores for part in parts])),
                        *(np.concatenate([getattr(part, name) for part in parts]) for name in _DATA_FIELDS[1:]))


# --- dossier volumes ----------------------------------------------------------------------------------------------

VOLUME_COLUMNS = (
    Column("unit", "Mã đơn vị", True, _l("Đơn vị trong phạm vi của bạn.")),
    Column("field", "Mã lĩnh vực", True, _l("Mã lĩnh vực đã có.")),
    Column("month", "Tháng", True, _l("Dạng NNNN-TT, ví dụ 2026-07.")),
    Column("dossiers", "Số hồ sơ", True, _l("Số hồ sơ đã giải quyết trong tháng: số nguyên không âm.")),
)


def import_dossier_volumes(root: Unit, rows: Sequence[TableRow]) -> int:
    """Store dossier counts per unit × service field × month (replacing earlier counts of the same cells).

    All or nothing: every problem is reported with its row number and nothing is written.
    :raise Rejected: listing each bad row.
    """
    units = dict(db.session.execute(
        sa.select(Unit.code, Unit.id).where(Unit.is_within(root))).all())
    fields = dict(db.session.execute(sa.select(ServiceField.code, ServiceField.id)).all())
    problems, cells, seen = [], {}, {}
    for row in rows:
        values = {key: value.strip() for key, value in row.values.items()}
        unit_id, field_id = units.get(values["unit"]), fields.get(values["field"])
        if unit_id is None:
            problems.append(Problem(_l("Không có đơn vị “%(code)s” trong phạm vi của bạn.", code=values["unit"]),
                                    row=row.number))
        if field_id is None:
            problems.append(Problem(_l("Không có lĩnh vực “%(code)s”.", code=values["field"]), row=row.number))
        try:
            month = dt.date.fromisoformat(values["month"] + "-01")
        except ValueError:
            month = None
            problems.append(Problem(_l("Tháng “%(month)s” không hợp lệ (dạng 2026-07).", month=values["month"]),
                                    row=row.number))
        if not values["dossiers"].isdigit():
            problems.append(Problem(_l("Số hồ sơ phải là số nguyên không âm."), row=row.number))
        key = (unit_id, field_id, month)
        if None not in key and key in seen:
            problems.append(Problem(_l("Trùng đơn vị, lĩnh vực và tháng với dòng %(row)d.", row=seen[key]),
                                    row=row.number))
        seen.setdefault(key, row.number)
        if None not in key and values["dossiers"].isdigit():
            cells[key] = int(values["dossiers"])
    if problems:
        raise not_imported(problems)
    for (unit_id, field_id, month), dossiers in cells.items():
        db.session.execute(sa.delete(DossierVolume).where(
            DossierVolume.unit_id == unit_id, DossierVolume.service_field_id == field_id, DossierVolume.month == month))
    db.session.execute(sa.insert(DossierVolume), [
        dict(unit_id=unit_id, service_field_id=field_id, month=month, dossiers=dossiers)
        for (unit_id, field_id, month), dossiers in cells.items()])
    db.session.flush()
    return len(cells)
