"""Issue 3: the SIPAS report of one province over 1,000,000 synthetic responses, on SQLite and PostgreSQL.

The province (bench/setup_db.py: 500 child units, one counter each) gets its responses from `flask synth
--responses 1000000 --seed 1 --days 365` and the aggregates are folded once with `flask report refresh` (the fold
belongs to ingestion: run periodically, it keeps the responses a report reads beside the packs few). Then, each in
a fresh child process whose peak RSS the parent reads with wait4():

* the report: report_for_code() over every day of data + its JSON document, timed in the child (interpreter start
  and imports excluded; the whole `flask report sipas` command is timed once for the note);
* the reference: a per-response Python loop (fetch the rows, then plain Python, no numpy) over a period holding
  about 50,000 responses and the period before it (the report compares with it). It computes every figure of the
  report's JSON document derived from those responses — criterion shares with Wilson intervals, n, flags and mean
  scores; element and overall indices with linearised 95% intervals; Cronbach's alpha and its n; every child
  unit's index, interval, flags, rank, best and worst rank, the units not significantly different from it (Holm
  over all pairs) and its flagged responses; the Kruskal–Wallis test across child units; the comparison with the
  period before (z-tests, chi-square per criterion); the index of every service field; responses per day; the
  review flags (decided response by response as the fold does) and the most flagged counters; the trend points
  whose months lie in the days read — and the bench fails unless each equals the report of the same period to
  the decimals published. The passes over responses are scaled linearly to the report's response count; the
  tests on aggregates (ranks of 500 units, Kruskal–Wallis from rank sums) are added once, unscaled.

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

from app.organiser.reports import ALPHA as ALPHA_LEVEL  # noqa: E402
from app.organiser.reports import FLAGGED_COUNTERS  # noqa: E402
from app.stats.abuse import BURST_SECONDS, BURST_SIZE, DUPLICATE_SECONDS, FAST_MS  # noqa: E402
from app.stats.satisfaction import SMALL_SAMPLE_N as SMALL_SAMPLE  # noqa: E402
from app.stats.satisfaction import WIDE_HALF_WIDTH  # noqa: E402

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
        start, cpu = time.perf_counter(), time.process_time()
        report = report_for_code(unit, period, now=utcnow())
        document = json.dumps(report_data(report), ensure_ascii=False)
        seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu
    return {"seconds": seconds, "cpu_seconds": cpu_seconds, "responses": report.responses,
            "children": len(report.children), "bytes": len(document)}


@dataclass(frozen=True)
class LoopSetup:
    """What the per-response loop needs besides the rows: the instrument's structure and the report's layout."""

    #: Columns (scale item positions) of each element's criteria, and their union in increasing order.
    elements: tuple[tuple[int, ...], ...]
    union: tuple[int, ...]
    satisfied: frozenset[int]
    min_n: int
    #: Two-sided normal quantile of the 95% intervals.
    z: float
    #: Unit id → child group position; groups are the child units by code, then the report unit itself.
    group_of: dict[int, int]
    group_codes: tuple[str, ...]
    own_group: int
    period: tuple[dt.date, dt.date]
    previous: tuple[dt.date, dt.date]
    #: Trend months or quarters (first day, last day); only those inside the rows read are reproduced.
    buckets: tuple[tuple[dt.date, dt.date], ...]
    field_codes: dict[int, str]
    counter_codes: dict[int, str]


class _Cell:
    """Running sums of one set of respondents (the period, the previous period, a child unit, a field, a month).

    ``estimators`` are the column lists of the composite indices computed for the set: the elements then the
    overall index (the union) for the period totals, the overall index alone elsewhere.
    """

    __slots__ = ("estimators", "full", "responses", "valid", "happy", "touched", "tables", "squares")

    def __init__(self, width: int, estimators: list[tuple[int, ...]], full: bool) -> None:
        self.estimators = estimators
        self.full = full
        self.responses = 0
        self.valid, self.happy = [0] * width, [0] * width
        self.touched = [0] * len(estimators)  # respondents with an answer among an estimator's columns
        self.tables: list[list[tuple[float, float, float]]] = []
        self.squares = [0.0] * len(estimators)  # Σ over respondents of the squared influence


def _estimator_weights(cell: _Cell, elements: tuple[tuple[int, ...], ...], union: tuple[int, ...],
                       width: int) -> list[list[float]]:
    """Return, per estimator of the cell, each criterion's weight c_i in the index Σ c_i·p_i (mean of elements)."""
    element_weights = []
    for columns in elements:
        defined = [c for c in columns if cell.valid[c]]
        weights = [0.0] * width
        for c in defined:
            weights[c] = 1 / len(defined)
        element_weights.append((weights, bool(defined)))
    defined_elements = sum(1 for _, defined in element_weights if defined)
    overall = [0.0] * width
    for weights, defined in element_weights:
        if defined:
            for c in union:
                overall[c] += weights[c] / defined_elements
    return [weights for weights, _ in element_weights] + [overall] if cell.full else [overall]


