"""Issue 4: the organiser dashboard of the province with 1,000,000 responses, server time, SQLite and PostgreSQL.

In a child process with the Flask test client (no HTTP, so the figure is server time): an organiser of the
province signs in through the real login form, then the dashboard page for every day of data is requested
DASHBOARD_RUNS times. Before each request the dashboard's short-lived report cache is emptied, so every run
computes the report (a first visit); each run also fetches the page's chart images (separate SVG responses that
reuse the report the page computed). Two figures: the page, and the page with its charts (medians).
The province is the one the SIPAS section built (bench/sipas_bench.py), or is built here when run alone.
"""
from __future__ import annotations

import html
import json
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

DASHBOARD_RUNS = 5
TARGET_S = 2
PASSWORD = "Đo-hiệu-năng-bảng-điều-khiển-2026"


def organiser_email(unit_code: str) -> str:
    """The bench organiser of a unit (one per unit: the province's and the nation's)."""
    return f"bench-organiser-{unit_code.lower()}@example.vn"


def child_dashboard(url: str, secret: str, unit_code: str, period: str) -> dict:
    """Sign in and time the dashboard (uncached report) and its charts."""
    from app import create_app
    from app.auth.services import create_organiser
    from app.database import utcnow
    from app.extensions import db
    from app import cache
    from app.units.services import get_unit_by_code

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": secret})
    email = organiser_email(unit_code)
    with app.app_context():
        unit = get_unit_by_code(unit_code)
        unit_id, unit_name = unit.id, unit.name
        if not db.session.execute(db.text("SELECT 1 FROM organisers WHERE email = :e"), {"e": email}).first():
            create_organiser(email, "Đo hiệu năng", unit, "organiser", PASSWORD, utcnow())
            db.session.commit()
    client = app.test_client()
    form = client.get("/quan-tri/dang-nhap").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form).group(1)
    signed_in = client.post("/quan-tri/dang-nhap", data={"csrf_token": token, "email": email, "password": PASSWORD})
    if signed_in.status_code != 303:
        raise SystemExit(f"sign-in failed with {signed_in.status_code}")
    start, end = period.split("..")
    path = f"/quan-tri/tong-quan?unit={unit_id}&year={end[:4]}&preset=custom&start={start}&end={end}"
    pages, totals, charts = [], [], 0
    for _ in range(DASHBOARD_RUNS):
        cache.sipas_reports.forget()  # a first visit: the report is computed, not taken from the 2-minute cache
        began = time.perf_counter()
        response = client.get(path)
        page_done = time.perf_counter()
        text = response.get_data(as_text=True)
        if response.status_code != 200 or unit_name not in text:
            raise SystemExit(f"the dashboard answered {response.status_code} without the province's name")
        images = [html.unescape(src) for src in re.findall(r'src="(/quan-tri/bieu-do/[^"]+)"', text)]
        for image in images:
            answer = client.get(image)
            if answer.status_code != 200 or not answer.get_data().lstrip().startswith((b"<?xml", b"<svg")):
                raise SystemExit(f"chart {image} answered {answer.status_code}")
        totals.append(time.perf_counter() - began)
        pages.append(page_done - began)
        charts = len(images)
    return {"total": totals, "page": pages, "charts": charts, "bytes": len(text)}


def run() -> list:
    """Measure the dashboard on each database; return the entries of issue 4."""
    import sipas_bench
    from harness import entry, failed_entry, postgres_available, run_child, spread

    entries = []
    for kind, label in (("sqlite", "SQLite"), ("postgresql", "PostgreSQL")):
        name = f"organiser dashboard, province with {sipas_bench.RESPONSES:,} responses, server time, {label}"
        unavailable = postgres_available() if kind == "postgresql" else None
        if unavailable:
            entries.append(failed_entry(name, "s", f"value < {TARGET_S}", unavailable))
            continue
        place = sipas_bench.province(kind)
        result, memory = run_child("bench/dashboard_bench.py", [place.url, place.secret, place.code, place.period])
        how = (f"report cache emptied before each run (a first visit), in-process test client after a real "
               f"sign-in, period {place.period}; peak RSS {memory:.0f} MB")
        entries += [
            entry(f"{name}: the page", statistics.median(result["page"]), "s", target=f"value < {TARGET_S}",
                  note=f"{spread(result['page'], '{:.2f}')}; {how}"),
            entry(f"{name}: the page + its {result['charts']} chart images", statistics.median(result["total"]), "s",
                  target=f"value < {TARGET_S}",
                  note=f"{spread(result['total'], '{:.2f}')}; the charts are separate SVG responses drawn from the "
                       "report the page computed"),
        ]
    return entries


if __name__ == "__main__":
    print(json.dumps(child_dashboard(*sys.argv[1:])))
