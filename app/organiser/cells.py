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

Roll-ups: a unit with a parent also keeps cells (``rollup``) summing every unit below it, and every unit with units
below it keeps day counts under counter ``ROLLUP_COUNTER`` summing them; the fold and ``retract`` keep them in the
same step as the units' own (one piece: the responses' moments are added under each ancestor's key too). A report of
a unit then reads its own cells and, per child, the child's own and roll-up cells (``CellScope``): children × months
× fields rows whatever lies below (a nation of 34 provinces of 500 communes: 35 units' rows, not 17,035), and its
responses per day from its own rows. Exact, as every statistic sums cells. Volume weighting post-stratifies by
unit × field, so a report that weights reads every unit's own cells instead. ``rebuild_rollups`` computes a unit's
roll-ups from the cells below it (aggregates loaded without responses); a rebuild of the packs rebuilds them all.

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
from app.units.models import Unit

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
    #: False: the responses given at the unit's own counters. True: a roll-up, the responses of every unit below it
    #: (kept for units with a parent only: a report of the parent reads them instead of the subtree's cells).
    rollup: Mapped[bool] = mapped_column(sa.Boolean, default=False, server_default=sa.false())
    #: Responses in the cell.
    n: Mapped[int] = mapped_column(sa.Integer)
    moments: Mapped[bytes] = mapped_column(sa.LargeBinary)
    means: Mapped[bytes] = mapped_column(sa.LargeBinary)

    __table_args__ = (
        sa.UniqueConstraint("instrument_version_id", "month", "unit_id", "service_field_id", "rollup",
                            name="uq_response_cells_key"),
        # A rolled-up report reads the cells of a few units (its own and its children's) among many.
        sa.Index("ix_response_cells_unit", "unit_id", "instrument_version_id", "month"),
    )


#: The counter id of a day count that rolls up every unit below its unit (counter ids start at 1).
ROLLUP_COUNTER = 0


class ResponseDayCount(db.Model):
    """Responses and review flags of one instrument version at one counter on one local day; with counter
    ``ROLLUP_COUNTER``, of every unit below the unit (units with a parent only, as roll-up cells)."""

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
        # A report reads its units' rows (roll-ups and own counters) and the sums of a few flagged counters.
        sa.Index("ix_response_day_counts_unit", "unit_id", "instrument_version_id", "day", "counter_id"),
        # The counters with review flags in a period: flags are rare, so this index is small.
        sa.Index("ix_response_day_counts_flagged", "instrument_version_id", "day",
                 postgresql_where=sa.text("flagged > 0"), sqlite_where=sa.text("flagged > 0")),
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
    """Add (sign 1) or subtract (sign −1) responses of one instrument version to their cells and day counts, to the
    roll-up cells of every ancestor of their unit that has a parent, and to the roll-up day counts of every
    ancestor (a report's responses per day are its unit's own rows and its roll-up rows, whatever its size)."""
    if not len(units):
        return
    layout = layout_of(get_instrument(version_id))
    rows, ancestors, has_parent = _ancestors_of(units)
    cell_rows = rows[has_parent]
    chosen = np.concatenate([np.arange(len(units)), cell_rows])
    rollup = np.concatenate([np.zeros(len(units), dtype=np.int64), np.ones(cell_rows.size, dtype=np.int64)])
    keys = np.stack([np.concatenate([units, ancestors[has_parent]]), month_numbers(days)[chosen], fields[chosen],
                     rollup], axis=1)
    distinct, position = np.unique(keys, axis=0, return_inverse=True)
    position = position.reshape(-1)
    moments = moments_of(scores if not cell_rows.size else scores[chosen], layout, position, distinct.shape[0])
    sizes = np.bincount(position, minlength=distinct.shape[0])
    _apply_cells(version_id, distinct, moments, sizes, layout, sign)
    counted = np.concatenate([np.arange(len(units)), rows])
    _apply_day_counts(version_id, np.concatenate([units, ancestors]),
                      np.concatenate([counters, np.full(rows.size, ROLLUP_COUNTER, dtype=np.int64)]),
                      days[counted], flags[counted], sign)


def _ancestors_of(units: NDArray[np.int64]) -> tuple[NDArray[np.intp], NDArray[np.int64], NDArray[np.bool_]]:
    """Return, for each response's unit, its ancestors as pairs (response position, ancestor id), and whether each
    ancestor has a parent. A tree's root keeps no roll-up cells (a report reads the roll-up cells of its children,
    never of its unit itself), only roll-up day counts. A unit never moves in the tree."""
    distinct, position = np.unique(units, return_inverse=True)
    paths = dict(db.session.execute(sa.select(Unit.id, Unit.path).where(
        Unit.id.in_(sa.bindparam("rollup_units", distinct.tolist(), expanding=True, literal_execute=True)))).all())
    # "/root/…/parent/own/": the ancestors are the ids before the unit's own, the first of them the root.
    lists = [[int(part) for part in paths[int(unit)].strip("/").split("/")[:-1]] for unit in distinct]
    counts = np.array([len(found) for found in lists], dtype=np.intp)
    if not counts.sum():
        return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=bool)
    flat = np.array([ancestor for found in lists for ancestor in found], dtype=np.int64)
    flat_has_parent = np.array([index > 0 for found in lists for index in range(len(found))], dtype=bool)
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
    position = position.reshape(-1)
    per_row = counts[position]
    rows = np.repeat(np.arange(units.size), per_row)
    within = np.arange(rows.size) - np.repeat(np.cumsum(per_row) - per_row, per_row)
    picked = offsets[position[rows]] + within
    return rows, flat[picked], flat_has_parent[picked]


