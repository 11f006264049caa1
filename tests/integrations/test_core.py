"""The framework-free part of the callbacks: the payload, the stop decision, the logging, the HTTP client."""

from __future__ import annotations

import json
import logging
import math
import subprocess
import sys
import time
from typing import Any

import numpy as np
import pytest

from lossdoctor.config import Config
from lossdoctor.integrations import LossDoctorMonitor, json_value
from tests.conftest import load_payload
from tests.integrations import refused_url, running_service, silent_url

LOGGER = "lossdoctor.integrations"
FALLING = [2.3, 1.6, 1.2, 0.95, 0.8]  # a healthy start, then epoch 6 is NaN


def _nan_run(monitor: LossDoctorMonitor) -> list[bool]:
    stops = [monitor.epoch_end(e, {"loss": v, "val_loss": v * 1.1}) for e, v in enumerate(FALLING, 1)]
    return [*stops, monitor.epoch_end(6, {"loss": float("nan"), "val_loss": float("nan")})]


def _messages(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER and r.levelno == level]


def test_payload_is_strict_json_with_one_based_epochs_and_non_finite_tokens() -> None:
    monitor = LossDoctorMonitor(meta={"batch_size": 32, "framework": "keras"})
    monitor.record(1, {"loss": 1.5, "val_loss": np.float32(1.25), "accuracy": np.array(0.5),
                       "vector": np.array([1.0, 2.0]), "name": "adam", "flag": True, "missing": None})
    monitor.record(2, {"loss": math.nan, "val_loss": math.inf})
    monitor.record(3, {"loss": -math.inf, "val_loss": 1.0})
    monitor.record(3, {"val_loss": 0.75})  # logged again for the same epoch: the last value wins
    payload = monitor.payload()
    assert json.loads(json.dumps(payload, allow_nan=False)) == payload
    assert payload == {
        "metrics": {
            "loss": {"steps": [1, 2, 3], "values": [1.5, "NaN", "-Infinity"]},
            "val_loss": {"steps": [1, 2, 3], "values": [1.25, "Infinity", 0.75]},
            "accuracy": {"steps": [1], "values": [0.5]},
        },
        "meta": {"x_axis": "epoch", "batch_size": 32, "framework": "keras"},
    }
    assert [json_value(v) for v in (0.5, math.nan, math.inf, -math.inf)] == [0.5, "NaN", "Infinity", "-Infinity"]


def test_a_new_fit_from_epoch_one_starts_a_new_run_and_a_resumed_one_continues() -> None:
    monitor = LossDoctorMonitor()
    for epoch in (1, 2, 3):
        monitor.record(epoch, {"loss": 1.0 / epoch})
    monitor.begin()
    monitor.record(4, {"loss": 0.2})  # resumed (initial_epoch=3): the same run goes on
    assert monitor.payload()["metrics"]["loss"]["steps"] == [1, 2, 3, 4]
    monitor.begin()
    monitor.record(1, {"loss": 0.9})  # fit() again from scratch: a new run
    assert monitor.payload()["metrics"]["loss"] == {"steps": [1], "values": [0.9]}


def test_in_process_a_nan_stops_at_its_epoch_and_the_finding_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    monitor = LossDoctorMonitor()
    assert _nan_run(monitor) == [False] * 5 + [True]
    assert monitor.stopped_by is not None and monitor.diagnosis is not None
    assert monitor.stopped_by["code"] == "exploding_nan" and monitor.stopped_by["onset"] == {"epoch": 6}
    assert monitor.diagnosis["status"] == "unhealthy" and len(monitor.diagnosis["id"]) == 32
    errors = _messages(caplog, logging.ERROR)
    assert any("exploding_nan from epoch 6" in m for m in errors), errors
    assert any(m.startswith("lossdoctor: stopping training at epoch 6") for m in errors), errors
    diagnosed = monitor.diagnosis
    assert monitor.epoch_end(7, {"loss": math.nan}) is True  # stays stopped, without diagnosing again
    assert monitor.diagnosis is diagnosed


