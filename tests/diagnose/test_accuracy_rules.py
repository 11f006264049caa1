"""Behaviours added for engine accuracy (issue 3): moderate validation spikes, level shifts that are not spikes,
and echoes of training spikes."""

from __future__ import annotations

import numpy as np

from lossdoctor.detect.spikes import find_spikes, never_returns
from lossdoctor.engine import diagnose
from lossdoctor.ingest.payload import run_from_payload

EPOCHS = list(range(1, 21))
TRAIN = [1.3 * 0.85**i for i in range(20)]  # a smooth, steady descent: 1.3 -> 0.058


def _findings(train: list[float], val: list[float], **meta: object) -> dict[str, object]:
    payload = {"metrics": {"train_loss": {"steps": EPOCHS[: len(train)], "values": train},
                           "val_loss": {"steps": EPOCHS[: len(val)], "values": val}},
               "meta": {"num_classes": 4, **meta}}
    return {f.code: f for f in diagnose(run_from_payload(payload)).findings}


def _val_with_bump(at: int, factor: float) -> list[float]:
    val = [1.2 * 0.88**i + 0.1 for i in range(20)]
    val[at - 1] *= factor
    return val


def test_moderate_val_jump_that_recovers_while_train_is_calm_is_a_val_spike() -> None:
    found = _findings(TRAIN, _val_with_bump(12, 1.9))
    assert set(found) == {"val_spike"}
    spike = found["val_spike"]
    assert spike.onset == 12
    assert spike.evidence["recovers"] is True
    assert 1.5 <= float(spike.evidence["ratio"]) < 2.0  # type: ignore[arg-type]


def test_val_jump_under_one_and_a_half_times_is_not_a_spike() -> None:
    assert "val_spike" not in _findings(TRAIN, _val_with_bump(12, 1.35))


def test_moderate_val_jump_must_be_material_against_the_uniform_guess_loss() -> None:
    val = _val_with_bump(12, 1.9)
    # with 1000 classes ln(C) = 6.9: a jump of ~0.18 is under 5 % of it
    assert "val_spike" not in _findings(TRAIN, val, num_classes=1000)


def test_moderate_val_jump_right_after_a_train_spike_is_its_echo() -> None:
    train = list(TRAIN)
    train[10] *= 2.5  # epoch 11: a bad batch
    found = _findings(train, _val_with_bump(12, 1.9))
    assert "val_spike" not in found


def test_level_shift_is_not_a_spike() -> None:
    signal = np.log(np.array([0.4, 0.42, 0.41, 1.0, 1.1, 1.2, 1.3, 1.4, 1.5]))
    spikes = find_spikes(np.arange(1.0, 10.0), signal, log_scale=True)
    assert spikes[0].index == 3
    assert never_returns(signal, spikes[0])
    back = signal.copy()
    back[5] = np.log(0.45)
    assert not never_returns(back, spikes[0])  # back near 0.4 two points later: a spike


def test_val_step_up_that_never_comes_back_is_overfitting_not_a_val_spike() -> None:
    train = [0.9 * 0.7**i for i in range(20)]
    val = [0.42, 0.40, 1.0, 1.2, 1.4, 1.6, 1.8, 2.0, 2.1, 2.2, 2.3, 2.4, 2.5, 2.5, 2.6, 2.6, 2.7, 2.7, 2.7, 2.7]
    found = _findings(train, val, num_classes=10)
    assert "val_spike" not in found
    assert found["overfitting"].onset in (1, 2)
