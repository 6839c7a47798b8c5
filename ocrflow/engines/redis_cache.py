"""A result cache in Redis (``OCRFLOW_CACHE_URL=redis://...``), shared by every worker of every store.

The deployment guide puts a cache in front of the model: a page asked again (a re-run, the same scan in two
inboxes, another worker) is answered without the GPU. Keys are the store cache's (``CachingEngine.key``: page
pixels, engine, model, prompt and decoding version, task, fields, schema) under a prefix; values are the
result as JSON.

Bounds, client-side: every entry expires ``ttl_s`` after it was written (Redis ``SET ... EX``), and an answer
whose JSON is over ``max_entry_bytes`` is not stored (counted in ``too_large``). The memory bound of the whole
cache is the server's: give Redis a ``maxmemory`` and ``maxmemory-policy volatile-lru`` (or ``allkeys-lru`` on a
Redis of its own), so that a full cache drops its least used answers instead of refusing writes
(docs/engines.md).

Settings ride on the URL's query, next to redis-py's own (``socket_timeout``...):
``redis://host:6379/0?ttl_s=604800&max_entry_bytes=1048576&prefix=ocrflow:cache:``.

Redis down is a degraded run, not a failed one: the answer comes from the model, one warning says the cache is
unreachable and why, the cache is not tried again for ``retry_after_s`` (no connect timeout per page), and
``errors`` counts the failed calls. A URL that is not a Redis URL stops the run before any document
(``ConfigError``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ocrflow.core.settings import ConfigError, redact_url

log = logging.getLogger(__name__)

SCHEMES = ("redis", "rediss", "unix")
DEFAULT_PREFIX = "ocrflow:cache:"
DEFAULT_TTL_S = 30 * 24 * 3600
DEFAULT_MAX_ENTRY_BYTES = 2 * 1024 * 1024
TIMEOUTS = {"socket_connect_timeout": "2", "socket_timeout": "5"}
"""redis-py's own URL options, set unless the URL sets them: a dead Redis costs seconds, not minutes."""


@dataclass(frozen=True, slots=True)
class CacheOptions:
    prefix: str = DEFAULT_PREFIX
    ttl_s: int = DEFAULT_TTL_S
    max_entry_bytes: int = DEFAULT_MAX_ENTRY_BYTES
    retry_after_s: float = 30.0


def split_cache_url(url: str) -> tuple[str, CacheOptions]:
    """(the URL redis-py gets, our options): ``ttl_s``, ``max_entry_bytes`` and ``prefix`` come off the query,
    the socket timeouts go on it unless given. Raises ``ConfigError`` for anything but a Redis URL."""
    parts = urlsplit(url.strip())
    if parts.scheme not in SCHEMES:
        raise ConfigError(f"OCRFLOW_CACHE_URL {redact_url(url)!r} is not a Redis URL "
                          f"(expected {', '.join(s + '://' for s in SCHEMES)})")
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    try:
        options = CacheOptions(prefix=query.pop("prefix", DEFAULT_PREFIX),
                               ttl_s=int(query.pop("ttl_s", DEFAULT_TTL_S)),
                               max_entry_bytes=int(query.pop("max_entry_bytes", DEFAULT_MAX_ENTRY_BYTES)))
    except ValueError as exc:
        raise ConfigError(f"OCRFLOW_CACHE_URL {redact_url(url)!r}: ttl_s and max_entry_bytes must be "
                          f"integers ({exc})") from None
    if options.ttl_s < 1 or options.max_entry_bytes < 1:
        raise ConfigError(f"OCRFLOW_CACHE_URL {redact_url(url)!r}: ttl_s and max_entry_bytes must be positive")
    return urlunsplit(parts._replace(query=urlencode({**TIMEOUTS, **query}))), options


class RedisCache:
    """A ``CacheBackend`` over one Redis. Thread-safe (redis-py's connection pool): no lock around calls."""

    thread_safe = True

    def __init__(self, client: Any, options: CacheOptions | None = None, *, name: str = "redis") -> None:
        self.client = client
        self.options = options or CacheOptions()
        self.name = name
        self.errors = 0
        self.too_large = 0
        self._down_until = 0.0

    @classmethod
    def from_url(cls, url: str) -> RedisCache:
        import redis

        redis_url, options = split_cache_url(url)
        return cls(redis.Redis.from_url(redis_url), options, name=redact_url(url))

    def _key(self, key: str) -> str:
        return self.options.prefix + key

    @contextlib.contextmanager
    def _guard(self, what: str) -> Iterator[None]:
        """Any Redis failure: warn (once per outage), count, and leave the cache alone for a while."""
        import redis

        try:
            yield
        except (redis.RedisError, OSError) as exc:
            self.errors += 1
            if not self._down_until:
                log.warning("result cache %s unreachable (%s: %s): answers come from the model; retrying the "
                            "cache in %.0f s", self.name, what, exc, self.options.retry_after_s)
            self._down_until = time.monotonic() + self.options.retry_after_s

    def _up(self) -> bool:
        if self._down_until and time.monotonic() < self._down_until:
            return False
        return True

    def cache_get(self, key: str) -> dict[str, Any] | None:
        if not self._up():
            return None
        raw: Any = None
        with self._guard("read"):
            raw = self.client.get(self._key(key))
            self._down_until = 0.0
        if raw is None:
            return None
        try:
            value = json.loads(raw)
        except ValueError:
            log.warning("result cache %s: the entry %s is not JSON; asking the model", self.name, self._key(key))
            return None
        return value if isinstance(value, dict) else None

    def cache_put(self, key: str, result: dict[str, Any]) -> None:
        data = json.dumps(result, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        if len(data) > self.options.max_entry_bytes:
            self.too_large += 1
            log.info("result cache: an answer of %d bytes is over max_entry_bytes=%d, not stored", len(data),
                     self.options.max_entry_bytes)
            return
        if not self._up():
            return
        with self._guard("write"):
            self.client.set(self._key(key), data, ex=self.options.ttl_s)
            self._down_until = 0.0

    def close_cache(self) -> None:
        import redis

        with contextlib.suppress(redis.RedisError, OSError):  # closing a pool whose server is gone
            self.client.close()
