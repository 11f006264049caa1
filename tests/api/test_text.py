"""The five founding questions, pasted verbatim into POST /v1/diagnoses/text, give what their README pins."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.conftest import DATA

EXAMPLES = {p.name[:3]: p for p in (DATA / "examples").glob("0*.txt")}


def _text(client: FlaskClient, name: str) -> dict[str, Any]:
    r = client.post("/v1/diagnoses/text", data=EXAMPLES[name].read_bytes(), content_type="text/plain")
    assert r.status_code == 200, r.get_data(as_text=True)[:500]
    body: dict[str, Any] = r.get_json()
    return body


def _by_code(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["code"]: f for f in body["findings"]}


def test_000_val_spike_from_epoch_3_and_the_code_that_explains_it(client: FlaskClient) -> None:
    body = _text(client, "000")
    f = _by_code(body)["val_spike"]
    assert (f["severity"], f["onset"], f["basis"]) == ("error", {"epoch": 3}, "metrics")
    assert 30 < f["evidence"]["ratio"] < 40
    rules = {c["rule"]: c for c in body["code_findings"]}
    assert "val_spike" in rules["batchnorm_after_recurrent"]["explains_findings"]
    assert "embedding_from_pretrained_discarded" in rules
    assert "lstm_dropout_single_layer" not in rules
    assert {s["name"] for s in body["extracted"]["series"]} >= {"train_loss", "val_loss"}
    assert body["extracted"]["code_blocks"]


def test_001_overfitting_and_overconfidence_from_the_description(client: FlaskClient) -> None:
    findings = _by_code(_text(client, "001"))
    assert {"overfitting", "overconfidence"} <= set(findings)
    for code in ("overfitting", "overconfidence"):
        assert findings[code]["basis"] == "description"
        assert findings[code]["confidence"] <= 0.6
        assert findings[code]["evidence"]["confirm_with"]


def test_002_divergence_from_the_description_with_its_fixes(client: FlaskClient) -> None:
    f = _by_code(_text(client, "002"))["divergence"]
    assert f["basis"] == "description"
    actions = [fix["action"] for fix in f["fixes"]]
    assert actions[0] == "lower_learning_rate"
    assert {"add_warmup_and_decay", "clip_gradients", "raise_adam_epsilon", "check_soft_labels"} <= set(actions)


def test_003_overfitting_from_epoch_3_and_noise_is_not_a_pathology(client: FlaskClient) -> None:
    body = _text(client, "003")
    assert [f["code"] for f in body["findings"]] == ["overfitting"]
    f = body["findings"][0]
    assert f["onset"] == {"epoch": 3} and f["evidence"]["best_val_loss"] == 0.3736
    assert f["basis"] == "metrics"


def test_004_exploding_nan_and_the_missing_softmax(client: FlaskClient) -> None:
    body = _text(client, "004")
    assert _by_code(body)["exploding_nan"]["basis"] == "description"
    rules = {c["rule"] for c in body["code_findings"]}
    assert {"no_softmax_before_categorical_crossentropy", "vocabulary_truncated"} <= rules


def test_json_body_and_caching(client: FlaskClient) -> None:
    text = EXAMPLES["003"].read_text()
    first = client.post("/v1/diagnoses/text", json={"text": text}).get_json()
    second = client.post("/v1/diagnoses/text", data=text.encode(), content_type="text/plain").get_json()
    assert first["id"] == second["id"] and second["cached"] is True
    assert client.get(first["links"]["self"]).get_json()["findings"] == first["findings"]


@pytest.mark.parametrize(("data", "content_type", "status"), [
    (b"", "text/plain", 422),
    (b"   \n ", "text/plain", 422),
    (b"\xff\xfe\xfa", "text/plain", 400),
    (b'{"text": 3}', "application/json", 422),
    (b"{", "application/json", 400),
])
def test_bad_text_bodies(client: FlaskClient, data: bytes, content_type: str, status: int) -> None:
    r = client.post("/v1/diagnoses/text", data=data, content_type=content_type)
    assert r.status_code == status and r.mimetype == "application/problem+json"