def _finish_first_pass(cell: _Cell, setup: LoopSetup, width: int) -> None:
    """Build the cell's influence lookup: per estimator and criterion, the influence of (no answer, not
    satisfied, satisfied) answers, c_i/D_i·(s − p_i), where D_i is the criterion's valid answers."""
    for weights in _estimator_weights(cell, setup.elements, setup.union, width):
        table = []
        for c in range(width):
            if cell.valid[c]:
                p = cell.happy[c] / cell.valid[c]
                scale = weights[c] / cell.valid[c]
                table.append((0.0, -scale * p, scale * (1 - p)))
            else:
                table.append((0.0, 0.0, 0.0))
        cell.tables.append(table)


def _cell_figures(cell: _Cell, setup: LoopSetup) -> list[dict]:
    """Return the composite estimates of a cell (elements then overall, or overall alone) in points."""
    shares = [cell.happy[c] / cell.valid[c] if cell.valid[c] else None for c in range(len(cell.valid))]
    element_values = []
    for columns in setup.elements:
        present = [shares[c] for c in columns if shares[c] is not None]
        element_values.append(sum(present) / len(present) if present else None)
    defined = [value for value in element_values if value is not None]
    overall = sum(defined) / len(defined) if defined else None
    values = element_values + [overall] if cell.full else [overall]
    return [_estimate(value, math.sqrt(squares), n, setup, interval="normal")
            for value, squares, n in zip(values, cell.squares, cell.touched)]


def _estimate(value: float | None, se: float | None, n: int, setup: LoopSetup, interval: str) -> dict:
    """Return a published estimate in points: value, n, 95% interval (Wilson or normal, clipped), flags."""
    suppressed = n < setup.min_n
    low = high = None
    if value is not None and not suppressed:
        z = setup.z
        if interval == "wilson":
            z2n = z * z / n
            centre = (value + z2n / 2) / (1 + z2n)
            half = z * math.sqrt(value * (1 - value) / n + z2n / (4 * n)) / (1 + z2n)
            low, high = max(centre - half, 0.0), min(centre + half, 1.0)
        else:
            low, high = min(max(value - z * se, 0.0), 1.0), min(max(value + z * se, 0.0), 1.0)
    flags = []
    if n < SMALL_SAMPLE:
        flags.append("small_sample")
    if low is not None and (high - low) * 100 / 2 > WIDE_HALF_WIDTH:
        flags.append("wide_interval")
    if suppressed:
        flags.append("suppressed")
    points = None if suppressed or value is None else 100 * value
    return {"value": points, "n": n, "ci_low": None if low is None else 100 * low,
            "ci_high": None if high is None else 100 * high, "flags": flags,
            "se": None if suppressed or se is None or value is None else 100 * se}


def _normal_p(z: float) -> float:
    """Two-sided standard normal p-value."""
    return math.erfc(abs(z) / math.sqrt(2))


def _z_test(difference: float, se: float) -> tuple[float | None, float]:
    """z = difference / se and its two-sided p-value; 0/0 gives (None, 1), x/0 gives (±inf, 0)."""
    if se == 0:
        return (None, 1.0) if difference == 0 else (math.copysign(math.inf, difference), 0.0)
    z = difference / se
    return z, _normal_p(z)


def _chi_square_sf(statistic: float, dof: int) -> float:
    """Upper tail of the chi-square distribution: the regularised gamma function Q(dof/2, statistic/2),
    by its series below a + 1 and Lentz's continued fraction above (Numerical Recipes §6.2)."""
    a, x = dof / 2, statistic / 2
    if x <= 0:
        return 1.0
    scale = math.exp(-x + a * math.log(x) - math.lgamma(a))
    if x < a + 1:
        term = total = 1 / a
        k = a
        while abs(term) > abs(total) * 1e-17:
            k += 1
            term *= x / k
            total += term
        return 1 - total * scale
    tiny = 1e-300
    b = x + 1 - a
    c, d = 1 / tiny, 1 / b
    h = d
    for i in range(1, 100_000):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1 / d
        delta = d * c
        h *= delta
        if abs(delta - 1) < 1e-16:
            break
    return scale * h


