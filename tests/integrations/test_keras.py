"""The Keras callback on real CPU trainings (keras 3, torch backend)."""

from __future__ import annotations

import logging
import os
from typing import Any

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")  # keras 3 defaults to tensorflow, which is not installed
keras = pytest.importorskip("keras")

from lossdoctor.integrations.keras import LossDoctorCallback  # noqa: E402
from tests.integrations import refused_url, running_service  # noqa: E402

pytestmark = pytest.mark.slow
LOGGER = "lossdoctor.integrations"
EPOCHS = 20
STEPS_PER_EPOCH = 6  # 384 training rows, batch 64


def _regression() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(512, 8)).astype("float32")
    y = (x @ rng.normal(size=(8, 1)) + 0.1 * rng.normal(size=(512, 1))).astype("float32")
    return x, y


def _fit(callback: LossDoctorCallback, jump_to: float | None, epochs: int = EPOCHS) -> Any:
    """An MLP regression with SGD at 0.01; `jump_to` raises the learning rate from epoch 5 on."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(32, activation="relu"), keras.layers.Dense(1)])
    rate: Any = 0.01
    if jump_to is not None:
        rate = keras.optimizers.schedules.PiecewiseConstantDecay([4 * STEPS_PER_EPOCH], [0.01, jump_to])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=rate), loss="mse")
    x, y = _regression()
    return model.fit(x, y, epochs=epochs, batch_size=64, validation_split=0.25, verbose=0, callbacks=[callback])


@pytest.mark.parametrize(("jump_to", "code", "stopped_at"), [(1.0, "exploding_nan", 5), (0.3, "divergence", 7)])
def test_a_learning_rate_jump_stops_fit_on_an_error_finding(
    caplog: pytest.LogCaptureFixture, jump_to: float, code: str, stopped_at: int
) -> None:
    """At 1.0 the loss is NaN in epoch 5; at 0.3 it jumps 15x and stays high (divergence from epoch 5)."""
    caplog.set_level(logging.INFO, logger=LOGGER)
    doctor = LossDoctorCallback()
    history = _fit(doctor, jump_to)
    assert doctor.stopped_by is not None, doctor.diagnosis
    assert doctor.stopped_by["code"] == code and doctor.stopped_by["severity"] == "error"
    assert doctor.stopped_by["onset"] == {"epoch": 5}
    assert doctor.stopped_epoch == stopped_at < EPOCHS
    assert len(history.history["loss"]) == stopped_at  # fit really ended there
    assert doctor.diagnosis is not None and doctor.diagnosis["input"]["meta"]["framework"] == "keras"
    errors = [r.getMessage() for r in caplog.records if r.name == LOGGER and r.levelno == logging.ERROR]
    assert any(f"error {code} from epoch 5" in m for m in errors), errors


def test_a_healthy_fit_is_not_stopped_and_is_diagnosed_every_n_epochs_over_http() -> None:
    with running_service() as service:
        doctor = LossDoctorCallback(service.url, every_n_epochs=5, meta={"batch_size": 64})
        history = _fit(doctor, None)
    assert len(history.history["loss"]) == EPOCHS and doctor.stopped_by is None and doctor.stopped_epoch is None
    assert [len(p["metrics"]["loss"]["steps"]) for p in service.posts] == [5, 10, 15, 20]
    last = service.posts[-1]
    assert set(last["metrics"]) == {"loss", "val_loss"} and last["metrics"]["loss"]["steps"] == list(range(1, 21))
    assert last["meta"] == {"x_axis": "epoch", "framework": "keras", "batch_size": 64}
    assert doctor.diagnosis is not None and len(doctor.diagnosis["id"]) == 32
    assert doctor.diagnosis["input"]["series"]["train_loss"]["source_name"] == "loss"
    assert not [f for f in doctor.diagnosis["findings"] if f["severity"] == "error"], doctor.diagnosis["findings"]


def test_overfitting_is_logged_as_a_warning_without_stopping(caplog: pytest.LogCaptureFixture) -> None:
    """Random labels: the network memorises its 64 training rows while the validation loss rises."""
    caplog.set_level(logging.INFO, logger=LOGGER)
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(128, 20)).astype("float32"), rng.integers(0, 10, size=128)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((20,)), keras.layers.Dense(256, activation="relu"),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-2), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    doctor = LossDoctorCallback(every_n_epochs=10)
    history = model.fit(x, y, epochs=20, batch_size=64, validation_split=0.5, verbose=0, callbacks=[doctor])
    assert len(history.history["loss"]) == 20 and doctor.stopped_by is None
    assert doctor.diagnosis is not None
    assert "overfitting" in [f["code"] for f in doctor.diagnosis["findings"] if f["severity"] == "warning"]
    warnings = [r.getMessage() for r in caplog.records if r.name == LOGGER and r.levelno == logging.WARNING]
    assert any("warning overfitting from epoch" in m for m in warnings), warnings


def test_an_unreachable_service_does_not_interrupt_fit(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    doctor = LossDoctorCallback(refused_url(), timeout=1.0)
    history = _fit(doctor, 1.0, epochs=6)  # even a NaN run: without a diagnosis nothing is stopped
    assert len(history.history["loss"]) == 6 and doctor.stopped_by is None and doctor.diagnosis is None
    warnings = [r.getMessage() for r in caplog.records if r.name == LOGGER and r.levelno == logging.WARNING]
    assert len(warnings) == 6 and all("training continues" in m for m in warnings), warnings
