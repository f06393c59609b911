"""In-process rate-limit counters without a timer thread: what ``memory://`` means in this application.

limits' MemoryStorage expires keys from a ``threading.Timer`` that it starts again (10 ms after the last one ended)
on every hit. Under load that is a new thread every 10 ms in each gunicorn worker, and a sync worker serving a
survey POST waits in ``Thread.start()`` until the new thread has been scheduled on a busy CPU: measured with wrk
on this 2-core machine (bench/README.md), the timer cost the survey POST 10–15% of its throughput and raised its
p99. The subclass below registers itself for the ``memory://`` scheme (the default RATELIMIT_STORAGE_URI and
Flask-Limiter's in-memory fallback) and keeps the same counters and the same answers: an expired key is still
dropped when it is read (as the parent does), and the sweep of keys nobody reads any more runs inline, at most
once a second, instead of in a thread. Imported by app.extensions, before any limiter is initialised.

``memory://`` counts per process, though: with several gunicorn workers each one counts alone. ``SQLiteStorage``
(``sqlite://``, the default without Redis) is a store every worker of one server sees; Redis shares across
servers; ``warn_if_unshared`` warns at start when several workers run on ``memory://``.
"""
from __future__ import annotations

import os
import sqlite3
import sys
import threading
import time

from limits.storage import MemoryStorage, Storage

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


# --- a storage every worker of one server sees ------------------------------------------------------------------------


class SQLiteStorage(Storage):
    """Fixed-window rate-limit counters in a small SQLite file, shared by every worker process of one server.

    ``memory://`` counts per process, so with N gunicorn workers every limit was really N times the limit. Without
    Redis (which shares counts across servers) this is the default: ``sqlite:///PATH`` (see ``app.config``). One
    UPSERT … RETURNING per hit, in WAL mode without fsync: the counters are worth a crash's loss, not a disk wait.
    Expired windows restart on their next hit; rows nobody hits any more are swept every SWEEP_SECONDS.
    """

    STORAGE_SCHEME = ["sqlite"]

    def __init__(self, uri: str, wrap_exceptions: bool = False, **options: str) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.path = uri.removeprefix("sqlite:///")  # sqlite:////abs/path → /abs/path; sqlite:///rel → rel
        self._lock = threading.Lock()
        self._pid = -1
        self._connection: sqlite3.Connection | None = None
        self._next_sweep = 0.0

    @property
    def base_exceptions(self) -> type[Exception]:
        return sqlite3.Error

    def _db(self) -> sqlite3.Connection:
        if self._connection is None or self._pid != os.getpid():  # a forked worker opens its own connection
            connection = sqlite3.connect(self.path, timeout=10, isolation_level=None, check_same_thread=False)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=OFF")
            connection.execute("CREATE TABLE IF NOT EXISTS rate_limits "
                               "(key TEXT PRIMARY KEY, hits INTEGER NOT NULL, expires REAL NOT NULL)")
            self._connection, self._pid = connection, os.getpid()
        return self._connection

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = time.time()
        with self._lock:
            db = self._db()
            (hits,) = db.execute(
                "INSERT INTO rate_limits (key, hits, expires) VALUES (?1, ?2, ?3) ON CONFLICT (key) DO UPDATE SET "
                "hits = CASE WHEN expires <= ?4 THEN excluded.hits ELSE hits + excluded.hits END, "
                "expires = CASE WHEN expires <= ?4 THEN excluded.expires ELSE expires END RETURNING hits",
                (key, amount, now + expiry, now)).fetchone()
            if now >= self._next_sweep:
                self._next_sweep = now + SWEEP_SECONDS
                db.execute("DELETE FROM rate_limits WHERE expires <= ?", (now,))
            return int(hits)

    def get(self, key: str) -> int:
        with self._lock:
            row = self._db().execute("SELECT hits FROM rate_limits WHERE key = ? AND expires > ?",
                                     (key, time.time())).fetchone()
        return int(row[0]) if row else 0

    def get_expiry(self, key: str) -> float:
        with self._lock:
            row = self._db().execute("SELECT expires FROM rate_limits WHERE key = ?", (key,)).fetchone()
        return float(row[0]) if row else time.time()

    def check(self) -> bool:
        try:
            with self._lock:
                self._db().execute("SELECT 1").fetchone()
        except sqlite3.Error:
            return False
        return True

    def reset(self) -> int | None:
        with self._lock:
            return self._db().execute("DELETE FROM rate_limits").rowcount

    def clear(self, key: str) -> None:
        with self._lock:
            self._db().execute("DELETE FROM rate_limits WHERE key = ?", (key,))


def configured_workers(argv: list[str] | None = None, environ: dict | None = None) -> int:
    """Return how many worker processes the server that imports the app was started with (1 if not gunicorn)."""
    argv = sys.argv if argv is None else argv
    environ = os.environ if environ is None else environ
    if not argv or "gunicorn" not in os.path.basename(argv[0]):
        return 1
    workers = int(environ.get("WEB_CONCURRENCY", "1") or 1)
    words = [*argv[1:], *environ.get("GUNICORN_CMD_ARGS", "").split()]
    for index, word in enumerate(words):
        if word in ("-w", "--workers") and index + 1 < len(words) and words[index + 1].isdigit():
            workers = int(words[index + 1])
        elif word.startswith("--workers=") and word[10:].isdigit():
            workers = int(word[10:])
        elif word.startswith("-w") and word[2:].isdigit():
            workers = int(word[2:])
    return workers


def warn_if_unshared(app) -> bool:
    """Warn at start when several workers would each count their own limits (a per-process ``memory://`` store).

    :return: whether the warning was given.
    """
    uri = app.config.get("RATELIMIT_STORAGE_URI") or ""
    workers = configured_workers()
    if uri.startswith("memory://") and workers > 1:
        app.logger.warning(
            "rate limits: %d workers each count in their own memory (RATELIMIT_STORAGE_URI=memory://), so every "
            "limit is %d times what it says; use the default sqlite:// store or Redis (REDIS_URL)", workers, workers)
        return True
    return False
