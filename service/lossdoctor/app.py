"""The application factory: gunicorn calls `create_app()`, each test builds its own with its settings."""

from __future__ import annotations

import logging

from flask import Flask

from lossdoctor import api
from lossdoctor.cache import MemoryCache, RedisCache, ResultCache
from lossdoctor.config import Config

log = logging.getLogger(__name__)


def make_cache(config: Config) -> ResultCache:
    if config.redis_url:
        return RedisCache(config.redis_url, config.cache_ttl_seconds, config.redis_timeout_seconds)
    log.info("REDIS_URL is not set: using the embedded in-process cache (not shared between replicas)")
    return MemoryCache(config.cache_ttl_seconds, config.cache_max_entries)


def create_app(config: Config | None = None) -> Flask:
    config = config or Config.from_env()
    logging.basicConfig(level=config.log_level)
    app = Flask(__name__, static_folder=None)
    # Werkzeug refuses raw bodies over this before we read them; gzip is bounded again after decoding.
    app.config["MAX_CONTENT_LENGTH"] = max(config.max_body_bytes, config.max_file_bytes, config.max_text_bytes)
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["lossdoctor.config"] = config
    app.extensions["lossdoctor.cache"] = make_cache(config)
    api.init_app(app)
    return app
