"""The founding examples that carry numbers must give exactly the diagnosis their README pins."""

from __future__ import annotations

from typing import Any

from lossdoctor.engine import diagnose
from lossdoctor.ingest.payload import run_from_payload


def _codes(payload: dict[str, Any]) -> dict[str, Any]:
    d = diagnose(run_from_payload(payload))
    return {f.code: f for f in d.findings}


def test_003_is_overfitting_from_epoch_3_with_best_val_loss(payload_003: dict[str, Any]) -> None:
    findings = _codes(payload_003)
    assert set(findings) == {"overfitting"}
    f = findings["overfitting"]
    assert f.onset == 3
    assert f.severity == "warning"
    assert f.evidence["best_epoch"] == 3
    assert f.evidence["best_val_loss"] == 0.3736
    assert f.evidence["last_val_loss"] == 0.9105
    assert f.evidence["train_loss_change_since_best"] is not None
    assert float(f.evidence["train_loss_change_since_best"]) < -0.9  # type: ignore[arg-type]
    assert any("epoch 3" in fix.detail for fix in f.fixes)


def test_000_is_a_val_spike_error_from_epoch_3(payload_000: dict[str, Any]) -> None:
    findings = _codes(payload_000)
    assert set(findings) == {"val_spike"}
    f = findings["val_spike"]
    assert f.onset == 3
    assert f.severity == "error"
    assert 30 < float(f.evidence["ratio"]) < 40  # type: ignore[arg-type]  # 184.5 / ~5.2
    assert f.evidence["train_loss_smooth"] is True


def test_000_compares_the_spike_to_the_chance_ceiling_when_classes_are_known(payload_000: dict[str, Any]) -> None:
    payload_000["meta"]["num_classes"] = 10_000
    f = _codes(payload_000)["val_spike"]
    assert f.evidence["chance_ceiling"] == 9.2103
    assert f.evidence["above_chance_ceiling"] is True