def _apply_cells(version_id: int, keys: NDArray[np.int64], moments: SipasMoments, sizes: NDArray[np.int64],
                 layout: CellLayout, sign: int) -> None:
    cell = ResponseCell.__table__
    wanted = {(int(unit), int(month), int(field), int(rollup)): index
              for index, (unit, month, field, rollup) in enumerate(keys)}
    months = sorted({EPOCH + dt.timedelta(days=int(key[1])) for key in wanted})
    units = sorted({key[0] for key in wanted})
    query = (sa.select(cell.c.id, cell.c.unit_id, cell.c.month, cell.c.service_field_id, cell.c.rollup, cell.c.n,
                       cell.c.moments, cell.c.means)
             .where(cell.c.instrument_version_id == version_id, cell.c.month.in_(months),
                    cell.c.unit_id.in_(sa.bindparam("cell_units", units, expanding=True, literal_execute=True))))
    if is_postgresql(db.session):
        query = query.with_for_update()
    existing = {}
    for row in db.session.execute(query):
        month = row.month if isinstance(row.month, dt.date) else dt.date.fromisoformat(row.month)
        key = (row.unit_id, (month - EPOCH).days, row.service_field_id, int(bool(row.rollup)))
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
                                rollup=bool(key[3]), n=int(sizes[wanted[key]]), moments=blob[0], means=blob[1]))
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


