"""Behaviours added for engine accuracy (issue 3, round 2): a divergence gives back a real share of what the
loss had learned, its onset is where the climb leaves the floor, its persistence and noise are judged on the
log scale losses live on; a loss spike must be material against the uniform-guess loss; a val-below-train gap
must still hold at the end of the run."""

from __future__ import annotations

from typing import Any

from lossdoctor.engine import diagnose
from lossdoctor.ingest.payload import run_from_payload


def _findings(train: list[float], val: list[float] | None = None, **meta: object) -> dict[str, Any]:
    metrics = {"train_loss": {"steps": list(range(1, len(train) + 1)), "values": train}}
    if val is not None:
        metrics["val_loss"] = {"steps": list(range(1, len(val) + 1)), "values": val}
    payload = {"metrics": metrics, "meta": {"num_classes": 10, **meta}}
    return {f.code: f for f in diagnose(run_from_payload(payload)).findings}


# A steady descent 1.6 -> ~0.04 over 19 epochs.
DESCENT = [1.6 * 0.82**i for i in range(19)]


def test_late_wobble_that_keeps_most_of_the_progress_is_not_divergence() -> None:
    # 1.63 -> 0.042 at epoch 19, then a bad batch and ~0.055-0.06 to the end: 1.4x the minimum, but 99 % of
    # the fall is kept
    train = [1.632, 0.979, 0.673, 0.482, 0.388, 0.299, 0.226, 0.203, 0.155, 0.133, 0.109, 0.094, 0.074, 0.082,
             0.094, 0.081, 0.061, 0.052, 0.042, 0.155, 0.062, 0.080, 0.055, 0.062, 0.055]
    assert "divergence" not in _findings(train)


def test_climb_that_gives_back_a_quarter_of_the_fall_is_divergence() -> None:
    train = [1.0, 0.7, 0.5, 0.35, 0.25, 0.2, 0.2, 0.26, 0.33, 0.4, 0.45, 0.5, 0.52, 0.5, 0.51]
    found = _findings(train)
    assert "divergence" in found
    assert found["divergence"].evidence["rise_factor"] >= 2.0


def test_climb_to_several_times_the_minimum_is_divergence_however_far_it_had_fallen() -> None:
    # 2.0 -> 0.01, then up to ~0.05: 5x the minimum, though only 2 % of the fall is given back
    train = [2.0 * 0.6**i for i in range(11)] + [0.012, 0.017, 0.024, 0.033, 0.042, 0.05, 0.052, 0.051, 0.053]
    assert "divergence" in _findings(train)


def test_divergence_onset_is_where_the_climb_leaves_the_floor() -> None:
    # minimum 0.137 at epoch 3; first bumps at 4-5 (0.21, 0.28), the climb to ~2.3 takes off at epoch 6
    train = [1.51, 0.229, 0.137, 0.206, 0.277, 0.527, 0.702, 1.5, 1.74, 2.03, 2.51, *[2.32] * 14]
    found = _findings(train)
    assert found["divergence"].onset == 6
    assert found["divergence"].evidence["min_at"] == 3


def test_climb_with_a_late_burst_is_persistent_on_the_log_scale() -> None:
    # 1.9 -> 0.036, then up to 0.4-2.9: the last point (0.9) is below half the arithmetic climb, but 25x
    # the minimum: it never came back down
    train = [1.906, 0.433, 0.115, 0.056, 0.036, 0.056, 0.109, 0.2, 0.408, 0.401, 0.519, 0.434, 0.367, 0.378,
             0.321, 0.813, 0.792, 1.538, 1.645, 1.01, 0.837, 0.665, 0.828, 0.747, 0.803, 1.967, 2.953, 2.466,
             2.184, 0.905]
    found = _findings(train)
    assert "divergence" in found
    assert found["divergence"].evidence["min_at"] == 5


def test_loss_scattering_by_decades_is_not_a_climb() -> None:
    # per-point prints of a near-zero loss that scatter 0.001 - 0.2 with no trend
    train = [0.0055, 0.1177, 0.0081, 0.1987, 0.1669, 0.0013, 0.0376, 0.047, 0.1071, 0.0855]
    assert "divergence" not in _findings(train)


def test_loss_spike_must_be_material_against_the_uniform_guess_loss() -> None:
    # a near-zero loss triples at epoch 20 (0.05 -> 0.155): 0.1 nats, under 5 % of ln(10) = 2.3 ...
    train = [*DESCENT, 0.155, 0.045, 0.044, 0.043, 0.042, 0.041]
    assert "loss_spike" not in _findings(train, num_classes=10)
    # ... but 15 % of ln(2) = 0.69 on a binary task
    found = _findings(train, num_classes=2)
    assert found["loss_spike"].onset == 20


