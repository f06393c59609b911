"""Report cells: the sufficient statistics of the responses per instrument version × unit × month × service field,
and review-flag counts per version × unit × counter × day. Their size does not grow with responses.

A cell holds ``app.stats.sufficient.SipasMoments`` of its responses (value counts per criterion, the cross products
the linearised intervals need, alpha moments per element, the histogram behind respondents' mean scores): every
figure of a SIPAS report over whole months follows from them and equals the raw-data computation
(``app.organiser.reports``; the tests compare the whole report document). The grain: months, because report periods
and trend buckets are whole months and quarters (a range that cuts a month is reported from the packs); service
fields, because volume weighting post-stratifies by unit × field and the report shows an index per field; units,
because any subtree is a set of units. Days and counters are only needed for counts (responses per day, review
flags per counter and child unit), kept apart in ``ResponseDayCount``.

Kept current by the fold (``aggregates.refresh_packs``): it adds the folded responses' moments to their cells in
the same transaction as the packs, so cells hold exactly the folded responses and a report adds the unfolded ones
(few) from the raw rows. Writers of responses never touch cells, readers never lock them: a fold changes a cell by
one read-modify-write of that row (two folds cannot both write: the watermark moves by compare-and-set first), day
counts by an additive INSERT … ON CONFLICT DO UPDATE. A deleted response is subtracted from its cell and day count
(``retract``), exactly: the moments are integers.

Storage: one row per cell; ``moments`` is the fixed-width part (value counts, the upper triangles of the symmetric
cross products, the other cross product, answered counts, alpha moments) as little-endian uint32, ``means`` the
sparse histogram of (criteria answered, total) as (flat index, count) uint32 pairs.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import sqlalchemy as sa
from numpy.typing import NDArray
from sqlalchemy.orm import Mapped, mapped_column

from app.database import BigIntId, insert_for, is_postgresql, raw_cursor
from app.extensions import db
from app.stats.sufficient import MomentLayout, SipasMoments, sipas_moments
from app.surveys.instruments import Instrument
from app.surveys.services import get_instrument

EPOCH = dt.date(1970, 1, 1)
#: The review flags of a response (bits of its flags byte) and their day-count columns, in report order.
FLAG_FAST, FLAG_BURST, FLAG_DUPLICATE, FLAG_UNTIMED = 1, 2, 4, 8
FLAGS = (("fast", FLAG_FAST), ("burst", FLAG_BURST), ("duplicate", FLAG_DUPLICATE), ("untimed", FLAG_UNTIMED))


class ResponseCell(db.Model):
    """The sufficient statistics of the responses of one instrument version, unit, month and service field."""

    __tablename__ = "response_cells"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    instrument_version_id: Mapped[int] = mapped_column(sa.ForeignKey("instrument_versions.id"))
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"))
    #: First day of the calendar month (local days).
    month: Mapped[dt.date] = mapped_column(sa.Date)
    #: Service field id, 0 = none named (not a foreign key, so that "none" is part of the key).
    service_field_id: Mapped[int] = mapped_column(sa.Integer)
    #: Responses in the cell.
    n: Mapped[int] = mapped_column(sa.Integer)
    moments: Mapped[bytes] = mapped_column(sa.LargeBinary)
    means: Mapped[bytes] = mapped_column(sa.LargeBinary)

    __table_args__ = (
        sa.UniqueConstraint("instrument_version_id", "month", "unit_id", "service_field_id",
                            name="uq_response_cells_key"),
    )


class ResponseDayCount(db.Model):
    """Responses and review flags of one instrument version at one counter on one local day."""

    __tablename__ = "response_day_counts"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    instrument_version_id: Mapped[int] = mapped_column(sa.ForeignKey("instrument_versions.id"))
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"))
    counter_id: Mapped[int] = mapped_column(sa.Integer)
    day: Mapped[dt.date] = mapped_column(sa.Date)
    responses: Mapped[int] = mapped_column(sa.Integer)
    fast: Mapped[int] = mapped_column(sa.Integer)
    burst: Mapped[int] = mapped_column(sa.Integer)
    duplicate: Mapped[int] = mapped_column(sa.Integer)
    untimed: Mapped[int] = mapped_column(sa.Integer, server_default="0")
    flagged: Mapped[int] = mapped_column(sa.Integer)

    __table_args__ = (
        sa.UniqueConstraint("instrument_version_id", "day", "unit_id", "counter_id", name="uq_response_day_counts_key"),
    )


# --- layout and encoding ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CellLayout:
    """How one instrument version's moments are built and stored."""

    moments: MomentLayout
    satisfied: frozenset[int]

    @property
    def elements(self) -> tuple[tuple[int, ...], ...]:
        return self.moments.elements

    @property
    def scale_max(self) -> int:
        return self.moments.scale_max


