"""Every in-process cache of the application, in one registry: thread-safe, cleared in one call, and kept coherent
across app servers through Redis when ``REDIS_URL`` is set.

Why one registry: a cache is a promise that some data may be shown a little late, so what is cached and for how
long is listed here, not spread over the features. Each entry below names its cache and why it is safe.

Threads: cachetools caches reorder themselves even on reads (a TTL cache expires entries, an LRU cache moves the
entry it returns), so every access, read or write, holds the cache's lock.

Several app servers (gunicorn workers, hosts): each process keeps its own entries. ``invalidate()`` empties a cache
here and, with Redis, bumps that cache's generation in a Redis hash; every process compares the shared generations
with the ones it last saw at most every SYNC_SECONDS (one HGETALL, never a round trip per request) and empties the
caches that another process invalidated. Without Redis, or while it is unreachable, other processes rely on the
entries' lifetime, which every cache has.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable
from typing import Any

from cachetools import LRUCache, TTLCache

#: Longest time another process may serve an entry invalidated elsewhere (when Redis is configured).
SYNC_SECONDS = 0.5
#: Redis hash of the generation of every cache (bumped by each invalidation).
GENERATIONS_KEY = "hailong:cache-generations"
_MISSING = object()
_log = logging.getLogger(__name__)


class Cache:
    """A named, bounded cache whose entries expire after ``ttl`` seconds (None: only when evicted or invalidated)."""

    def __init__(self, registry: CacheRegistry, name: str, maxsize: int, ttl: float | None) -> None:
        self.name = name
        self._registry = registry
        self._entries: TTLCache | LRUCache = TTLCache(maxsize, ttl) if ttl is not None else LRUCache(maxsize)
        self._lock = threading.Lock()

    def get(self, key: Hashable, default: Any = None) -> Any:
        """Return the live entry for ``key``, or ``default``."""
        self._registry.sync()
        with self._lock:
            return self._entries.get(key, default)

    def put(self, key: Hashable, value: Any) -> None:
        """Store an entry."""
        with self._lock:
            self._entries[key] = value

    def get_or_compute(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """Return the entry for ``key``, computing and storing it when there is none (outside the lock)."""
        value = self.get(key, _MISSING)
        if value is _MISSING:
            value = compute()
            self.put(key, value)
        return value

    def forget(self) -> None:
        """Empty this process's entries (the other processes keep theirs: see ``invalidate``)."""
        with self._lock:
            self._entries.clear()

    def invalidate(self) -> None:
        """Empty the cache in this process and, with Redis, in every other one within SYNC_SECONDS."""
        self.forget()
        self._registry.publish(self.name)

    def memoise(self, function: Callable) -> Callable:
        """Decorate a pure function of hashable arguments so that its results live in this cache."""
        name = f"{function.__module__}.{function.__qualname__}"

        def memoised(*args: Hashable) -> Any:
            return self.get_or_compute((name, *args), lambda: function(*args))

        memoised.__doc__, memoised.__name__, memoised.__wrapped__ = function.__doc__, function.__name__, function
        return memoised


