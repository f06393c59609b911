"""Reports from cells (sufficient statistics per version × unit × month × field) equal reports from the responses.

Random fixtures with missing answers, review flags (fast, bursts, duplicates), several service fields, a nested
subtree, dossier ratings and dossier volumes (the weighted variant), part folded and part not: every figure of the
report document computed from cells equals the one computed from the raw responses (the pack path), document for
document. Deleting folded responses corrects cells and packs incrementally (no rebuild), and reports stay equal.
"""
from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest
import sqlalchemy as sa

from app.periods import parse_period

from tests.organiser.reporting import UTC, WIDTH, store

NOW = dt.datetime(2026, 7, 20, 3, 0, tzinfo=UTC)
PERIODS = ("2026-Q2", "2026-H1", "2026-05", "2026-04-01..2026-06-30", "2026", "2026-03-15..2026-06-30")


@pytest.fixture
def province(app, make):
    """P → P-A, P-B, P-C → P-C-1; counters at P (own), P-A (two), P-B, P-C-1; responses January–June 2026."""
    for code, parent in (("P", None), ("P-A", "P"), ("P-B", "P"), ("P-C", "P"), ("P-C-1", "P-C")):
        make.unit(code, name=f"Đơn vị {code}", parent=parent)
    counters = [make.counter("P", code="Q0", fields=("HO_TICH",)),
                make.counter("P-A", code="QA1", fields=("HO_TICH", "DAT_DAI")),
                make.counter("P-A", code="QA2", fields=("DAT_DAI", "TU_PHAP")),
                make.counter("P-B", code="QB", fields=("HO_TICH", "TU_PHAP")),
                make.counter("P-C-1", code="QC", fields=("DAT_DAI",))]
    dossier = make.counter("P-A", code="QD", fields=("HO_TICH",), instrument_code="dossier-rating")
    return counters, dossier


