"""Issue 3: the SIPAS report of one province over 1,000,000 synthetic responses, on SQLite and PostgreSQL.

The province (bench/setup_db.py: 500 child units, one counter each) gets its responses from `flask synth
--responses 1000000 --seed 1 --days 365` and the aggregates are folded once with `flask report refresh` (the fold
belongs to ingestion: the application folds as responses arrive). Then, each in a fresh child process whose peak
RSS the parent reads with wait4():

* the report: report_for_code() over every day of data + its JSON document, timed in the child (interpreter start
  and imports excluded; the whole `flask report sipas` command is timed once for the note);
* the reference: a per-response Python loop (fetch the rows, then plain Python: criterion shares, Wilson
  intervals, element and overall indices, Cronbach's alpha per element, the overall index per child unit) over
  a period holding about 50,000 responses. Its numbers are checked against the report of the same period, and
  its time is scaled linearly to the report's response count (the loop is linear in rows).

Run as a script, `report` and `loop` are the child processes (they print JSON).
"""
from __future__ import annotations

import datetime as dt
import json
import math
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

RESPONSES = 1_000_000
SUBSET = 50_000
UNITS = 500
DAYS = 365
REPORT_RUNS = 3
TIME_TARGET_S = 5
MEMORY_TARGET_MB = 1536
SPEEDUP_TARGET = 20


# ---------------------------------------------------------------------------------------------------- children

def _app(url: str, secret: str):
    from app import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": secret})


def child_report(url: str, secret: str, unit: str, period: str) -> dict:
    """Time the report of `unit` over `period` and its JSON document (in this process)."""
    from app.database import utcnow
    from app.organiser.report_files import report_data
    from app.organiser.reports import report_for_code

    app = _app(url, secret)
    with app.app_context():
        start = time.perf_counter()
        report = report_for_code(unit, period, now=utcnow())
        document = json.dumps(report_data(report), ensure_ascii=False)
        seconds = time.perf_counter() - start
    return {"seconds": seconds, "responses": report.responses, "children": len(report.children),
            "bytes": len(document)}


def per_response_loop(rows: list[tuple[int, bytes]], group_of: dict[int, str], elements: list[list[int]],
                      satisfied: frozenset[int], z: float) -> dict:
    """The reference computation, one response at a time in plain Python (no numpy)."""
    width = max(column for columns in elements for column in columns) + 1
    valid, happy = [0] * width, [0] * width
    by_child: dict[str, tuple[list[int], list[int]]] = {}
    moments = [[0, [0] * len(cols), [0] * len(cols), 0, 0] for cols in elements]  # n, Σx, Σx², ΣT, ΣT²
    for unit_id, scores in rows:
        child = by_child.get(group_of[unit_id])
        if child is None:
            child = by_child[group_of[unit_id]] = ([0] * width, [0] * width)
        child_valid, child_happy = child
        for column in range(width):
            value = scores[column]
            if value:
                valid[column] += 1
                child_valid[column] += 1
                if value in satisfied:
                    happy[column] += 1
                    child_happy[column] += 1
        for columns, moment in zip(elements, moments):
            answers = [scores[column] for column in columns]
            if all(answers):
                total = sum(answers)
                moment[0] += 1
                for position, value in enumerate(answers):
                    moment[1][position] += value
                    moment[2][position] += value * value
                moment[3] += total
                moment[4] += total * total

    def indices(counts_valid: list[int], counts_happy: list[int]) -> tuple[list, list, float | None]:
        shares = [100.0 * h / v if v else None for v, h in zip(counts_valid, counts_happy)]
        element_values = []
        for columns in elements:
            present = [shares[c] for c in columns if shares[c] is not None]
            element_values.append(sum(present) / len(present) if present else None)
        present = [value for value in element_values if value is not None]
        return shares, element_values, (sum(present) / len(present) if present else None)

    shares, element_values, overall = indices(valid, happy)
    wilson = []
    for v, h in zip(valid, happy):
        if not v:
            wilson.append((None, None))
            continue
        p, z2 = h / v, z * z
        centre = (p + z2 / (2 * v)) / (1 + z2 / v)
        half = z / (1 + z2 / v) * math.sqrt(p * (1 - p) / v + z2 / (4 * v * v))
        wilson.append((100 * (centre - half), 100 * (centre + half)))
    alphas = []
    for columns, (n, sums, squares, total, total_squares) in zip(elements, moments):
        k = len(columns)
        if n < 2 or k < 2:
            alphas.append(None)
            continue
        item_variance = sum((sq - s * s / n) / (n - 1) for s, sq in zip(sums, squares))
        total_variance = (total_squares - total * total / n) / (n - 1)
        alphas.append(k / (k - 1) * (1 - item_variance / total_variance) if total_variance else None)
    children = {code: indices(*counts)[2] for code, counts in by_child.items()}
    return {"n": valid, "shares": shares, "wilson": wilson, "elements": element_values, "overall": overall,
            "alphas": alphas, "children": children}