def layout_of(instrument: Instrument) -> CellLayout:
    """Return the cell layout of an instrument (one without elements keeps its first item as one element)."""
    width = len(instrument.scale_items)
    elements = tuple(columns for columns in instrument.element_columns if columns) or ((0,),)
    scale_max = max(choice.value for item in instrument.scale_items for choice in item.choices)
    return CellLayout(MomentLayout(width, elements, scale_max), frozenset(instrument.aggregation.satisfied))


def _dense(moments: SipasMoments) -> NDArray[np.int64]:
    """The counts part of each cell's moments (cells, width): every entry at most the cell's responses."""
    cells = len(moments)
    return np.concatenate([
        moments.counts.reshape(cells, -1), moments.ss, moments.sa.reshape(cells, -1), moments.aa, moments.answered,
    ], axis=1).astype(np.int64)


#: Cells with fewer responses store their counts as uint16, others as uint32.
SMALL_CELL = 1 << 16


def encode(moments: SipasMoments, sizes: NDArray[np.int64]) -> list[tuple[bytes, bytes]]:
    """Return (moments, means) blobs for each cell of ``sizes`` responses: the counts as uint16 (uint32 from
    SMALL_CELL responses), then the alpha moments as uint32; the (m, t) histogram as (key, count) uint32 pairs."""
    dense, alpha = _dense(moments), moments.alpha.astype(np.int64)
    if dense.size and (dense.min() < 0 or alpha.min() < 0 or alpha.max() >= 1 << 32):
        raise ValueError("cell moments out of the stored range")
    order = np.argsort(moments.means_cell, kind="stable")
    cell_of = moments.means_cell[order]
    bounds = np.searchsorted(cell_of, np.arange(len(moments) + 1))
    pairs = np.stack([moments.means_key[order], moments.means_count[order]], axis=1).astype("<u4")
    blobs = []
    for cell in range(len(moments)):
        counts = dense[cell].astype("<u2" if sizes[cell] < SMALL_CELL else "<u4")
        blobs.append((counts.tobytes() + alpha[cell].astype("<u4").tobytes(),
                      pairs[bounds[cell] : bounds[cell + 1]].tobytes()))
    return blobs


