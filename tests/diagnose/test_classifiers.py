"""Each first-cut classifier on seeded synthetic curves whose truth is known, and on the traps beside it."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lossdoctor.engine import diagnose
from lossdoctor.ingest.build import build_run
from lossdoctor.run import Run

RNG_SEEDS = [0, 1, 2]


def _run(**series: list[float] | tuple[list[float], list[float]]) -> Run:
    cols = []
    for name, s in series.items():
        if isinstance(s, tuple):
            cols.append((name, s[0], s[1]))
        else:
            cols.append((name, None, s))
    return build_run(cols)


def _codes(run: Run) -> dict[str, float | None]:
    return {f.code: f.onset for f in diagnose(run).findings}


def _decay(n: int, seed: int, start: float = 2.0, end: float = 0.2, noise: float = 0.02) -> list[float]:
    rng = np.random.default_rng(seed)
    x = np.arange(n)
    return list(end + (start - end) * np.exp(-x / (n / 5)) * np.exp(rng.normal(0, noise, n)))


@pytest.mark.parametrize("seed", RNG_SEEDS)
def test_healthy_decay_has_no_findings(seed: int) -> None:
    train = _decay(40, seed)
    val = [v * 1.1 for v in _decay(40, seed + 10)]
    assert _codes(_run(train_loss=train, val_loss=val)) == {}


@pytest.mark.parametrize("seed", RNG_SEEDS)
def test_overfitting_onset_is_the_best_val_epoch(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, best = 40, 12
    train = _decay(n, seed, end=0.01)
    x = np.arange(n)
    val = 0.5 + 0.004 * (x - best) ** 2 * np.exp(rng.normal(0, 0.01, n))
    val[best] = 0.45
    codes = _codes(_run(train_loss=train, val_loss=list(val)))
    assert "overfitting" in codes
    assert codes["overfitting"] is not None and abs(codes["overfitting"] - (best + 1)) <= 1


def test_val_noise_without_a_trend_is_not_overfitting() -> None:
    rng = np.random.default_rng(5)
    train = _decay(30, 5)
    val = list(0.4 * np.exp(rng.normal(0, 0.03, 30)))
    assert "overfitting" not in _codes(_run(train_loss=train, val_loss=val))


def test_divergence_after_lr_increase_is_an_error_with_lr_context() -> None:
    train = [2.0, 1.5, 1.1, 0.9, 0.8, 0.75, 1.2, 1.9, 2.4, 2.6, 2.8, 2.9]
    lr = [1e-3] * 5 + [1e-2] * 7
    d = diagnose(_run(train_loss=train, lr=lr))
    f = {f.code: f for f in d.findings}["divergence"]
    assert f.severity == "error"
    assert f.onset == 7
    assert f.evidence["lr_increased_before_onset"] is True
    assert f.evidence["min_train_loss"] == 0.75


def test_one_train_spike_that_recovers_is_not_divergence() -> None:
    train = _decay(30, 3)
    train[15] *= 4
    assert "divergence" not in _codes(_run(train_loss=train))


def test_first_non_finite_value_is_the_exploding_onset() -> None:
    train = [2.0, 1.5, 1.8, 1.6, 1.7, math.inf, math.nan, math.nan]
    d = diagnose(_run(train_loss=train))
    f = {f.code: f for f in d.findings}["exploding_nan"]
    assert f.severity == "error"
    assert f.onset == 6
    assert "run_up_from" not in f.evidence


def test_the_climb_into_a_nan_is_the_exploding_onset() -> None:
    # 40 is 20x the starting loss: the run was blowing up one point before it overflowed
    train = [2.0, 1.5, 1.2, 3.0, 40.0, math.inf, math.nan, math.nan]
    f = {f.code: f for f in diagnose(_run(train_loss=train)).findings}["exploding_nan"]
    assert f.onset == 5
    assert (f.evidence["run_up_from"], f.evidence["first_non_finite_at"]) == (5, 6)
    assert f.evidence["first_non_finite_value"] == "inf"
    assert f.evidence["non_finite_count"] == 3


def test_growth_by_two_decades_over_the_start_is_an_explosion_even_without_nan() -> None:
    train = [1.6, 1.2, 1.0, 9.0, 4e3, 1.6e18]
    f = {f.code: f for f in diagnose(_run(train_loss=train)).findings}["exploding_nan"]
    assert f.evidence["explosion_at"] == 5  # 4e3 is the first value 100x above the start (1.6)
    assert f.onset == 4  # ... and the climb into it started at 9.0, over twice the start
    assert f.evidence["explosion_metric"] == "train_loss"


def test_nan_in_grad_norm_only_is_reported_with_its_metric() -> None:
    steps = [10.0, 20.0, 30.0, 40.0]
    d = diagnose(build_run([("loss", steps, [1.0, 0.9, 0.85, 0.8]), ("grad_norm", steps, [1, 2, "NaN", "NaN"])],
                           x_axis="step"))
    f = {f.code: f for f in d.findings}["exploding_nan"]
    assert f.onset == 30
    assert f.evidence["first_non_finite_metric"] == "grad_norm"


def test_isolated_val_spike_below_ten_x_is_a_warning() -> None:
    train = _decay(20, 7)
    val = [v * 1.05 for v in _decay(20, 8)]
    val[9] *= 5
    d = diagnose(_run(train_loss=train, val_loss=val))
    f = {f.code: f for f in d.findings}["val_spike"]
    assert f.severity == "warning"
    assert f.onset == 10
    assert f.evidence["recovers"] is True


def test_val_jump_shared_by_train_loss_is_not_a_val_spike() -> None:
    train = [1.0, 0.9, 0.8, 8.0, 9.0, 9.5]
    val = [1.1, 1.0, 0.9, 9.0, 9.5, 9.8]
    assert "val_spike" not in _codes(_run(train_loss=train, val_loss=val))


def test_jump_across_a_gap_in_the_log_is_not_sudden() -> None:
    steps = [1.0, 2.0, 3.0, 4.0, 5.0, 75.0, 76.0, 77.0]
    val = [0.43, 0.38, 0.37, 0.42, 0.38, 1.5, 1.52, 1.55]
    run = build_run([("val_loss", steps, val), ("loss", steps, [0.5, 0.4, 0.3, 0.25, 0.2, 0.01, 0.012, 0.01])])
    assert "val_spike" not in _codes(run)


def test_fewer_than_three_points_is_insufficient_data() -> None:
    assert diagnose(_run(train_loss=[1.0, 0.9])).status == "insufficient_data"


def test_short_runs_still_get_a_verdict_with_less_confidence() -> None:
    short = diagnose(_run(train_loss=[1.0, 0.8, 0.7, 0.65], val_loss=[0.9, 0.8, 1.0, 1.3]))
    assert short.status == "unhealthy"
    (f,) = short.findings
    assert f.code == "overfitting" and f.confidence < 0.9
