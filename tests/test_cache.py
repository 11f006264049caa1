from __future__ import annotations

import time

import pytest
import redis

from lossdoctor.cache import KEY_PREFIX, MemoryCache, RedisCache, lookup
from lossdoctor.exceptions import CacheUnavailable
from tests.conftest import free_port


def test_memory_cache_evicts_least_recently_used() -> None:
    cache = MemoryCache(ttl_seconds=60, max_entries=2)
    cache.put("a", {"v": 1})
    cache.put("b", {"v": 2})
    assert cache.get("a") == {"v": 1}
    cache.put("c", {"v": 3})
    assert cache.get("b") is None and cache.get("a") == {"v": 1}


def test_memory_cache_expires() -> None:
    cache = MemoryCache(ttl_seconds=0, max_entries=2)
    cache.put("a", {"v": 1})
    time.sleep(0.01)
    assert cache.get("a") is None


def test_redis_cache_round_trip_with_ttl(redis_url: str, redis_client: redis.Redis) -> None:
    cache = RedisCache(redis_url, ttl_seconds=30, timeout=1)
    assert cache.put("k", {"x": [1, 2]})
    assert cache.get("k") == {"x": [1, 2]}
    assert redis_client.get(KEY_PREFIX + "k") == b'{"x":[1,2]}'
    assert 0 < redis_client.ttl(KEY_PREFIX + "k") <= 30


def test_redis_outage_is_a_miss_for_lookups_and_an_error_for_reads() -> None:
    cache = RedisCache(f"redis://127.0.0.1:{free_port()}/0", ttl_seconds=30, timeout=0.2)
    assert cache.put("k", {}) is False
    assert lookup(cache, "k") is None
    assert cache.ping() is False
    with pytest.raises(CacheUnavailable):
        cache.get("k")
