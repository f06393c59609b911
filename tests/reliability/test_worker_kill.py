"""SIGKILL a gunicorn worker in the middle of a load of survey submits: every acknowledged response is stored once."""
from __future__ import annotations

import http.client
import json
import os
import re
import signal
import sqlite3
import threading
import time
from contextlib import closing
from dataclasses import dataclass, field
from urllib.parse import urlencode

import pytest

from tests.e2e.server import prepare_server, request
from tests.factories import full_answers

THREADS = 4
SUBMITS_PER_THREAD = 40
RETRIES = 6
KILL_AFTER_ACKS = 30


@dataclass
class Load:
    """What the clients saw: keys sent, keys acknowledged with 303 to the thanks page, interrupted requests."""

    sent: set[str] = field(default_factory=set)
    acknowledged: list[str] = field(default_factory=list)
    interrupted: int = 0
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def with_retries(send):
    """Call `send` until it returns, retrying a dropped connection as a phone would (bounded)."""
    for attempt in range(RETRIES):
        try:
            return send(), attempt
        except (ConnectionError, http.client.HTTPException, TimeoutError):
            time.sleep(0.2 * (attempt + 1))
    raise ConnectionError("the server kept dropping the connection")


def citizen(base: str, path: str, load: Load, count: int) -> None:
    """Load the form, answer it and submit, `count` times; record what the server acknowledged."""
    for _ in range(count):
        try:
            page, _ = with_retries(lambda: request("GET", base + path))
            assert page.status == 200, page.status
            cookie = re.match(r"[^;]+", page.getheader("Set-Cookie") or "")
            body = urlencode(full_answers(page.body.decode()), doseq=True).encode()
            key = re.search(r'name="k" value="([^"]+)"', page.body.decode()).group(1)
            with load.lock:
                load.sent.add(key)
            headers = {"Content-Type": "application/x-www-form-urlencoded",
                       "Cookie": cookie.group(0) if cookie else ""}
            answer, retried = with_retries(lambda: request("POST", base + path, body, headers))
            with load.lock:
                load.interrupted += retried
                if answer.status == 303 and answer.getheader("Location", "").endswith("/cam-on"):
                    load.acknowledged.append(key)
                else:
                    load.errors.append(f"{answer.status}: {answer.body[:200]!r}")
        except Exception as error:  # reported by the test, never swallowed
            with load.lock:
                load.errors.append(repr(error))


@pytest.mark.slow
def test_killing_a_worker_mid_load_loses_and_duplicates_no_acknowledged_response(tmp_path, request_db):
    server = prepare_server(tmp_path, responses=0, HAILONG_SURVEY_RATE_LIMIT="100000 per minute")
    counters = json.loads(server.flask("counters", "list", "--format", "json").stdout)
    path = "/" + counters[0]["url"].split("/", 3)[3]
    server.start(workers=2)
    try:
        load = Load()
        threads = [threading.Thread(target=citizen, args=(server.url, path, load, SUBMITS_PER_THREAD))
                   for _ in range(THREADS)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 60
        while len(load.acknowledged) < KILL_AFTER_ACKS and time.monotonic() < deadline:
            time.sleep(0.01)
        victim = server.worker_pids()[0]
        acknowledged_before_kill = len(load.acknowledged)
        os.kill(victim, signal.SIGKILL)
        for thread in threads:
            thread.join(timeout=120)
        assert not any(thread.is_alive() for thread in threads)
        respawned = server.worker_pids()
    finally:
        server.stop()

    assert not load.errors, load.errors[:5]
    assert victim not in respawned and len(respawned) == 2
    assert len(load.acknowledged) == THREADS * SUBMITS_PER_THREAD > acknowledged_before_kill
    with closing(sqlite3.connect(server.database)) as connection:
        stored = dict(connection.execute(
            "SELECT submission_key, count(*) FROM survey_responses GROUP BY submission_key").fetchall())
    assert all(stored.get(key) == 1 for key in load.acknowledged), "an acknowledged response is missing"
    assert set(stored) <= load.sent, "a response was stored that no client sent"
    assert sum(stored.values()) == len(set(load.acknowledged)) == len(load.acknowledged)


@pytest.fixture
def request_db(request: pytest.FixtureRequest) -> None:
    """Run once, on the SQLite pass: the server under test has its own SQLite file."""
    if request.config.getoption("--db") != "sqlite":
        pytest.skip("the gunicorn worker test uses its own SQLite server database")
