"""Caches shared through Redis: an invalidation on one process empties the cache in every other within a second,
including the very first invalidation of a cache that no process had invalidated before."""
from __future__ import annotations

import os
import time

from tests.conftest import unavailable

REDIS_URL = os.environ.get("TEST_CACHE_REDIS_URL", "redis://127.0.0.1:6379/11")


def test_the_first_invalidation_of_a_cache_reaches_a_process_that_already_looked(monkeypatch):
    import redis

    from app import cache

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except Exception as error:
        unavailable(f"Redis is not reachable at {REDIS_URL}: {error}")
    monkeypatch.setattr(cache, "GENERATIONS_KEY", f"hailong:test-generations:{os.getpid()}:{time.time_ns()}")
    here, there = cache.CacheRegistry(), cache.CacheRegistry()
    for registry in (here, there):
        registry.define("counters", maxsize=8, ttl=600)
        registry.connect(REDIS_URL)
    there["counters"].get("warm-up")  # `there` looks at the (empty) shared generations now
    there["counters"].put("QA", "active")
    here["counters"].invalidate()  # the first invalidation of this cache anywhere
    deadline = time.monotonic() + 1.0
    while there["counters"].get("QA") is not None:
        assert time.monotonic() < deadline, "the other process still serves the invalidated entry after 1 s"
        time.sleep(0.05)
    there["counters"].put("QA", "again")
    here["counters"].invalidate()
    time.sleep(cache.SYNC_SECONDS + 0.1)
    assert there["counters"].get("QA") is None
    redis.Redis.from_url(REDIS_URL).delete(cache.GENERATIONS_KEY)