def _review_flags(rows: list[tuple]) -> list[int]:
    """Return each row's review flags (1 fast, 2 burst, 4 duplicate) from the rows before it at its counter."""
    flags = [0] * len(rows)
    recent_by_device: dict[tuple[int, str], list[dt.datetime]] = {}
    last_by_vector: dict[tuple[int, bytes], dt.datetime] = {}
    burst_window = dt.timedelta(seconds=BURST_SECONDS)
    duplicate_window = dt.timedelta(seconds=DUPLICATE_SECONDS)
    for position in sorted(range(len(rows)), key=lambda r: (rows[r][5], rows[r][0])):
        _, _, counter, _, _, moment, duration, device, scores = rows[position]
        flag = 1 if duration is not None and duration < FAST_MS else 0
        if device:
            recent = recent_by_device.setdefault((counter, device), [])
            if len(recent) >= BURST_SIZE - 1 and moment - recent[-(BURST_SIZE - 1)] <= burst_window:
                flag |= 2
            recent.append(moment)
            del recent[:-(BURST_SIZE - 1)]
        if any(scores):
            earlier = last_by_vector.get((counter, scores))
            if earlier is not None and moment - earlier <= duplicate_window:
                flag |= 4
        last_by_vector[(counter, scores)] = moment
        flags[position] = flag
    return flags


def per_response_loop(rows: list[tuple], setup: LoopSetup) -> tuple[dict, float]:
    """The reference computation of the report's figures, one response at a time in plain Python (no numpy).

    ``rows`` are (id, unit id, counter id, service field id or None, local day, submitted at, duration ms, client
    hash, scores) of the period and the period before it. Two passes over the responses: the first counts valid
    and satisfied answers per criterion for every set of respondents a response belongs to (period total,
    previous period total, child unit, service field, trend month), the answers' sums (criterion means),
    Cronbach's moments of complete respondents, respondents' mean scores per child unit (Kruskal–Wallis), days,
    review flags (decided response by response from the earlier ones at the counter, as the fold does); the second
    adds up each respondent's squared linearised influence on each composite index of each set. Then the tests
    on those aggregates (ranking, Kruskal–Wallis, comparisons, trend) in plain Python. Returns the figures keyed
    as ``published_figures`` names them, and the seconds spent after the two passes (work on aggregates, which
    does not grow with the responses).
    """
    width = len(rows[0][8]) if rows else max(setup.union) + 1
    elements, union, satisfied = setup.elements, setup.union, setup.satisfied
    full_estimators = [*elements, union]
    period_start, period_end = setup.period
    previous_start, previous_end = setup.previous
    flags = _review_flags(rows)

    current, previous = _Cell(width, full_estimators, True), _Cell(width, full_estimators, True)
    children = [_Cell(width, [union], False) for _ in setup.group_codes]
    fields: dict[int, _Cell] = {}
    buckets = [_Cell(width, [union], False) for _ in setup.buckets]
    value_sums = [0] * width
    moments = [[0, [0] * len(cols), [0] * len(cols), 0, 0] for cols in elements]  # n, Σx, Σx², ΣT, ΣT²
    scores_by_group: list[dict[float, int]] = [{} for _ in setup.group_codes]
    daily: dict[dt.date, int] = {}
    flag_counts = [0, 0, 0, 0]  # fast, burst, duplicate, any
    by_counter: dict[int, list[int]] = {}  # responses, fast, burst, duplicate, flagged
    flagged_by_group = [0] * len(setup.group_codes)
    membership = []  # the cells of each row, for the second pass
    bucket_of: dict[dt.date, list[_Cell]] = {}

    for (_, unit_id, counter, field, day, _, _, _, scores), flag in zip(rows, flags):
        in_bucket = bucket_of.get(day)
        if in_bucket is None:
            in_bucket = bucket_of[day] = [cell for cell, (start, end) in zip(buckets, setup.buckets)
                                          if start <= day <= end]
        cells = list(in_bucket)
        if period_start <= day <= period_end:
            group = setup.group_of[unit_id]
            field_cell = fields.get(field or 0)
            if field_cell is None:
                field_cell = fields[field or 0] = _Cell(width, [union], False)
            cells += [current, children[group], field_cell]
            daily[day] = daily.get(day, 0) + 1
            counts = by_counter.setdefault(counter, [0, 0, 0, 0, 0])
            counts[0] += 1
            for position, bit in enumerate((1, 2, 4)):
                if flag & bit:
                    flag_counts[position] += 1
                    counts[position + 1] += 1
            if flag:
                flag_counts[3] += 1
                counts[4] += 1
                flagged_by_group[group] += 1
            answered = 0
            total = 0
            for c in union:
                value = scores[c]
                if value:
                    value_sums[c] += value
                    answered += 1
                    total += value
            if answered:
                mean = total / answered
                tally = scores_by_group[group]
                tally[mean] = tally.get(mean, 0) + 1
            for columns, moment in zip(elements, moments):
                answers = [scores[c] for c in columns]
                if all(answers):
                    element_total = sum(answers)
                    moment[0] += 1
                    for position, value in enumerate(answers):
                        moment[1][position] += value
                        moment[2][position] += value * value
                    moment[3] += element_total
                    moment[4] += element_total * element_total
        elif previous_start <= day <= previous_end:
            cells.append(previous)
        membership.append(cells)
        answered_columns = [c for c in union if scores[c]]
        pleased = [c for c in answered_columns if scores[c] in satisfied]
        touched = [1 if any(scores[c] for c in cols) else 0 for cols in elements] + [1 if answered_columns else 0]
        for cell in cells:
            cell.responses += 1
            valid, happy = cell.valid, cell.happy
            for c in answered_columns:
                valid[c] += 1
            for c in pleased:
                happy[c] += 1
            if cell.full:
                for position, hit in enumerate(touched):
                    cell.touched[position] += hit
            else:
                cell.touched[0] += touched[-1]

    every_cell = [current, previous, *children, *fields.values(), *buckets]
    for cell in every_cell:
        _finish_first_pass(cell, setup, width)
    for (*_, scores), cells in zip(rows, membership):
        codes = [(2 if value in satisfied else 1) if value else 0 for value in scores]
        for cell in cells:
            for position, (columns, table) in enumerate(zip(cell.estimators, cell.tables)):
                influence = 0.0
                for c in columns:
                    influence += table[c][codes[c]]
                cell.squares[position] += influence * influence

    aggregates_start = time.perf_counter()
    figures = _figures_from_sums(current, previous, children, fields, buckets, value_sums, moments, scores_by_group,
                                 daily, flag_counts, by_counter, flagged_by_group, setup)
    return figures, time.perf_counter() - aggregates_start


