"""Issue 14: the periodic report as an official document (DOCX, and the PDF LibreOffice converts it to) for the
province with 1,000,000 responses and a contest of 200,000 attempts, SQLite and PostgreSQL.

In a child process: the province the SIPAS section built (bench/sipas_bench.py; built here when run alone), with the
contest's attempts added by `flask synth --attempts` (as the contest section does, once per database), then
``periodic_report_file`` (the one call a web download or a job makes) for the whole period of data, DOCX and PDF,
DOCUMENT_RUNS times each with every report and contest-results cache emptied first (a first request). The figure is
the median; the document must name the contest and the headline index.
"""
from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

DOCUMENT_RUNS = 3
TARGET_S = 5
ATTEMPTS = 200_000


def child_document(url: str, secret: str, unit_code: str, period: str) -> dict:
    """Time the periodic report's DOCX and PDF, caches emptied before each run."""
    import io
    from zoneinfo import ZoneInfo

    from docx import Document

    from app import cache, create_app
    from app.database import utcnow
    from app.documents.pdf import find_soffice
    from app.documents.services import periodic_report_file
    from app.periods import parse_period
    from app.units.services import get_unit_by_code

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": secret})
    soffice = find_soffice("auto")
    if soffice is None:
        raise SystemExit("LibreOffice (soffice) is not installed: the PDF is its conversion of the DOCX")
    seconds: dict[str, list[float]] = {"docx": [], "pdf": []}
    sizes = {}
    with app.app_context():
        unit, chosen = get_unit_by_code(unit_code), parse_period(period)
        for fmt in ("docx", "pdf"):
            for _ in range(DOCUMENT_RUNS):
                cache.caches.clear()
                began = time.perf_counter()
                document, data = periodic_report_file(unit, chosen, fmt, now=utcnow(),
                                                      zone=ZoneInfo(app.config["TIMEZONE"]), soffice=soffice)
                seconds[fmt].append(time.perf_counter() - began)
                sizes[fmt] = len(data)
            if fmt == "docx":
                text = "\n".join(p.text for p in Document(io.BytesIO(data)).paragraphs)
                if "Cuộc thi tổng hợp" not in text or f"đạt {document.headline.overall}" not in text:
                    raise SystemExit("the document lacks the contest or the headline index")
            elif not data.startswith(b"%PDF"):
                raise SystemExit("the PDF conversion gave no PDF")
    return {"seconds": seconds, "bytes": sizes}


_with_attempts: set[str] = set()


def run() -> list:
    """Measure the periodic report documents on each database; return the entries of issue 14."""
    import sipas_bench
    from harness import entry, failed_entry, postgres_available, run_child, spread

    entries = []
    for kind, label in (("sqlite", "SQLite"), ("postgresql", "PostgreSQL")):
        name = (f"periodic report document, {sipas_bench.RESPONSES:,} responses + {ATTEMPTS:,} contest attempts, "
                f"{label}")
        unavailable = postgres_available() if kind == "postgresql" else None
        if unavailable:
            entries += [failed_entry(f"{name}: {fmt}", "s", f"value < {TARGET_S}", unavailable)
                        for fmt in ("DOCX", "PDF")]
            continue
        place = sipas_bench.province(kind)
        if kind not in _with_attempts:
            sipas_bench.run_flask(["synth", "--attempts", str(ATTEMPTS), "--seed", "2"], place.url, place.secret)
            _with_attempts.add(kind)
        result, memory = run_child("bench/documents_bench.py", [place.url, place.secret, place.code, place.period])
        for fmt, label_fmt in (("docx", "DOCX"), ("pdf", "PDF (LibreOffice conversion of the DOCX)")):
            values = result["seconds"][fmt]
            entries.append(entry(f"{name}: {label_fmt}", statistics.median(values), "s", target=f"value < {TARGET_S}",
                                 note=f"{spread(values, '{:.2f}')}; caches emptied before each run; period "
                                      f"{place.period}; {result['bytes'][fmt]:,} bytes; peak RSS {memory:.0f} MB"))
    return entries


if __name__ == "__main__":
    print(json.dumps(child_document(*sys.argv[1:])))
