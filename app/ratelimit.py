"""In-process rate-limit counters without a timer thread: what ``memory://`` means in this application.

limits' MemoryStorage expires keys from a ``threading.Timer`` that it starts again (10 ms after the last one ended)
on every hit. Under load that is a new thread every 10 ms in each gunicorn worker, and a sync worker serving a
survey POST waits in ``Thread.start()`` until the new thread has been scheduled on a busy CPU: measured with wrk
on this 2-core machine (bench/README.md), the timer cost the survey POST 10–15% of its throughput and raised its
p99. The subclass below registers itself for the ``memory://`` scheme (the default RATELIMIT_STORAGE_URI and
Flask-Limiter's in-memory fallback) and keeps the same counters and the same answers: an expired key is still
dropped when it is read (as the parent does), and the sweep of keys nobody reads any more runs inline, at most
once a second, instead of in a thread. Imported by app.extensions, before any limiter is initialised.
"""
from __future__ import annotations

import time

from limits.storage import MemoryStorage

#: Seconds between two sweeps of expired keys.
SWEEP_SECONDS = 1.0


class ThreadlessMemoryStorage(MemoryStorage):
    """limits' MemoryStorage with its expiry sweep run inline, at most every SWEEP_SECONDS, never in a thread."""

    STORAGE_SCHEME = ["memory"]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options: str) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.timer.cancel()  # the parent starts one timer at creation; nothing restarts it
        self._next_sweep = 0.0

    def _MemoryStorage__schedule_expiry(self) -> None:
        """Replace the parent's private "start a timer thread" hook (called on every hit) by an inline sweep."""
        now = time.monotonic()
        if now >= self._next_sweep:
            self._next_sweep = now + SWEEP_SECONDS
            self._MemoryStorage__expire_events()