@pytest.mark.parametrize(
    ("stop_on", "ignore", "stops"),
    [("error", (), False), ("warning", (), True), ("warning", ("overfitting",), False), (None, (), False)],
)
def test_stop_on_sets_the_severity_that_stops_and_ignore_the_codes_that_never_do(
    caplog: pytest.LogCaptureFixture, stop_on: Any, ignore: tuple[str, ...], stops: bool
) -> None:
    """Founding example 003 overfits (a warning): it stops training only when asked to stop on warnings."""
    caplog.set_level(logging.INFO, logger=LOGGER)
    monitor = LossDoctorMonitor(stop_on=stop_on, ignore=ignore)
    metrics = load_payload("003_overfitting.json")["metrics"]
    for i, epoch in enumerate(metrics["loss"]["steps"]):
        monitor.record(epoch, {name: series["values"][i] for name, series in metrics.items()})
    stop = monitor.check(77)
    assert (stop is not None) is stops
    assert stop is None or (stop["code"] == "overfitting" and stop["onset"] == {"epoch": 3})
    assert any("warning overfitting from epoch 3" in m for m in _messages(caplog, logging.WARNING))


def test_every_n_epochs_diagnoses_on_multiples_and_finish_covers_the_rest(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    monitor = LossDoctorMonitor(every_n_epochs=3)
    for epoch in range(1, 8):
        assert monitor.epoch_end(epoch, {"loss": 2.0 / epoch, "val_loss": 2.2 / epoch}) is False
        assert (monitor.diagnosis is None) is (epoch < 3)
    monitor.finish()
    checks = [m.split(":")[1].strip() for m in _messages(caplog, logging.INFO) if ": epoch " in m]
    assert checks == ["epoch 3", "epoch 6", "epoch 7"]
    monitor.finish()  # nothing new since: no further diagnosis
    assert len([m for m in _messages(caplog, logging.INFO) if ": epoch " in m]) == 3


def test_over_http_the_service_gets_strict_json_and_agrees_with_the_engine_in_process() -> None:
    local = LossDoctorMonitor()
    _nan_run(local)
    with running_service() as service:
        remote = LossDoctorMonitor(service.url + "/")
        assert _nan_run(remote) == [False] * 5 + [True]
    assert len(service.posts) == 6  # one POST per epoch
    assert service.posts[-1]["metrics"]["loss"]["values"][-1] == "NaN"
    assert service.posts[-1]["meta"] == {"x_axis": "epoch"}
    assert remote.diagnosis is not None and local.diagnosis is not None
    assert remote.diagnosis["id"] == local.diagnosis["id"]  # the same content address both ways
    assert remote.diagnosis["links"]["self"] == f"/v1/diagnoses/{local.diagnosis['id']}"
    assert remote.stopped_by == local.stopped_by


@pytest.mark.parametrize("kind", ["refused", "silent"])
def test_an_unreachable_service_logs_a_warning_and_training_goes_on(
    caplog: pytest.LogCaptureFixture, kind: str
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    start = time.monotonic()
    if kind == "refused":
        monitor = LossDoctorMonitor(refused_url(), timeout=0.5)
        stops = _nan_run(monitor)
    else:
        with silent_url() as url:
            monitor = LossDoctorMonitor(url, timeout=0.3, every_n_epochs=3)
            stops = _nan_run(monitor)
    assert stops == [False] * 6
    assert time.monotonic() - start < 5  # the timeout bounds what each check costs
    assert monitor.diagnosis is None and monitor.stopped_by is None and monitor.last_error
    warnings = _messages(caplog, logging.WARNING)
    assert len(warnings) == (6 if kind == "refused" else 2)
    assert all("training continues" in m for m in warnings), warnings


def test_a_service_error_answer_is_logged_with_its_detail_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    with running_service(Config(max_body_bytes=64)) as service:
        monitor = LossDoctorMonitor(service.url)
        assert _nan_run(monitor) == [False] * 6
    assert monitor.last_error is not None and "HTTP 413" in monitor.last_error
    assert monitor.diagnosis is None and len(service.posts) == 6
    assert len(_messages(caplog, logging.WARNING)) == 6


def test_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="every_n_epochs"):
        LossDoctorMonitor(every_n_epochs=0)
    with pytest.raises(ValueError, match="stop_on"):
        LossDoctorMonitor(stop_on="fatal")  # type: ignore[arg-type]


def test_neither_the_service_nor_the_integrations_package_imports_a_framework() -> None:
    frameworks = ("keras", "lightning", "pytorch_lightning", "torch", "tensorflow")
    for module, also_absent in [("lossdoctor.app", ()), ("lossdoctor.integrations", ("numpy", "lossdoctor.engine"))]:
        code = (f"import sys, {module}\n"
                f"print(','.join(sorted(m for m in {frameworks + also_absent!r} if m in sys.modules)))")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
        assert out.stdout.strip() == "", f"importing {module} imported {out.stdout.strip()}"