def random_responses(app, counters, dossier, rng, count, months=(1, 2, 3, 4, 5, 6)):
    fields = {"Q0": ["HO_TICH", None], "QA1": ["HO_TICH", "DAT_DAI"], "QA2": ["DAT_DAI", "TU_PHAP", None],
              "QB": ["HO_TICH", "TU_PHAP"], "QC": ["DAT_DAI"]}
    for _ in range(count):
        counter = counters[int(rng.integers(len(counters)))]
        day = dt.date(2026, int(rng.choice(months)), int(rng.integers(1, 29)))
        mood = int(rng.integers(1, 6))
        scores = np.clip(mood + rng.integers(-1, 2, size=WIDTH), 1, 5)
        scores[rng.random(WIDTH) < 0.12] = 0  # missing answers
        if rng.random() < 0.03:
            scores[:] = 0  # nothing answered
        at = dt.datetime.combine(day, dt.time(int(rng.integers(1, 9)), int(rng.integers(60))), UTC)
        duration = int(rng.choice([4_000, 40_000, 90_000]))
        choices = fields[counter.code]
        store(app, counter, bytes(scores.astype(np.uint8).tolist()), day=day, at=at, duration_ms=duration,
              field=choices[int(rng.integers(len(choices)))], client=f"c{int(rng.integers(6))}")
        if rng.random() < 0.08:  # the same answers again a minute later: a duplicate
            store(app, counter, bytes(scores.astype(np.uint8).tolist()), day=day, at=at + dt.timedelta(minutes=1),
                  duration_ms=duration, field=choices[0], client="c0")
    for _ in range(count // 5):
        day = dt.date(2026, int(rng.choice(months)), int(rng.integers(1, 29)))
        store(app, dossier, bytes([int(rng.integers(0, 4))]), day=day, code="dossier-rating")


def volumes(app):
    from app.extensions import db
    from app.organiser.aggregates import DossierVolume
    from app.units.models import ServiceField, Unit

    with app.app_context():
        units = dict(db.session.execute(sa.select(Unit.code, Unit.id)).all())
        fields = dict(db.session.execute(sa.select(ServiceField.code, ServiceField.id)).all())
        for (unit, field), dossiers in {("P-A", "HO_TICH"): 400, ("P-A", "DAT_DAI"): 150, ("P-B", "HO_TICH"): 90,
                                        ("P-C-1", "DAT_DAI"): 300, ("P-B", "TU_PHAP"): 0}.items():
            for month in (4, 5, 6):
                db.session.add(DossierVolume(unit_id=units[unit], service_field_id=fields[field],
                                             month=dt.date(2026, month, 1), dossiers=dossiers))
        db.session.commit()


def fold(app):
    from app.extensions import db
    from app.organiser.aggregates import refresh_packs

    with app.app_context():
        result = refresh_packs(NOW)
        db.session.commit()
        return result


def documents(app, monkeypatch, unit: str, period: str) -> tuple[str, str]:
    """The report document from cells and from the responses (the pack path) of one selection."""
    from app.extensions import db
    from app.organiser import reports
    from app.organiser.report_files import report_data

    used = []
    original = reports.load_cells

    def spy(*args, **kwargs):
        used.append(args[0])
        return original(*args, **kwargs)

    with app.app_context():
        monkeypatch.setattr(reports, "load_cells", spy)
        from_cells = report_data(reports.report_for_code(unit, period, now=NOW))
        monkeypatch.setattr(reports, "_whole_months", lambda start, end: False)
        from_responses = report_data(reports.report_for_code(unit, period, now=NOW))
        monkeypatch.undo()
        db.session.rollback()
    chosen = parse_period(period)
    if chosen.start.day == 1 and chosen.previous().start.day == 1 and (chosen.end + dt.timedelta(days=1)).day == 1:
        assert used, "the report of whole months is computed from cells"
    else:
        assert not used, "a range that cuts a month is read from the responses (cells hold whole months)"
    for document in (from_cells, from_responses):
        document.pop("generated_at", None)
    return (json.dumps(from_cells, ensure_ascii=False, sort_keys=True, default=str),
            json.dumps(from_responses, ensure_ascii=False, sort_keys=True, default=str))


def test_every_figure_from_cells_equals_the_raw_computation(app, province, monkeypatch):
    counters, dossier = province
    rng = np.random.default_rng(20261204)
    random_responses(app, counters, dossier, rng, 420)
    volumes(app)
    assert fold(app).folded > 0
    random_responses(app, counters, dossier, rng, 60, months=(5, 6))  # not folded yet: read beside the cells
    for unit in ("P", "P-C", "P-A"):
        for period in PERIODS:
            from_cells, from_responses = documents(app, monkeypatch, unit, period)
            assert json.loads(from_cells)["responses"] > 0
            assert from_cells == from_responses, (unit, period)
    # The document has every part: children, the test across them, weighting, fields, flags and the dossier rating.
    document = json.loads(documents(app, monkeypatch, "P", "2026-Q2")[0])
    assert document["children_test"] and document["weighted"] and len(document["service_fields"]) >= 3
    assert document["review_flags"]["flagged"] > 0 and document["dossier"]["n"] > 0
    assert {child["unit"] for child in document["children"]} >= {"P-A", "P-B", "P-C", "P"}


def test_deleting_folded_responses_corrects_cells_and_packs_without_a_rebuild(app, province, monkeypatch):
    from app.extensions import db
    from app.organiser.aggregates import FoldState, delete_responses
    from app.organiser.cells import ResponseCell
    from app.surveys.models import SurveyResponse

    counters, dossier = province
    rng = np.random.default_rng(7)
    random_responses(app, counters, dossier, rng, 200, months=(4, 5, 6))
    fold(app)
    with app.app_context():
        ids = db.session.scalars(sa.select(SurveyResponse.id).order_by(SurveyResponse.id)).all()
        cells_before = db.session.scalar(sa.select(sa.func.sum(ResponseCell.n)))
        doomed = [ids[3], ids[50], ids[51], ids[-1]]
        assert delete_responses(doomed, NOW) == 4
        db.session.commit()
        assert db.session.scalar(sa.select(sa.func.sum(ResponseCell.n))) == cells_before - 4
        assert db.session.scalar(sa.select(FoldState.folded)) == len(ids) - 4
    result = fold(app)
    assert not result.rebuilt and result.folded == 0
    for period in ("2026-Q2", "2026-05"):
        from_cells, from_responses = documents(app, monkeypatch, "P", period)
        assert from_cells == from_responses
    # Deleting what is not stored deletes nothing and changes nothing.
    with app.app_context():
        assert delete_responses([doomed[0], 10**9], NOW) == 0
        db.session.commit()


def test_the_api_report_is_computed_once_until_responses_or_volumes_change(app, client, province, monkeypatch):
    from app import cache
    from app.api.services import issue_token
    from app.database import utcnow
    from app.extensions import db
    from app.organiser import reports
    from app.units.services import get_unit_by_code

    counters, dossier = province
    random_responses(app, counters, dossier, np.random.default_rng(5), 80, months=(4, 5, 6))
    fold(app)
    cache.caches.clear()
    with app.app_context():
        _, secret = issue_token("Hệ thống một cửa", get_unit_by_code("P"), utcnow())
        db.session.commit()
    computed = []
    original = reports.sipas_report

    def counting(*args, **kwargs):
        computed.append(args[1].label)
        return original(*args, **kwargs)

    monkeypatch.setattr(reports, "sipas_report", counting)
    headers = {"Authorization": f"Bearer {secret}"}

    def ask():
        response = client.get("/api/v1/reports/sipas?unit=P&period=2026-Q2", headers=headers)
        assert response.status_code == 200
        return response.get_json()

    first = ask()
    assert ask() == first and len(computed) == 1  # the second call is served from the cache
    assert first["weighted"] is None
    volumes(app)  # imported volumes change the weighted variant: computed again
    weighted = ask()
    assert len(computed) == 2 and weighted["weighted"]["dossiers"] > 0
    store_one = counters[1]
    store(app, store_one, bytes([5] * WIDTH), day=dt.date(2026, 5, 3))  # a new response: computed again
    assert ask()["responses"] == weighted["responses"] + 1 and len(computed) == 3


def test_readers_and_writers_never_wait_on_one_another_on_postgresql(app, province):
    """Three readers hold their transactions open after computing reports (as three dashboards on three nodes
    would); meanwhile responses are stored, folded into packs and cells, and a response is deleted, each with a
    lock timeout of 2 s: nothing a reader did may block them, and the readers then finish too."""
    import threading
    import time

    from app.extensions import db
    from app.organiser.aggregates import delete_responses, refresh_packs
    from app.organiser.reports import report_for_code
    from app.surveys.models import SurveyResponse

    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("row locks across sessions are what PostgreSQL nodes share (SQLite has one writer at a time)")
    counters, dossier = province
    random_responses(app, counters, dossier, np.random.default_rng(9), 120, months=(4, 5, 6))
    fold(app)
    readers_ready, writers_done = threading.Barrier(4), threading.Event()
    failures, timings = [], {}

    def reader(index: int) -> None:
        try:
            with app.app_context():
                report_for_code("P", "2026-Q2", now=NOW)
                readers_ready.wait(timeout=30)
                writers_done.wait(timeout=30)  # the transaction stays open while the writers work
                report_for_code("P-A", "2026-05", now=NOW)
                db.session.rollback()
        except Exception as error:  # asserted below
            failures.append(error)

    threads = [threading.Thread(target=reader, args=(index,)) for index in range(3)]
    for thread in threads:
        thread.start()
    readers_ready.wait(timeout=30)
    try:
        with app.app_context():
            db.session.execute(sa.text("SET lock_timeout = '2s'"))
            started = time.perf_counter()
            for counter in counters[:3]:
                store(app, counter, bytes([4] * WIDTH), day=dt.date(2026, 5, 9))
            result = refresh_packs(NOW)
            db.session.commit()
            db.session.execute(sa.text("SET lock_timeout = '2s'"))
            newest = db.session.scalar(sa.select(sa.func.max(SurveyResponse.id)))
            assert delete_responses([newest], NOW) == 1
            db.session.commit()
            timings["writers"] = time.perf_counter() - started
    finally:
        writers_done.set()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == [] and not any(thread.is_alive() for thread in threads)
    assert result.won and result.folded == 3 and not result.rebuilt
    assert timings["writers"] < 10  # lock_timeout would have raised after 2 s of waiting


def test_cells_are_stored_and_read_back_exactly_small_and_large():
    from app.organiser.cells import SMALL_CELL, CellLayout, decode, encode
    from app.stats.sufficient import MomentLayout, sipas_moments

    elements = ((0, 1, 2, 3), (4, 5, 6, 7, 8), (9, 10))
    rng = np.random.default_rng(2)
    scores = rng.integers(0, 6, size=(500, 12)).astype(np.uint8)
    moments = sipas_moments(scores, elements, groups=np.arange(500) % 3, n_groups=3)
    # A cell of more than SMALL_CELL responses is stored with 32-bit counts: scale one cell up to be one.
    factor = SMALL_CELL // 100
    big = moments.replace_parts([part * np.array([1, factor, 1]).reshape(-1, *([1] * (part.ndim - 1)))
                                 for part in moments.dense_parts()],
                                moments.means_cell, moments.means_key,
                                moments.means_count * np.where(moments.means_cell == 1, factor, 1))
    sizes = big.respondents
    assert sizes[1] >= SMALL_CELL > sizes[0]
    layout = CellLayout(MomentLayout(12, elements, 5), frozenset({4, 5}))
    blobs = encode(big, sizes)
    again = decode([blob[0] for blob in blobs], [blob[1] for blob in blobs], sizes, layout)
    assert np.array_equal(again.to_vector(), big.to_vector())
    assert len(blobs[1][0]) > len(blobs[0][0])  # 32-bit counts for the large cell only


@pytest.fixture
def tree(app, make):
    """A random tree four levels deep: R → R-1…R-3, each with 1–3 children, some with children of their own;
    counters at random units (the root and inner units included), with random service fields."""
    rng = np.random.default_rng(16)
    make.unit("R", name="Cả nước")
    units, inner = ["R"], ["R"]
    for level in range(3):
        added = []
        for parent in inner:
            for index in range(int(rng.integers(1, 4))):
                code = f"{parent}-{index + 1}"
                make.unit(code, name=f"Đơn vị {code}", parent=parent)
                added.append(code)
        units += added
        inner = [code for code in added if rng.random() < 0.6] or added[:1]
    field_sets = (("HO_TICH",), ("HO_TICH", "DAT_DAI"), ("DAT_DAI", "TU_PHAP"))
    at = sorted(rng.choice(units, size=min(len(units), 9), replace=False).tolist()) + ["R"]
    counters = [(make.counter(unit, code=f"Q{index}", fields=field_sets[index % 3]), field_sets[index % 3])
                for index, unit in enumerate(at)]
    return units, counters


def store_random(app, counters, rng, count):
    for _ in range(count):
        counter, fields = counters[int(rng.integers(len(counters)))]
        day = dt.date(2026, int(rng.integers(1, 7)), int(rng.integers(1, 29)))
        scores = np.clip(int(rng.integers(1, 6)) + rng.integers(-1, 2, size=WIDTH), 1, 5)
        scores[rng.random(WIDTH) < 0.1] = 0
        at = dt.datetime.combine(day, dt.time(int(rng.integers(1, 9)), int(rng.integers(60))), UTC)
        choices = [None, *fields]
        store(app, counter, bytes(scores.astype(np.uint8).tolist()), day=day, at=at,
              duration_ms=int(rng.choice([3_000, 60_000])), client=f"c{int(rng.integers(4))}",
              field=choices[int(rng.integers(len(choices)))])


def rollups_equal_their_units(app) -> int:
    """Check every roll-up cell and day count equals the sum of the own cells and counts of the units below it;
    return how many roll-up cells were checked."""
    from app.extensions import db
    from app.organiser.cells import ROLLUP_COUNTER, ResponseCell, ResponseDayCount, decode, layout_of
    from app.surveys.services import get_instrument
    from app.units.models import Unit

    checked = 0
    with app.app_context():
        units = db.session.execute(sa.select(Unit.id, Unit.path, Unit.parent_id)).all()
        cells = db.session.execute(sa.select(ResponseCell)).scalars().all()
        days = db.session.execute(sa.select(ResponseDayCount)).scalars().all()
        for unit in units:
            below = {other.id for other in units if other.path.startswith(unit.path) and other.id != unit.id}
            for version in {cell.instrument_version_id for cell in cells}:
                layout = layout_of(get_instrument(version))
                keys = {(cell.month, cell.service_field_id) for cell in cells
                        if cell.instrument_version_id == version and (cell.unit_id in below or cell.unit_id == unit.id)}
                for month, field in keys:
                    leaves = [c for c in cells if (c.instrument_version_id, c.month, c.service_field_id) ==
                              (version, month, field) and c.unit_id in below and not c.rollup]
                    rolled = [c for c in cells if (c.instrument_version_id, c.month, c.service_field_id) ==
                              (version, month, field) and c.unit_id == unit.id and c.rollup]
                    if unit.parent_id is None or not leaves:
                        assert not rolled  # a root keeps none, and none is left where nothing is below
                        continue
                    assert len(rolled) == 1 and rolled[0].n == sum(c.n for c in leaves)
                    summed = decode([c.moments for c in leaves], [c.means for c in leaves],
                                    np.array([c.n for c in leaves]), layout).total()
                    again = decode([rolled[0].moments], [rolled[0].means], np.array([rolled[0].n]), layout)
                    assert np.array_equal(summed.to_vector(), again.to_vector())
                    checked += 1
            if below:  # roll-up day counts for every unit with units below it, a root too
                for day in {count.day for count in days}:
                    leaves = [c for c in days if c.day == day and c.unit_id in below and c.counter_id != ROLLUP_COUNTER]
                    rolled = [c for c in days if c.day == day and c.unit_id == unit.id
                              and c.counter_id == ROLLUP_COUNTER]
                    for name in ("responses", "fast", "burst", "duplicate", "untimed", "flagged"):
                        assert sum(getattr(c, name) for c in rolled) == sum(getattr(c, name) for c in leaves)
    return checked


def test_reports_from_rollups_equal_reports_from_every_unit_and_the_raw_computation(app, tree, monkeypatch):
    from app.organiser import aggregates, reports

    units, counters = tree
    store_random(app, counters, np.random.default_rng(3), 360)
    fold(app)
    store_random(app, counters, np.random.default_rng(4), 30)  # not folded yet: read beside the cells
    assert rollups_equal_their_units(app) > 0
    scopes = []
    original = aggregates.cell_scope

    def spy(root, **kwargs):
        scopes.append(original(root, **kwargs))
        return scopes[-1]

    monkeypatch.setattr(reports, "cell_scope", spy)
    inner = [code for code in units if any(other.startswith(code + "-") for other in units)]
    for unit in inner[:4]:
        for period in ("2026-Q2", "2026-H1", "2026-03"):
            from_cells, from_responses = documents(app, monkeypatch, unit, period)
            monkeypatch.setattr(reports, "cell_scope", spy)
            assert from_cells == from_responses, (unit, period)
            assert json.loads(from_cells)["responses"] > 0
            # The same report from every unit's own cells (no roll-ups read).
            monkeypatch.setattr(reports, "cell_scope",
                                lambda root, **options: original(root, **{**options, "rolled_up": False}))
            every_unit, _ = documents(app, monkeypatch, unit, period)
            monkeypatch.setattr(reports, "cell_scope", spy)
            assert every_unit == from_cells, (unit, period)
    assert scopes and all(scope.rolled_up for scope in scopes)
    assert any(len(scope.child_ids) > 1 for scope in scopes)


def test_rollups_rebuilt_from_cells_equal_those_the_fold_kept(app, tree, monkeypatch):
    from app.extensions import db
    from app.organiser.cells import ResponseCell, rebuild_rollups
    from app.units.models import Unit

    units, counters = tree
    store_random(app, counters, np.random.default_rng(12), 200)
    fold(app)
    before, _ = documents(app, monkeypatch, "R", "2026-H1")
    with app.app_context():
        kept = sorted((c.unit_id, c.month, c.service_field_id, c.n, c.moments, c.means) for c in
                      db.session.scalars(sa.select(ResponseCell).where(ResponseCell.rollup == sa.true())))
        inner = db.session.scalars(sa.select(Unit)).all()
        assert sum(rebuild_rollups(unit) for unit in inner) == len(kept) > 0
        db.session.commit()
        again = sorted((c.unit_id, c.month, c.service_field_id, c.n, c.moments, c.means) for c in
                       db.session.scalars(sa.select(ResponseCell).where(ResponseCell.rollup == sa.true())))
        assert [row[:4] for row in again] == [row[:4] for row in kept]
        assert rebuild_rollups(db.session.scalar(sa.select(Unit).where(Unit.code == "R"))) == 0  # day counts only
    assert rollups_equal_their_units(app) > 0
    assert documents(app, monkeypatch, "R", "2026-H1")[0] == before


def test_deleting_a_response_corrects_the_rollups_of_every_ancestor(app, tree, monkeypatch):
    from app.extensions import db
    from app.organiser.aggregates import delete_responses
    from app.surveys.models import SurveyResponse
    from app.units.models import Unit

    units, counters = tree
    store_random(app, counters, np.random.default_rng(8), 150)
    fold(app)
    with app.app_context():
        # The responses of the deepest units: each is in the roll-ups of two ancestors or more.
        deep = db.session.execute(sa.select(SurveyResponse.id).join(Unit, Unit.id == SurveyResponse.unit_id)
                                  .order_by(sa.func.length(Unit.path).desc(), SurveyResponse.id)).scalars().all()
        assert delete_responses(deep[:5] + deep[-2:], NOW) == 7
        db.session.commit()
    assert rollups_equal_their_units(app) > 0
    assert not fold(app).rebuilt
    from_cells, from_responses = documents(app, monkeypatch, "R", "2026-Q2")
    assert from_cells == from_responses
