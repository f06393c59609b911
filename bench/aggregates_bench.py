"""Issue 16: report cost that does not grow with responses — the SIPAS report of a province-year and the first
dashboard view, from the report cells (sufficient statistics per version × unit × month × service field), at
1,000,000 and at 5,000,000 responses, PostgreSQL.

The 1 M province is the one the SIPAS section builds (`flask synth` + `flask report refresh`, bench/sipas_bench.py),
or a copy of the one in BENCH_PROVINCE_URL (bench/README.md).
The 5 M province is generated as aggregates: every cell and day count of the 1 M province multiplied by 5 — the
cells of the same responses each given 5 times (what 5 M responses of that province would store); no raw rows are
added, which the report does not read (the fold's guard still holds: raw rows = folded rows). Each figure is the
median server time of REPORT_RUNS runs in a fresh child process (report_for_code + its JSON document; the dashboard
through the test client after a real sign-in, report cache emptied before each run).

The national view (issue 16): after the 5 M figures, PROVINCES provinces under a root, each holding a copy of every
unit, counter, cell and day count of the 5 M province (no responses), and each province's roll-ups computed from its
units' cells (``rebuild_rollups``); then the nation's province-year report and first dashboard view, which read the
root's and the provinces' cells (roll-ups), not the 17,000 communes'.

Run as a script, `report`, `scale` and `national` are the child processes (they print JSON).
"""
from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

REPORT_RUNS = 3
SCALE = 5
TIME_TARGET_S = 1.0
RATIO_TARGET = 1.3
#: The national view: this many provinces, each a copy of the bench province's cells (after scaling), under a root.
PROVINCES = 34
NATION = "QG"
NATIONAL_TARGET_S = 3.0


def _app(url: str, secret: str):
    from app import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": secret})


def child_report(url: str, secret: str, unit: str, period: str) -> dict:
    """Time the full report of `unit` over `period` and its JSON document, REPORT_RUNS times in this process."""
    from app.database import utcnow
    from app.organiser.report_files import report_data
    from app.organiser.reports import report_for_code

    app = _app(url, secret)
    seconds, responses = [], 0
    with app.app_context():
        for _ in range(REPORT_RUNS):
            start = time.perf_counter()
            report = report_for_code(unit, period, now=utcnow())
            json.dumps(report_data(report), ensure_ascii=False)
            seconds.append(time.perf_counter() - start)
            responses = report.responses
    return {"seconds": seconds, "responses": responses}


def child_scale(url: str, secret: str, factor: str) -> dict:
    """Multiply every cell and day count by `factor` (the cells of each response given `factor` times)."""
    import numpy as np
    import sqlalchemy as sa

    from app.extensions import db
    from app.organiser.cells import ResponseCell, ResponseDayCount, decode, encode, layout_of
    from app.surveys.services import get_instrument

    times = int(factor)
    app = _app(url, secret)
    with app.app_context():
        rows = db.session.execute(sa.select(ResponseCell.id, ResponseCell.instrument_version_id, ResponseCell.n,
                                            ResponseCell.moments, ResponseCell.means)).all()
        updates = []
        for version in {row.instrument_version_id for row in rows}:
            chosen = [row for row in rows if row.instrument_version_id == version]
            layout = layout_of(get_instrument(version))
            moments = decode([row.moments for row in chosen], [row.means for row in chosen],
                             np.array([row.n for row in chosen], dtype=np.int64), layout)
            scaled = moments.replace_parts([part.astype(np.int64) * times for part in moments.dense_parts()],
                                           moments.means_cell, moments.means_key, moments.means_count * times)
            sizes = np.array([row.n * times for row in chosen], dtype=np.int64)
            for row, size, blob in zip(chosen, sizes, encode(scaled, sizes)):
                updates.append({"cell_id": row.id, "n": int(size), "moments": blob[0], "means": blob[1]})
        table = ResponseCell.__table__
        db.session.execute(table.update().where(table.c.id == sa.bindparam("cell_id"))
                           .values(n=sa.bindparam("n"), moments=sa.bindparam("moments"),
                                   means=sa.bindparam("means")), updates)
        day = ResponseDayCount.__table__
        db.session.execute(day.update().values(**{name: day.c[name] * times for name in
                                                  ("responses", "fast", "burst", "duplicate", "untimed", "flagged")}))
        db.session.commit()
        total = db.session.scalar(sa.select(sa.func.sum(ResponseCell.n)))
    return {"cells": len(rows), "responses": int(total)}


