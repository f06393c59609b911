"""Issue 14: the periodic report as an official document (DOCX, and the PDF LibreOffice converts it to) for the
province with 1,000,000 responses and a contest of 200,000 attempts, SQLite and PostgreSQL.

In a child process: the province the SIPAS section built (bench/sipas_bench.py; built here when run alone), with the
contest's attempts added by `flask synth --attempts` (as the contest section does, once per database), then
``periodic_report_file`` (the one call a job makes) for the whole period of data, every report and contest-results
cache emptied first (a first request). DOCX: the median of DOCUMENT_RUNS. PDF: as a job worker makes it, on the
process's resident LibreOffice (``app.documents.listener``): first the worker's first PDF, which starts the listener
while it gathers the report and waits for it (its own entry, once per worker), then the median of DOCUMENT_RUNS on
the warm listener. The document must name the contest and the headline index.

BENCH_PROVINCE_URL and BENCH_PROVINCE_SECRET (optional BENCH_PROVINCE_CODE, default BENCH) measure an existing
province instead, read only, on its database alone, for iteration: it must hold its contest attempts already.
"""
from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

DOCUMENT_RUNS = 3
TARGET_S = 5
ATTEMPTS = 200_000
#: Longest the bench waits for the resident LibreOffice to answer after the first PDF.
LISTENER_READY_S = 60


def child_document(url: str, secret: str, unit_code: str, period: str) -> dict:
    """Time the periodic report's DOCX, the first PDF of a worker and its PDFs on the warm listener."""
    import io
    from zoneinfo import ZoneInfo

    from docx import Document

    from app import cache, create_app
    from app.database import utcnow
    from app.documents.listener import resident_listener
    from app.documents.pdf import find_soffice
    from app.documents.services import periodic_report_file
    from app.periods import parse_period
    from app.units.services import get_unit_by_code

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": secret})
    soffice = find_soffice("auto")
    if soffice is None:
        raise SystemExit("LibreOffice (soffice) is not installed: the PDF is its conversion of the DOCX")
    listener = resident_listener(soffice)
    seconds: dict[str, list[float]] = {"docx": [], "pdf_first": [], "pdf": []}
    load = os.getloadavg()[0]
    sizes = {}
    with app.app_context():
        unit, chosen = get_unit_by_code(unit_code), parse_period(period)

        def timed(key: str, fmt: str) -> tuple:
            cache.caches.clear()
            began = time.perf_counter()
            document, data = periodic_report_file(unit, chosen, fmt, now=utcnow(), zone=ZoneInfo(app.config["TIMEZONE"]),
                                                  soffice=soffice, listener=listener)
            seconds[key].append(time.perf_counter() - began)
            sizes[key] = len(data)
            return document, data

        for _ in range(DOCUMENT_RUNS):
            document, data = timed("docx", "docx")
        text = "\n".join(p.text for p in Document(io.BytesIO(data)).paragraphs)
        if "Cuộc thi tổng hợp" not in text or f"đạt {document.headline.overall}" not in text:
            raise SystemExit("the document lacks the contest or the headline index")
        _, data = timed("pdf_first", "pdf")
        if not data.startswith(b"%PDF"):
            raise SystemExit("the first PDF conversion gave no PDF")
        if not listener.wait_ready(LISTENER_READY_S):
            raise SystemExit(f"the resident LibreOffice did not answer within {LISTENER_READY_S} s")
        for _ in range(DOCUMENT_RUNS):
            _, data = timed("pdf", "pdf")
            if not data.startswith(b"%PDF"):
                raise SystemExit("the PDF conversion gave no PDF")
    listener.stop()
    return {"seconds": seconds, "bytes": sizes, "load": [load, os.getloadavg()[0]]}


_with_attempts: set[str] = set()


def _given_province():
    """The province named by BENCH_PROVINCE_URL and BENCH_PROVINCE_SECRET, or None."""
    import sipas_bench

    url, secret = os.environ.get("BENCH_PROVINCE_URL"), os.environ.get("BENCH_PROVINCE_SECRET")
    if not url:
        return None
    if not secret:
        raise SystemExit("BENCH_PROVINCE_URL needs BENCH_PROVINCE_SECRET (the SECRET_KEY it was built with)")
    days = sipas_bench.day_range(url)
    return sipas_bench.Province("postgresql" if url.startswith("postgresql") else "sqlite", url, secret,
                                os.environ.get("BENCH_PROVINCE_CODE", "BENCH"),
                                f"{days[0][0].isoformat()}..{days[-1][0].isoformat()}", sum(n for _, n in days), 0, 0)


def run() -> list:
    """Measure the periodic report documents on each database; return the entries of issue 14."""
    import sipas_bench
    from harness import entry, failed_entry, postgres_available, run_child, spread

    given = _given_province()
    entries = []
    for kind, label in (("sqlite", "SQLite"), ("postgresql", "PostgreSQL")):
        if given is not None and given.kind != kind:
            continue
        name = (f"periodic report document, {sipas_bench.RESPONSES:,} responses + {ATTEMPTS:,} contest attempts, "
                f"{label}")
        unavailable = postgres_available() if kind == "postgresql" and given is None else None
        if unavailable:
            entries += [failed_entry(f"{name}: {fmt}", "s", f"value < {TARGET_S}", unavailable)
                        for fmt in ("DOCX", "PDF")]
            continue
        place = given or sipas_bench.province(kind)
        if given is None and kind not in _with_attempts:
            sipas_bench.run_flask(["synth", "--attempts", str(ATTEMPTS), "--seed", "2"], place.url, place.secret)
            _with_attempts.add(kind)
        result, memory = run_child("bench/documents_bench.py", [place.url, place.secret, place.code, place.period])
        common = (f"caches emptied before each run; period {place.period}; load average (1 min) "
                  f"{result['load'][0]:.1f} before, {result['load'][1]:.1f} after"
                  + ("; the province of BENCH_PROVINCE_URL" if given else "") + f"; peak RSS {memory:.0f} MB")
        seconds, sizes = result["seconds"], result["bytes"]
        entries.append(entry(f"{name}: DOCX", statistics.median(seconds["docx"]), "s", target=f"value < {TARGET_S}",
                             note=f"{spread(seconds['docx'], '{:.2f}')}; {sizes['docx']:,} bytes; {common}"))
        entries.append(entry(
            f"{name}: PDF (LibreOffice conversion of the DOCX, on the job worker's resident LibreOffice)",
            statistics.median(seconds["pdf"]), "s", target=f"value < {TARGET_S}",
            note=f"{spread(seconds['pdf'], '{:.2f}')} once the worker's listener answers (every PDF but a worker's "
                 f"first); {sizes['pdf']:,} bytes; {common}"))
        entries.append(entry(
            f"{name}: first PDF of a job worker (LibreOffice starting)", seconds["pdf_first"][0], "s",
            note="once per worker process: the job starts the resident LibreOffice while it gathers the report, then "
                 f"waits for it to answer (4–6 s after its start) and converts; 1 run; {common}"))
    return entries


if __name__ == "__main__":
    print(json.dumps(child_document(*sys.argv[1:])))
