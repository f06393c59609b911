"""Issue 2: the printable QR poster sheet for 500 counters (`flask qr sheet`) against the 500 QR PNGs alone.

The sheet is what `flask qr sheet --unit CODE` does after loading the counters: counter_posters() (signed
URLs) and render_posters() (one A4 poster per counter). The reference, measured in the same process, is
make_qr_png() for the same 500 URLs at the size the posters use, i.e. the part no layout can avoid. The issue
gives no target for this figure. Run as a script it measures one prepared database and prints JSON.
"""
from __future__ import annotations

import io
import json
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

COUNTERS = 500
REPEATS = 3


def measure(url: str, secret: str) -> dict:
    """Time the sheet and the bare QR codes (median of REPEATS each) and check the output."""
    import zxingcpp
    from PIL import Image

    from app import create_app
    from app.units.posters import counter_posters, poster_text, render_posters
    from app.units.qr import make_qr_png
    from app.units.services import get_unit_by_code, list_counters

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": secret, "BASE_URL": "https://hailong.example.vn"})
    with app.test_request_context("/"):
        counters = list_counters(get_unit_by_code("BENCH"), include_inactive=False)
        if len(counters) != COUNTERS:
            raise SystemExit(f"expected {COUNTERS} active counters, found {len(counters)}")
        sheet_times, qr_times = [], []
        for _ in range(REPEATS):
            start = time.perf_counter()
            posters = counter_posters(counters, app.config["BASE_URL"], secret)
            pdf = render_posters(posters, poster_text(), 1)
            sheet_times.append(time.perf_counter() - start)
            start = time.perf_counter()
            images = [make_qr_png(poster.url, box_size=8) for poster in posters]
            qr_times.append(time.perf_counter() - start)
    pages = len(re.findall(rb"/Type\s*/Page\b(?!s)", pdf))
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(images[-1])))
    return {"sheet": statistics.median(sheet_times), "qr": statistics.median(qr_times), "sheet_runs": sheet_times,
            "qr_runs": qr_times, "pages": pages, "bytes": len(pdf),
            "decoded_ok": bool(decoded) and decoded[0].text == posters[-1].url}


def run() -> list:
    """Prepare 500 counters in a fresh SQLite database, measure in a child process, return the entry."""
    from harness import BenchError, bench_secret, database, entry, run_python, speedup_ratio, spread

    secret = bench_secret()
    with database("sqlite", "qr") as url:
        run_python(["bench/setup_db.py", url, secret, "--units", str(COUNTERS)])
        result = json.loads(run_python(["bench/qr_bench.py", url, secret]))
    if result["pages"] < COUNTERS or not result["decoded_ok"]:
        raise BenchError(f"the poster sheet is wrong: {result['pages']} pages, QR decoded: {result['decoded_ok']}")
    return [entry(f"QR poster sheet, {COUNTERS} counters (PDF, 1 per A4 page)", result["sheet"], "s",
                  reference=result["qr"], ratio=speedup_ratio(result["sheet"], result["qr"]),
                  note=f"{spread(result['sheet_runs'], '{:.2f}')}; reference = the {COUNTERS} QR PNGs alone "
                       f"({result['qr']:.2f} s); PDF {result['bytes'] / 1e6:.1f} MB; "
                       "no target given in the issue")]


if __name__ == "__main__":
    print(json.dumps(measure(sys.argv[1], sys.argv[2])))
