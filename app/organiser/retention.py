"""Retention of raw survey responses: archive the months older than RESPONSE_RETENTION_MONTHS, then delete them.

A month is archived whole and at once: its folded responses (every column, in id order) are written to a gzip CSV
in the job storage (``archive/YYYY-MM.csv.gz``, written aside, flushed to disk and renamed; its SHA-256 logged and
kept in the audit entry), then deleted through ``delete_responses(…, keep_aggregates=True)``, which leaves their
moments in the packs and cells: every published figure of those months stays as it was. The deletion of a month is
one transaction after its file is in place, so a worker killed mid-run leaves either the month untouched (the next
run writes the same bytes again: gzip without a timestamp) or the month gone with its file. Responses not folded
yet are left for the next run, which folds first.
"""
from __future__ import annotations

import csv
import datetime as dt
import gzip
import hashlib
import io
import json
import logging
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from app.auth.audit import Actor, record
from app.database import in_batches
from app.extensions import db
from app.organiser.aggregates import (
    delete_responses,
    folded_ids_condition,
    mark_archived_before,
    month_start,
)
from app.surveys.models import SurveyResponse

_log = logging.getLogger(__name__)
#: Rows fetched at a time while a month is written (a server-side cursor on PostgreSQL: constant memory).
FETCH_ROWS = 2_000


@dataclass(frozen=True)
class MonthToArchive:
    """A calendar month of raw responses older than the retention, and how many of them are folded."""

    month: dt.date
    responses: int

    @property
    def label(self) -> str:
        return self.month.strftime("%Y-%m")


@dataclass(frozen=True)
class ArchivedMonth:
    """What archiving one month did: its file, the file's SHA-256 and the responses deleted."""

    month: dt.date
    path: Path
    sha256: str
    responses: int


def retention_cut(now: dt.datetime, zone: ZoneInfo, months: int) -> dt.date | None:
    """The first day of the oldest month kept: responses of local days before it go (None: keep forever)."""
    if months <= 0:
        return None
    today = now.astimezone(zone).date()
    index = today.year * 12 + today.month - 1 - months
    return dt.date(index // 12, index % 12 + 1, 1)


def months_to_archive(cut: dt.date, now: dt.datetime) -> list[MonthToArchive]:
    """The months before ``cut`` that still hold folded raw responses, oldest first, with their counts."""
    response = SurveyResponse.__table__
    days = db.session.execute(
        sa.select(response.c.local_day, sa.func.count()).where(response.c.local_day < cut, folded_ids_condition(now))
        .group_by(response.c.local_day)).all()
    counts: dict[dt.date, int] = {}
    for day, count in days:
        counts[month_start(day)] = counts.get(month_start(day), 0) + int(count)
    return [MonthToArchive(month, counts[month]) for month in sorted(counts)]


def _next_month(month: dt.date) -> dt.date:
    return (month + dt.timedelta(days=32)).replace(day=1)


def _cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, (bytes, memoryview)):
        return bytes(value).hex()
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return value


def _archive_lines(query: sa.Select, columns: list[str]) -> Iterator[tuple[int, str]]:
    """Yield (response id, CSV line) of the month's rows, the header first (id 0)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def line(values: list[object]) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(values)
        return buffer.getvalue()

    yield 0, line(columns)
    for row in db.session.execute(query.execution_options(yield_per=FETCH_ROWS)):
        yield row[0], line([_cell(value) for value in row])


def _write_archive(draft: Path, query: sa.Select, columns: list[str]) -> tuple[list[int], str]:
    """Write the rows to ``draft`` as gzip CSV (no timestamp: the same rows give the same bytes), flushed to disk;
    return the ids written and the file's SHA-256."""
    ids: list[int] = []
    with draft.open("wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as stream:
            for response_id, text in _archive_lines(query, columns):
                if response_id:
                    ids.append(response_id)
                stream.write(text.encode("utf-8"))
        raw.flush()
        os.fsync(raw.fileno())
    digest = hashlib.sha256()
    with draft.open("rb") as written:
        for block in iter(lambda: written.read(1 << 20), b""):
            digest.update(block)
    return ids, digest.hexdigest()


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def archive_month(month: dt.date, directory: Path, actor: Actor, now: dt.datetime) -> ArchivedMonth:
    """Archive the folded raw responses of one month to ``directory`` and delete them, keeping their aggregates.

    Flushes; the caller commits (one transaction per month). When a file of that month already exists with other
    content (responses of an archived month that arrived later), this one is named after its first response id.
    """
    directory.mkdir(parents=True, exist_ok=True)
    response = SurveyResponse.__table__
    columns = [column.name for column in response.columns]
    query = (sa.select(*response.columns)
             .where(response.c.local_day >= month, response.c.local_day < _next_month(month),
                    folded_ids_condition(now))
             .order_by(response.c.id))
    # A draft of its own: two runs at once (two schedulers by mistake) never write into one file.
    draft = directory / f"{month:%Y-%m}.csv.gz.{os.getpid()}-{threading.get_ident()}.part"
    ids, sha256 = _write_archive(draft, query, columns)
    final = directory / f"{month:%Y-%m}.csv.gz"
    if ids and final.exists() and _file_sha256(final) != sha256:
        final = directory / f"{month:%Y-%m}.{ids[0]}.csv.gz"
    if not ids:
        draft.unlink(missing_ok=True)
        return ArchivedMonth(month, final, "", 0)
    os.replace(draft, final)
    for leftover in directory.glob(f"{month:%Y-%m}.csv.gz.*.part"):  # what killed runs left, an hour or more ago
        if leftover.stat().st_mtime < now.timestamp() - 3600:
            leftover.unlink(missing_ok=True)
    deleted = sum(delete_responses(batch, now, keep_aggregates=True) for batch in in_batches(ids))
    if deleted != len(ids):  # a response deleted meanwhile: its row is not in the archive as the file says
        raise RuntimeError(f"archive of {month:%Y-%m}: {len(ids)} rows written, {deleted} deleted")
    mark_archived_before(_next_month(month))
    record(actor, None, "responses.archive", "month", f"{month:%Y-%m}",
           {"file": final.name, "sha256": sha256, "responses": deleted}, now)
    _log.info("archived %s responses of %s to %s (sha256 %s)", deleted, f"{month:%Y-%m}", final, sha256)
    return ArchivedMonth(month, final, sha256, deleted)