def _figures_from_sums(current: _Cell, previous: _Cell, children: list[_Cell], fields: dict[int, _Cell],
                       buckets: list[_Cell], value_sums: list[int], moments: list, scores_by_group: list[dict],
                       daily: dict[dt.date, int], flag_counts: list[int], by_counter: dict[int, list[int]],
                       flagged_by_group: list[int], setup: LoopSetup) -> dict:
    """Turn the loop's sums into the published figures (plain Python tests on aggregates)."""
    figures: dict[str, object] = {"responses": current.responses}

    def put(prefix: str, estimate: dict) -> None:
        for key in ("value", "n", "ci_low", "ci_high", "flags"):
            figures[f"{prefix} {key}"] = estimate[key]

    totals = _cell_figures(current, setup)
    put("overall", totals[-1])
    for position, (columns, moment) in enumerate(zip(setup.elements, moments)):
        put(f"element {position}", totals[position])
        n, sums, squares, total, total_squares = moment
        k = len(columns)
        item_variance = sum(n * square - s * s for s, square in zip(sums, squares))
        total_variance = n * total_squares - total * total
        usable = n >= 2 and k >= 2 and total_variance > 0
        figures[f"element {position} alpha"] = k / (k - 1) * (1 - item_variance / total_variance) if usable else None
        figures[f"element {position} alpha_n"] = n
    for c in setup.union:
        n = current.valid[c]
        share = current.happy[c] / n if n else None
        put(f"criterion {c}", _estimate(share, None, n, setup, interval="wilson"))
        figures[f"criterion {c} mean"] = value_sums[c] / n if n >= setup.min_n else None

    # Child units: overall index, rank and the units not significantly different (Holm over all pairs).
    child_estimates = [_cell_figures(cell, setup)[0] for cell in children]
    ranked = [g for g, estimate in enumerate(child_estimates) if estimate["value"] is not None]
    order = sorted(ranked, key=lambda g: -child_estimates[g]["value"])
    rank = {}
    for position, g in enumerate(order):
        previous_unit = order[position - 1] if position else None
        same = previous_unit is not None and child_estimates[previous_unit]["value"] == child_estimates[g]["value"]
        rank[g] = rank[previous_unit] if same else position + 1
    pairs = []
    for first_position, first in enumerate(ranked):
        for second in ranked[first_position + 1:]:
            a, b = child_estimates[first], child_estimates[second]
            pairs.append((_z_test(a["value"] - b["value"], math.hypot(a["se"], b["se"]))[1], first, second))
    different: set[tuple[int, int]] = set()
    stepped = 0.0
    for position, (p, first, second) in enumerate(sorted(pairs, key=lambda pair: pair[0])):
        stepped = max(stepped, (len(pairs) - position) * p)
        if min(stepped, 1.0) < ALPHA_LEVEL:
            different.update(((first, second), (second, first)))
    listed = order + [g for g in range(len(children)) if g not in rank]
    figures["children order"] = [setup.group_codes[g] for g in listed
                                 if not (g == setup.own_group and child_estimates[g]["n"] == 0)]
    for g in listed:
        code, estimate = setup.group_codes[g], child_estimates[g]
        if g == setup.own_group and estimate["n"] == 0:
            continue
        put(f"child {code}", estimate)
        value = estimate["value"]
        higher = sum(1 for other in ranked if (g, other) in different and child_estimates[other]["value"] > value)
        lower = sum(1 for other in ranked if (g, other) in different and child_estimates[other]["value"] < value)
        figures[f"child {code} rank"] = rank.get(g)
        figures[f"child {code} best_rank"] = 1 + higher if g in rank else None
        figures[f"child {code} worst_rank"] = len(ranked) - lower if g in rank else None
        figures[f"child {code} not_different_from"] = (
            [setup.group_codes[other] for other in order if other != g and (g, other) not in different]
            if g in rank else [])
        figures[f"child {code} flagged"] = flagged_by_group[g]

    figures.update(_kruskal_wallis(scores_by_group))

    # The period before: z-tests of the composite indices, chi-square of each criterion's share.
    before = _cell_figures(previous, setup)
    figures["comparison responses"] = previous.responses
    for label, old, new in [("overall", before[-1], totals[-1])] + [
            (f"element {e}", before[e], totals[e]) for e in range(len(setup.elements))]:
        prefix = f"comparison {label}"
        figures[f"{prefix} previous"], figures[f"{prefix} current"] = old["value"], new["value"]
        if old["value"] is None or new["value"] is None:
            difference = se = None
        else:
            difference, se = new["value"] - old["value"], math.hypot(old["se"], new["se"])
        statistic, p = _z_test(difference, se) if difference is not None else (None, None)
        figures[f"{prefix} difference"] = difference
        figures[f"{prefix} ci_low"] = None if difference is None else difference - setup.z * se
        figures[f"{prefix} ci_high"] = None if difference is None else difference + setup.z * se
        figures[f"{prefix} statistic"], figures[f"{prefix} p_value"] = statistic, p
    for c in setup.union:
        prefix = f"comparison criterion {c}"
        old_n, new_n, old_s, new_s = previous.valid[c], current.valid[c], previous.happy[c], current.happy[c]
        old_value = 100 * old_s / old_n if old_n >= setup.min_n else None
        new_value = 100 * new_s / new_n if new_n >= setup.min_n else None
        figures[f"{prefix} previous"], figures[f"{prefix} current"] = old_value, new_value
        figures[f"{prefix} difference"] = (None if old_value is None or new_value is None
                                           else round(new_value, 2) - round(old_value, 2))
        statistic = p = None
        n, happy = old_n + new_n, old_s + new_s
        if old_n and new_n and 0 < happy < n:
            statistic = n * (old_s * (new_n - new_s) - new_s * (old_n - old_s)) ** 2 / (
                happy * (n - happy) * old_n * new_n)
            p = math.erfc(math.sqrt(statistic / 2))
        figures[f"{prefix} statistic"], figures[f"{prefix} p_value"] = statistic, p

    # Trend points (months or quarters) and the weighted least-squares slope over them.
    points = [_cell_figures(cell, setup)[0] for cell in buckets]
    for (start, _), point in zip(setup.buckets, points):
        put(f"trend {start.isoformat()}", point)
    kept = [(t, point) for t, point in enumerate(points) if point["value"] is not None and point["se"]]
    slope = slope_se = slope_p = None
    if len(kept) >= 2:
        weights = [1 / point["se"] ** 2 for _, point in kept]
        centre = sum(w * t for w, (t, _) in zip(weights, kept)) / sum(weights)
        spread = sum(w * (t - centre) ** 2 for w, (t, _) in zip(weights, kept))
        if spread > 0:
            slope = sum(w * (t - centre) * point["value"] for w, (t, point) in zip(weights, kept)) / spread
            slope_se = 1 / math.sqrt(spread)
            slope_p = _z_test(slope, slope_se)[1]
    figures["trend slope"], figures["trend slope_se"], figures["trend p_value"] = slope, slope_se, slope_p

    field_estimates = {setup.field_codes.get(field, ""): _cell_figures(cell, setup)[0]
                       for field, cell in fields.items()}
    figures["service_fields order"] = sorted(field_estimates, key=lambda code: (-field_estimates[code]["n"], code))
    for code, estimate in field_estimates.items():
        put(f"field {code}", estimate)

    day = setup.period[0]
    while day <= setup.period[1]:
        figures[f"daily {day.isoformat()}"] = daily.get(day, 0)
        day += dt.timedelta(days=1)
    for name, count in zip(("fast", "burst", "duplicate", "flagged"), flag_counts):
        figures[f"review_flags {name}"] = count
    figures["review_flags responses"] = current.responses
    worst = sorted((counter for counter, counts in by_counter.items() if counts[4]),
                   key=lambda counter: (-by_counter[counter][4], counter))[:FLAGGED_COUNTERS]
    figures["review_flags counters"] = [setup.counter_codes[counter] for counter in worst]
    for counter in worst:
        for name, count in zip(("responses", "fast", "burst", "duplicate", "flagged"), by_counter[counter]):
            figures[f"review_flags counter {setup.counter_codes[counter]} {name}"] = count
    return figures


