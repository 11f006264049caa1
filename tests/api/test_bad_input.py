"""Malformed and hostile bodies at every endpoint: always a 4xx problem that says what to fix, never a 500."""

from __future__ import annotations

import gzip
import zlib
from typing import Any

import pytest
from flask.testing import FlaskClient

from lossdoctor.app import create_app
from lossdoctor.config import Config

BAD_JSON_BODIES: list[tuple[bytes, int, str]] = [
    (b"", 400, "empty"),
    (b"{", 400, "malformed JSON"),
    (b"\xff\xfe\x00garbage", 400, "UTF-8"),
    (b"[1, 2, 3]", 422, "JSON object"),
    (b'"metrics"', 422, "JSON object"),
    (b"null", 422, "JSON object"),
    (b"{}", 422, "'metrics' is required"),
    (b'{"metrics": {}}', 422, "empty"),
    (b'{"metrics": []}', 422, "metrics"),
    (b'{"metrics": {"loss": "0.5"}}', 422, "metrics.loss"),
    (b'{"metrics": {"loss": [1, true, 3]}}', 422, "metrics"),
    (b'{"metrics": {"loss": [1, "abc", 3]}}', 422, "expected a number"),
    (b'{"metrics": {"loss": [[1], 2]}}', 422, "metrics.loss"),
    (b'{"metrics": {"loss": {"steps": [1, 2], "values": [1]}}}', 422, "pair up"),
    (b'{"metrics": {"loss": {"steps": [1, "NaN"], "values": [1, 2]}}}', 422, "steps"),
    (b'{"metrics": {"loss": {"values": [1, 2]}}}', 422, "steps"),
    (b'{"metrics": {"loss": [1, 2, 3]}, "meta": {"num_classes": "ten"}}', 422, "num_classes"),
    (b'{"metrics": {"loss": [1, 2, 3]}, "meta": {"num_classes": 0}}', 422, "num_classes"),
    (b'{"metrics": {"loss": [1, 2, 3]}, "meta": {"x_axis": "time"}}', 422, "x_axis"),
    (b'{"metrics": {"loss": [1, 2, 3]}, "meta": {"learning_rate": -1}}', 422, "learning_rate"),
    (b'{"metrics": {"loss": [1, 2, 3]}, "meta": []}', 422, "meta"),
    (b"[" * 100_000 + b"]" * 100_000, 400, "JSON"),
    (b'{"metrics": {"loss": [1e400, 2]}}', 200, ""),  # overflows to inf: evidence, not an error
]


@pytest.mark.parametrize(("body", "status", "hint"), BAD_JSON_BODIES)
def test_bad_bodies_get_problems_that_say_what_to_fix(client: FlaskClient, body: bytes, status: int,
                                                      hint: str) -> None:
    r = client.post("/v1/diagnoses", data=body, content_type="application/json")
    assert r.status_code == status, r.get_data(as_text=True)[:300]
    if status >= 400:
        assert r.mimetype == "application/problem+json"
        problem: dict[str, Any] = r.get_json()
        assert problem["status"] == status
        assert hint.lower() in problem["detail"].lower() + str(problem.get("errors", "")).lower()


def test_validation_problems_list_every_field(client: FlaskClient) -> None:
    r = client.post("/v1/diagnoses", json={"metrics": {"loss": [1, 2]}, "meta": {"num_classes": "x",
                                                                                "batch_size": "y"}})
    fields = {e["field"] for e in r.get_json()["errors"]}
    assert {"meta.num_classes", "meta.batch_size"} <= fields


def test_body_over_the_limit_is_413() -> None:
    client = create_app(Config(max_body_bytes=1000)).test_client()
    body = b'{"metrics": {"loss": [' + b"1.0," * 400 + b"1.0]}}"
    r = client.post("/v1/diagnoses", data=body, content_type="application/json")
    assert r.status_code == 413 and r.mimetype == "application/problem+json"


def test_gzip_body_is_accepted(client: FlaskClient) -> None:
    body = gzip.compress(b'{"metrics": {"loss": [1.0, 0.8, 0.7, 0.65]}}')
    r = client.post("/v1/diagnoses", data=body, content_type="application/json",
                    headers={"Content-Encoding": "gzip"})
    assert r.status_code == 200


def test_gzip_bomb_is_413_after_decompression() -> None:
    client = create_app(Config(max_body_bytes=1 << 20)).test_client()
    bomb = gzip.compress(b"[" + b" " * (200 << 20) + b"]", compresslevel=9)  # 200 MB of spaces, ~200 KB
    assert len(bomb) < (1 << 20)
    r = client.post("/v1/diagnoses", data=bomb, content_type="application/json",
                    headers={"Content-Encoding": "gzip"})
    assert r.status_code == 413
    assert "decompressed" in r.get_json()["detail"]


@pytest.mark.parametrize("payload", [b"not gzip at all", gzip.compress(b'{"metrics": {}}')[:-8] + b"xx"])
def test_corrupt_gzip_is_400(client: FlaskClient, payload: bytes) -> None:
    r = client.post("/v1/diagnoses", data=payload, headers={"Content-Encoding": "gzip"},
                    content_type="application/json")
    assert r.status_code in (400, 422)
    assert r.mimetype == "application/problem+json"


def test_unknown_content_encoding_is_refused(client: FlaskClient) -> None:
    r = client.post("/v1/diagnoses", data=zlib.compress(b"{}"), headers={"Content-Encoding": "br"},
                    content_type="application/json")
    assert r.status_code == 400 and "gzip" in r.get_json()["detail"]


def test_series_too_long_is_refused_with_the_limit() -> None:
    client = create_app(Config(max_series_points=100)).test_client()
    r = client.post("/v1/diagnoses", json={"metrics": {"loss": [1.0] * 101}})
    assert r.status_code == 413
    assert r.get_json()["limit"] == 100


def test_too_many_series_is_refused() -> None:
    client = create_app(Config(max_series=3)).test_client()
    r = client.post("/v1/diagnoses", json={"metrics": {f"m{i}": [1, 2, 3] for i in range(4)}})
    assert r.status_code == 413


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/v1/diagnoses"), ("PUT", "/v1/diagnoses"), ("DELETE", "/v1/diagnoses/abc"),
    ("POST", "/healthz"), ("POST", "/readyz"), ("GET", "/nope"), ("GET", "/v1/diagnoses/" + "a" * 500),
    ("GET", "/v1/diagnoses/..%2F..%2Fetc"), ("GET", "/v1/diagnoses/%00"), ("POST", "/openapi.yaml"),
])
def test_every_endpoint_answers_wrong_methods_and_paths_with_problems(client: FlaskClient, method: str,
                                                                     path: str) -> None:
    r = client.open(path, method=method, data=b"\x00\x01garbage")
    assert 400 <= r.status_code < 500
    assert r.mimetype == "application/problem+json"


def test_stored_results_survive_bad_requests(client: FlaskClient, payload_003: dict[str, Any]) -> None:
    created = client.post("/v1/diagnoses", json=payload_003).get_json()
    for body, _, _ in BAD_JSON_BODIES:
        client.post("/v1/diagnoses", data=body, content_type="application/json")
    assert client.get(created["links"]["self"]).get_json()["id"] == created["id"]
