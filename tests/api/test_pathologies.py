from __future__ import annotations

from flask.testing import FlaskClient

from lossdoctor.diagnose.catalog import CATALOG

CODES = {"overfitting", "overconfidence", "divergence", "exploding_nan", "val_spike", "loss_spike", "plateau",
         "oscillation", "underfitting", "val_below_train"}


def test_catalog_lists_every_code_once_with_its_rules(embedded_client: FlaskClient) -> None:
    body = embedded_client.get("/v1/pathologies").get_json()
    codes = [p["code"] for p in body["pathologies"]]
    assert sorted(codes) == sorted(CODES)
    assert all(p["meaning"] and p["severity_rules"] and p["evidence_keys"] for p in body["pathologies"])
    assert codes == [p.code for p in CATALOG]