def _kruskal_wallis(scores_by_group: list[dict[float, int]]) -> dict:
    """Kruskal–Wallis H (tie-corrected) of respondents' mean scores across child units, its chi-square p-value
    (plain-Python regularised gamma function) and epsilon-squared."""
    sizes = [sum(tally.values()) for tally in scores_by_group]
    kept = [g for g, size in enumerate(sizes) if size]
    n = sum(sizes)
    everyone: dict[float, int] = {}
    for tally in scores_by_group:
        for score, count in tally.items():
            everyone[score] = everyone.get(score, 0) + count
    statistic = p = epsilon = None
    if len(kept) >= 2 and len(everyone) > 1:
        mid_rank, below, ties = {}, 0, 0
        for score in sorted(everyone):
            count = everyone[score]
            mid_rank[score] = below + (count + 1) / 2
            below += count
            ties += count ** 3 - count
        spread = sum(sum(count * mid_rank[score] for score, count in scores_by_group[g].items()) ** 2 / sizes[g]
                     for g in kept)
        statistic = (12 / (n * (n + 1)) * spread - 3 * (n + 1)) / (1 - ties / (n ** 3 - n))
        p = _chi_square_sf(statistic, len(kept) - 1)
        epsilon = statistic / (n - 1)
    return {"children_test statistic": statistic, "children_test dof": max(len(kept) - 1, 0),
            "children_test p_value": p, "children_test effect": epsilon, "children_test n": n}