class CacheRegistry:
    """The caches by name, and the shared generations that keep them coherent across processes."""

    def __init__(self) -> None:
        self._caches: dict[str, Cache] = {}
        self._redis = None
        self._seen: dict[str, int] = {}
        self._looked = False
        self._next_sync = 0.0
        self._sync_lock = threading.Lock()

    def define(self, name: str, *, maxsize: int, ttl: float | None) -> Cache:
        """Declare a cache (once per name)."""
        if name in self._caches:
            raise ValueError(f"cache {name!r} is already defined")
        self._caches[name] = Cache(self, name, maxsize, ttl)
        return self._caches[name]

    def __getitem__(self, name: str) -> Cache:
        return self._caches[name]

    def __iter__(self):
        return iter(self._caches.values())

    def connect(self, redis_url: str | None) -> None:
        """Share invalidations through the Redis at ``redis_url`` (None: this process only)."""
        self._redis = None
        self._seen = {}
        self._looked = False
        if redis_url:
            import redis

            self._redis = redis.Redis.from_url(redis_url, socket_timeout=0.25, socket_connect_timeout=0.25)

    def clear(self) -> None:
        """Forget every entry of every cache in this process (between tests; after a bulk change by a script)."""
        for cache in self:
            cache.forget()

    def publish(self, name: str) -> None:
        """Tell the other processes that cache ``name`` changed."""
        if self._redis is None:
            return
        try:
            self._seen[name] = int(self._redis.hincrby(GENERATIONS_KEY, name, 1))
        except Exception as error:  # Redis unreachable: the other processes fall back on the entries' lifetime
            _log.warning("cache invalidation of %s not shared: %s", name, error)

    def sync(self) -> None:
        """Empty the caches another process invalidated since the last look (at most every SYNC_SECONDS)."""
        if self._redis is None or time.monotonic() < self._next_sync:
            return
        if not self._sync_lock.acquire(blocking=False):
            return  # another thread of this process is looking right now
        try:
            self._next_sync = time.monotonic() + SYNC_SECONDS
            try:
                shared = {key.decode(): int(value) for key, value in self._redis.hgetall(GENERATIONS_KEY).items()}
            except Exception as error:  # Redis unreachable: keep serving; entries still expire
                _log.warning("cache generations not read: %s", error)
                return
            # What changed before this process first looked cannot be in its caches, except what it cached before
            # connecting: nothing, since connect() runs at start-up. After that, a cache missing from the hash was
            # never invalidated (generation 0): its first invalidation anywhere must empty it here too.
            if self._looked:
                for name, generation in shared.items():
                    if self._seen.get(name, 0) != generation and name in self._caches:
                        self._caches[name].forget()
            self._looked = True
            self._seen.update(shared)
        finally:
            self._sync_lock.release()


#: The registry every feature's cache lives in; create_app connects it to Redis when REDIS_URL is set.
caches = CacheRegistry()

# --- the caches ------------------------------------------------------------------------------------------------------

#: Survey counters by token nonce: showing a counter's form needs no database at all. A committed change of a counter
#: or unit invalidates it (app.surveys.services); a submission checks the counter again as it stores.
counters = caches.define("counters", maxsize=8192, ttl=5)
#: Compiled citizen forms per (counter, its last change, instrument version): a change bumps counters.updated_at.
survey_forms = caches.define("survey_forms", maxsize=4096, ttl=600)
#: Rendered citizen pages split around the per-visitor tokens, per counter, change, version, language and action.
survey_pages = caches.define("survey_pages", maxsize=4096, ttl=300)
#: Parsed instruments per version id: a version never changes once it has responses.
instruments = caches.define("instruments", maxsize=256, ttl=3600)
#: The newest version id per instrument code: short-lived, so a newly published version is picked up.
current_versions = caches.define("current_versions", maxsize=256, ttl=30)
#: SIPAS reports per (unit, period, options, language, state of the responses): a dashboard page and its charts
#: share one computation; new responses change the state, so the key.
sipas_reports = caches.define("sipas_reports", maxsize=32, ttl=120)
#: Contest results per (contest, its last change, finished attempts, freeze, zone): the key moves with every change.
contest_results = caches.define("contest_results", maxsize=16, ttl=900)
#: Parsed contest definitions per (contest, its last change, zone).
contest_definitions = caches.define("contest_definitions", maxsize=256, ttl=3600)
#: Drawable questions per bank, with the (count, highest id) they were read at, checked on every use.
question_pools = caches.define("question_pools", maxsize=64, ttl=60)
#: Question texts by id: a stored question's text never changes.
question_texts = caches.define("question_texts", maxsize=20_000, ttl=3600)
#: Pure computations of constants (fonts, decoy password hashes, signers): never stale, kept as long as used.
constants = caches.define("constants", maxsize=1024, ttl=None)
#: The public portal's state (newest publication, contest change, settings): read at most once a second per process,
#: so a public page costs no query beyond it; publishing, withdrawing and the settings invalidate it.
portal_state = caches.define("portal_state", maxsize=4, ttl=1)
#: Rendered public pages (body, ETag) per (page, arguments, language, portal state, minute): the state moves with every
#: publication, withdrawal, contest or settings change, the minute with contests opening and closing.
portal_pages = caches.define("portal_pages", maxsize=2048, ttl=300)
#: Share images (PNG bytes) per (kind, key, version): the version in their URL changes with their content.
portal_cards = caches.define("portal_cards", maxsize=256, ttl=3600)
