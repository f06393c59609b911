"""Rate limits that mean what they say (issue 17): the default store is shared by every gunicorn worker of one
server, and a per-worker memory store is warned about at start.

Before the shared store, each of 2 workers counted alone: 130 calls of a "120 per minute" API route were all
answered (about 65 per worker), and nothing in the log said so.
"""
from __future__ import annotations

import time

import pytest

from app.ratelimit import configured_workers
from tests.e2e.server import prepare_server, request

CALLS = 130
LIMIT = 120  # /api/v1/* : 120 per minute per token
WARNING = "each count in their own memory"


def _hammer(server) -> list[int]:
    headers = {"Authorization": "Bearer hl_not-a-real-token-but-one-key"}
    return [request("GET", server.url + "/api/v1/units", headers=headers).status for _ in range(CALLS)]


def _served_by_both_workers(server) -> None:
    time.sleep(0.5)  # both workers have booted (the master answered /healthz through one)
    assert len(server.worker_pids()) == 2


@pytest.mark.slow
def test_two_gunicorn_workers_share_one_count_by_default_and_memory_is_warned_about(tmp_path):
    server = prepare_server(tmp_path, responses=0)
    server.start(workers=2)
    try:
        _served_by_both_workers(server)
        statuses = _hammer(server)
    finally:
        server.stop()
    assert statuses.count(401) == LIMIT, statuses  # the first 120 reach the token check (a wrong token)
    assert statuses.count(429) == CALLS - LIMIT, statuses
    assert WARNING not in server.log.read_text()

    server.env["HAILONG_RATELIMIT_STORAGE_URI"] = "memory://"
    server.start(workers=2)
    try:
        _served_by_both_workers(server)
    finally:
        server.stop()
    assert WARNING in server.log.read_text()


def test_the_worker_count_is_read_from_gunicorns_command_line():
    assert configured_workers(["/venv/bin/gunicorn", "--workers", "3", "app:create_app()"], {}) == 3
    assert configured_workers(["/venv/bin/gunicorn", "-w4", "app:create_app()"], {}) == 4
    assert configured_workers(["/venv/bin/gunicorn", "app:create_app()"], {"WEB_CONCURRENCY": "2"}) == 2
    assert configured_workers(["/venv/bin/flask", "run"], {"WEB_CONCURRENCY": "8"}) == 1