def child_national(url: str, secret: str, province_code: str, provinces: str) -> dict:
    """Generate the nation as aggregates: a root unit, `provinces` provinces under it, and under each a copy of every
    unit below the bench province with its counters, cells and day counts (no responses); then each province's
    roll-ups from its units' cells (``rebuild_rollups``, as the fold would have kept them)."""
    import sqlalchemy as sa

    from app.database import utcnow
    from app.extensions import db
    from app.organiser.cells import rebuild_rollups
    from app.units.models import Unit
    from app.units.services import create_unit, get_unit_by_code

    app = _app(url, secret)
    started = time.perf_counter()
    with app.app_context():
        source = get_unit_by_code(province_code)
        nation = create_unit(NATION, "Toàn quốc (đo hiệu năng)", kind="other", parent=None)
        created = [create_unit(f"T{index:02d}", f"Tỉnh đo hiệu năng {index}", kind="province", parent=nation)
                   for index in range(1, int(provinces) + 1)]
        db.session.flush()
        statements = [
            # Every unit below the source province, once per province (codes prefixed by the province's).
            """INSERT INTO units (code, name, kind, parent_id, path, headcount, block, is_active, created_at)
               SELECT p.code || '-' || u.code, u.name, u.kind, p.id, '', u.headcount, u.block, u.is_active, :now
               FROM units u CROSS JOIN units p
               WHERE u.path LIKE :below AND p.parent_id = :nation ORDER BY p.id, u.path""",
            # Their parents and paths: the province for the source's children, the copy of the parent otherwise.
            """UPDATE units c SET parent_id = copy.id
               FROM units p, units original, units original_parent, units copy
               WHERE p.parent_id = :nation AND c.parent_id = p.id
                 AND original.code = substr(c.code, length(p.code) + 2)
                 AND original_parent.id = original.parent_id AND original_parent.id <> :source
                 AND copy.code = p.code || '-' || original_parent.code""",
        ]
        now = utcnow()
        db.session.execute(sa.text(statements[0]), {"now": now, "below": source.path + "_%", "nation": nation.id})
        db.session.execute(sa.text(statements[1]), {"nation": nation.id, "source": source.id})
        # Paths, level by level from the provinces down.
        for _ in range(source.path.count("/") + 8):
            changed = db.session.execute(sa.text(
                """UPDATE units c SET path = p.path || c.id || '/' FROM units p
                   WHERE p.id = c.parent_id AND c.path = '' AND p.path <> ''""")).rowcount
            if not changed:
                break
        # The map from every source unit (the province itself included) to its copy in each province.
        db.session.execute(sa.text("CREATE TEMPORARY TABLE unit_copies (original integer, copy integer)"))
        db.session.execute(sa.text(
            """INSERT INTO unit_copies SELECT u.id, c.id FROM units u JOIN units p ON p.parent_id = :nation
               JOIN units c ON c.code = p.code || '-' || u.code WHERE u.path LIKE :below
               UNION ALL SELECT :source, p.id FROM units p WHERE p.parent_id = :nation"""),
            {"nation": nation.id, "below": source.path + "_%", "source": source.id})
        db.session.execute(sa.text(
            """INSERT INTO counters (code, name, unit_id, instrument_code, token_nonce, is_active, created_at,
                                     updated_at, short_code)
               SELECT c.code || '-' || k.code, k.name, m.copy, k.instrument_code,
                      substr(md5(k.id || '-' || m.copy || 'n'), 1, 16), k.is_active, :now, :now,
                      substr(md5(k.id || '-' || m.copy || 's'), 1, 12)
               FROM counters k JOIN unit_copies m ON m.original = k.unit_id JOIN units c ON c.id = m.copy"""),
            {"now": now})
        db.session.execute(sa.text(
            """CREATE TEMPORARY TABLE counter_copies AS
               SELECT k.id AS original, n.id AS copy FROM counters k JOIN unit_copies m ON m.original = k.unit_id
               JOIN counters n ON n.unit_id = m.copy AND n.token_nonce = substr(md5(k.id || '-' || m.copy || 'n'), 1, 16)"""))
        db.session.execute(sa.text(
            """INSERT INTO response_cells (instrument_version_id, unit_id, month, service_field_id, rollup, n,
                                           moments, means)
               SELECT c.instrument_version_id, m.copy, c.month, c.service_field_id, false, c.n, c.moments, c.means
               FROM response_cells c JOIN unit_copies m ON m.original = c.unit_id WHERE NOT c.rollup"""))
        db.session.execute(sa.text(
            """INSERT INTO response_day_counts (instrument_version_id, unit_id, counter_id, day, responses, fast,
                                                burst, duplicate, untimed, flagged)
               SELECT d.instrument_version_id, m.copy, k.copy, d.day, d.responses, d.fast, d.burst, d.duplicate,
                      d.untimed, d.flagged
               FROM response_day_counts d JOIN unit_copies m ON m.original = d.unit_id
               JOIN counter_copies k ON k.original = d.counter_id
               JOIN counters n ON n.id = k.copy AND n.unit_id = m.copy"""))
        rollups = sum(rebuild_rollups(db.session.get(Unit, unit.id)) for unit in created)
        rebuild_rollups(db.session.get(Unit, nation.id))  # the root keeps roll-up day counts only
        db.session.commit()
        # This machine's PostgreSQL runs without autovacuum; a server with its default (on) vacuums and analyses
        # after a bulk load (planner statistics, and the visibility map that lets an index answer a count alone).
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(sa.text("VACUUM ANALYZE"))
        units = db.session.scalar(sa.select(sa.func.count()).select_from(Unit).where(Unit.is_within(nation)))
        cells = db.session.execute(sa.text(
            "SELECT count(*), sum(n) FROM response_cells c JOIN units u ON u.id = c.unit_id "
            "WHERE u.path LIKE :below AND NOT c.rollup"), {"below": nation.path + "%"}).one()
    return {"units": int(units), "cells": int(cells[0]), "responses": int(cells[1]), "rollups": rollups,
            "seconds": time.perf_counter() - started}


