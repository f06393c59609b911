"""Issue 13: the public face under a viral link. The home page, the contest list (/thi), a published results page
and its share image (PNG) under gunicorn + wrk at 32 clients, against the bare Flask endpoint served the same way in
the same round (bench/hello_app.py).

The database is the demo province (`flask seed-demo`) with the province's results for the current year published
(`flask results publish`). Every page is served from the published snapshot through the page cache
(app.cache.portal_pages): after the warm-up a request costs at most the portal's state check (one query a second per
worker). Targets: each page at least 0.5× the reference's throughput with p99 under 100 ms; the image at least 0.3×.
"""
from __future__ import annotations

import datetime as dt
import re

from harness import (
    ROOT, BenchError, Entry, bench_secret, database, entry, failed_entry, fetch, median, quiet_machine_note,
    run_python, run_wrk, serve, spread, throughput_ratio,
)

PAGE_TARGET = 0.5
IMAGE_TARGET = 0.3
P99_TARGET_MS = 100


def _flask(url: str, secret: str, *args: str) -> str:
    return run_python(["-m", "flask", "--app", "app", *args], env={"DATABASE_URL": url, "SECRET_KEY": secret})


def prepare(url: str, secret: str) -> str:
    """Migrate, load the demo province, publish its results for this year; return the results page's path."""
    year = str(dt.date.today().year)
    _flask(url, secret, "init-db")
    _flask(url, secret, "seed-demo")
    _flask(url, secret, "results", "publish", "--unit", "AK", "--period", year)
    return f"/ket-qua/AK/{year}"


def check(server, path: str, marker: str) -> str:
    """Fetch a page once and check it is the page meant (not an error page)."""
    status, headers, body = fetch(server.base + path)
    if status != 200 or "text/html" not in headers.get("Content-Type", "") or marker not in body:
        raise BenchError(f"{path} answered {status} {headers.get('Content-Type')}: not the page measured")
    return body


def check_image(server, path: str) -> None:
    """Fetch the share image once: a 1200×630 PNG."""
    import io
    import urllib.request

    from PIL import Image

    with urllib.request.urlopen(server.base + path, timeout=30) as response:  # nosec B310 (our own loopback server)
        data = response.read()
        kind = response.headers.get("Content-Type", "")
    if kind != "image/png" or Image.open(io.BytesIO(data)).size != (1200, 630):
        raise BenchError(f"{path} is not the 1200×630 PNG share image ({kind})")


def run(rounds: int, seconds: float, warmup: float) -> list[Entry]:
    secret = bench_secret()
    hello_rates: list[float] = []
    cells: dict[str, dict[str, list[float]]] = {}
    with database("sqlite", "portal") as url:
        result_path = prepare(url, secret)
        env = {"DATABASE_URL": url, "SECRET_KEY": secret, "BASE_URL": "http://127.0.0.1"}
        for number in range(rounds):
            print(f"  portal round {number + 1}/{rounds}", flush=True)
            with serve("hello", "hello_app:app", {}, "/hello", chdir=ROOT / "bench") as server:
                run_wrk(server, "/hello", "get.lua", warmup, measured=False)
                result = run_wrk(server, "/hello", "get.lua", seconds)
                if result.error_count:
                    raise BenchError(f"the reference endpoint had errors: {result.errors}")
                hello_rates.append(result.rate)
            with serve("app-portal", "app:create_app()", env, "/") as server:
                page = check(server, result_path, "trên 100 người được hỏi hài lòng")
                image = re.search(r'<meta property="og:image" content="http://127.0.0.1([^"]+)"', page).group(1)
                targets = {"home page /": ("/", "Cải cách hành chính"),
                           "contest list /thi": ("/thi", "Cuộc thi"),
                           f"results page {result_path}": (result_path, "hài lòng"),
                           "results share image (PNG 1200×630)": (image, "")}
                for name, (path, marker) in targets.items():
                    if path.endswith(".png"):
                        check_image(server, path)
                    else:
                        check(server, path, marker)
                    run_wrk(server, path, "get.lua", warmup, measured=False)
                    result = run_wrk(server, path, "get.lua", seconds)
                    cell = cells.setdefault(name, {"rates": [], "p99": [], "errors": [], "foreign": []})
                    cell["rates"].append(result.rate)
                    cell["p99"].append(result.p99_ms)
                    cell["errors"].append(result.error_count)
                    cell["foreign"].append(result.foreign_cores)
                server.check_alive()
    return _entries(hello_rates, cells)


def _entries(hello_rates: list[float], cells: dict) -> list[Entry]:
    if not hello_rates:
        return [failed_entry("portal pages", "req/s", f"ratio >= {PAGE_TARGET}", "not measured")]
    hello = median(hello_rates)
    entries = [entry("bare Flask /hello (reference for the portal), gunicorn 2 sync workers", hello, "req/s",
                     note=spread(hello_rates))]
    for name, cell in cells.items():
        rate = median(cell["rates"])
        image = name.startswith("results share image")
        target = IMAGE_TARGET if image else PAGE_TARGET
        note = "; ".join(filter(None, [spread(cell["rates"]), quiet_machine_note(cell["foreign"]),
                                       f"{sum(cell['errors'])} errors" if sum(cell["errors"]) else None]))
        entries.append(entry(f"portal {name} throughput", rate, "req/s", reference=hello,
                             ratio=throughput_ratio(rate, hello), target=f"ratio >= {target}", note=note))
        entries.append(entry(f"portal {name} p99 at 32 clients", median(cell["p99"]), "ms",
                             target=f"value < {P99_TARGET_MS}", note=spread(cell["p99"], "{:.1f}")))
        if sum(cell["errors"]):
            entries.append(entry(f"portal {name} errors", sum(cell["errors"]), "count", target="value == 0"))
    return entries
