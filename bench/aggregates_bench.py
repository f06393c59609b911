"""Issue 16: report cost that does not grow with responses — the SIPAS report of a province-year and the first
dashboard view, from the report cells (sufficient statistics per version × unit × month × service field), at
1,000,000 and at 5,000,000 responses, PostgreSQL.

The 1 M province is the one the SIPAS section builds (`flask synth` + `flask report refresh`, bench/sipas_bench.py).
The 5 M province is generated as aggregates: every cell and day count of the 1 M province multiplied by 5 — the
cells of the same responses each given 5 times (what 5 M responses of that province would store); no raw rows are
added, which the report does not read (the fold's guard still holds: raw rows = folded rows). Each figure is the
median server time of REPORT_RUNS runs in a fresh child process (report_for_code + its JSON document; the dashboard
through the test client after a real sign-in, report cache emptied before each run).

Run as a script, `report` and `scale` are the child processes (they print JSON).
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
                                                  ("responses", "fast", "burst", "duplicate", "flagged")}))
        db.session.commit()
        total = db.session.scalar(sa.select(sa.func.sum(ResponseCell.n)))
    return {"cells": len(rows), "responses": int(total)}


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
    return entries


if __name__ == "__main__":
    command, *arguments = sys.argv[1:]
    function = {"report": child_report, "scale": child_scale}[command]
    print(json.dumps(function(*arguments)))
