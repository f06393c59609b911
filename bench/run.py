"""`make bench`: run the benchmark sections, print the table and write bench/results.json.

Usage: .venv/bin/python bench/run.py [--only survey,qr,…] [--rounds N] [--seconds S] [--quick]
Every figure is an entry {name, value, unit, reference, ratio, target, ok, note}; see bench/README.md for what
each means. Exit status: 0 when every target was met, 1 when a target was missed or a section failed.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))
sys.path.insert(0, str(BENCH))

import harness  # noqa: E402
from harness import BenchError, Entry, ensure_wrk, failed_entry  # noqa: E402

RESULTS = BENCH / "results.json"


def _survey(options: argparse.Namespace) -> list[Entry]:
    import survey_bench

    ensure_wrk()
    return survey_bench.run(options.rounds, options.seconds, options.warmup)


def _qr(options: argparse.Namespace) -> list[Entry]:
    import qr_bench

    return qr_bench.run()


def _sipas(options: argparse.Namespace) -> list[Entry]:
    import sipas_bench

    return sipas_bench.run()


def _dashboard(options: argparse.Namespace) -> list[Entry]:
    import dashboard_bench

    return dashboard_bench.run()


def _aggregates(options: argparse.Namespace) -> list[Entry]:
    import aggregates_bench

    return aggregates_bench.run()


def _contest(options: argparse.Namespace) -> list[Entry]:
    import contest_bench

    ensure_wrk()
    return contest_bench.run(options.seconds)


def _documents(options: argparse.Namespace) -> list[Entry]:
    import documents_bench

    return documents_bench.run()


def _portal(options: argparse.Namespace) -> list[Entry]:
    import portal_bench

    ensure_wrk()
    return portal_bench.run(options.rounds, options.seconds, options.warmup)


def _jobs(options: argparse.Namespace) -> list[Entry]:
    import jobs_bench

    return jobs_bench.run(options.quick, options.seconds)


#: Section name → (what it measures, function). Order is the order of `make bench`.
SECTIONS: dict[str, tuple[str, Callable[[argparse.Namespace], list[Entry]]]] = {
    "survey": ("issue 2: survey GET/POST throughput vs bare Flask, SQLite and PostgreSQL", _survey),
    "qr": ("issue 2: QR poster sheet for 500 counters vs the QR codes alone", _qr),
    "sipas": ("issue 3: SIPAS report over 1,000,000 responses vs a per-response Python loop", _sipas),
    "dashboard": ("issue 4: organiser dashboard of the province with 1,000,000 responses", _dashboard),
    "aggregates": ("issue 16: report and dashboard from cells at 1,000,000 and 5,000,000 responses, PostgreSQL",
                   _aggregates),
    "contest": ("issue 5: contest deadline surge under gunicorn; ranking + item analysis of 200,000 attempts",
                _contest),
    "documents": ("issue 14: the periodic report as DOCX and PDF for the province with 1,000,000 responses and "
                  "200,000 contest attempts", _documents),
    "portal": ("issue 13: public home, contest list, results page and share image vs bare Flask under gunicorn",
               _portal),
    "jobs": ("issue 16: exports as jobs (rows/s), survey GET p99 while exports run, contest results export", _jobs),
}


def format_table(entries: list[Entry]) -> str:
    """Render the entries as a fixed-width table."""
    rows = [("figure", "value", "unit", "reference", "ratio", "target", "ok")]
    for item in entries:
        rows.append((item.name, _number(item.value), item.unit, _number(item.reference),
                     "" if item.ratio is None else f"{item.ratio:.3f}", item.target or "–",
                     {True: "yes", False: "NO", None: "–"}[item.ok]))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(width) if i in (0, 2, 5) else cell.rjust(width)
                       for i, (cell, width) in enumerate(zip(row, widths))) for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    notes = [f"  {item.name}: {item.note}" for item in entries if item.note]
    return "\n".join(lines + ["", "notes:"] + notes)


def _number(value: float | None) -> str:
    if value is None:
        return "–"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}" if abs(value) < 10 else f"{value:.1f}"


def main() -> int:
    """Run the chosen sections; a failing section is reported and the others still run."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--only", help=f"comma-separated sections: {','.join(SECTIONS)}")
    parser.add_argument("--rounds", type=int, default=3, help="repetitions of each HTTP cell (median reported)")
    parser.add_argument("--seconds", type=float, default=10.0, help="duration of each HTTP cell")
    parser.add_argument("--warmup", type=float, default=2.0, help="warm-up before each HTTP cell")
    parser.add_argument("--quiet-wait", type=float, default=15.0,
                        help="before each measured cell, wait up to this many seconds for other processes to calm down")
    parser.add_argument("--quick", action="store_true", help="1 round of 5 s (a smoke test, not a measurement)")
    options = parser.parse_args()
    harness.QUIET_WAIT = options.quiet_wait
    if options.quick:
        options.rounds, options.seconds, options.warmup = 1, 5.0, 1.0
    chosen = options.only.split(",") if options.only else list(SECTIONS)
    unknown = [name for name in chosen if name not in SECTIONS]
    if unknown:
        parser.error(f"unknown section(s) {', '.join(unknown)}; choose from {', '.join(SECTIONS)}")
    entries: list[Entry] = []
    with harness.RESOURCES:
        failed = _run_sections(chosen, options, entries)
    RESULTS.write_text(json.dumps([item.as_dict() for item in entries], ensure_ascii=False, indent=2) + "\n")
    print()
    print(format_table(entries))
    print(f"\nwritten: {RESULTS.relative_to(BENCH.parent)}")
    return 1 if failed or any(item.ok is False for item in entries) else 0


def _run_sections(chosen: list[str], options: argparse.Namespace, entries: list[Entry]) -> bool:
    """Run each chosen section, appending its entries; return True when one failed."""
    failed = False
    for name in chosen:
        title, function = SECTIONS[name]
        print(f"[{name}] {title}", flush=True)
        start = time.monotonic()
        try:
            entries += function(options)
        except BenchError as error:
            failed = True
            entries.append(failed_entry(f"section {name}", "", "value == 0", f"failed: {error}"))
            print(f"[{name}] FAILED: {error}", file=sys.stderr, flush=True)
        except Exception as error:  # a crash in one section must not lose the others' figures
            failed = True
            traceback.print_exc()
            entries.append(failed_entry(f"section {name}", "", "value == 0", f"crashed: {error!r}"))
        print(f"[{name}] {time.monotonic() - start:.0f} s", flush=True)
    return failed


if __name__ == "__main__":
    sys.exit(main())