def child_loop(url: str, secret: str, unit: str, period: str) -> dict:
    """Time the per-response loop over `period` and check its numbers against the report of that period."""
    import sqlalchemy as sa

    from app.database import utcnow
    from app.extensions import db
    from app.organiser.reports import report_for_code
    from app.periods import parse_period
    from app.surveys.models import SurveyResponse
    from app.surveys.services import current_version_id, get_instrument
    from app.units.models import Unit

    app = _app(url, secret)
    with app.app_context():
        report = report_for_code(unit, period, now=utcnow())
        root = db.session.scalar(sa.select(Unit).where(Unit.code == unit))
        units = db.session.execute(sa.select(Unit.id, Unit.code, Unit.path)
                                   .where(Unit.path.startswith(root.path))).all()
        depth = len(root.path.strip("/").split("/"))
        code_by_id = {row.id: row.code for row in units}
        group_of = {}
        for row in units:
            parts = row.path.strip("/").split("/")
            group_of[row.id] = code_by_id[int(parts[depth])] if len(parts) > depth else root.code
        version = current_version_id("sipas-counter")
        instrument = get_instrument(version)
        chosen = parse_period(period)
        statement = (sa.select(SurveyResponse.unit_id, SurveyResponse.scores)
                     .where(SurveyResponse.instrument_version_id == version,
                            SurveyResponse.local_day.between(chosen.start, chosen.end),
                            SurveyResponse.unit_id.in_([row.id for row in units])))
        db.session.remove()
        start = time.perf_counter()
        rows = db.session.execute(statement).all()
        fetched = time.perf_counter()
        result = per_response_loop(rows, group_of, [list(c) for c in instrument.element_columns],
                                   frozenset(instrument.aggregation.satisfied), statistics.NormalDist().inv_cdf(0.975))
        seconds = time.perf_counter() - start
    problems = compare(result, report, instrument)
    return {"seconds": seconds, "fetch_seconds": fetched - start, "responses": len(rows),
            "report_responses": report.responses, "problems": problems[:10], "checked": _checked(report)}


def _checked(report) -> int:
    """How many published figures the comparison covers."""
    return 3 * len(report.criteria) + 2 * len(report.elements) + 1 + len(report.children)


def compare(loop: dict, report, instrument) -> list[str]:
    """Return every published figure of the report that the loop does not reproduce (2 decimals; alpha 3)."""
    problems = []
    column_of = {item.code: index for index, item in enumerate(instrument.scale_items)}

    def check(label: str, published: float | None, computed: float | None, decimals: int = 2) -> None:
        if published is None and computed is None:
            return
        if published is None or computed is None or abs(published - computed) > 0.5 * 10 ** -decimals + 1e-9:
            problems.append(f"{label}: report {published}, loop {computed}")

    for criterion in report.criteria:
        column = column_of[criterion.code]
        if criterion.estimate.n != loop["n"][column]:
            problems.append(f"{criterion.code} n: report {criterion.estimate.n}, loop {loop['n'][column]}")
        check(criterion.code, criterion.estimate.value, loop["shares"][column])
        check(f"{criterion.code} ci_low", criterion.estimate.ci_low, loop["wilson"][column][0])
        check(f"{criterion.code} ci_high", criterion.estimate.ci_high, loop["wilson"][column][1])
    for position, element in enumerate(report.elements):
        check(element.code, element.estimate.value, loop["elements"][position])
        check(f"{element.code} alpha", element.alpha, loop["alphas"][position], 3)
    check("overall", report.overall.value, loop["overall"])
    for child in report.children:
        if child.estimate.value is not None:
            check(f"child {child.unit}", child.estimate.value, loop["children"].get(child.unit))
    return problems


# ---------------------------------------------------------------------------------------------------- parent

def run_flask(args: list[str], url: str, secret: str, timeout: float = 3600) -> float:
    """Run a `flask --app app …` command on the database; return its wall time."""
    from harness import FLASK, ROOT, BenchError

    start = time.perf_counter()
    completed = subprocess.run([FLASK, "--app", "app", *args], cwd=ROOT, capture_output=True, text=True,
                               env={**os.environ, "DATABASE_URL": url, "SECRET_KEY": secret}, timeout=timeout)
    if completed.returncode != 0:
        raise BenchError(f"flask {' '.join(args[:2])} failed: {completed.stderr.strip()[-1500:]}")
    return time.perf_counter() - start


def day_range(url: str) -> list[tuple[dt.date, int]]:
    """Return (local day, responses) for every day with responses, in order."""
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(sa.text("SELECT local_day, COUNT(*) FROM survey_responses "
                                              "GROUP BY local_day ORDER BY local_day")).all()
    finally:
        engine.dispose()
    return [(day if isinstance(day, dt.date) else dt.date.fromisoformat(day), count) for day, count in rows]


