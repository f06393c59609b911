"""Issue 2: the citizen survey page (GET) and submission (POST) under gunicorn + wrk, on SQLite and PostgreSQL,
against a bare Flask endpoint served the same way in the same run.

Each round serves the reference (bench/hello_app.py) and then the application on each database, with the same
gunicorn settings (2 sync workers), 32 concurrent clients, a warm-up and a bounded run per cell. The servers run
with HAILONG_SURVEY_RATE_LIMIT="1000000 per minute" so that the per-client limit (30 per minute by default) does
not turn the load generator's requests into 429s; the limiter itself still runs on every POST.

POSTs are real citizens' submissions: before each POST run the form is fetched by as many new visitors as the
run may need (bench/lua/harvest.lua), and every POST carries its own session cookie, CSRF token and submission
key (bench/lua/post.lua). Afterwards the stored rows are checked against what wrk completed: no errors, no
response stored that was not sent, no accepted POST without its row, at most the in-flight requests extra.
"""
from __future__ import annotations

import contextlib
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import sqlalchemy as sa

from harness import (
    LUA, ROOT, WORK, BenchError, Entry, Server, bench_secret, database, entry, failed_entry, fetch, median,
    postgres_available, postgres_backend_pids, quiet_machine_note, run_python, run_wrk, serve, spread, throughput_ratio,
)

SURVEY_RATE_LIMIT = "1000000 per minute"
GET_TARGET = 0.30
POST_TARGET = 0.15
P99_TARGET_MS = 100
BACKENDS = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
#: The instruments measured, with the label their figures carry (the full survey keeps the names it always had).
INSTRUMENTS = {"sipas-counter": "survey", "sipas-quick": "quick survey"}
#: Cells of the PostgreSQL POSTs that wait for the WAL flush (measured for comparison, no target).
FLUSH_CELL = "postgresql-flush"
COMMENTS = ("Cán bộ hướng dẫn tận tình.", "Chỗ ngồi chờ còn chật.", "Thủ tục nhanh gọn hơn trước.")


@dataclass
class Cells:
    """Per-round measurements of one backend."""

    get_rates: list[float] = field(default_factory=list)
    post_rates: list[float] = field(default_factory=list)
    get_p99: list[float] = field(default_factory=list)
    post_p99: list[float] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    anomalies: int = 0
    accepted: int = 0
    stored: int = 0
    foreign: list[float] = field(default_factory=list)
    client: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class Site:
    """One prepared database and a counter whose survey is measured (one per instrument)."""

    kind: str
    url: str
    path: str
    expected_radios: int
    instrument: str = "sipas-counter"

    @property
    def cell(self) -> tuple[str, str]:
        return self.kind, self.instrument


def expected_radio_inputs(instrument_code: str, service_fields: int) -> int:
    """Radio inputs the counter's page must show: every option of scale and choice items, plus service fields."""
    import sys

    sys.path.insert(0, str(ROOT))
    from app.surveys.instruments import load_instrument

    newest = max((ROOT / "surveys").glob(f"{instrument_code}-v*.yaml"), key=lambda path: int(path.stem.split("-v")[-1]))
    instrument = load_instrument(newest)
    return sum(len(item.choices) for item in instrument.items if item.type in ("scale", "choice")) + service_fields


def check_page(server: Server, site: Site) -> str:
    """Fetch the form once and check it is our counter's survey (not an error page or a stale server)."""
    status, headers, page = fetch(server.base + site.path)
    radios = page.count('type="radio"')
    if status != 200 or radios != site.expected_radios or 'name="csrf_token"' not in page \
            or "Bộ phận Một cửa" not in page or "session=" not in headers.get("Set-Cookie", ""):
        raise BenchError(f"{site.kind}: the survey page is not what was expected (status {status}, "
                         f"{radios} radio inputs, expected {site.expected_radios})")
    return page


def check_hello(server: Server) -> None:
    """Fetch the reference endpoint once and check its body."""
    status, _, body = fetch(server.base + "/hello")
    if status != 200 or body != "Hello, World!":
        raise BenchError(f"the reference endpoint answered {status} {body[:80]!r}")


