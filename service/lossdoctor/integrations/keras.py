"""A Keras 3 callback: diagnose the epoch metrics every N epochs and stop `fit` on an error finding.

    from lossdoctor.integrations.keras import LossDoctorCallback

    doctor = LossDoctorCallback("http://127.0.0.1:8000", every_n_epochs=1)  # or no URL: the engine in-process
    model.fit(x, y, validation_split=0.2, epochs=50, callbacks=[doctor])
    doctor.diagnosis, doctor.stopped_by  # the last diagnosis document; the finding that stopped training
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

import keras

from lossdoctor.integrations._core import LossDoctorMonitor, Severity


class LossDoctorCallback(keras.callbacks.Callback):  # type: ignore[misc]  # keras ships no type hints
    """Sends `loss`, `val_loss`, `accuracy`... (the names Keras logs) after every `every_n_epochs` epochs to
    the service at `url` (None: the engine runs in this process), logs the findings, and sets
    `model.stop_training` on a finding of severity `stop_on` or worse (default "error"; None never stops).
    `ignore` lists finding codes that never stop training; `meta` is sent as the payload's `meta`
    (e.g. `{"train_size": 50000, "batch_size": 64}`). The service being unreachable is logged, never raised."""

    def __init__(
        self,
        url: str | None = None,
        *,
        every_n_epochs: int = 1,
        stop_on: Severity | None = "error",
        ignore: Iterable[str] = (),
        meta: Mapping[str, Any] | None = None,
        timeout: float = 10.0,
        logger: logging.Logger | None = None,
    ) -> None:
        super().__init__()
        self.monitor = LossDoctorMonitor(url, every_n_epochs=every_n_epochs, stop_on=stop_on, ignore=ignore,
                                         meta={"framework": "keras", **(meta or {})}, timeout=timeout,
                                         logger=logger)
        self.stopped_epoch: int | None = None

    @property
    def diagnosis(self) -> dict[str, Any] | None:
        """The last diagnosis document (the API's JSON), or None before the first one."""
        return self.monitor.diagnosis

    @property
    def stopped_by(self) -> dict[str, Any] | None:
        """The finding that stopped training, or None."""
        return self.monitor.stopped_by

    def on_train_begin(self, logs: Mapping[str, Any] | None = None) -> None:
        self.monitor.begin()
        self.stopped_epoch = None

    def on_epoch_end(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
        if self.monitor.epoch_end(epoch + 1, logs or {}) and self.stopped_epoch is None:
            self.stopped_epoch = epoch + 1
            self.model.stop_training = True

    def on_train_end(self, logs: Mapping[str, Any] | None = None) -> None:
        self.monitor.finish()