def subset_period(days: list[tuple[dt.date, int]], size: int) -> tuple[str, int]:
    """Return the label of consecutive days from the middle of the data holding at least `size` responses."""
    start = len(days) // 3
    total, end = 0, start
    while total < size and end < len(days):
        total += days[end][1]
        end += 1
    return f"{days[start][0].isoformat()}..{days[end - 1][0].isoformat()}", total


@dataclass(frozen=True)
class Province:
    """A database holding the bench province and its synthetic responses."""

    kind: str
    url: str
    secret: str
    code: str
    period: str
    responses: int
    synth_seconds: float
    fold_seconds: float


_provinces: dict[str, Province] = {}


def province(kind: str) -> Province:
    """Build (once per bench run) the province with 1,000,000 responses on `kind`; kept until the run ends."""
    from harness import RESOURCES, bench_secret, database, run_python

    if kind in _provinces:
        return _provinces[kind]
    print(f"  building the {kind} province: {UNITS} units, {RESPONSES:,} responses (flask synth)", flush=True)
    secret = bench_secret()
    url = RESOURCES.enter_context(database(kind, "province"))
    created = json.loads(run_python(["bench/setup_db.py", url, secret, "--units", str(UNITS)]))
    synth = run_flask(["synth", "--responses", str(RESPONSES), "--seed", "1", "--days", str(DAYS)], url, secret)
    fold = run_flask(["report", "refresh"], url, secret)
    days = day_range(url)
    total = sum(count for _, count in days)
    built = Province(kind, url, secret, created["province"], f"{days[0][0].isoformat()}..{days[-1][0].isoformat()}",
                     total, synth, fold)
    _provinces[kind] = built
    return built


def run() -> list:
    """Measure the report on each database; return the entries of issue 3."""
    from harness import BenchError, entry, failed_entry, postgres_available, run_child, speedup_ratio, spread

    entries = []
    for kind, label in (("sqlite", "SQLite"), ("postgresql", "PostgreSQL")):
        if kind == "postgresql" and postgres_available():
            reason = postgres_available()
            entries += [failed_entry(f"SIPAS report, {RESPONSES:,} responses, {label}", "s", f"value < {TIME_TARGET_S}",
                                     reason)]
            continue
        place = province(kind)
        if place.responses != RESPONSES:
            raise BenchError(f"{kind}: expected {RESPONSES:,} responses, found {place.responses:,}")
        runs = [run_child("bench/sipas_bench.py", ["report", place.url, place.secret, place.code, place.period])
                for _ in range(REPORT_RUNS)]
        seconds = [result["seconds"] for result, _ in runs]
        memory = max(rss for _, rss in runs)
        if any(result["responses"] != RESPONSES for result, _ in runs):
            raise BenchError(f"{kind}: the report covered {runs[0][0]['responses']:,} responses, not {RESPONSES:,}")
        command = run_flask(["report", "sipas", "--unit", place.code, "--period", place.period, "--format", "json",
                             "--out", os.devnull], place.url, place.secret)
        subset, expected = subset_period(day_range(place.url), SUBSET)
        loop, _ = run_child("bench/sipas_bench.py", ["loop", place.url, place.secret, place.code, subset])
        if loop["problems"] or loop["responses"] != loop["report_responses"]:
            raise BenchError(f"{kind}: the per-response loop does not reproduce the report over {subset}: "
                             f"{loop['problems']} ({loop['responses']} vs {loop['report_responses']} responses)")
        report_seconds = statistics.median(seconds)
        loop_scaled = loop["seconds"] * RESPONSES / loop["responses"]
        setup = (f"built by flask synth in {place.synth_seconds:.0f} s, first fold (flask report refresh) "
                 f"{place.fold_seconds:.1f} s")
        entries += [
            entry(f"SIPAS report, province of {UNITS} units, {RESPONSES:,} responses, {label}", report_seconds, "s",
                  target=f"value < {TIME_TARGET_S}",
                  note=f"{spread(seconds, '{:.2f}')}, in-process (report_for_code + JSON); the whole `flask report "
                       f"sipas` command {command:.1f} s with interpreter start and imports; {setup}"),
            entry(f"SIPAS report peak memory (RSS of the child process), {label}", memory, "MB",
                  target=f"value < {MEMORY_TARGET_MB}", note=f"max of {REPORT_RUNS} runs, imports included"),
            entry(f"SIPAS report speed-up over a per-response Python loop, {label}", report_seconds, "s",
                  reference=loop_scaled, ratio=speedup_ratio(report_seconds, loop_scaled),
                  target=f"ratio >= {SPEEDUP_TARGET}",
                  note=f"loop over {loop['responses']:,} responses ({subset}): {loop['seconds']:.2f} s "
                       f"(fetch {loop['fetch_seconds']:.2f} s), scaled ×{RESPONSES / loop['responses']:.1f} to "
                       f"{RESPONSES:,}; same {loop['checked']} published figures as the report of that period"),
        ]
    return entries


if __name__ == "__main__":
    command, *arguments = sys.argv[1:]
    function = {"report": child_report, "loop": child_loop}[command]
    print(json.dumps(function(*arguments)))