def _choices(page: str, kind: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for name, value in re.findall(rf'type="{kind}" name="([A-Za-z0-9_]+)" value="([^"]+)"', page):
        found.setdefault(name, []).append(value)
    return found


def submission_bodies(path: str, page: str, visits: list[tuple[str, str, str, str]], rng: random.Random) -> list[str]:
    """One "path<TAB>cookie<TAB>body" line per harvested visit: varied answers to every question, its tokens."""
    radios, boxes = _choices(page, "radio"), _choices(page, "checkbox")
    lines = []
    for cookie, csrf_value, key, start in visits:
        data: list[tuple[str, str]] = [("csrf_token", csrf_value), ("k", key), ("t", start)]
        data += [(name, rng.choice(options)) for name, options in radios.items()]
        for name, options in boxes.items():
            data += [(name, value) for value in rng.sample(options, rng.randint(0, 2))]
        if rng.random() < 0.05:
            data.append(("Y_KIEN", rng.choice(COMMENTS)))
        lines.append(f"{path}\t{cookie}\t{urlencode(data)}")
    return lines


def harvest(server: Server, site: Site, page: str, visits: int, get_rate: float, rng: random.Random,
            prefix: Path) -> list[list[str]]:
    """Fetch the form `visits` times as new visitors; write the POST lines per wrk thread; return keys per thread."""
    for old in WORK.glob(prefix.name + "_*.tsv"):
        old.unlink()
    per_thread = visits // 2 + 1
    seconds = max(3.0, visits / max(get_rate * 0.6, 50.0) + 3.0)
    run_wrk(server, site.path, "harvest.lua", seconds, args=[str(prefix), str(per_thread)], measured=False)
    keys: list[list[str]] = []
    for thread in range(2):
        path = Path(f"{prefix}_{thread}.tsv")
        found = [tuple(line.split("\t")) for line in path.read_text().splitlines() if line.count("\t") == 3]
        found = [visit for visit in found if len(visit) == 4]
        path.write_text("\n".join(submission_bodies(site.path, page, found, rng)) + "\n")
        keys.append([visit[2] for visit in found])
    return keys


def stored_keys_after(engine: sa.Engine, last_id: int) -> list[str]:
    """Return the submission keys of rows stored after row `last_id`."""
    with engine.connect() as connection:
        return list(connection.execute(sa.text("SELECT submission_key FROM survey_responses WHERE id > :last"),
                                       {"last": last_id}).scalars())


def last_response_id(engine: sa.Engine) -> int:
    """Return the highest response id so far (0 when empty)."""
    with engine.connect() as connection:
        return connection.execute(sa.text("SELECT COALESCE(MAX(id), 0) FROM survey_responses")).scalar_one()


def post_run(server: Server, site: Site, page: str, seconds: float, expected_rate: float, get_rate: float,
             rng: random.Random, cells: Cells | None) -> float:
    """Harvest tokens, POST them for `seconds`, check the rows; record into `cells` unless it is a warm-up.

    A run that uses up its prepared submissions is void: it is repeated with 2.5 times as many (at most twice).
    """
    prefix = WORK / f"post-{site.kind}"
    visits = int(expected_rate * seconds * 1.6) + 200
    for _ in range(3):
        keys = harvest(server, site, page, visits, get_rate, rng, prefix)
        engine = sa.create_engine(site.url)
        try:
            before = last_response_id(engine)
            result = run_wrk(server, site.path, "post.lua", seconds, args=[str(prefix)], measured=cells is not None)
            stored = stored_keys_after(engine, before)
        finally:
            engine.dispose()
        if not any(thread["exhausted"] for thread in result.threads):
            break
        print(f"  {site.kind}: {sum(map(len, keys))} prepared submissions were not enough; again with more",
              flush=True)
        visits = int(visits * 2.5)
    else:
        raise BenchError(f"{site.kind}: the POST runs kept using up their prepared submissions")
    sent = {key for thread, info in zip(keys, result.threads) for key in thread[: info["sent"]]}
    in_flight = sum(info["sent"] for info in result.threads) - result.requests
    foreign = [key for key in stored if key not in sent]
    lost = max(0, result.requests - len(stored))
    beyond = max(0, len(stored) - result.requests - in_flight)
    twice = len(stored) - len(set(stored))
    anomalies = result.error_count + lost + beyond + len(foreign) + twice
    problems = [f"{count} {what}" for count, what in (
        (result.error_count, f"wrk errors {result.errors}"), (lost, "accepted POSTs without a stored response"),
        (beyond, "responses stored beyond the in-flight requests"), (len(foreign), "stored responses never sent"),
        (twice, "submission keys stored twice")) if count]
    if cells is not None:
        cells.post_rates.append(result.rate)
        cells.post_p99.append(result.p99_ms)
        cells.problems.extend(problems)
        cells.anomalies += anomalies
        cells.accepted += result.requests
        cells.stored += len(stored)
        cells.foreign.append(result.foreign_cores)
        cells.client.append(result.client_cores)
    elif problems:
        raise BenchError(f"{site.kind} warm-up: {'; '.join(problems)}")
    return result.rate


def prepare_sites(kind: str, url: str, secret: str) -> list[Site]:
    """Migrate the fresh database and create the measured counters, one per instrument (bench/setup_db.py)."""
    import json

    created = json.loads(run_python(["bench/setup_db.py", url, secret, "--units", "2", "--quick", "1"]))
    return [Site(kind, url, f"/s/{counter['token']}", expected_radio_inputs(counter["instrument"], counter["fields"]),
                 counter["instrument"]) for counter in created["counters"]]


def app_env(site: Site, secret: str) -> dict:
    """Environment of the application server for one site."""
    return {"DATABASE_URL": site.url, "SECRET_KEY": secret, "HAILONG_SURVEY_RATE_LIMIT": SURVEY_RATE_LIMIT,
            "BASE_URL": "http://127.0.0.1"}


def run(rounds: int, seconds: float, warmup: float) -> list[Entry]:
    """Measure the reference and the survey pages for `rounds` rounds; return the entries of issue 2."""
    secret = bench_secret()
    rng = random.Random(2)
    kinds = list(BACKENDS)
    unavailable = postgres_available()
    if unavailable:
        kinds.remove("postgresql")
    hello_rates: list[float] = []
    hello_p99: list[float] = []
    cells = {(kind, code): Cells() for kind in kinds for code in INSTRUMENTS}
    post_estimate = {cell: 0.0 for cell in cells}
    get_estimate = {cell: 0.0 for cell in cells}
    with _sites(kinds, secret) as sites:
        for number in range(rounds):
            print(f"  survey round {number + 1}/{rounds}", flush=True)
            with serve("hello", "hello_app:app", {}, "/hello", chdir=ROOT / "bench") as server:
                check_hello(server)
                run_wrk(server, "/hello", "get.lua", warmup, measured=False)
                result = run_wrk(server, "/hello", "get.lua", seconds)
                if result.error_count:
                    raise BenchError(f"the reference endpoint had errors: {result.errors}")
                hello_rates.append(result.rate)
                hello_p99.append(result.p99_ms)
            for site in sites:
                measured = cells[site.cell]
                helpers = (lambda url=site.url: postgres_backend_pids(url)) if site.kind == "postgresql" else None
                with serve(f"app-{site.kind}", "app:create_app()", app_env(site, secret), site.path,
                           helper_pids=helpers) as server:
                    page = check_page(server, site)
                    run_wrk(server, site.path, "get.lua", warmup, measured=False)
                    result = run_wrk(server, site.path, "get.lua", seconds)
                    if result.error_count:
                        measured.problems.append(f"GET wrk errors {result.errors}")
                        measured.anomalies += result.error_count
                    measured.get_rates.append(result.rate)
                    measured.get_p99.append(result.p99_ms)
                    measured.foreign.append(result.foreign_cores)
                    get_estimate[site.cell] = result.rate
                    if not post_estimate[site.cell]:
                        post_estimate[site.cell] = post_run(server, site, page, warmup, median(hello_rates) * 0.6,
                                                            result.rate, rng, None)
                    # A 2 s warm-up underestimates; a fifth of the reference is a floor that rarely needs a retry.
                    expected = max(post_estimate[site.cell], 0.2 * median(hello_rates))
                    post_estimate[site.cell] = max(post_estimate[site.cell], post_run(
                        server, site, page, seconds, expected, result.rate, rng, measured))
                    server.check_alive()
                if site.kind == "postgresql" and site.instrument == "sipas-counter":
                    # For comparison (no target): every response waits for its WAL flush (SURVEY_WAIT_FOR_FLUSH).
                    flushed = cells.setdefault(FLUSH_CELL, Cells())
                    with serve(f"app-{site.kind}-flush", "app:create_app()",
                               {**app_env(site, secret), "HAILONG_SURVEY_WAIT_FOR_FLUSH": "true"}, site.path,
                               helper_pids=helpers) as server:
                        page = check_page(server, site)
                        run_wrk(server, site.path, "get.lua", warmup, measured=False)
                        post_run(server, site, page, seconds, post_estimate[site.cell], get_estimate[site.cell], rng,
                                 flushed)
                        server.check_alive()
    return _entries(hello_rates, hello_p99, cells, unavailable)


@contextlib.contextmanager
def _sites(kinds: list[str], secret: str) -> Iterator[list[Site]]:
    """Fresh databases (SQLite file, PostgreSQL database) prepared for the run, removed afterwards."""
    with contextlib.ExitStack() as stack:
        yield [site for kind in kinds
               for site in prepare_sites(kind, stack.enter_context(database(kind, "survey")), secret)]


def _entries(hello_rates: list[float], hello_p99: list[float], cells: dict,
             unavailable: str | None) -> list[Entry]:
    hello = median(hello_rates)
    entries = [entry("bare Flask /hello (reference), gunicorn 2 sync workers", hello, "req/s",
                     note=f"{spread(hello_rates)}; p99 {median(hello_p99):.1f} ms at 32 clients")]
    flushed = cells.get(FLUSH_CELL)
    for (kind, code), label, name in ((cell, BACKENDS[cell[0]], INSTRUMENTS[cell[1]])
                                      for cell in [(k, c) for k in BACKENDS for c in INSTRUMENTS]):
        if (kind, code) not in cells:
            entries += [failed_entry(f"{name} {what}, {label}", unit, target, unavailable or "not measured")
                        for what, unit, target in (("GET throughput", "req/s", f"ratio >= {GET_TARGET}"),
                                                   ("POST throughput", "req/s", f"ratio >= {POST_TARGET}"))]
            continue
        measured = cells[(kind, code)]
        machine = quiet_machine_note(measured.foreign)
        get_rate, post_rate = median(measured.get_rates), median(measured.post_rates)
        entries += [
            entry(f"{name} GET throughput, {label}", get_rate, "req/s", reference=hello,
                  ratio=throughput_ratio(get_rate, hello), target=f"ratio >= {GET_TARGET}",
                  note="; ".join(filter(None, [spread(measured.get_rates), machine]))),
            entry(f"{name} POST throughput, {label}", post_rate, "req/s", reference=hello,
                  ratio=throughput_ratio(post_rate, hello), target=f"ratio >= {POST_TARGET}",
                  note="; ".join(filter(None, [spread(measured.post_rates),
                                               f"wrk used {median(measured.client):.2f} core", machine]))),
            entry(f"{name} GET p99 at 32 clients, {label}", median(measured.get_p99), "ms",
                  target=f"value < {P99_TARGET_MS}", note=spread(measured.get_p99, "{:.1f}")),
            entry(f"{name} POST p99 at 32 clients, {label}", median(measured.post_p99), "ms",
                  target=f"value < {P99_TARGET_MS}", note=spread(measured.post_p99, "{:.1f}")),
        ]
        if kind == "postgresql" and code == "sipas-counter" and flushed is not None:
            flushed_rate = median(flushed.post_rates)
            entries.append(entry(
                f"survey POST throughput, {label}, each response waiting for its WAL flush", flushed_rate, "req/s",
                reference=hello, ratio=throughput_ratio(flushed_rate, hello),
                note=f"{spread(flushed.post_rates)}; p99 {median(flushed.post_p99):.1f} ms; HAILONG_SURVEY_WAIT_FOR_"
                     "FLUSH=true (the default acknowledges a response before its WAL flush, see README); for "
                     "comparison, no target"))
            measured = Cells(problems=measured.problems + flushed.problems,
                             anomalies=measured.anomalies + flushed.anomalies,
                             accepted=measured.accepted + flushed.accepted, stored=measured.stored + flushed.stored)
        entries.append(entry(
            f"{name} errors + lost or duplicate responses, {label}", measured.anomalies, "count", target="value == 0",
            note="; ".join(measured.problems) or f"{measured.accepted:,} POSTs accepted, {measured.stored:,} "
                                                 "responses stored (extra = in flight when wrk stopped)"))
    return entries