def child_loop(url: str, secret: str, unit: str, period: str) -> dict:
    """Time the per-response loop over `period` (and the period before it) and check its figures against the
    report of that period."""
    import sqlalchemy as sa

    from app.database import utcnow
    from app.extensions import db
    from app.organiser.report_files import report_data
    from app.organiser.reports import report_for_code, trend_periods
    from app.periods import parse_period
    from app.surveys.models import SurveyResponse
    from app.surveys.services import current_version_id, get_instrument
    from app.units.models import Counter, ServiceField, Unit

    app = _app(url, secret)
    with app.app_context():
        report = report_for_code(unit, period, now=utcnow())
        document = report_data(report)
        root = db.session.scalar(sa.select(Unit).where(Unit.code == unit))
        units = db.session.execute(sa.select(Unit.id, Unit.code, Unit.path, Unit.parent_id)
                                   .where(Unit.is_within(root))).all()
        depth = len(root.path.strip("/").split("/"))
        codes = sorted(row.code for row in units if row.parent_id == root.id) + [root.code]
        position = {code: index for index, code in enumerate(codes)}
        code_by_id = {row.id: row.code for row in units}
        group_of = {}
        for row in units:
            parts = row.path.strip("/").split("/")
            group_of[row.id] = position[code_by_id[int(parts[depth])]] if len(parts) > depth else len(codes) - 1
        version = current_version_id("sipas-counter")
        instrument = get_instrument(version)
        chosen = parse_period(period)
        before = chosen.previous()
        aggregation = instrument.aggregation
        if (aggregation.element_rule, aggregation.overall_rule, aggregation.unit_rule) != (
                "mean", "mean_of_elements", "pooled"):
            raise ValueError("the per-response loop follows the bench instrument's rules: mean, mean of elements, "
                             "pooled units")
        setup = LoopSetup(
            elements=instrument.element_columns,
            union=tuple(sorted({c for columns in instrument.element_columns for c in columns})),
            satisfied=frozenset(aggregation.satisfied), min_n=aggregation.min_n,
            z=statistics.NormalDist().inv_cdf(0.975), group_of=group_of, group_codes=tuple(codes),
            own_group=len(codes) - 1, period=(chosen.start, chosen.end), previous=(before.start, before.end),
            buckets=tuple((bucket.start, bucket.end) for bucket in
                          trend_periods(chosen, "month" if chosen.days <= 184 else "quarter")),
            field_codes=dict(db.session.execute(sa.select(ServiceField.id, ServiceField.code)).all()),
            counter_codes=dict(db.session.execute(sa.select(Counter.id, Counter.code)).all()),
        )
        response = SurveyResponse.__table__.c
        statement = (sa.select(response.id, response.unit_id, response.counter_id, response.service_field_id,
                               response.local_day, response.submitted_at, response.duration_ms,
                               response.client_hash, response.scores)
                     .where(response.instrument_version_id == version,
                            response.local_day.between(before.start, chosen.end),
                            response.unit_id.in_([row.id for row in units])))
        db.session.remove()
        start, cpu = time.perf_counter(), time.process_time()
        rows = db.session.execute(statement).all()
        fetched = time.perf_counter()
        figures, aggregate_seconds = per_response_loop(rows, setup)
        seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu
    covered = {start.isoformat() for start, end in setup.buckets if start >= before.start}
    problems, checked = compare(figures, document, instrument, covered)
    return {"seconds": seconds, "cpu_seconds": cpu_seconds, "fetch_seconds": fetched - start, "aggregate_seconds": aggregate_seconds,
            "responses": len(rows), "period_responses": figures["responses"],
            "report_responses": report.responses + (report.comparison.previous_responses if report.comparison else 0),
            "problems": problems[:10], "checked": checked}