def rebuild_rollups(unit: Unit) -> int:
    """Compute the roll-up day counts of a unit, and its roll-up cells when it has a parent, again from the own
    cells and day counts of every unit below it (for aggregates loaded as cells, without responses: the fold keeps
    roll-ups otherwise); return how many roll-up cells it has now."""
    below = sa.bindparam("below", db.session.scalars(sa.select(Unit.id).where(Unit.is_within(unit), Unit.id != unit.id))
                         .all(), expanding=True, literal_execute=True)
    cell, day = ResponseCell.__table__, ResponseDayCount.__table__
    db.session.execute(sa.delete(cell).where(cell.c.unit_id == unit.id, cell.c.rollup == sa.true()))
    db.session.execute(sa.delete(day).where(day.c.unit_id == unit.id, day.c.counter_id == ROLLUP_COUNTER))
    counted = ("responses", *(name for name, _ in FLAGS), "flagged")
    db.session.execute(sa.insert(day).from_select(
        ["instrument_version_id", "unit_id", "counter_id", "day", *counted],
        sa.select(day.c.instrument_version_id, sa.literal(unit.id), sa.literal(ROLLUP_COUNTER), day.c.day,
                  *(sa.func.sum(day.c[name]) for name in counted))
        .where(day.c.unit_id.in_(below), day.c.counter_id != ROLLUP_COUNTER)
        .group_by(day.c.instrument_version_id, day.c.day)))
    stored = 0
    if unit.parent_id is None:  # a root keeps no roll-up cells (see add_responses)
        db.session.flush()
        return stored
    versions = db.session.scalars(sa.select(cell.c.instrument_version_id).distinct()
                                  .where(cell.c.unit_id.in_(below))).all()
    for version_id in versions:
        layout = layout_of(get_instrument(version_id))
        query = (sa.select(cell.c.month, cell.c.service_field_id, cell.c.n, cell.c.moments, cell.c.means)
                 .where(cell.c.instrument_version_id == version_id, cell.c.unit_id.in_(below),
                        cell.c.rollup == sa.false()))
        with raw_cursor(db.session.connection(), query) as cursor:
            rows = cursor.fetchall()
        months, fields, sizes, dense, means = zip(*rows)
        keys, position = np.unique(np.stack([_day_numbers(months), np.array(fields, dtype=np.int64)], axis=1),
                                   axis=0, return_inverse=True)
        sizes = np.array(sizes, dtype=np.int64)
        summed = decode(list(dense), list(means), sizes, layout).regroup(position.reshape(-1), keys.shape[0])
        summed = summed.replace_parts(summed.dense_parts(), *_compacted(summed))
        totals = np.bincount(position.reshape(-1), weights=sizes, minlength=keys.shape[0]).astype(np.int64)
        db.session.execute(sa.insert(ResponseCell), [
            dict(instrument_version_id=version_id, unit_id=unit.id, month=EPOCH + dt.timedelta(days=int(month)),
                 service_field_id=int(field), rollup=True, n=int(n), moments=blob[0], means=blob[1])
            for (month, field), n, blob in zip(keys, totals, encode(summed, totals))])
        stored += keys.shape[0]
    db.session.flush()
    return stored


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
class FlagCounts:
    """Responses and review flags per key (a unit id or a counter id). Rows may repeat a key (cells read and
    unfolded responses): every use sums them."""

    keys: NDArray[np.int64]
    responses: NDArray[np.int64]
    fast: NDArray[np.int64]
    burst: NDArray[np.int64]
    duplicate: NDArray[np.int64]
    untimed: NDArray[np.int64]
    flagged: NDArray[np.int64]

    @classmethod
    def of_rows(cls, rows: list) -> FlagCounts:
        """From rows of (key, responses, fast, burst, duplicate, untimed, flagged)."""
        if not rows:
            return cls(*(np.zeros(0, dtype=np.int64) for _ in range(7)))
        return cls(*(np.array(values, dtype=np.int64) for values in zip(*rows)))

    @classmethod
    def of_responses(cls, keys: NDArray[np.int64], flags: NDArray[np.uint8]) -> FlagCounts:
        """Count responses (their key and flags byte) per distinct key."""
        distinct, position = np.unique(keys, return_inverse=True)
        position = position.reshape(-1)

        def count(mask: NDArray[np.bool_]) -> NDArray[np.int64]:
            return np.bincount(position[mask], minlength=distinct.size).astype(np.int64)

        return cls(distinct.astype(np.int64), count(np.ones(keys.size, dtype=bool)),
                   *(count((flags & bit) != 0) for _, bit in FLAGS), count(flags != 0))

    @classmethod
    def joined(cls, parts: list[FlagCounts]) -> FlagCounts:
        return cls(*(np.concatenate([getattr(part, name) for part in parts]) for name in _FLAG_COUNT_FIELDS))


_FLAG_COUNT_FIELDS = ("keys", "responses", *(name for name, _ in FLAGS), "flagged")


