"""Shared fixtures: a real Redis (flushed before and after each test), apps built per test, real data."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient

from lossdoctor.app import create_app
from lossdoctor.config import Config

DATA = Path(__file__).parent / "data"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The Redis that tests/run.sh found or started (db 9 so a developer's data is never flushed)."""
    url = os.environ.get("LOSSDOCTOR_TEST_REDIS_URL", "redis://127.0.0.1:6379/9")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        pytest.fail(f"no Redis at {url} ({exc}); run the suite with `bash tests/run.sh`, which starts one")
    return url


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@pytest.fixture
def app(redis_url: str, redis_client: redis.Redis) -> Flask:
    return create_app(Config(redis_url=redis_url))


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def embedded_client() -> FlaskClient:
    return create_app(Config()).test_client()


def load_payload(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / "payloads" / name).read_text())
    return data


@pytest.fixture
def payload_003() -> dict[str, Any]:
    return load_payload("003_overfitting.json")


@pytest.fixture
def payload_000() -> dict[str, Any]:
    return load_payload("000_val_spike.json")
