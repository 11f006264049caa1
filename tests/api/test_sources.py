"""Uploads of real log files and runs read from a real MLflow server, through the HTTP API."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from lossdoctor.app import create_app
from lossdoctor.config import Config
from tests.conftest import DATA

EXAMPLES = DATA / "examples"
PEER = DATA / "formats" / "peer"


def _upload(client: FlaskClient, path: Path, **form: str) -> tuple[int, dict[str, object]]:
    data = {"file": (io.BytesIO(path.read_bytes()), path.name), **form}
    r = client.post("/v1/diagnoses/file", data=data, content_type="multipart/form-data")
    return r.status_code, r.get_json()


def test_keras_log_upload_gives_003_overfitting(client: FlaskClient) -> None:
    status, body = _upload(client, EXAMPLES / "003_6bec4ba2eca73556.txt")
    assert status == 200
    assert body["source"] == {"kind": "file", "format": "keras", "filename": "003_6bec4ba2eca73556.txt",
                              "bytes": (EXAMPLES / "003_6bec4ba2eca73556.txt").stat().st_size}
    findings = body["findings"]
    assert isinstance(findings, list) and findings[0]["code"] == "overfitting"
    assert findings[0]["onset"] == {"epoch": 3} and findings[0]["evidence"]["best_val_loss"] == 0.3736


def test_tensorboard_upload(client: FlaskClient) -> None:
    status, body = _upload(client, PEER / "runmedic/examples/logs/nan/events.out.tfevents.demo")
    assert status == 200
    assert body["source"]["format"] == "tensorboard"  # type: ignore[index]
    assert "exploding_nan" in {f["code"] for f in body["findings"]}  # type: ignore[attr-defined]


def test_format_can_be_forced_and_a_wrong_one_is_a_clear_error(client: FlaskClient) -> None:
    status, body = _upload(client, PEER / "trainspotter/examples/divergence.csv", format="csv")
    assert status == 200 and body["source"]["format"] == "csv"  # type: ignore[index]
    status, body = _upload(client, PEER / "trainspotter/examples/divergence.csv", format="yaml")
    assert status == 415 and "csv" in str(body["detail"])


def test_unrecognised_upload_lists_the_supported_formats(client: FlaskClient) -> None:
    r = client.post("/v1/diagnoses/file", data={"file": (io.BytesIO(b"\x00\x01\x02 not a log"), "x.bin")},
                    content_type="multipart/form-data")
    assert r.status_code == 415
    assert "tensorboard" in r.get_json()["detail"]


@pytest.mark.parametrize(("data", "content_type"), [
    ({"other": (io.BytesIO(b"x"), "x.txt")}, "multipart/form-data"),
    (b'{"file": "x"}', "application/json"),
])
def test_upload_without_a_file_field_is_422(client: FlaskClient, data: object, content_type: str) -> None:
    r = client.post("/v1/diagnoses/file", data=data, content_type=content_type)
    assert r.status_code == 422 and "file" in r.get_json()["detail"]


def test_upload_over_the_limit_is_413() -> None:
    client = create_app(Config(max_file_bytes=1000)).test_client()
    r = client.post("/v1/diagnoses/file", data={"file": (io.BytesIO(b"1," * 1000), "x.csv")},
                    content_type="multipart/form-data")
    assert r.status_code == 413


@pytest.mark.slow
def test_mlflow_run_from_a_real_server(client: FlaskClient, mlflow_server: str, logged_run: str) -> None:
    r = client.post("/v1/diagnoses/mlflow", json={"tracking_uri": mlflow_server, "run_id": logged_run})
    assert r.status_code == 200
    body = r.get_json()
    assert body["source"] == {"kind": "mlflow", "tracking_uri": mlflow_server, "run_id": logged_run}
    assert body["input"]["series"]["train_loss"]["points"] == 30
    assert body["input"]["series"]["val_loss"]["points"] == 3


@pytest.mark.parametrize(("body", "status"), [
    ({"tracking_uri": "file:///etc/passwd", "run_id": "abc"}, 422),
    ({"tracking_uri": "http://127.0.0.1:9", "run_id": "../../x"}, 422),
    ({"run_id": "abc"}, 422),
    ({"tracking_uri": "http://127.0.0.1:9", "run_id": "abc", "extra": 1}, 422),
])
def test_mlflow_request_is_validated(client: FlaskClient, body: dict[str, object], status: int) -> None:
    assert client.post("/v1/diagnoses/mlflow", json=body).status_code == status


def test_unreachable_mlflow_server_is_a_4xx_not_a_500(client: FlaskClient) -> None:
    from tests.conftest import free_port

    r = client.post("/v1/diagnoses/mlflow", json={"tracking_uri": f"http://127.0.0.1:{free_port()}",
                                                  "run_id": "abc"})
    assert 400 <= r.status_code < 500


def test_mlflow_hosts_can_be_restricted() -> None:
    client = create_app(Config(mlflow_allowed_hosts="mlflow.internal")).test_client()
    r = client.post("/v1/diagnoses/mlflow", json={"tracking_uri": "http://169.254.169.254", "run_id": "abc"})
    assert r.status_code == 422 and "ALLOWED_HOSTS" in r.get_json()["detail"]
