"""POST and GET diagnoses through the real app and a real Redis."""

from __future__ import annotations

import json
from typing import Any

import redis
from flask.testing import FlaskClient

from lossdoctor.app import create_app
from lossdoctor.cache import KEY_PREFIX
from lossdoctor.config import Config
from tests.conftest import free_port


def test_003_gives_overfitting_from_epoch_3_over_http(client: FlaskClient, payload_003: dict[str, Any]) -> None:
    r = client.post("/v1/diagnoses", json=payload_003)
    assert r.status_code == 200
    body = r.get_json()
    assert body["status"] == "unhealthy"
    assert [f["code"] for f in body["findings"]] == ["overfitting"]
    f = body["findings"][0]
    assert f["onset"] == {"epoch": 3}
    assert f["evidence"]["best_val_loss"] == 0.3736
    assert r.headers["Location"] == body["links"]["self"] == f"/v1/diagnoses/{body['id']}"
    assert set(body["series"]) == {"train_loss", "val_loss", "train_accuracy", "val_accuracy"}


def test_000_gives_val_spike_error_from_epoch_3_over_http(client: FlaskClient, payload_000: dict[str, Any]) -> None:
    body = client.post("/v1/diagnoses", json=payload_000).get_json()
    assert [(f["code"], f["severity"], f["onset"]) for f in body["findings"]] == [("val_spike", "error", {"epoch": 3})]


def test_same_run_twice_is_computed_once_and_stored_as_json(
    client: FlaskClient, redis_client: redis.Redis, payload_003: dict[str, Any]
) -> None:
    first = client.post("/v1/diagnoses", json=payload_003).get_json()
    second = client.post("/v1/diagnoses", json=payload_003).get_json()
    assert first["cached"] is False and second["cached"] is True
    assert first["id"] == second["id"]
    raw = redis_client.get(KEY_PREFIX + first["id"])
    assert raw is not None and json.loads(raw)["id"] == first["id"]  # JSON, not pickle
    assert 0 < redis_client.ttl(KEY_PREFIX + first["id"]) <= Config().cache_ttl_seconds


def test_key_order_and_name_spelling_do_not_change_the_id(client: FlaskClient) -> None:
    a = client.post("/v1/diagnoses", json={"metrics": {"loss": [1, 0.8, 0.7], "val_loss": [1.1, 0.9, 0.8]}})
    b = client.post("/v1/diagnoses",
                    json={"metrics": {"validation_loss": [1.1, 0.9, 0.8], "train_loss": [1, 0.8, 0.7]}})
    assert a.get_json()["id"] == b.get_json()["id"]


def test_stored_result_is_readable_from_another_replica(redis_url: str, client: FlaskClient,
                                                        payload_003: dict[str, Any]) -> None:
    created = client.post("/v1/diagnoses", json=payload_003).get_json()
    other = create_app(Config(redis_url=redis_url)).test_client()
    got = other.get(created["links"]["self"])
    assert got.status_code == 200
    assert got.get_json()["findings"] == created["findings"]


def test_unknown_id_is_a_404_problem(client: FlaskClient) -> None:
    r = client.get("/v1/diagnoses/0123456789abcdef0123456789abcdef")
    assert r.status_code == 404
    assert r.mimetype == "application/problem+json"
    assert r.get_json()["status"] == 404


def test_expired_result_is_a_404(redis_url: str, redis_client: redis.Redis, payload_003: dict[str, Any]) -> None:
    client = create_app(Config(redis_url=redis_url, cache_ttl_seconds=1)).test_client()
    created = client.post("/v1/diagnoses", json=payload_003).get_json()
    redis_client.delete(KEY_PREFIX + created["id"])  # what expiry does, without sleeping in a test
    assert client.get(created["links"]["self"]).status_code == 404


def test_redis_down_still_diagnoses_uncached(payload_003: dict[str, Any]) -> None:
    app = create_app(Config(redis_url=f"redis://127.0.0.1:{free_port()}/0", redis_timeout_seconds=0.2))
    client = app.test_client()
    r = client.post("/v1/diagnoses", json=payload_003)
    assert r.status_code == 200
    assert r.get_json()["cached"] is False
    assert client.get(r.get_json()["links"]["self"]).status_code == 503
    assert client.get("/readyz").status_code == 503