@dataclass(frozen=True, eq=False)
class DayCounts:
    """Over the days of ``span``: responses and review flags per unit (a child's roll-up under the child's id), per
    counter for the counters with a review flag (and maybe others: every use keeps the flagged ones), and responses
    per day."""

    #: First and last day (days since 1970-01-01).
    span: tuple[int, int]
    units: FlagCounts
    counters: FlagCounts
    days: NDArray[np.int64]
    day_responses: NDArray[np.int64]

    @classmethod
    def empty(cls, span: tuple[int, int]) -> DayCounts:
        nothing = FlagCounts.of_rows([])
        return cls(span, nothing, nothing, np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))


@dataclass(frozen=True)
class CellScope:
    """Which cells and day counts make up the subtree of a report unit.

    Rolled up: the unit's own cells and, for each child, its own cells and its roll-up (every unit below it), so a
    report reads children × months × fields rows whatever the size and depth of the tree (a nation of 34 provinces
    of 500 communes reads 34 children's rows, not 17,000 units'). Not rolled up: the own cells of every unit of the
    subtree, which volume weighting needs (it post-stratifies by unit × service field).
    """

    root_id: int
    child_ids: tuple[int, ...]
    #: Every unit id of the subtree, rendered into the statement (no bind-parameter limit).
    subtree_ids: sa.BindParameter
    rolled_up: bool

    def _read_units(self) -> sa.BindParameter:
        return sa.bindparam("scope_units", [self.root_id, *self.child_ids], expanding=True, literal_execute=True)

    # Rolled up: the unit and its children, all rows but the unit's own roll-up. Written as one IN list and a
    # filter, not an OR of two lists, so that the planner looks the units up even without statistics.

    def cells(self, table: sa.Table) -> sa.ColumnElement[bool]:
        """Select the scope's rows of ``response_cells``."""
        if self.rolled_up:
            return sa.and_(table.c.unit_id.in_(self._read_units()),
                           sa.or_(table.c.unit_id != self.root_id, table.c.rollup == sa.false()))
        return sa.and_(table.c.unit_id.in_(self.subtree_ids), table.c.rollup == sa.false())

    def day_rows(self, table: sa.Table) -> sa.ColumnElement[bool]:
        """Select the scope's rows of ``response_day_counts`` (each response counted once)."""
        if self.rolled_up:
            return sa.and_(table.c.unit_id.in_(self._read_units()),
                           sa.or_(table.c.unit_id != self.root_id, table.c.counter_id != ROLLUP_COUNTER))
        return sa.and_(table.c.unit_id.in_(self.subtree_ids), table.c.counter_id != ROLLUP_COUNTER)