def published_figures(document: dict, instrument, covered_buckets: set[str]) -> list[tuple[str, object, int | None]]:
    """Return (name, value, decimals) of every figure of the report's JSON document derived from the responses of
    the period and the period before (decimals None: compared exactly).

    Trend points are included for the months or quarters whose days the loop reads (``covered_buckets``), the
    slope only when every point is. Weighted indices and the per-dossier rating are absent from the bench
    province; a document that has them is reported as not reproduced.
    """
    column = {item.code: index for index, item in enumerate(instrument.scale_items)}
    element_position = {section.code: e for e, section in enumerate(instrument.elements)}
    figures: list[tuple[str, object, int | None]] = [("responses", document["responses"], None)]

    def cell(prefix: str, entry: dict) -> None:
        figures.extend([(f"{prefix} value", entry["value"], 2), (f"{prefix} n", entry["n"], None),
                        (f"{prefix} ci_low", entry["ci_low"], 2), (f"{prefix} ci_high", entry["ci_high"], 2),
                        (f"{prefix} flags", entry["flags"], None)])

    def change(prefix: str, entry: dict) -> None:
        figures.extend([(f"{prefix} {key}", entry[key], 2) for key in ("previous", "current", "difference")])
        if entry["test"] == "z":
            figures.extend([(f"{prefix} {key}", entry[key], 2) for key in ("ci_low", "ci_high")])
        figures.extend([(f"{prefix} statistic", entry["statistic"], 4), (f"{prefix} p_value", entry["p_value"], 6)])

    cell("overall", document["overall"])
    for entry in document["elements"]:
        prefix = f"element {element_position[entry['code']]}"
        cell(prefix, entry)
        figures.extend([(f"{prefix} alpha", entry["alpha"], 3), (f"{prefix} alpha_n", entry["alpha_n"], None)])
    for entry in document["criteria"]:
        prefix = f"criterion {column[entry['code']]}"
        cell(prefix, entry)
        figures.append((f"{prefix} mean", entry["mean"], 2))
    figures.append(("children order", [entry["unit"] for entry in document["children"]], None))
    for entry in document["children"]:
        prefix = f"child {entry['unit']}"
        cell(prefix, entry)
        figures.extend([(f"{prefix} {key}", entry[key], None)
                        for key in ("rank", "best_rank", "worst_rank", "not_different_from", "flagged")])
    test = document["children_test"]
    if test is not None:
        figures.extend([("children_test statistic", test["statistic"], 4), ("children_test dof", test["dof"], None),
                        ("children_test p_value", test["p_value"], 6), ("children_test effect", test["effect"], 4),
                        ("children_test n", test["n"], None)])
    comparison = document["comparison"]
    if comparison is not None:
        figures.append(("comparison responses", comparison["responses"], None))
        change("comparison overall", comparison["overall"])
        for entry in comparison["elements"]:
            change(f"comparison element {element_position[entry['code']]}", entry)
        for entry in comparison["criteria"]:
            change(f"comparison criterion {column[entry['code']]}", entry)
    trend = document["trend"]
    for point in trend["points"]:
        if point["start"] in covered_buckets:
            cell(f"trend {point['start']}", point)
    if len(covered_buckets) == len(trend["points"]):
        figures.extend([(f"trend {key}", trend[key], 6 if key == "p_value" else 4)
                        for key in ("slope", "slope_se", "p_value")])
    figures.append(("service_fields order", [entry["code"] for entry in document["service_fields"]], None))
    for entry in document["service_fields"]:
        cell(f"field {entry['code']}", entry)
    figures.extend((f"daily {entry['date']}", entry["responses"], None) for entry in document["daily"])
    flags = document["review_flags"]
    figures.extend((f"review_flags {key}", flags[key], None)
                   for key in ("responses", "fast", "burst", "duplicate", "flagged"))
    figures.append(("review_flags counters", [entry["code"] for entry in flags["counters"]], None))
    for entry in flags["counters"]:
        figures.extend((f"review_flags counter {entry['code']} {key}", entry[key], None)
                       for key in ("responses", "fast", "burst", "duplicate", "flagged"))
    for part in ("weighted", "dossier"):
        if document[part] is not None:
            figures.append((part, "present", None))
    return figures


