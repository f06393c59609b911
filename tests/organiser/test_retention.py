"""Retention: raw responses older than RESPONSE_RETENTION_MONTHS are archived to gzip CSV files and deleted, and
every published figure of the archived months stays the same (their moments stay in the packs and cells).

Checked on random fixtures (missing answers, review flags, several fields, a subtree): report documents before and
after are equal for periods inside, across and after the cut; each file holds exactly the rows deleted, every
column; younger responses are untouched; a second run changes nothing; a run that dies after writing a file loses
nothing and the next one writes the same bytes; a later rebuild of the aggregates keeps the archived months.
"""
from __future__ import annotations

import csv
import datetime as dt
import gzip
import hashlib
import io
import json

import numpy as np
import pytest
import sqlalchemy as sa

from tests.organiser.test_cells import NOW, documents, fold, province, random_responses  # noqa: F401 (fixture)

CUT = dt.date(2026, 4, 1)  # NOW is 20 July 2026: keeping 3 months keeps April onwards
PERIODS = ("2026-01", "2026-Q1", "2026-03-15..2026-04-10", "2026-H1", "2026")


def _figures(app, monkeypatch) -> dict[str, str]:
    figures = {}
    for unit in ("P", "P-A"):
        for period in PERIODS:
            from_cells, from_packs = documents(app, monkeypatch, unit, period)
            assert from_cells == from_packs
            figures[f"{unit} {period}"] = from_cells
    return figures


def _stored(app) -> dict[int, dt.date]:
    from app.extensions import db
    from app.surveys.models import SurveyResponse

    with app.app_context():
        return dict(db.session.execute(sa.select(SurveyResponse.id, SurveyResponse.local_day)).all())


def _archives(app) -> dict[str, bytes]:
    from app.jobs import result_dir

    folder = result_dir(app) / "archive"
    return {path.name: path.read_bytes() for path in sorted(folder.glob("*.csv.gz"))} if folder.exists() else {}


def _retain(app, months: int = 3) -> list[str]:
    from app.organiser.jobs import SCHEDULER, apply_retention

    app.config["RESPONSE_RETENTION_MONTHS"] = months
    with app.app_context():
        return apply_retention(NOW, SCHEDULER)


@pytest.fixture
def loaded(app, province):  # noqa: F811 (the fixture imported above)
    from app.jobs import result_dir

    counters, dossier = province
    random_responses(app, counters, dossier, np.random.default_rng(16), 240)
    fold(app)
    yield app
    app.config["RESPONSE_RETENTION_MONTHS"] = 0
    for path in (result_dir(app) / "archive").glob("*"):
        path.unlink()


def test_archived_months_keep_their_figures_and_their_rows_in_the_files(loaded, monkeypatch):
    from app.auth.models import AuditEntry
    from app.extensions import db
    from app.surveys.models import SurveyResponse

    app = loaded
    before_rows = _stored(app)
    with app.app_context():
        full = {row[0]: row for row in db.session.execute(sa.select(*SurveyResponse.__table__.columns))}
    before = _figures(app, monkeypatch)
    old = {rid for rid, day in before_rows.items() if day < CUT}
    assert old and len(old) < len(before_rows)

    lines = _retain(app)

    assert len(lines) == 3  # January, February, March
    after_rows = _stored(app)
    assert after_rows == {rid: day for rid, day in before_rows.items() if day >= CUT}  # nothing younger touched
    assert _figures(app, monkeypatch) == before
    files = _archives(app)
    assert sorted(files) == ["2026-01.csv.gz", "2026-02.csv.gz", "2026-03.csv.gz"]
    archived = {}
    for name, content in files.items():
        table = list(csv.reader(io.StringIO(gzip.decompress(content).decode("utf-8"))))
        assert table[0] == [column.name for column in SurveyResponse.__table__.columns]
        for values in table[1:]:
            record = dict(zip(table[0], values))
            archived[int(record["id"])] = record
            assert record["local_day"].startswith(name[:7])
    assert set(archived) == old
    for rid, record in archived.items():  # every column, readable back
        row = full[rid]
        assert bytes.fromhex(record["scores"]) == bytes(row.scores)
        assert record["counter_id"] == str(row.counter_id)
        assert json.loads(record["answers"] or "null") == row.answers
    with app.app_context():
        entries = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "responses.archive")).all()
        assert {entry.object_id for entry in entries} == {"2026-01", "2026-02", "2026-03"}
        for entry in entries:
            assert entry.detail["sha256"] == hashlib.sha256(files[entry.detail["file"]]).hexdigest()
            assert entry.detail["responses"] == sum(1 for rid in old if before_rows[rid].strftime("%Y-%m")
                                                    == entry.object_id)

    # Running again is a no-op: same rows, same files, no new audit entry; the fold rebuilds nothing.
    assert _retain(app) == []
    assert _stored(app) == after_rows and _archives(app) == files
    assert not fold(app).rebuilt
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).where(AuditEntry.action == "responses.archive")) == 3