def test_embedded_cache_when_redis_is_not_configured(embedded_client: FlaskClient,
                                                     payload_003: dict[str, Any]) -> None:
    ready = embedded_client.get("/readyz").get_json()
    assert ready == {"status": "ready", "cache": "embedded"}
    first = embedded_client.post("/v1/diagnoses", json=payload_003).get_json()
    assert embedded_client.post("/v1/diagnoses", json=payload_003).get_json()["cached"] is True
    assert embedded_client.get(first["links"]["self"]).status_code == 200


def test_unknown_meta_and_metrics_are_kept_and_reported(client: FlaskClient) -> None:
    body = client.post("/v1/diagnoses", json={
        "metrics": {"loss": [1.0, 0.8, 0.7], "mel_loss": [3, 2, 1], "lr": [0.1, 0.1, 0.1]},
        "meta": {"num_classes": 10, "run_name": "exp-7", "tags": ["a"]},
    }).get_json()
    assert body["input"]["unknown_metrics"] == ["mel_loss"]
    assert body["input"]["unknown_meta"] == {"run_name": "exp-7", "tags": ["a"]}
    assert body["input"]["meta"] == {"num_classes": 10}
    assert body["input"]["series"]["train_loss"]["source_name"] == "loss"


def test_keras_history_dict_is_accepted_as_is(client: FlaskClient) -> None:
    history = {"loss": [0.9, 0.5, 0.3, 0.2], "val_loss": [0.8, 0.6, 0.7, 0.9], "accuracy": [0.5, 0.7, 0.8, 0.9]}
    wrapped = client.post("/v1/diagnoses", json={"metrics": history}).get_json()
    bare = client.post("/v1/diagnoses", json=history).get_json()
    assert wrapped["id"] == bare["id"]
    assert "train_accuracy" in wrapped["series"]


def test_non_finite_tokens_are_evidence_not_errors(client: FlaskClient) -> None:
    r = client.post("/v1/diagnoses", json={"metrics": {"loss": [2.0, 1.5, "Infinity", "NaN", None, "nan"]}})
    assert r.status_code == 200
    (f,) = r.get_json()["findings"]
    assert f["code"] == "exploding_nan" and f["onset"] == {"epoch": 3}
    assert r.get_json()["input"]["series"]["train_loss"] == {"source_name": "loss", "points": 5, "non_finite": 3}


def test_bare_nan_tokens_in_the_json_body_are_accepted(client: FlaskClient) -> None:
    r = client.post("/v1/diagnoses", data='{"metrics": {"loss": [1.0, 0.5, NaN, Infinity]}}',
                    content_type="application/json")
    assert r.status_code == 200
    assert r.get_json()["findings"][0]["code"] == "exploding_nan"


def test_steps_fractional_epochs_and_gaps(client: FlaskClient) -> None:
    r = client.post("/v1/diagnoses", json={"metrics": {
        "loss": {"steps": [0.5, 1, 1.5, 2, 2.5, 3], "values": [2, 1.8, 1.6, 1.5, 1.4, 1.35]},
        "val_loss": {"steps": [1, 2, 3, 75, 76, 77], "values": [1.9, 1.7, 1.6, 1.5, 1.45, 1.4]}}})
    assert r.status_code == 200
    assert r.get_json()["status"] == "healthy"


def test_step_axis_reports_onsets_in_steps(client: FlaskClient) -> None:
    steps = [100, 200, 300, 400, 500]
    r = client.post("/v1/diagnoses", json={"metrics": {"loss": {"steps": steps, "values": [3, 2, 1, "NaN", "NaN"]}},
                                           "meta": {"x_axis": "step"}})
    assert r.get_json()["findings"][0]["onset"] == {"step": 400}


def test_healthz_and_openapi(client: FlaskClient) -> None:
    assert client.get("/healthz").get_json()["status"] == "ok"
    spec = client.get("/openapi.yaml")
    assert spec.status_code == 200 and b"openapi: 3.1" in spec.data