def decode(dense_blobs: list[bytes], means_blobs: list[bytes], sizes: NDArray[np.int64],
           layout: CellLayout) -> SipasMoments:
    """Inverse of ``encode`` for many cells at once (counts kept as int32 in memory)."""
    shapes = layout.moments.shapes
    k, values = shapes[0]
    cells = len(dense_blobs)
    upper = np.triu_indices(k)
    triangle = upper[0].size
    width = k * values + 2 * triangle + k * k + shapes[4][0]
    alpha_width = shapes[5][0]
    dense = np.zeros((cells, width), dtype=np.int32)
    alpha = np.zeros((cells, alpha_width), dtype=np.int64)
    small = np.asarray(sizes) < SMALL_CELL
    for chosen, dtype in ((np.flatnonzero(small), "<u2"), (np.flatnonzero(~small), "<u4")):
        if not chosen.size:
            continue
        step = np.dtype(dtype).itemsize * width
        raw = np.frombuffer(b"".join(dense_blobs[i] for i in chosen), dtype=np.uint8).reshape(
            chosen.size, step + 4 * alpha_width)
        dense[chosen] = np.ascontiguousarray(raw[:, :step]).view(dtype)
        alpha[chosen] = np.ascontiguousarray(raw[:, step:]).view("<u4")
    parts, start = [], 0
    for size in (k * values, triangle, k * k, triangle, shapes[4][0]):
        parts.append(dense[:, start : start + size])
        start += size
    counts, ss_upper, sa, aa_upper, answered = parts

    lengths = np.array([len(blob) // 8 for blob in means_blobs], dtype=np.intp)
    pairs = (np.frombuffer(b"".join(means_blobs), dtype="<u4").reshape(-1, 2).astype(np.int64)
             if lengths.sum() else np.zeros((0, 2), dtype=np.int64))
    return SipasMoments(counts.reshape(cells, k, values), ss_upper, sa.reshape(cells, k, k), aa_upper, answered, alpha, np.repeat(np.arange(cells, dtype=np.int64), lengths),
                        pairs[:, 0], pairs[:, 1], shapes[6])


def moments_of(scores: NDArray[np.uint8], layout: CellLayout, keys: NDArray[np.intp], count: int) -> SipasMoments:
    """Return the moments of the responses grouped by ``keys`` (0..count-1)."""
    return sipas_moments(scores, layout.elements, satisfied=layout.satisfied, scale_max=layout.scale_max,
                         groups=keys, n_groups=count)


# --- keeping cells current --------------------------------------------------------------------------------------


def month_numbers(days: NDArray[np.int64]) -> NDArray[np.int64]:
    """Return the first day of each day's month, as days since 1970-01-01."""
    return days.astype("datetime64[D]").astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)


def add_responses(version_id: int, scores: NDArray[np.uint8], units: NDArray[np.int64], fields: NDArray[np.int64],
                  counters: NDArray[np.int64], days: NDArray[np.int64], flags: NDArray[np.uint8], *,
                  sign: int = 1) -> None:
    """Add (sign 1) or subtract (sign −1) responses of one instrument version to their cells and day counts."""
    if not len(units):
        return
    layout = layout_of(get_instrument(version_id))
    months = month_numbers(days)
    keys = np.stack([units, months, fields], axis=1)
    distinct, position = np.unique(keys, axis=0, return_inverse=True)
    position = position.reshape(-1)
    moments = moments_of(scores, layout, position, distinct.shape[0])
    sizes = np.bincount(position, minlength=distinct.shape[0])
    _apply_cells(version_id, distinct, moments, sizes, layout, sign)
    _apply_day_counts(version_id, units, counters, days, flags, sign)


def _apply_cells(version_id: int, keys: NDArray[np.int64], moments: SipasMoments, sizes: NDArray[np.int64],
                 layout: CellLayout, sign: int) -> None:
    cell = ResponseCell.__table__
    wanted = {(int(unit), int(month), int(field)): index for index, (unit, month, field) in enumerate(keys)}
    months = sorted({EPOCH + dt.timedelta(days=int(month)) for _, month, _ in wanted})
    units = sorted({unit for unit, _, _ in wanted})
    query = (sa.select(cell.c.id, cell.c.unit_id, cell.c.month, cell.c.service_field_id, cell.c.n, cell.c.moments,
                       cell.c.means)
             .where(cell.c.instrument_version_id == version_id, cell.c.month.in_(months),
                    cell.c.unit_id.in_(sa.bindparam("cell_units", units, expanding=True, literal_execute=True))))
    if is_postgresql(db.session):
        query = query.with_for_update()
    existing = {}
    for row in db.session.execute(query):
        month = row.month if isinstance(row.month, dt.date) else dt.date.fromisoformat(row.month)
        key = (row.unit_id, (month - EPOCH).days, row.service_field_id)
        if key in wanted:
            existing[key] = row
    found = [key for key in wanted if key in existing]
    delta = moments if sign > 0 else -moments
    inserts, updates, removed = [], [], []
    if found:
        stored = decode([existing[key].moments for key in found], [existing[key].means for key in found],
                        np.array([existing[key].n for key in found], dtype=np.int64), layout)
        summed = stored + delta.take([wanted[key] for key in found])
        summed = summed.replace_parts(summed.dense_parts(), *_compacted(summed))
        totals = np.array([existing[key].n + sign * int(sizes[wanted[key]]) for key in found], dtype=np.int64)
        for key, n, blob in zip(found, totals, encode(summed, totals)):
            if n <= 0:
                removed.append(existing[key].id)
            else:
                updates.append(dict(cell_id=existing[key].id, n=int(n), moments=blob[0], means=blob[1]))
    fresh = [key for key in wanted if key not in existing]
    if fresh and sign < 0:
        raise ValueError("a response to retract is not in any cell")
    if fresh:
        blobs = encode(moments.take([wanted[key] for key in fresh]),
                       np.array([sizes[wanted[key]] for key in fresh], dtype=np.int64))
        for key, blob in zip(fresh, blobs):
            inserts.append(dict(instrument_version_id=version_id, unit_id=key[0],
                                month=EPOCH + dt.timedelta(days=key[1]), service_field_id=key[2],
                                n=int(sizes[wanted[key]]), moments=blob[0], means=blob[1]))
    if inserts:
        db.session.execute(sa.insert(ResponseCell), inserts)
    if updates:
        db.session.execute(cell.update().where(cell.c.id == sa.bindparam("cell_id"))
                           .values(n=sa.bindparam("n"), moments=sa.bindparam("moments"),
                                   means=sa.bindparam("means")), updates)
    if removed:
        db.session.execute(sa.delete(ResponseCell).where(ResponseCell.id.in_(removed)))


def _compacted(moments: SipasMoments) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """The histogram entries with repeated (cell, key) added up and zero counts dropped."""
    size = moments.means_shape[0] * moments.means_shape[1]
    flat = moments.means_cell * size + moments.means_key
    keys, position = np.unique(flat, return_inverse=True)
    counts = np.bincount(position.reshape(-1), weights=moments.means_count, minlength=keys.size)
    counts = np.rint(counts).astype(np.int64)
    kept = counts != 0
    if (counts < 0).any():
        raise ValueError("a response to retract is not in its cell")
    return keys[kept] // size, keys[kept] % size, counts[kept]


def _apply_day_counts(version_id: int, units, counters, days, flags, sign: int) -> None:
    keys = np.stack([units, counters, days], axis=1)
    distinct, position = np.unique(keys, axis=0, return_inverse=True)
    position = position.reshape(-1)
    size = distinct.shape[0]
    count = {name: sign * np.bincount(position, weights=mask.astype(np.int64), minlength=size).astype(np.int64)
             for name, mask in (("responses", np.ones(len(units), dtype=bool)),
                                *((name, (flags & bit) != 0) for name, bit in FLAGS), ("flagged", flags != 0))}
    rows = [dict(instrument_version_id=version_id, unit_id=int(unit), counter_id=int(counter),
                 day=EPOCH + dt.timedelta(days=int(day)),
                 **{name: int(values[index]) for name, values in count.items()})
            for index, (unit, counter, day) in enumerate(distinct)]
    table = ResponseDayCount.__table__
    statement = insert_for(db.session, table)
    statement = statement.on_conflict_do_update(
        index_elements=["instrument_version_id", "day", "unit_id", "counter_id"],
        set_={name: table.c[name] + statement.excluded[name] for name in count},
    )
    db.session.execute(statement, rows)
    if sign < 0:
        db.session.execute(sa.delete(ResponseDayCount).where(ResponseDayCount.responses <= 0))


def clear(since: dt.date | None = None) -> None:
    """Remove every cell and day count (a rebuild of the packs rebuilds them too); with ``since``, only those of
    that month and later (earlier months hold archived responses, which no rebuild could count again)."""
    if since is None:
        db.session.execute(sa.delete(ResponseCell))
        db.session.execute(sa.delete(ResponseDayCount))
        return
    db.session.execute(sa.delete(ResponseCell).where(ResponseCell.month >= since))
    db.session.execute(sa.delete(ResponseDayCount).where(ResponseDayCount.day >= since))


# --- reading ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class CellData:
    """Cells of one instrument version (a unit subtree, a span of months) and the day counts of one period."""

    moments: SipasMoments
    unit_ids: NDArray[np.int64]
    #: First day of the cell's month as days since 1970-01-01.
    months: NDArray[np.int64]
    fields: NDArray[np.int64]
    #: Responses per cell.
    sizes: NDArray[np.int64]
    days: DayCounts

    def __len__(self) -> int:
        """Responses in these cells."""
        return int(self.sizes.sum())

    def take(self, cells: NDArray[np.bool_]) -> CellData:
        """Return the chosen cells (day counts kept as they are)."""
        return CellData(self.moments.take(cells), self.unit_ids[cells], self.months[cells], self.fields[cells],
                        self.sizes[cells], self.days)

    def between(self, start: dt.date, end: dt.date) -> CellData:
        """Return the cells of the months from ``start`` to ``end`` (month-aligned), with the day counts when they
        are those of this period (none otherwise)."""
        first, last = (start - EPOCH).days, (end - EPOCH).days
        chosen = self.take((self.months >= first) & (self.months <= last))
        if self.days.span == (first, last):
            return chosen
        return CellData(chosen.moments, chosen.unit_ids, chosen.months, chosen.fields, chosen.sizes,
                        DayCounts.empty((first, last)))


@dataclass(frozen=True, eq=False)
class DayCounts:
    """Over the days of ``span``: responses and review flags per (unit, counter), and responses per day. Rows may
    repeat a key (cells read and unfolded responses): every use sums them."""

    #: First and last day (days since 1970-01-01).
    span: tuple[int, int]
    unit_ids: NDArray[np.int64]
    counters: NDArray[np.int64]
    responses: NDArray[np.int64]
    fast: NDArray[np.int64]
    burst: NDArray[np.int64]
    duplicate: NDArray[np.int64]
    untimed: NDArray[np.int64]
    flagged: NDArray[np.int64]
    days: NDArray[np.int64]
    day_responses: NDArray[np.int64]

    @classmethod
    def empty(cls, span: tuple[int, int]) -> DayCounts:
        return cls(span, *(np.zeros(0, dtype=np.int64) for _ in range(10)))


_FLAG_COLUMNS = ("responses", *(name for name, _ in FLAGS), "flagged")
_COUNTER_FIELDS = ("unit_ids", "counters", *_FLAG_COLUMNS)


def read_cells(version_id: int, layout: CellLayout, unit_ids: sa.BindParameter, start: dt.date,
               end: dt.date, days: tuple[dt.date, dt.date]) -> CellData:
    """Read the cells of one version in the given units from month ``start`` to the end of month ``end``, and the
    day counts of the ``days`` (first, last) summed per (unit, counter) and per day (two small grouped queries)."""
    cell = ResponseCell.__table__
    query = (sa.select(cell.c.unit_id, cell.c.month, cell.c.service_field_id, cell.c.n, cell.c.moments,
                       cell.c.means)
             .where(cell.c.instrument_version_id == version_id, cell.c.month.between(start, end),
                    cell.c.unit_id.in_(unit_ids)).order_by(cell.c.month))
    with raw_cursor(db.session.connection(), query) as cursor:
        rows = cursor.fetchall()
    units, months, fields, sizes, dense, means = zip(*rows) if rows else ((), (), (), (), (), ())
    day = ResponseDayCount.__table__
    inside = sa.and_(day.c.instrument_version_id == version_id, day.c.day.between(*days), day.c.unit_id.in_(unit_ids))
    sums = [sa.func.sum(day.c[name]) for name in _FLAG_COLUMNS]
    per_counter = db.session.execute(sa.select(day.c.unit_id, day.c.counter_id, *sums).where(inside)
                                     .group_by(day.c.unit_id, day.c.counter_id)).all()
    per_day = db.session.execute(sa.select(day.c.day, sums[0]).where(inside).group_by(day.c.day)).all()
    counter_columns = [np.array(values, dtype=np.int64) for values in zip(*per_counter)] if per_counter else [
        np.zeros(0, dtype=np.int64)] * len(_COUNTER_FIELDS)
    day_columns = list(zip(*per_day)) if per_day else [(), ()]
    counts = DayCounts(((days[0] - EPOCH).days, (days[1] - EPOCH).days),
                       *counter_columns, _day_numbers(day_columns[0]), np.array(day_columns[1], dtype=np.int64))
    return CellData(
        moments=decode(list(dense), list(means), np.array(sizes, dtype=np.int64), layout),
        unit_ids=np.array(units, dtype=np.int64), months=_day_numbers(months), fields=np.array(fields, dtype=np.int64),
        sizes=np.array(sizes, dtype=np.int64), days=counts,
    )


def cells_of(version_id: int, scores: NDArray[np.uint8], units: NDArray[np.int64], fields: NDArray[np.int64],
             counters: NDArray[np.int64], days: NDArray[np.int64], flags: NDArray[np.uint8],
             span: tuple[dt.date, dt.date]) -> CellData:
    """Return responses not stored in cells yet (the unfolded ones) as cells, with their day counts over ``span``,
    to add to those read."""
    layout = layout_of(get_instrument(version_id))
    months = month_numbers(days)
    keys = np.stack([units, months, fields], axis=1)
    distinct, position = np.unique(keys.reshape(-1, 3), axis=0, return_inverse=True)
    position = position.reshape(-1)
    moments = moments_of(scores, layout, position, distinct.shape[0])
    first, last = (span[0] - EPOCH).days, (span[1] - EPOCH).days
    inside = (days >= first) & (days <= last)
    pairs, pair_position = np.unique(np.stack([units[inside], counters[inside]], axis=1).reshape(-1, 2), axis=0,
                                     return_inverse=True)
    pair_position = pair_position.reshape(-1)
    chosen_flags = flags[inside]

    def per_pair(mask: NDArray[np.bool_]) -> NDArray[np.int64]:
        return np.bincount(pair_position[mask], minlength=pairs.shape[0]).astype(np.int64)

    day_list, day_counts = np.unique(days[inside], return_counts=True)
    counts = DayCounts((first, last), pairs[:, 0].copy(), pairs[:, 1].copy(),
                       per_pair(np.ones(chosen_flags.size, dtype=bool)),
                       *(per_pair((chosen_flags & bit) != 0) for _, bit in FLAGS), per_pair(chosen_flags != 0), day_list.astype(np.int64), day_counts.astype(np.int64))
    return CellData(moments, distinct[:, 0].copy(), distinct[:, 1].copy(), distinct[:, 2].copy(),
                    np.bincount(position, minlength=distinct.shape[0]).astype(np.int64), counts)


def joined(parts: list[CellData]) -> CellData:
    """Join cells read in parts (keys may repeat: every statistic sums cells)."""
    if len(parts) == 1:
        return parts[0]
    moments = parts[0].moments
    offset = len(moments)
    for part in parts[1:]:
        other = part.moments
        moments = SipasMoments(*(np.concatenate([a, b]) for a, b in zip(moments.dense_parts(), other.dense_parts())),
                               np.concatenate([moments.means_cell, other.means_cell + offset]),
                               np.concatenate([moments.means_key, other.means_key]),
                               np.concatenate([moments.means_count, other.means_count]), moments.means_shape)
        offset += len(other)
    days = DayCounts(parts[0].days.span, *(np.concatenate([getattr(part.days, name) for part in parts])
                                            for name in (*_COUNTER_FIELDS, "days", "day_responses")))
    return CellData(moments, *(np.concatenate([getattr(part, name) for part in parts])
                               for name in ("unit_ids", "months", "fields", "sizes")), days)


def _day_numbers(values) -> NDArray[np.int64]:
    if not len(values):
        return np.zeros(0, dtype=np.int64)
    if isinstance(values[0], (int, np.integer)):
        return np.array(values, dtype=np.int64)
    return np.array([str(value) for value in values], dtype="datetime64[D]").astype(np.int64)


def _month_end(month: dt.date) -> dt.date:
    return (month.replace(day=1) + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