def compare(loop: dict, document: dict, instrument, covered_buckets: set[str]) -> tuple[list[str], int]:
    """Return every published figure the loop does not reproduce (to the decimals published), and how many
    figures were compared."""
    problems = []
    figures = published_figures(document, instrument, covered_buckets)
    for name, published, decimals in figures:
        if name not in loop:
            problems.append(f"{name}: report {published}, not computed by the loop")
            continue
        computed = loop[name]
        if published is None and computed is None:
            continue
        if decimals is None or published is None or computed is None:
            same = published == computed
        else:
            same = math.isfinite(computed) and abs(published - computed) <= 0.5 * 10 ** -decimals + 1e-9
        if not same:
            problems.append(f"{name}: report {published}, loop {computed}")
    return problems, len(figures)


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
    if kind == "postgresql" and os.environ.get("BENCH_PROVINCE_URL"):
        _provinces[kind] = _reused_province()
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


def _reused_province() -> Province:
    """A copy of the province in BENCH_PROVINCE_URL (secret BENCH_PROVINCE_SECRET) instead of a new build, for
    iterating on the report sections: copied (CREATE DATABASE … TEMPLATE, so the original is never changed; it
    needs nobody connected to it), brought to the schema head, dropped when the run ends."""
    import uuid

    import sqlalchemy as sa
    from harness import RESOURCES, BenchError, _admin_engine

    source = os.environ["BENCH_PROVINCE_URL"]
    secret = os.environ.get("BENCH_PROVINCE_SECRET")
    if not secret:
        raise BenchError("BENCH_PROVINCE_URL needs BENCH_PROVINCE_SECRET (the SECRET_KEY it was built with)")
    name = f"hailong_bench_reused_{uuid.uuid4().hex[:8]}"
    engine = _admin_engine()
    for attempt in range(10):
        try:
            with engine.connect() as connection:
                connection.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{source.rsplit("/", 1)[1]}"'))
            break
        except sa.exc.OperationalError as error:  # someone is connected to the source: wait and retry
            if attempt == 9:
                raise BenchError(f"cannot copy {source}: {error.orig}") from None
            time.sleep(3)

    def drop() -> None:
        with engine.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()

    RESOURCES.callback(drop)
    url = source.rsplit("/", 1)[0] + f"/{name}"
    print(f"  reusing the province of {source} (copied to {name})", flush=True)
    run_flask(["init-db"], url, secret)
    run_flask(["report", "refresh"], url, secret)  # a migration may have asked for a rebuild of the aggregates
    check = sa.create_engine(url)
    try:
        with check.connect() as connection:
            code = connection.execute(sa.text("SELECT code FROM units WHERE parent_id IS NULL ORDER BY id")).scalar()
    finally:
        check.dispose()
    days = day_range(url)
    return Province("postgresql", url, secret, code, f"{days[0][0].isoformat()}..{days[-1][0].isoformat()}",
                    sum(count for _, count in days), 0.0, 0.0)


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
        # The passes over responses grow with them; the tests on the aggregates (ranks of 500 units…) do not.
        per_response = loop["seconds"] - loop["aggregate_seconds"]
        loop_scaled = per_response * RESPONSES / loop["responses"] + loop["aggregate_seconds"]
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
                  note=f"loop over {loop['responses']:,} responses ({subset} and the period before it, "
                       f"{loop['period_responses']:,} in {subset}): {loop['seconds']:.2f} s (fetch "
                       f"{loop['fetch_seconds']:.2f} s, tests on aggregates {loop['aggregate_seconds']:.2f} s), "
                       f"passes over responses scaled ×{RESPONSES / loop['responses']:.1f} to {RESPONSES:,}; "
                       f"the same {loop['checked']:,} published figures as the report of {subset}"),
        ]
    return entries


if __name__ == "__main__":
    command, *arguments = sys.argv[1:]
    function = {"report": child_report, "loop": child_loop}[command]
    print(json.dumps(function(*arguments)))
