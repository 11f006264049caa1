"""Content-addressed result cache: Redis when configured, an in-process LRU otherwise.

Values are JSON (never pickle). A Redis outage degrades to "uncached", it never fails a diagnosis.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from typing import Any, Protocol

import orjson
import redis

from lossdoctor.exceptions import CacheUnavailable

log = logging.getLogger(__name__)
KEY_PREFIX = "lossdoctor:diagnosis:"


class ResultCache(Protocol):
    kind: str

    def get(self, key: str) -> dict[str, Any] | None: ...
    def put(self, key: str, value: dict[str, Any]) -> bool: ...
    def ping(self) -> bool: ...


class MemoryCache:
    """The embedded default: one process, bounded, with the same TTL semantics as Redis."""

    kind = "embedded"

    def __init__(self, ttl_seconds: int, max_entries: int) -> None:
        self.ttl = ttl_seconds
        self.max_entries = max_entries
        self._items: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            if item[0] < time.monotonic():
                del self._items[key]
                return None
            self._items.move_to_end(key)
            value: dict[str, Any] = orjson.loads(item[1])
            return value

    def put(self, key: str, value: dict[str, Any]) -> bool:
        with self._lock:
            self._items[key] = (time.monotonic() + self.ttl, orjson.dumps(value))
            self._items.move_to_end(key)
            while len(self._items) > self.max_entries:
                self._items.popitem(last=False)
        return True

    def ping(self) -> bool:
        return True


class RedisCache:
    """Shared by every replica, so any of them can answer GET /v1/diagnoses/<id>."""

    kind = "redis"

    def __init__(self, url: str, ttl_seconds: int, timeout: float) -> None:
        self.ttl = ttl_seconds
        self.client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)

    def get(self, key: str) -> dict[str, Any] | None:
        try:
            raw = self.client.get(KEY_PREFIX + key)
        except redis.RedisError as exc:
            log.warning("redis unavailable on read: %s", exc)
            raise CacheUnavailable("the result store is unreachable; retry shortly") from None
        if raw is None:
            return None
        value: dict[str, Any] = orjson.loads(raw)
        return value

    def put(self, key: str, value: dict[str, Any]) -> bool:
        try:
            self.client.set(KEY_PREFIX + key, orjson.dumps(value), ex=self.ttl)
            return True
        except redis.RedisError as exc:
            log.warning("redis unavailable on write, result not cached: %s", exc)
            return False

    def ping(self) -> bool:
        try:
            return bool(self.client.ping())
        except redis.RedisError:
            return False


def lookup(cache: ResultCache, key: str) -> dict[str, Any] | None:
    """Read for a new diagnosis: an unreachable cache is a miss."""
    try:
        return cache.get(key)
    except CacheUnavailable:
        return None
