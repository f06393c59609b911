"""The memory:// rate-limit storage: same counting as limits' MemoryStorage, expiry without a timer thread."""
from __future__ import annotations

import threading
import time

from limits import parse
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import FixedWindowRateLimiter

from app.ratelimit import SWEEP_SECONDS, ThreadlessMemoryStorage


def test_memory_uri_gives_the_threadless_storage():
    storage = storage_from_string("memory://")
    assert isinstance(storage, ThreadlessMemoryStorage) and isinstance(storage, MemoryStorage)


def test_hits_are_counted_per_key_and_refused_past_the_limit():
    limiter = FixedWindowRateLimiter(storage_from_string("memory://"))
    limit = parse("3 per minute")
    assert [limiter.hit(limit, "203.0.113.1|quay") for _ in range(4)] == [True, True, True, False]
    assert limiter.hit(limit, "203.0.113.2|quay")


def test_hits_start_no_thread_however_long_they_go_on():
    storage = storage_from_string("memory://")
    storage.timer.join()  # the one timer the parent starts at creation, cancelled at once
    threads = threading.active_count()
    deadline = time.monotonic() + 0.05  # the parent would have started a timer thread every 10 ms
    while time.monotonic() < deadline:
        storage.incr("client", 60)
    assert threading.active_count() == threads
    assert not storage.timer.is_alive()


def test_a_window_that_ended_counts_from_zero_again():
    storage = storage_from_string("memory://")
    storage.incr("client", 0.05, 5)
    time.sleep(0.06)
    assert storage.get("client") == 0
    assert storage.incr("client", 60) == 1


def test_keys_nobody_reads_again_are_swept_inline_after_at_most_a_second(monkeypatch):
    storage = storage_from_string("memory://")
    clock = [1000.0]
    monkeypatch.setattr("app.ratelimit.time.monotonic", lambda: clock[0])
    storage.incr("gone", 0.01)
    time.sleep(0.02)
    storage.incr("other", 60)
    assert "gone" in storage.storage  # swept at most once per SWEEP_SECONDS
    clock[0] += SWEEP_SECONDS
    storage.incr("other", 60)
    assert "gone" not in storage.storage and storage.get("other") == 2
