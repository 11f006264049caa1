"""Shared fixtures: a real Redis (flushed before and after each test), apps built per test, real data."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
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


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real `mlflow server` on loopback, sqlite store; only the process group started here is stopped."""
    folder = tmp_path_factory.mktemp("mlflow")
    port = free_port()
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false", "MLFLOW_DISABLE_TELEMETRY": "true"}
    command = [
        str(Path(sys.executable).with_name("mlflow")),
        "server",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--backend-store-uri",
        f"sqlite:///{folder / 'mlflow.db'}",
        "--artifacts-destination",
        str(folder / "artifacts"),
        "--workers",
        "1",
    ]
    log = (folder / "server.log").open("wb")
    server = subprocess.Popen(
        command, cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=1) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"mlflow server did not start: {(folder / 'server.log').read_text()[-2000:]}")
            time.sleep(0.2)
        yield url
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # the session leader is our own child: its group is ours
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)
        log.close()


@pytest.fixture(scope="session")
def logged_run(mlflow_server: str) -> str:
    """A run filled by the real client: a batch of train/loss and val_loss points, and one NaN."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
        from mlflow.entities import Metric
        from mlflow.tracking import MlflowClient

        client = MlflowClient(tracking_uri=mlflow_server)
        run_id: str = client.create_run("0").info.run_id
        now = int(time.time() * 1000)
        train = [Metric("train/loss", 2.0 / (s + 1), now + s, s) for s in range(30)]
        val = [Metric("val_loss", 1.5 - 0.1 * s, now + s, s * 10) for s in range(3)]
        client.log_batch(run_id, metrics=train + val)
        client.log_metric(run_id, "lr", float("nan"), timestamp=now, step=0)
        client.log_metric(run_id, "lr", 1e-3, timestamp=now + 1, step=1)
        client.set_terminated(run_id)
    return run_id