def province_year(url: str) -> str:
    """The calendar year holding most of the bench province's days."""
    import sipas_bench

    days = sipas_bench.day_range(url)
    years = {}
    for day, count in days:
        years[day.year] = years.get(day.year, 0) + count
    return str(max(years, key=years.get))


def run() -> list:
    """Measure the report and the dashboard at 1 M and at 5 M responses on PostgreSQL."""
    import dashboard_bench
    import sipas_bench
    from harness import entry, failed_entry, postgres_available, run_child, spread

    unavailable = postgres_available()
    if unavailable:
        return [failed_entry("SIPAS report from cells, province-year", "s", f"value < {TIME_TARGET_S}", unavailable)]
    place = sipas_bench.province("postgresql")
    year = province_year(place.url)
    dashboard_period = f"{year}-01-01..{year}-12-31"
    measured = {}
    for scale in (1, SCALE):
        if scale > 1:
            run_child("bench/aggregates_bench.py", ["scale", place.url, place.secret, str(SCALE)])
        report, memory = run_child("bench/aggregates_bench.py", ["report", place.url, place.secret, place.code, year])
        board, _ = run_child("bench/dashboard_bench.py", [place.url, place.secret, place.code, dashboard_period])
        measured[scale] = (report, memory, board)
    entries = []
    (small, small_memory, small_board), (large, large_memory, large_board) = measured[1], measured[SCALE]
    small_s, large_s = statistics.median(small["seconds"]), statistics.median(large["seconds"])
    for scale, (report, memory, board) in measured.items():
        label = f"{report['responses']:,} responses" + ("" if scale == 1 else " (generated as aggregates)")
        entries.append(entry(f"SIPAS report from cells, province-year {year}, {label}, PostgreSQL",
                             statistics.median(report["seconds"]), "s",
                             target=f"value < {TIME_TARGET_S}",
                             note=f"{spread(report['seconds'], '{:.2f}')}, in-process report_for_code + JSON, "
                                  f"peak RSS {memory:.0f} MB"))
        entries.append(entry(f"first dashboard view from cells, {label}, PostgreSQL",
                             statistics.median(board["page"]), "s", target=f"value < {TIME_TARGET_S}",
                             note=f"{spread(board['page'], '{:.2f}')}; period {dashboard_period}, report cache "
                                  "emptied before each run"))
    entries.append(entry(f"SIPAS report from cells: time at {SCALE} M over time at 1 M responses", large_s, "s",
                         reference=small_s, ratio=large_s / small_s if small_s else None,
                         target=f"ratio <= {RATIO_TARGET}",
                         note=f"{small['responses']:,} → {large['responses']:,} responses"))
    return entries + national(place, year, dashboard_period)


def national(place, year: str, dashboard_period: str) -> list:
    """The national view: PROVINCES copies of the (scaled) province under a root, generated as aggregates; the
    nation's province-year report and its first dashboard view."""
    from harness import entry, run_child, spread

    built, _ = run_child("bench/aggregates_bench.py", ["national", place.url, place.secret, place.code,
                                                       str(PROVINCES)])
    report, memory = run_child("bench/aggregates_bench.py", ["report", place.url, place.secret, NATION, year])
    board, _ = run_child("bench/dashboard_bench.py", [place.url, place.secret, NATION, dashboard_period])
    label = (f"nation of {PROVINCES} provinces, {built['units']:,} units, {report['responses']:,} responses in the "
             f"year (generated as aggregates), PostgreSQL")
    how = (f"generated in {built['seconds']:.0f} s: {built['cells']:,} unit cells, {built['rollups']:,} province "
           "roll-up cells, then VACUUM ANALYZE (autovacuum is off on this server)")
    return [
        entry(f"SIPAS report from cells, province-year {year}, {label}", statistics.median(report["seconds"]), "s",
              target=f"value < {NATIONAL_TARGET_S:g}",
              note=f"{spread(report['seconds'], '{:.2f}')}, in-process report_for_code + JSON, peak RSS "
                   f"{memory:.0f} MB; {how}"),
        entry(f"first dashboard view from cells, {label}", statistics.median(board["page"]), "s",
              target=f"value < {NATIONAL_TARGET_S:g}",
              note=f"{spread(board['page'], '{:.2f}')}; period {dashboard_period}, report cache emptied before "
                   "each run"),
    ]


if __name__ == "__main__":
    command, *arguments = sys.argv[1:]
    function = {"report": child_report, "scale": child_scale, "national": child_national}[command]
    print(json.dumps(function(*arguments)))
