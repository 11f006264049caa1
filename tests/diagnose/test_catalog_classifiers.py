"""The second half of the catalog on curves whose truth is known, and the traps that look like them."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lossdoctor.engine import diagnose
from lossdoctor.ingest.build import build_run
from lossdoctor.run import Run


def _run(meta: dict[str, object] | None = None, x_axis: str | None = None, **series: list[float]) -> Run:
    return build_run([(name, None, values) for name, values in series.items()], meta,
                     x_axis="step" if x_axis == "step" else None)


def _codes(run: Run) -> dict[str, float | None]:
    return {f.code: f.onset for f in diagnose(run).findings}


def _decay(n: int, seed: int, start: float = 2.0, end: float = 0.2, noise: float = 0.02) -> list[float]:
    rng = np.random.default_rng(seed)
    x = np.arange(n)
    return list(end + (start - end) * np.exp(-x / (n / 5)) * np.exp(rng.normal(0, noise, n)))


def test_overconfidence_needs_accuracy_that_holds_while_val_loss_rises() -> None:
    train = _decay(20, 1, end=0.05)
    val = [0.9, 0.7, 0.6, 0.55, 0.56, 0.6, 0.65, 0.7, 0.76, 0.8, 0.85, 0.9, 0.95, 1.0, 1.05, 1.1, 1.15, 1.2, 1.25,
           1.3]
    holding = [0.6, 0.7, 0.75, 0.78, 0.8, 0.8, 0.81, 0.8, 0.81, 0.81, 0.8, 0.81, 0.81, 0.8, 0.81, 0.81, 0.8, 0.81,
               0.81, 0.8]
    collapsing = holding[:5] + [0.78 - 0.02 * i for i in range(15)]
    codes = _codes(_run(train_loss=train, val_loss=val, val_accuracy=holding))
    assert codes.get("overconfidence") == 4 and codes.get("overfitting") == 4
    assert "overconfidence" not in _codes(_run(train_loss=train, val_loss=val, val_accuracy=collapsing))


def test_accuracy_wobble_within_binomial_error_counts_as_flat() -> None:
    train = [0.54, 0.38, 0.31, 0.25, 0.21, 0.1, 0.05, 0.013]
    val = [0.43, 0.38, 0.3736, 0.42, 0.38, 0.7, 0.85, 0.91]
    acc = [0.81, 0.83, 0.844, 0.837, 0.838, 0.835, 0.832, 0.831]  # -1.2 points: within 2 SE (1.45) of 2,500
    codes = _codes(_run({"val_size": 2500}, train_loss=train, val_loss=val, val_accuracy=acc))
    assert "overconfidence" in codes
    codes = _codes(_run({"val_size": 100_000}, train_loss=train, val_loss=val, val_accuracy=acc))
    assert "overconfidence" not in codes


def test_recovering_train_spikes_are_counted() -> None:
    train = _decay(200, 2, noise=0.03)
    for i in (60, 140):
        train[i] *= 5
    run = _run(x_axis="step", train_loss=train)
    f = {f.code: f for f in diagnose(run).findings}["loss_spike"]
    assert f.onset == 61 and f.evidence["spike_count"] == 2
    assert f.evidence["median_recovery"] == 1.0


def test_minibatch_noise_is_not_a_spike() -> None:
    assert "loss_spike" not in _codes(_run(x_axis="step", train_loss=_decay(500, 3, noise=0.15)))


@pytest.mark.parametrize(("level", "classes"), [(math.log(10), 10), (1.9105, None)])
def test_frozen_loss_is_a_plateau(level: float, classes: int | None) -> None:
    train = [level * 1.0004] + [level] * 9
    run = _run({"num_classes": classes} if classes else None, train_loss=train)
    f = {f.code: f for f in diagnose(run).findings}["plateau"]
    assert f.onset in (1, 2)
    assert f.evidence["at_class_prior"] is (classes is not None)


def test_noisy_loss_that_never_improves_is_a_plateau_but_a_slow_decline_is_not() -> None:
    rng = np.random.default_rng(4)
    flat = list(2.0 + rng.uniform(-0.05, 0.05, 60))
    assert "plateau" in _codes(_run(train_loss=flat))
    assert "plateau" not in _codes(_run(train_loss=_decay(60, 4)))


def test_constant_validation_accuracy_is_a_plateau() -> None:
    codes = _codes(_run(train_loss=_decay(8, 5), val_accuracy=[0.2] * 8, train_accuracy=[0.2, 0.21, 0.2, 0.22,
                                                                                         0.21, 0.2, 0.21, 0.2]))
    assert codes.get("plateau") == 1


def test_large_swings_without_progress_are_oscillation() -> None:
    train = [0.9, 1.4, 0.8, 1.5, 0.85, 1.3, 0.9, 1.45]
    assert "oscillation" in _codes(_run(train_loss=train))


def test_validation_swinging_while_training_is_smooth_is_an_evaluation_problem() -> None:
    val = [1.48, 1.67, 1.81, 0.98, 0.81, 0.82, 0.51, 0.61, 0.84, 1.17, 0.59, 0.57, 0.61, 1.01, 1.83, 0.66, 0.79]
    codes = _codes(_run(train_loss=_decay(17, 6), val_loss=val))
    assert "val_spike" in codes and "oscillation" not in codes


def test_tiny_wobble_of_a_converged_curve_is_not_oscillation() -> None:
    val = [0.11, 0.069, 0.024, 0.015, 0.010, 0.011, 0.008, 0.010, 0.008, 0.011]
    train = [0.889, 0.173, 0.106, 0.08, 0.059, 0.052, 0.045, 0.04, 0.038, 0.03]
    assert "oscillation" not in _codes(_run(train_loss=train, val_loss=val))


def test_underfitting_near_chance_with_no_gap() -> None:
    train = [0.6931, 0.6897, 0.6829, 0.6642, 0.6568, 0.6412, 0.6224]
    val = [0.6957, 0.693, 0.6909, 0.6907, 0.6902, 0.6909, 0.6845]
    codes = _codes(_run({"num_classes": 2}, train_loss=train, val_loss=val))
    assert codes == {"underfitting": 1}


def test_val_below_train_is_info_and_leakage_is_a_warning() -> None:
    train = [0.17, 0.18, 0.17, 0.169, 0.165, 0.164, 0.156, 0.142, 0.151, 0.154]
    val = [0.072, 0.073, 0.072, 0.071, 0.074, 0.073, 0.073, 0.074, 0.073, 0.072]
    d = diagnose(_run(train_loss=train, val_loss=val))
    (f,) = d.findings
    assert (f.code, f.severity, f.onset) == ("val_below_train", "info", 1)
    assert d.status == "healthy"
    leak = diagnose(_run(train_loss=train, val_loss=val, val_accuracy=[0.995] * 10)).findings[0]
    assert leak.severity == "warning" and leak.evidence["possible_leakage"] is True


def test_small_half_epoch_gap_is_not_val_below_train() -> None:
    train = _decay(25, 7, start=0.133, end=0.095, noise=0.005)
    val = [v * 0.97 for v in train]
    assert "val_below_train" not in _codes(_run(train_loss=train, val_loss=val))


def test_validation_accuracy_collapse_is_a_val_spike() -> None:
    codes = _codes(_run(
        train_loss=[2.42, 2.21, 2.08, 1.95, 1.82, 1.71, 1.61, 1.52],
        val_loss=[3.13, 3.23, 2.3, 1.96, 1.76, 1.63, 1.96, 1.46],
        train_accuracy=[0.77, 0.83, 0.85, 0.87, 0.89, 0.9, 0.9, 0.91],
        val_accuracy=[0.26, 0.255, 0.71, 0.83, 0.89, 0.91, 0.78, 0.92],
    ))
    assert codes.get("val_spike") == 1
