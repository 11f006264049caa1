"""The rules of issue #3, each on real corpus runs (tests/corpus) or seeded curves that show its mechanism."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from lossdoctor.diagnose import Finding
from lossdoctor.engine import diagnose
from lossdoctor.ingest.build import build_run
from lossdoctor.ingest.payload import run_from_payload
from lossdoctor.run import Run

CORPUS = Path(__file__).resolve().parents[1] / "corpus"


def _corpus(run_id: str) -> dict[str, Finding]:
    case: dict[str, Any] = json.loads((CORPUS / f"{run_id}.json").read_text())
    return {f.code: f for f in diagnose(run_from_payload(case["payload"])).findings}


def _findings(run: Run) -> dict[str, Finding]:
    return {f.code: f for f in diagnose(run).findings}


def _epochs(meta: dict[str, Any] | None = None, **series: list[float]) -> Run:
    return build_run([(name, None, values) for name, values in series.items()], meta=meta or {})


# plateau and underfitting


def test_a_loss_crawling_at_a_high_level_is_both_a_plateau_and_underfitting() -> None:
    # heavy L2: the loss stalls at 0.67 ln(10) from epoch 12 and val tracks train
    found = _corpus("c0238")
    assert found["plateau"].evidence["kind"] == "stalled_high"
    assert abs(found["plateau"].onset - 12) <= 1  # type: ignore[operator]
    assert found["underfitting"].evidence["train_val_gap"] is not None


def test_a_loss_still_gaining_more_than_3_percent_is_not_stalled() -> None:
    # 2 hidden units: the loss is high but still falls 4 % over its last half: slow learning, not a plateau
    found = _corpus("c0222")
    assert "plateau" not in found and "underfitting" in found


def test_a_frozen_loss_without_any_validation_curve_is_only_a_plateau() -> None:
    run = _epochs(train_loss=[1.9112] + [1.9105] * 9, train_accuracy=[0.5325] + [0.5378] * 9)
    found = _findings(run)
    assert found["plateau"].evidence["kind"] == "frozen"
    assert "underfitting" not in found


def test_one_class_predicted_for_everything_is_only_a_plateau() -> None:
    run = _epochs(train_loss=[2.017, 1.834, 1.833, 1.779, 1.772, 1.763, 1.77, 1.762],
                  val_loss=[3.912, 2.222, 1.81, 1.655, 1.679, 1.679, 1.666, 1.697],
                  train_accuracy=[0.1997, 0.2122, 0.1955, 0.2178, 0.2122, 0.2102, 0.2074, 0.206],
                  val_accuracy=[0.2] * 8)
    found = _findings(run)
    assert found["plateau"].evidence["kind"] == "constant_accuracy"
    assert "underfitting" not in found


# exploding_nan


def test_explosion_onset_is_where_the_climb_into_it_starts() -> None:
    # momentum 0.99: the loss climbs for six epochs before it passes 100x its start (2.3)
    f = _corpus("c0071")["exploding_nan"]
    assert f.evidence["explosion_at"] == 10 and f.onset == 4


def test_one_lucky_batch_near_zero_does_not_make_a_later_loss_an_explosion() -> None:
    # per-step loss touches 3.7e-8 once; 1000x that is an ordinary loss: this run diverges, it does not explode
    found = _corpus("c0381")
    assert "exploding_nan" not in found and "divergence" in found


def test_a_per_step_loss_100x_over_its_start_explodes_even_with_a_zero_in_it() -> None:
    f = _corpus("c0092")["exploding_nan"]
    assert f.evidence["explosion_metric"] == "train_loss"
    assert f.onset is not None and abs(f.onset - 182) <= 4  # within two logged points (every 2 steps)


def test_gradient_norm_growth_with_a_bounded_loss_is_a_divergence_not_an_explosion() -> None:
    found = _corpus("c0043")  # grad norm grows 17,000x while the loss climbs back to ~2 (ln 4 = 1.39)
    assert "exploding_nan" not in found and "divergence" in found


# consequences of a divergence or an explosion


def test_a_val_jump_that_never_recovers_before_an_explosion_is_the_explosion() -> None:
    found = _corpus("c0078")  # val loss is 80x up at epoch 2, train loss follows from epoch 3 to inf
    assert set(found) == {"exploding_nan"}


def test_a_val_rise_beside_a_divergence_is_not_overfitting() -> None:
    found = _corpus("c0038")  # val best at epoch 4, train loss turns at epoch 8 and climbs 17x
    assert "divergence" in found
    assert not {"overfitting", "overconfidence"} & set(found)


def test_a_non_recovering_val_jump_with_smooth_training_is_still_a_val_spike() -> None:
    run = _epochs(train_loss=[5.66, 5.19, 5.01, 4.94, 4.85], val_loss=[5.25, 5.16, 184.5, 77.3, 435.2])
    f = _findings(run)["val_spike"]
    assert f.onset == 3 and f.evidence["recovers"] is False


# val_spike versus oscillation


def test_val_swinging_while_training_steadily_improves_is_the_evaluation() -> None:
    found = _corpus("c0095")  # BatchNorm after an LSTM, tiny last batch: val jumps 2-3x, train falls 7x
    assert "val_spike" in found and "oscillation" not in found


def test_val_and_train_both_swinging_is_oscillation() -> None:
    found = _corpus("c0198")
    assert "oscillation" in found and "val_spike" not in found


# overfitting


def test_overfitting_noise_is_measured_after_the_steep_descent() -> None:
    # val falls 0.91 -> 0.04 in ten epochs, then rises 17 % from epoch 26 while train keeps falling
    f = _corpus("c0013")["overfitting"]
    assert abs(f.onset - 26) <= 1  # type: ignore[operator]


def test_a_val_jump_echoing_a_training_spike_does_not_hide_overfitting() -> None:
    found = _corpus("c0128")  # scrambled-label shards: train and val spike together at epochs 7 and 14
    assert {"overfitting", "overconfidence", "loss_spike"} <= set(found)
    assert abs(found["overfitting"].onset - 5) <= 1  # type: ignore[operator]


# loss_spike


def test_a_doubling_that_recovers_is_a_loss_spike() -> None:
    f = _corpus("c0137")["loss_spike"]  # 0.42 -> 1.09 at epoch 10, back within two epochs
    assert f.onset == 10 and f.evidence["max_height"] < 3


def test_per_step_minibatch_noise_is_not_a_loss_spike() -> None:
    # a healthy per-step run whose log-loss gets noisier near zero: no point beats six local sigmas
    assert "loss_spike" not in _corpus("c0155")


def test_a_per_step_spike_may_take_a_few_points_to_recover() -> None:
    found = _corpus("c0151")  # scrambled labels at steps 300, 700 and 900: the loss needs ~10 steps back
    assert found["loss_spike"].onset == 300


def test_a_seeded_loss_doubling_on_a_smooth_decay_is_found_and_noise_is_not() -> None:
    rng = np.random.default_rng(0)
    base = list(2.0 * np.exp(-np.arange(30) / 8) * np.exp(rng.normal(0, 0.01, 30)) + 0.05)
    spiked = list(base)
    spiked[15] *= 2.5
    assert _findings(_epochs(train_loss=spiked))["loss_spike"].onset == 16
    assert "loss_spike" not in _findings(_epochs(train_loss=base))