def test_val_below_train_gap_must_still_hold_at_the_end() -> None:
    train = [1.0 * 0.8**i for i in range(12)]
    holding = [t * 0.75 for t in train]
    assert _findings(train, holding)["val_below_train"].onset == 1
    closing = [t * (0.75 + 0.2 * i / 11) for i, t in enumerate(train)]  # the gap closes to 5 % at the end
    assert "val_below_train" not in _findings(train, closing)


# Validation loss that swings from evaluation to evaluation (no single jump isolated enough for the spike
# detector): the unstable-evaluation path of val_spike.
SWINGING_VAL = [1.49, 0.801, 0.951, 0.806, 0.779, 1.03, 0.698, 0.992, 0.463, 0.874, 0.617, 0.604, 0.509, 0.518,
                0.642, 0.416, 0.721, 1.82, 1.23, 2.89, 0.493, 1.2, 0.431, 0.494, 0.556]


def test_swinging_val_whose_jumps_come_with_training_jumps_is_not_a_val_spike() -> None:
    # the training loss doubles at epoch 18 and jumps again at 20, exactly where val jumps
    train = [1.81, 1.09, 0.695, 0.461, 0.353, 0.282, 0.216, 0.184, 0.162, 0.15, 0.124, 0.13, 0.14, 0.108, 0.0915,
             0.0807, 0.0812, 0.16, 0.0858, 0.136, 0.092, 0.0659, 0.0745, 0.0799, 0.0543]
    assert "val_spike" not in _findings(train, SWINGING_VAL)


def test_swinging_val_while_training_is_calm_is_a_val_spike_from_the_first_jump() -> None:
    train = [1.81 * 0.85**i for i in range(25)]
    found = _findings(train, SWINGING_VAL)
    assert found["val_spike"].onset == 18
    assert found["val_spike"].evidence["train_loss_smooth"] is True


def test_val_swinging_while_training_descends_beyond_its_noise_is_not_an_oscillation() -> None:
    # train falls 1.36 -> 0.04 with its own wobble (noisy, so not "smooth"; its progress is under twice the
    # val swing), but far beyond what that wobble explains: the optimiser descends, only the evaluation swings
    train = [1.36, 1.13, 0.893, 0.629, 0.412, 0.271, 0.221, 0.194, 0.282, 0.125, 0.14, 0.125, 0.161, 0.111, 0.108,
             0.0813, 0.111, 0.0627, 0.0623, 0.0857, 0.0675, 0.0862, 0.0444, 0.115, 0.0416]
    val = [1.53, 1.23, 1.89, 1.64, 0.537, 0.248, 1.34, 1.96, 0.226, 0.694, 0.358, 0.659, 1.35, 0.254, 0.212, 0.751,
           0.482, 2.11, 0.954, 0.0819, 0.736, 0.151, 0.136, 2.46, 0.519]
    found = _findings(train, val)
    assert "oscillation" not in found
    assert "val_spike" in found


def test_val_swinging_while_training_makes_no_significant_progress_is_an_oscillation() -> None:
    train = [0.915, 1.13, 1.398, 0.752, 0.732]
    val = [3.753, 11.249, 2.393, 3.184, 0.868]
    found = _findings(train, val, num_classes=2)
    assert found["oscillation"].metrics == ("val_loss",)


def test_swinging_val_whose_jump_is_followed_by_a_training_jump_is_not_a_val_spike() -> None:
    # val jumps at epochs 17-18; the training loss of epoch 18 (which starts from the weights val saw at 17)
    # jumps 3.5x: the weights were off, not the evaluation
    train = [1.67, 0.965, 0.668, 0.466, 0.365, 0.289, 0.228, 0.203, 0.176, 0.159, 0.128, 0.128, 0.145, 0.128,
             0.141, 0.0957, 0.0742, 0.257, 0.0853, 0.135, 0.0706, 0.0708, 0.0572, 0.067, 0.0475]
    val = [1.57, 1.08, 1.42, 1.01, 0.902, 1.24, 0.682, 0.655, 0.718, 0.666, 0.269, 0.436, 0.421, 0.292, 0.459,
           0.456, 0.917, 1.28, 0.63, 0.751, 0.31, 0.702, 0.58, 0.266, 0.404]
    found = _findings(train, val)
    assert "val_spike" not in found
    assert found["loss_spike"].onset == 18
