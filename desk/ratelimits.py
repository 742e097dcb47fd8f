"""The rate limits' store (Redis, when several processes serve the desk) is an accelerator, not
a single point of failure.

Flask-Limiter counts in the store named by DESK_RATELIMIT_STORAGE_URL. When the store does not
answer, it counts the same limits in this process's memory (RATELIMIT_IN_MEMORY_FALLBACK_ENABLED)
and asks the store again on a later request (1, 2, 4 … 32 s after the last time it asked; any
request does, /healthz included), going back to it once it answers. Meanwhile every process has
its own allowance: with four processes an address may try up to four times its limit. The limits
are weaker while the store is down, never gone, and nobody gets a 500.

This module adds what the fallback alone lacks:
- the store's client gives up quickly (DESK_RATELIMIT_TIMEOUT, one immediate retry): redis-py's
  default waits for the operating system to give up on connecting and then retries three times
  with pauses of up to ten seconds, and every request in the meantime would wait with it;
- Flask-Limiter's own reports of a failing store (a warning on each fall back, a traceback for
  each error it swallows) become one warning a minute per process at most, naming the error's
  class only: the limits' keys and the store's replies may hold email addresses and phone numbers;
- /healthz learns the state: "ok", "memory fallback" or "disabled".
"""
from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from flask import Flask, Response
from limits.errors import StorageError

from desk.extensions import limiter

log = logging.getLogger("desk.ratelimits")

WARN_EVERY = 60.0  # seconds: at most one warning about the store per process in this time
# The schemes of limits' RedisStorage that take redis-py's client options (Sentinel and Cluster
# URLs take others, and keep their clients' defaults).
REDIS_SCHEMES = ("redis", "rediss", "redis+unix")


def storage_options(uri: str, timeout: float) -> dict[str, Any]:
    """Options for the store's constructor (RATELIMIT_STORAGE_OPTIONS).

    Every store raises limits' StorageError for its own errors (wrap_exceptions), the one class
    the log filter below looks for. A Redis client waits at most ``timeout`` seconds to connect
    and for each reply, and retries once at once: a connection that went stale while Redis
    restarted is replaced on the spot; a Redis that is down costs two refused connections."""
    options: dict[str, Any] = {"wrap_exceptions": True}
    if uri.split("://", 1)[0] in REDIS_SCHEMES:
        from redis.backoff import NoBackoff
        from redis.retry import Retry
        options.update(socket_connect_timeout=timeout, socket_timeout=timeout, retry=Retry(NoBackoff(), 1))
    return options


class StoreWatch:
    """What one process knows of the store: warns of a failure at most every ``every`` seconds
    (a store that is down fails every request that would count in it, or flaps), and notes, as
    information, when the limiter counts in the store again."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, every: float = WARN_EVERY) -> None:
        self._clock = clock
        self._every = every
        self._lock = threading.Lock()  # gunicorn's threaded workers share the process
        self._warned_at: float | None = None
        self._in_memory = False

    def failed(self, reason: str) -> None:
        """The store failed; ``reason`` names the error's class, never its message."""
        with self._lock:
            now = self._clock()
            if self._warned_at is not None and now - self._warned_at < self._every:
                return
            self._warned_at = now
        log.warning("Rate-limit store unreachable (%s): this process counts the limits in its own memory "
                    "until the store answers again", reason)

    def observe(self, in_memory: bool) -> None:
        """Where the limiter counted this request: in memory (fallen back) or in the store."""
        with self._lock:
            back = self._in_memory and not in_memory
            self._in_memory = in_memory
        if back:
            log.info("Rate-limit store answers again: the limits are shared between processes again")


watch = StoreWatch()


class _StoreFailures(logging.Filter):
    """On Flask-Limiter's logger: a record it makes while handling a store error (its "falling
    back" warning runs inside the except clause; a swallowed error carries exc_info) is dropped
    and told to the watch instead. Anything else passes."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else sys.exc_info()[1]
        if isinstance(error, StorageError):
            watch.failed(type(error.storage_error).__name__)
            return False
        return True


def _enabled() -> bool:
    return bool(limiter.enabled and limiter.initialized)


def _counting_in_memory() -> bool:
    """Whether the limiter has fallen back: its strategy counts elsewhere than the store."""
    return limiter.limiter.storage is not limiter.storage


def init_app(app: Flask) -> None:
    """Bind the limiter (Flask-Limiter's init_app), with the store's options, the log filter and
    the watch's look at every response."""
    app.config.setdefault("RATELIMIT_STORAGE_OPTIONS",
                          storage_options(app.config["RATELIMIT_STORAGE_URI"], app.config["DESK_RATELIMIT_TIMEOUT"]))
    limiter.init_app(app)
    flask_limiter_log = logging.getLogger("flask-limiter")
    if not any(isinstance(f, _StoreFailures) for f in flask_limiter_log.filters):
        flask_limiter_log.addFilter(_StoreFailures())

    @app.after_request
    def _watch_store(response: Response) -> Response:
        if _enabled():
            watch.observe(_counting_in_memory())
        return response


def state() -> str:
    """The limits' state for /healthz: "disabled" (DESK_RATELIMIT_ENABLED off), "memory fallback"
    (counted per process: the limiter has fallen back, or the store does not answer now and the
    next limited request will), or "ok" (counted in the store as configured: shared, when that
    is Redis)."""
    if not _enabled():
        return "disabled"
    if _counting_in_memory():
        return "memory fallback"
    if not limiter.storage.check():
        watch.failed("no answer to PING")
        return "memory fallback"
    return "ok"


def reset() -> None:
    """Forget every count — in the store and in the per-process fallback — and count in the store
    again. Flask-Limiter's own ``reset`` clears only the store, so after a fallback (any failure
    while evaluating a limit, e.g. the database down in a limit's exemption check) the fallback's
    counts would outlive it. For the tests between cases, and an operator after an incident."""
    limiter.reset()
    fallback = limiter._fallback_storage if limiter._fallback_limiter is not None else None
    if fallback is not None:
        fallback.reset()
    limiter._storage_dead = False
