"""MLflow metric histories: pasted get-history JSON, and a run read from a real tracking server."""

from __future__ import annotations

import json
import math

import pytest

from lossdoctor.exceptions import InvalidInput, NotFound, UnreadableInput
from lossdoctor.ingest.formats import detect_format, mlflow, parse
from tests.conftest import free_port

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
        mlflow.fetch_mlflow_run(f"http://127.0.0.1:{free_port()}", "abc", timeout=2)


@pytest.mark.parametrize("uri", ["file:///etc/passwd", "ftp://example.org", "not a url"])
def test_only_http_tracking_uris(uri: str) -> None:
    with pytest.raises(InvalidInput):
        mlflow.fetch_mlflow_run(uri, "abc", timeout=1)
