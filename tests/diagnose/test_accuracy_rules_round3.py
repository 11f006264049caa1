"""Behaviours added for engine accuracy (issue 3, round 3): a validation rise is judged on the trend without
its recovering evaluation jumps (neither hidden nor made by them), and a blow-up's own validation climb is
not overfitting."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from lossdoctor.engine import diagnose
from lossdoctor.ingest.payload import run_from_payload


def _findings(metrics: Mapping[str, Sequence[float | str]], **meta: object) -> dict[str, Any]:
    payload = {"metrics": {name: {"steps": list(range(1, len(v) + 1)), "values": list(v)}
                           for name, v in metrics.items()},
               "meta": {"num_classes": 10, **meta}}
    return {f.code: f for f in diagnose(run_from_payload(payload)).findings}


TRAIN = [1.2 * 0.8**i for i in range(30)]


def test_persistent_rise_with_a_recovering_eval_jump_is_still_overfitting() -> None:
    # best 0.19 at epoch 1, one isolated 5x jump at epoch 9 that comes back, then a climb to ~1.07 that stays
    val = [0.19, 0.33, 0.35, 0.27, 0.27, 0.33, 0.28, 0.35, 1.6, 0.42, 0.55, 0.7, 0.85, 1.0, 1.05, 1.07,
           *[1.07] * 14]
    found = _findings({"train_loss": TRAIN, "val_loss": val})
    assert "overfitting" in found and "val_spike" in found
    assert found["overfitting"].onset == 1


def test_recovering_eval_jumps_alone_do_not_make_a_rise() -> None:
    # a flat val loss at 0.30 with two 4x jumps near the end that come back at once
    val = [1.0, 0.6, 0.4, 0.32, *[0.3, 0.31, 0.29] * 5, 1.2, 0.3, 0.31, 1.25, 0.3, 0.3]
    found = _findings({"train_loss": TRAIN[: len(val)], "val_loss": val})
    assert "val_spike" in found
    assert "overfitting" not in found and "overconfidence" not in found


def test_a_blow_up_is_not_overfitting_even_when_the_best_epoch_is_just_before_it() -> None:
    # corpus run c0083: best val at epoch 6, then the LR is multiplied by 30 at epoch 8 and both losses explode
    train = [1.583, 0.315, 0.117, 0.07, 0.031, 0.014, 0.007, 1504560.0, 2.413, 2.374, 2.411, 2.393, 2.416]
    val = [0.513, 0.346, 0.303, 0.268, 0.116, 0.144, 0.135, 40714.2, 44824.6, 44861.4, 44861.6, 44861.6, 44861.5]
    found = _findings({"train_loss": train, "val_loss": val})
    assert found["exploding_nan"].onset == 8
    assert "overfitting" not in found and "overconfidence" not in found


def test_overfitting_before_a_blow_up_is_still_reported() -> None:
    # val turns up at epoch 8 and climbs for 10 epochs while train falls; the run goes NaN at epoch 20
    val = [1.0, 0.7, 0.5, 0.4, 0.34, 0.31, 0.3, 0.29, 0.32, 0.36, 0.4, 0.45, 0.5, 0.55, 0.6, 0.66, 0.72, 0.78,
           0.85]
    train: list[float | str] = [*TRAIN[:19], "NaN", "NaN"]
    found = _findings({"train_loss": train, "val_loss": [*val, "NaN", "NaN"]})
    assert "exploding_nan" in found
    assert found["overfitting"].onset in (7, 8)


# corpus run c0356: a transformer at ~97 % validation accuracy on 320 examples, its val loss swinging +-30 %
SWINGING_TRAIN = [0.787, 0.155, 0.125, 0.087, 0.064, 0.08, 0.064, 0.061, 0.047, 0.041, 0.035, 0.033, 0.062, 0.076,
                  0.06]
SWINGING_VAL = [0.174, 0.13, 0.093, 0.099, 0.131, 0.078, 0.071, 0.094, 0.092, 0.109, 0.129, 0.085, 0.095, 0.137,
                0.102]
HIGH_ACCURACY = [0.934, 0.95, 0.972, 0.966, 0.953, 0.972, 0.981, 0.969, 0.975, 0.972, 0.972, 0.975, 0.966, 0.963,
                 0.969]


def test_val_loss_swings_a_small_validation_sets_few_errors_explain_are_noise() -> None:
    found = _findings({"train_loss": SWINGING_TRAIN, "val_loss": SWINGING_VAL, "val_accuracy": HIGH_ACCURACY},
                      num_classes=4, val_size=320)
    assert "val_spike" not in found and "oscillation" not in found


def test_the_same_swings_on_a_large_validation_set_are_a_noisy_evaluation() -> None:
    # 10 errors make +-30 % swings; 3,000 errors cannot (about +-2 %)
    found = _findings({"train_loss": SWINGING_TRAIN, "val_loss": SWINGING_VAL, "val_accuracy": HIGH_ACCURACY},
                      num_classes=4, val_size=100_000)
    assert "val_spike" in found


def test_a_loss_that_ends_worse_than_guessing_after_learning_is_divergence_even_on_two_epochs() -> None:
    # real log 023 (GTSRB, 43 classes): epoch 2 collapses to confidently wrong outputs
    found = _findings({"train_loss": [0.2193, 5.1823], "val_loss": [0.0298, 15.9742],
                       "val_accuracy": [0.9916, 0.0089]}, num_classes=43)
    assert found["divergence"].onset == 2
    assert found["divergence"].evidence["min_at"] == 1


def test_a_late_jump_that_stays_under_the_guessing_loss_is_no_collapse() -> None:
    assert "divergence" not in _findings({"train_loss": [0.2193, 2.9], "val_loss": [0.0298, 3.1]}, num_classes=43)
    # ... nor one the validation loss does not share
    assert "divergence" not in _findings({"train_loss": [0.2193, 5.18], "val_loss": [0.0298, 0.05]},
                                         num_classes=43)


def test_two_quiet_points_are_still_insufficient_data() -> None:
    payload = {"metrics": {"train_loss": {"steps": [1, 2], "values": [0.9, 0.7]}}, "meta": {"num_classes": 10}}
    assert diagnose(run_from_payload(payload)).status == "insufficient_data"


def test_a_validation_loss_that_oscillates_as_a_whole_has_no_spikes() -> None:
    # real log 025 (binary CNN, Keras): val loss 3.75 -> 11.25 -> 2.39 -> 3.18 -> 0.87 while training bounces
    found = _findings({"train_loss": [0.915, 1.1297, 1.3976, 0.7517, 0.7319],
                       "val_loss": [3.7535, 11.2487, 2.3932, 3.1836, 0.8679]}, num_classes=2)
    assert found["oscillation"].metrics[0] == "val_loss"
    assert "val_spike" not in found


def test_without_the_class_count_a_tenfold_collapse_with_accuracy_is_divergence() -> None:
    collapse = {"train_loss": [0.2193, 5.1823], "val_loss": [0.0298, 15.9742], "val_accuracy": [0.9916, 0.0089]}
    assert _findings(collapse, num_classes=None)["divergence"].onset == 2
    # a tenfold jump with nothing else is maybe a spike that recovers next epoch: too early to say
    assert "divergence" not in _findings({"train_loss": [0.2193, 5.18], "val_loss": [0.0298, 15.97]},
                                         num_classes=None)
    assert "divergence" not in _findings({"train_loss": [0.2193, 1.9], "val_loss": [0.0298, 0.5],
                                          "val_accuracy": [0.99, 0.2]}, num_classes=None)


# training noisy but flat, validation alternating 0.63 / 1.26: the validation loss oscillates as a whole
NOISY_TRAIN = [0.727, 0.682, 0.777, 0.841, 0.917, 0.811, 0.749, 0.728, 0.875, 0.973, 0.827, 0.69, 0.713, 0.969, 0.82,
               0.65, 0.792, 0.696, 0.742, 0.754, 0.734, 0.855, 0.794, 0.745, 0.84, 0.884, 0.657, 0.776, 0.711, 0.784]
ALTERNATING_VAL = [0.63, 1.26] * 15


def test_a_jump_within_the_swing_of_an_oscillating_validation_loss_is_no_spike() -> None:
    val = list(ALTERNATING_VAL)
    val[16] *= 3
    found = _findings({"train_loss": NOISY_TRAIN, "val_loss": val})
    assert found["oscillation"].metrics[0] == "val_loss"
    assert "val_spike" not in found


def test_a_jump_far_beyond_the_swing_of_an_oscillating_validation_loss_is_still_a_spike() -> None:
    val = list(ALTERNATING_VAL)
    val[15] *= 50
    assert _findings({"train_loss": NOISY_TRAIN, "val_loss": val})["val_spike"].severity == "error"


OVERFIT_VAL = [1.0, 0.7, 0.5, 0.4, 0.34, 0.31, 0.3, 0.29, 0.32, 0.36, 0.4, 0.45, 0.5, 0.55, 0.6, 0.66, 0.72, 0.78,
               0.85, 0.9]


def test_a_finite_blow_up_does_not_hide_the_overfitting_before_it() -> None:
    found = _findings({"train_loss": [*TRAIN[:20], 1e5, 2e5], "val_loss": [*OVERFIT_VAL, 1e5, 2e5]})
    assert "exploding_nan" in found
    assert found["overfitting"].onset in (7, 8)


def test_a_last_epoch_collapse_does_not_hide_the_overfitting_before_it() -> None:
    found = _findings({"train_loss": [*TRAIN[:20], 3.1], "val_loss": [*OVERFIT_VAL, 4.0]}, num_classes=10)
    assert found["divergence"].onset == 21 and found["divergence"].evidence["collapsed"] is True
    assert found["overfitting"].onset in (7, 8)


def test_a_collapse_needs_the_validation_loss_to_show_it_too() -> None:
    assert "divergence" not in _findings({"train_loss": [*TRAIN[:20], 3.1]}, num_classes=10)


def test_the_onset_of_overfitting_is_the_best_epoch_as_logged() -> None:
    # real log 042 (epochs from 0): val loss is lowest at epoch 5 (0.5207); its 3-point median turns at epoch 8
    steps = list(range(16))
    val = [0.6873, 0.6722, 0.6383, 0.5856, 0.5468, 0.5207, 0.5355, 0.5383, 0.5282, 0.5322, 0.5413, 0.5458, 0.5692,
           0.5644, 0.5767, 0.5857]
    train = [0.6766, 0.6613, 0.6327, 0.5581, 0.4829, 0.42, 0.3714, 0.3297, 0.3008, 0.2764, 0.2539, 0.2381, 0.2247,
             0.2067, 0.1909, 0.1787]
    payload = {"metrics": {"train_loss": {"steps": steps, "values": train},
                           "val_loss": {"steps": steps, "values": val}}, "meta": {"num_classes": 2}}
    found = {f.code: f for f in diagnose(run_from_payload(payload)).findings}
    assert found["overfitting"].onset == 5
    assert found["overfitting"].evidence["best_val_loss"] == 0.5207


def test_an_oscillation_is_dated_from_where_the_bouncing_begins_not_from_the_descent_before_it() -> None:
    train = [2.0, 1.6, 1.3, 1.05, 0.9, 0.8] + [0.6, 0.9] * 10
    assert _findings({"train_loss": train}, num_classes=4)["oscillation"].onset in (5, 6, 7)
