"""A reproduction in-process: how knobs and fixes make the configs, what the worker refuses, and real tiny
trainings whose verdicts, early-stopping epoch and non-finite curves come out as the API documents them."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch

from lossdoctor.jobs.reproduce import (
    EARLY_STOPPING,
    RefusedSpec,
    check_spec,
    reproduce,
    scenario_configs,
    shows,
)
from lossdoctor.jobs.scenarios.catalog import CATALOG
from lossdoctor.jobs.worker import choose_device

torch.set_num_threads(1)


def test_configs_are_scenario_then_knobs_then_fix_and_epochs_retime_the_whole_run() -> None:
    scenario = CATALOG["diverge_lr_ramp_mlp"]  # warm-up over all 30 epochs to lr 0.1
    configs = scenario_configs(scenario, {"epochs": 15, "seed": 4, "batch_size": 64, "learning_rate": 0.2})
    assert list(configs) == ["baseline", "lower_peak_lr", "warmup_then_decay"]
    base = configs["baseline"]
    assert (base.epochs, base.warmup_epochs, base.seed, base.batch_size, base.learning_rate) == (15, 15, 4, 64, 0.2)
    fixed = configs["warmup_then_decay"]  # the fix's own values win over the request's knobs
    assert (fixed.learning_rate, fixed.lr_schedule, fixed.warmup_epochs, fixed.seed) == (0.003, "warmup_cosine", 2, 4)
    assert scenario_configs(scenario, {})["baseline"] == scenario.base
    with pytest.raises(ValueError, match="may not set"):
        scenario_configs(scenario, {"hidden": 4096})


@pytest.mark.parametrize(("spec", "hint"), [
    ([], "is an object"),
    ({"scenario": "nope"}, "unknown scenario 'nope'"),
    ({"scenario": None}, "unknown scenario None"),
    ({"scenario": "lr_zero", "knobs": {"epochs": 61}}, "knob epochs"),
    ({"scenario": "lr_zero", "knobs": {"batch_size": 0}}, "knob batch_size"),
    ({"scenario": "lr_zero", "knobs": {"learning_rate": float("inf")}}, "knob learning_rate"),
    ({"scenario": "lr_zero", "knobs": {"init": "os.system"}}, "knob init"),
    ({"scenario": "lr_zero", "knobs": []}, "knob"),
    ({"scenario": "lr_zero", "function": "os.system"}, "unknown spec keys"),
])
def test_the_worker_refuses_specs_the_api_would_not_send(spec: object, hint: str) -> None:
    with pytest.raises(RefusedSpec, match=hint.replace("(", r"\(")):
        check_spec(spec)


def test_a_valid_spec_is_checked_into_scenario_and_knobs() -> None:
    assert check_spec({"scenario": "lr_zero", "knobs": {"epochs": 5}}) == ("lr_zero", {"epochs": 5})
    assert check_spec({"scenario": "lr_zero"}) == ("lr_zero", {})


def test_a_healthy_scenario_shows_health_only_without_findings() -> None:
    assert shows("healthy", []) and not shows("healthy", ["plateau"])
    assert shows("plateau", ["underfitting", "plateau"]) and not shows("plateau", [])


def test_overfitting_is_reproduced_and_early_stopping_stops_at_the_epoch_the_diagnosis_names() -> None:
    result = reproduce("overfit_mlp_small_data", {"seed": 0})
    assert json.loads(json.dumps(result, allow_nan=False)) == result  # strict JSON, as RQ stores it
    runs = {run["name"]: run for run in result["runs"]}
    baseline = runs["baseline"]
    onset = next(f["onset"]["epoch"] for f in baseline["findings"] if f["code"] == "overfitting")
    assert baseline["config"]["epochs"] == 40 and 1 < onset < 40
    assert runs[EARLY_STOPPING]["config"]["epochs"] == onset
    assert runs[EARLY_STOPPING]["curves"]["val_loss"]["steps"][-1] == onset
    assert result["verdict"]["reproduced"] is True and EARLY_STOPPING in result["verdict"]["fixed_by"]
    assert set(result["verdict"]["fixed_by"]) | set(result["verdict"]["not_fixed_by"]) == set(runs) - {"baseline"}
    assert result["device"] == "cpu" and result["pathology"] == "overfitting"


def test_non_finite_curves_are_sent_as_tokens_and_a_fault_not_reproduced_fixes_nothing() -> None:
    result = reproduce("explode_full_batch_gd", {"seed": 0})  # full-batch GD, lr 8: NaN within a few epochs
    json.dumps(result, allow_nan=False)
    baseline = result["runs"][0]
    assert {"NaN", "Infinity"} & {v for c in baseline["curves"].values() for v in c["values"] if isinstance(v, str)}
    assert result["verdict"]["reproduced"] and result["verdict"]["fixed_by"]
    # with a learning rate that cannot explode, the baseline is healthy: no fix gets credit for it
    calm = reproduce("explode_full_batch_gd", {"seed": 0, "learning_rate": 0.01, "epochs": 8})
    assert calm["verdict"] == {"pathology": "exploding_nan", "reproduced": False, "fixed_by": [],
                               "not_fixed_by": []}


def test_the_device_is_the_cpu_without_cuda_and_asking_for_cuda_there_is_an_error() -> None:
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    assert choose_device("auto") == "cpu" and choose_device("cpu") == "cpu"
    with pytest.raises(RuntimeError, match="sees 0 CUDA device"):
        choose_device("cuda")
    with pytest.raises(RuntimeError, match="use auto, cpu, cuda or cuda:N"):
        choose_device("tpu")


def test_the_worker_without_redis_says_what_to_set() -> None:
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    out = subprocess.run([sys.executable, "-m", "lossdoctor.cli", "worker", "--burst"], env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and "REDIS_URL" in out.stderr