def read_cells(version_id: int, layout: CellLayout, scope: CellScope, start: dt.date, end: dt.date,
               days: tuple[dt.date, dt.date], counters: set[tuple[int, int]] = frozenset()) -> CellData:
    """Read the cells of one version in the scope from month ``start`` to the end of month ``end``, and the day
    counts of the ``days`` (first, last): summed per unit and per day, and per counter for the counters with a
    review flag in those days and the (unit id, counter id) ``counters`` (flagged in what is not folded yet)."""
    cell = ResponseCell.__table__
    query = (sa.select(cell.c.unit_id, cell.c.month, cell.c.service_field_id, cell.c.n, cell.c.moments,
                       cell.c.means)
             .where(cell.c.instrument_version_id == version_id, cell.c.month.between(start, end), scope.cells(cell))
             .order_by(cell.c.month))
    with raw_cursor(db.session.connection(), query) as cursor:
        rows = cursor.fetchall()
    units, months, fields, sizes, dense, means = zip(*rows) if rows else ((), (), (), (), (), ())
    day = ResponseDayCount.__table__
    inside = sa.and_(day.c.instrument_version_id == version_id, day.c.day.between(*days))
    sums = [sa.func.sum(day.c[name]) for name in _FLAG_COUNT_FIELDS[1:]]
    first, last = (days[0] - EPOCH).days, (days[1] - EPOCH).days
    cell_months = _day_numbers(months)
    if _whole_months(*days):
        # Responses per unit are the sizes of its cells of those months; flags are rare, so only the flagged rows
        # are read (a province's 180,000 rows of a year are not).
        in_period = (cell_months >= first) & (cell_months <= last)
        unit_keys, unit_position = np.unique(np.array(units, dtype=np.int64)[in_period], return_inverse=True)
        responses = np.bincount(unit_position.reshape(-1), weights=np.array(sizes, dtype=np.int64)[in_period],
                                minlength=unit_keys.size).astype(np.int64)
        flagged_units = db.session.execute(sa.select(day.c.unit_id, *sums).where(inside, scope.day_rows(day),
                                                                                day.c.flagged > 0)
                                           .group_by(day.c.unit_id)).all()
        per_unit = FlagCounts.joined([
            FlagCounts(unit_keys, responses, *(np.zeros(unit_keys.size, dtype=np.int64) for _ in range(5))),
            FlagCounts.of_rows([(row[0], 0, *row[2:]) for row in flagged_units])])
    else:
        per_unit = FlagCounts.of_rows(db.session.execute(sa.select(day.c.unit_id, *sums)
                                                         .where(inside, scope.day_rows(day))
                                                         .group_by(day.c.unit_id)).all())
    # The report unit's own rows and its roll-up rows: every response of the subtree once, a few rows a day.
    per_day = db.session.execute(sa.select(day.c.day, sums[0]).where(inside, day.c.unit_id == scope.root_id)
                                 .group_by(day.c.day)).all()
    flagged = set(counters) | set(tuple(row) for row in db.session.execute(
        sa.select(day.c.unit_id, day.c.counter_id).distinct()
        .where(inside, day.c.flagged > 0, day.c.counter_id != ROLLUP_COUNTER, day.c.unit_id.in_(scope.subtree_ids))
    ))
    per_counter = []
    if flagged:
        per_counter = db.session.execute(
            sa.select(day.c.counter_id, *sums)
            .where(inside, day.c.unit_id.in_(sorted({unit for unit, _ in flagged})),
                   day.c.counter_id.in_(sorted({counter for _, counter in flagged})))
            .group_by(day.c.counter_id)).all()
    day_columns = list(zip(*per_day)) if per_day else [(), ()]
    counts = DayCounts((first, last), per_unit, FlagCounts.of_rows(per_counter), _day_numbers(day_columns[0]),
                       np.array(day_columns[1], dtype=np.int64))
    return CellData(
        moments=decode(list(dense), list(means), np.array(sizes, dtype=np.int64), layout),
        unit_ids=np.array(units, dtype=np.int64), months=cell_months, fields=np.array(fields, dtype=np.int64),
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
    day_list, day_counts = np.unique(days[inside], return_counts=True)
    counts = DayCounts((first, last), FlagCounts.of_responses(units[inside], flags[inside]),
                       FlagCounts.of_responses(counters[inside], flags[inside]), day_list.astype(np.int64),
                       day_counts.astype(np.int64))
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
    days = DayCounts(parts[0].days.span, FlagCounts.joined([part.days.units for part in parts]),
                     FlagCounts.joined([part.days.counters for part in parts]),
                     *(np.concatenate([getattr(part.days, name) for part in parts]) for name in ("days", "day_responses")))
    return CellData(moments, *(np.concatenate([getattr(part, name) for part in parts])
                               for name in ("unit_ids", "months", "fields", "sizes")), days)


def _day_numbers(values) -> NDArray[np.int64]:
    if not len(values):
        return np.zeros(0, dtype=np.int64)
    if isinstance(values[0], (int, np.integer)):
        return np.array(values, dtype=np.int64)
    return np.array([str(value) for value in values], dtype="datetime64[D]").astype(np.int64)


def _whole_months(first: dt.date, last: dt.date) -> bool:
    return first.day == 1 and (last + dt.timedelta(days=1)).day == 1


def _month_end(month: dt.date) -> dt.date:
    return (month.replace(day=1) + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
