"""MLflow metric histories: pasted get-history JSON, and a run read from a real tracking server."""

from __future__ import annotations

import json
import math
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from lossdoctor.exceptions import InvalidInput, NotFound, UnreadableInput
from lossdoctor.ingest.formats import detect_format, mlflow, parse

HISTORY = [
    {
        "metrics": [
            {"key": "loss", "value": 1.0, "timestamp": 1, "step": 0},
            {"key": "loss", "value": "NaN", "timestamp": 2, "step": 1},
        ]
    },
    {"metrics": [{"key": "val_loss", "value": 1.2, "timestamp": 3, "step": 0}], "next_page_token": ""},
]


def test_get_history_answers_pasted_one_after_another() -> None:
    raw = "\n".join(json.dumps(page) for page in HISTORY).encode()
    assert detect_format(raw) == "mlflow"
    run = parse(raw)
    assert run.x_axis == "step"
    assert run.series["train_loss"].steps.tolist() == [0, 1] and math.isnan(
        run.series["train_loss"].values[1]
    )
    assert run.series["val_loss"].values.tolist() == [1.2]


def test_a_list_of_answers_and_the_last_value_of_a_step() -> None:
    page = {
        "metrics": [
            {"key": "loss", "value": 2.0, "timestamp": 9, "step": 0},
            {"key": "loss", "value": 1.0, "timestamp": 1, "step": 0},
        ]
    }
    assert mlflow.parse(json.dumps([page])).series["train_loss"].values.tolist() == [2.0]


def test_history_without_points_is_refused() -> None:
    with pytest.raises(InvalidInput):
        mlflow.parse('{"metrics": []}')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real `mlflow server` on loopback, sqlite store; only the process group started here is stopped."""
    pytest.importorskip("mlflow")
    folder = tmp_path_factory.mktemp("mlflow")
    port = _free_port()
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


@pytest.fixture(scope="module")
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


@pytest.mark.slow
@pytest.mark.parametrize("page_size", [7, 25_000])
def test_fetch_a_run_from_a_real_server(mlflow_server: str, logged_run: str, page_size: int) -> None:
    run = mlflow.fetch_mlflow_run(mlflow_server, logged_run, timeout=10, page_size=page_size)
    assert run.x_axis == "step"
    assert run.series["train_loss"].steps.tolist() == list(range(30))
    assert run.series["train_loss"].values[-1] == pytest.approx(2.0 / 30)
    assert run.series["val_loss"].steps.tolist() == [0, 10, 20]
    assert math.isnan(run.series["lr"].values[0]) and run.series["lr"].values[1] == 1e-3


@pytest.mark.slow
def test_an_unknown_run_is_not_found(mlflow_server: str) -> None:
    with pytest.raises(NotFound):
        mlflow.fetch_mlflow_run(mlflow_server, "0" * 32, timeout=10)


def test_an_unreachable_server_is_unreadable() -> None:
    with pytest.raises(UnreadableInput, match="cannot reach"):
        mlflow.fetch_mlflow_run(f"http://127.0.0.1:{_free_port()}", "abc", timeout=2)


@pytest.mark.parametrize("uri", ["file:///etc/passwd", "ftp://example.org", "not a url"])
def test_only_http_tracking_uris(uri: str) -> None:
    with pytest.raises(InvalidInput):
        mlflow.fetch_mlflow_run(uri, "abc", timeout=1)
