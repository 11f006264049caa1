from __future__ import annotations

import pytest

from lossdoctor.config import Config


def test_config_reads_redis_url_and_prefixed_variables() -> None:
    c = Config.from_env({"REDIS_URL": "redis://h:1/2", "LOSSDOCTOR_MAX_BODY_BYTES": "1024",
                         "LOSSDOCTOR_CACHE_TTL_SECONDS": "60"})
    assert (c.redis_url, c.max_body_bytes, c.cache_ttl_seconds) == ("redis://h:1/2", 1024, 60)


def test_defaults_use_the_embedded_cache_and_16_mb() -> None:
    c = Config.from_env({})
    assert c.redis_url is None and c.max_body_bytes == 16 * 1024 * 1024


def test_bad_value_names_the_variable() -> None:
    with pytest.raises(ValueError, match="LOSSDOCTOR_MAX_BODY_BYTES"):
        Config.from_env({"LOSSDOCTOR_MAX_BODY_BYTES": "lots"})
