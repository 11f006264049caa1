"""The scenario library reproduces its faults in real trainings, and its fixes remove them."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest
import torch

from lossdoctor.jobs.scenarios import METRICS, ScenarioConfig, TrainingRecord, train
from lossdoctor.jobs.scenarios.catalog import CATALOG, get
from lossdoctor.jobs.scenarios.labelling import PRIORITY, label

torch.set_num_threads(1)


def curves(rec: TrainingRecord) -> dict[str, dict[str, list[float]]]:
    return {k: {"steps": [float(s) for s in c.steps], "values": c.values} for k, c in rec.metrics.items()}


def codes(rec: TrainingRecord) -> set[str]:
    return set(label(curves(rec), rec.meta()).onsets)


def test_every_fix_is_a_valid_config_and_every_pathology_a_known_code() -> None:
    for scenario in CATALOG.values():
        assert scenario.pathology in (*PRIORITY, "healthy")
        assert scenario.base.pathology == scenario.pathology
        for fix in scenario.fixes:
            assert scenario.fixed(fix.name, seed=3).seed == 3
    with pytest.raises(ValueError, match="unknown ScenarioConfig fields"):
        ScenarioConfig().with_overrides(learning_rat=0.1)
    with pytest.raises(KeyError, match="no fix"):
        get("lr_zero").fixed("nonexistent")


def test_catalog_and_labelling_do_not_import_torch() -> None:
    code = ("import sys\nimport lossdoctor.jobs.scenarios.catalog, lossdoctor.jobs.scenarios.labelling\n"
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "False"


def test_an_epoch_run_logs_every_metric_once_per_epoch_and_is_deterministic() -> None:
    config = get("healthy_mlp_adam").config(seed=1).with_overrides(epochs=3, train_subset=200)
    first, second = train(config), train(config)
    assert first.x_axis == "epoch" and first.train_size == 200 and first.num_classes == 10
    for name in METRICS:
        assert first.metrics[name].steps == [1, 2, 3]
        assert first.metrics[name].values == second.metrics[name].values


def test_divergence_scenario_ends_above_its_minimum_and_the_lower_lr_fix_removes_it() -> None:
    scenario = get("diverge_lr_ramp_mlp")
    rec = train(scenario.config(seed=0))
    loss = rec.values("train_loss")
    assert all(math.isfinite(v) for v in loss)
    assert loss.index(min(loss)) < len(loss) // 2 and loss[-1] > 5 * min(loss)
    assert "divergence" in codes(rec)
    assert "divergence" not in codes(train(scenario.fixed("lower_peak_lr", seed=0)))


def test_exploding_scenario_yields_a_non_finite_value_and_a_lower_lr_keeps_it_finite() -> None:
    scenario = get("explode_full_batch_gd")
    rec = train(scenario.config(seed=0))
    assert not all(math.isfinite(v) for name in ("train_loss", "grad_norm") for v in rec.values(name))
    assert len(rec.values("train_loss")) < scenario.base.epochs  # stopped shortly after the NaN
    assert "exploding_nan" in codes(rec)
    fixed = train(scenario.fixed("lower_lr", seed=0))
    assert all(math.isfinite(v) for name in METRICS for v in fixed.values(name))
    assert "exploding_nan" not in codes(fixed)


def test_sgd_lr_step_up_explodes_and_gradient_clipping_turns_it_into_a_finite_divergence() -> None:
    scenario = get("explode_sgd_step_up")
    loss = train(scenario.config(seed=0)).values("train_loss")
    assert max(v for v in loss if math.isfinite(v)) > 1e6 * min(loss[:12])
    clipped = train(scenario.fixed("grad_clip", seed=0))
    assert all(math.isfinite(v) for v in clipped.values("train_loss"))
    assert codes(clipped) == {"divergence"}


def test_step_logged_bad_batches_show_as_recovering_spikes_at_their_steps() -> None:
    rec = train(get("bad_batch_labels_steps").config(seed=0))
    assert rec.x_axis == "step"
    steps = rec.metrics["train_loss"].steps
    assert steps[:2] == [5, 10] and len(steps) == rec.steps_per_epoch * rec.config.epochs // 5
    verdict = label(curves(rec), rec.meta())
    assert verdict.onsets.get("loss_spike") == 300
