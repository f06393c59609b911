"""Per-request CPU of the citizen survey, without HTTP: the WSGI callable called directly in one process.

Usage: python bench/profile_survey.py [--requests N] [--profile get|post] [--database-url URL]
Prints the median (and min) CPU and wall µs per GET (form page) and POST (validate + store + redirect) over 5 batches, and with
--profile the functions that take the time (cProfile, sorted by cumulative time). A tool for optimising the
hot path; `make bench` measures the same pages under gunicorn + wrk.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from setup_db import build  # noqa: E402

SORT = ("cumulative",)


def _call(app, environ: dict) -> tuple[str, list, bytes]:
    """Call the WSGI callable once; return status, headers and body."""
    captured = {}

    def start_response(status, headers, exc_info=None):
        captured["status"], captured["headers"] = status, headers

    body = b"".join(app(environ, start_response))
    return captured["status"], captured["headers"], body


def _per_request(wall_start: float, cpu_start: float, count: int) -> tuple[float, float]:
    """Return (wall µs, CPU µs) per request since the given starts (CPU is what load on the machine cannot inflate)."""
    return ((time.perf_counter() - wall_start) / count * 1e6, (time.process_time() - cpu_start) / count * 1e6)


def answers_body(page: str, hidden: dict[str, str], value: str = "4") -> str:
    """Fill every radio question of a form page (with `value` or its first option) plus its hidden fields."""
    data = dict(hidden)
    for name in dict.fromkeys(re.findall(r'type="radio" name="([A-Za-z0-9_]+)"', page)):
        options = re.findall(rf'type="radio" name="{name}" value="([^"]+)"', page)
        data[name] = value if value in options else options[0]
    return urlencode(data)


def hidden_fields(page: str) -> dict[str, str]:
    """Return the hidden inputs of a form page (csrf_token, k, t)."""
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))


def main() -> None:
    """Set up a database, then time (and optionally profile) GETs and POSTs of one counter's survey."""
    from werkzeug.test import EnvironBuilder

    from app import create_app

    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--profile", choices=("get", "post"))
    parser.add_argument("--database-url")
    args = parser.parse_args()
    secret = "profile-secret-not-for-production"
    url = args.database_url or f"sqlite:///{tempfile.mkdtemp(prefix='hailong-profile-')}/profile.db"
    token = build(url, secret, 1)["counters"][0]["token"]
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": secret,
                      "SURVEY_RATE_LIMIT": "1000000 per minute"})
    path = f"/s/{token}"
    get_environ = EnvironBuilder(path=path, method="GET").get_environ()
    status, headers, body = _call(app, dict(get_environ))
    assert status.startswith("200"), status

    def visit() -> tuple[str, str]:
        status, headers, body = _call(app, dict(get_environ))
        cookie = next(v for k, v in headers if k == "Set-Cookie").split(";", 1)[0]
        page = body.decode()
        return cookie, answers_body(page, hidden_fields(page))

    posts = [visit() for _ in range(args.requests * 6)]
    post_environs = [EnvironBuilder(path=path, method="POST", data=data, headers={"Cookie": cookie},
                                    content_type="application/x-www-form-urlencoded").get_environ()
                     for cookie, data in posts]

    def time_gets() -> tuple[float, float]:
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(args.requests):
            _call(app, dict(get_environ))
        return _per_request(wall, cpu, args.requests)

    def time_posts(batch: list) -> tuple[float, float]:
        wall, cpu = time.perf_counter(), time.process_time()
        for environ in batch:
            status, _, _ = _call(app, environ)
            assert status.startswith("303"), status
        return _per_request(wall, cpu, len(batch))

    batches = [post_environs[i * args.requests:(i + 1) * args.requests] for i in range(6)]
    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        time_gets() if args.profile == "get" else time_posts(batches[5])
        profiler.disable()
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(*SORT).print_stats(60)
        print(out.getvalue())
        return
    gets = [time_gets() for _ in range(5)]
    post_times = [time_posts(batch) for batch in batches[:5]]
    for label, times in (("GET ", gets), ("POST", post_times)):
        cpu, wall = [t[1] for t in times], [t[0] for t in times]
        print(f"{label} CPU {statistics.median(cpu):5.0f} µs (min {min(cpu):5.0f}), "
              f"wall {statistics.median(wall):5.0f} µs (min {min(wall):5.0f}) per request, 5 × {args.requests}")


if __name__ == "__main__":
    main()