def test_a_run_killed_after_writing_a_file_loses_nothing_and_the_next_writes_the_same_bytes(loaded, monkeypatch):
    from app.organiser import retention

    app = loaded
    before_rows = _stored(app)
    before = _figures(app, monkeypatch)
    original = retention.delete_responses
    calls = []

    def dies_in_february(ids, now, **kwargs):
        calls.append(ids)
        deleted = original(ids, now, **kwargs)
        if retention.month_start(before_rows[ids[0]]) == dt.date(2026, 2, 1):
            raise SystemExit("worker killed")
        return deleted

    monkeypatch.setattr(retention, "delete_responses", dies_in_february)
    with pytest.raises(SystemExit):
        _retain(app)
    from app.extensions import db

    with app.app_context():
        db.session.rollback()
    # January went (its transaction committed), February is whole again, its file already written.
    assert _stored(app) == {rid: day for rid, day in before_rows.items() if day >= dt.date(2026, 2, 1)}
    first = _archives(app)
    assert sorted(first) == ["2026-01.csv.gz", "2026-02.csv.gz"]
    monkeypatch.setattr(retention, "delete_responses", original)

    _retain(app)

    files = _archives(app)
    assert sorted(files) == ["2026-01.csv.gz", "2026-02.csv.gz", "2026-03.csv.gz"]
    assert files["2026-02.csv.gz"] == first["2026-02.csv.gz"]
    assert _stored(app) == {rid: day for rid, day in before_rows.items() if day >= CUT}
    assert _figures(app, monkeypatch) == before


def test_a_rebuild_after_archiving_keeps_the_archived_months(loaded, monkeypatch):
    from app.extensions import db
    from app.organiser.aggregates import FoldState

    app = loaded
    before = _figures(app, monkeypatch)
    _retain(app)
    with app.app_context():  # a guard failure (as after an uncorrected deletion) makes the next fold rebuild
        db.session.execute(sa.update(FoldState).values(folded=FoldState.folded + 1))
        db.session.commit()
    result = fold(app)
    assert result.rebuilt
    assert _figures(app, monkeypatch) == before
    assert not fold(app).rebuilt


def test_dry_run_says_what_would_go_and_changes_nothing(loaded, runner):
    app = loaded
    before_rows = _stored(app)
    app.config["RESPONSE_RETENTION_MONTHS"] = 0
    kept = runner.invoke(args=["jobs", "retention", "--dry-run"])
    assert kept.exit_code == 0 and "giữ mãi" in kept.output
    app.config["RESPONSE_RETENTION_MONTHS"] = 3  # today is after June 2026: every month of the fixture is older
    result = runner.invoke(args=["jobs", "retention", "--dry-run"])
    assert result.exit_code == 0, result.output
    for month in range(1, 7):
        count = sum(1 for day in before_rows.values() if day.month == month)
        assert f"Tháng {month:02d}/2026: {count:,}".replace(",", ".") + " phiếu" in result.output
    assert _stored(app) == before_rows and _archives(app) == {}
