"""A Lightning callback: diagnose the epoch metrics every N epochs and stop `Trainer.fit` on an error finding.

    from lossdoctor.integrations.lightning import LossDoctorCallback

    doctor = LossDoctorCallback("http://127.0.0.1:8000")  # or no URL: the engine runs in-process
    trainer = lightning.pytorch.Trainer(max_epochs=50, callbacks=[doctor])
    trainer.fit(model, train_loader, val_loader)
    doctor.diagnosis, doctor.stopped_by

Reads `trainer.callback_metrics` (what `self.log(...)` recorded) at the end of each training epoch, which in
Lightning 2 comes after that epoch's validation.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

import lightning.pytorch as pl

from lossdoctor.integrations._core import LossDoctorMonitor, Severity

_VALIDATION_PREFIXES = ("val", "eval", "test")


def is_validation(name: str) -> bool:
    return name.lower().startswith(_VALIDATION_PREFIXES)


def epoch_metrics(callback_metrics: Mapping[str, object], *, validated: bool) -> dict[str, object]:
    """Lightning's names -> the service's: `train_loss_epoch` (logged with on_step and on_epoch) is sent as
    `train_loss` and its `_step` twin (the last batch only) is dropped. Validation metrics are kept only when
    validation ran in this epoch (`callback_metrics` still holds the previous run's values otherwise)."""
    names = set(callback_metrics)
    out: dict[str, object] = {}
    for name, value in callback_metrics.items():
        if name.endswith("_step") and f"{name[:-5]}_epoch" in names:
            continue
        base = name[:-6] if name.endswith("_epoch") else name
        if not base or (base in out and not name.endswith("_epoch")):
            continue  # `x_epoch` wins over a plain `x`
        if is_validation(base) and not validated:
            continue
        out[base] = value
    return out


class LossDoctorCallback(pl.Callback):
    """Sends the epoch metrics every `every_n_epochs` epochs to the service at `url` (None: the engine runs in
    this process), logs the findings, and sets `trainer.should_stop` on a finding of severity `stop_on` or
    worse (default "error"; None never stops). `ignore` lists finding codes that never stop training; `meta`
    is sent as the payload's `meta`. Only the global-zero process diagnoses; its decision is broadcast."""

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
                                         meta={"framework": "lightning", **(meta or {})}, timeout=timeout,
                                         logger=logger)
        self.stopped_epoch: int | None = None
        self._validated = False

    @property
    def diagnosis(self) -> dict[str, Any] | None:
        """The last diagnosis document (the API's JSON), or None before the first one."""
        return self.monitor.diagnosis

    @property
    def stopped_by(self) -> dict[str, Any] | None:
        """The finding that stopped training, or None."""
        return self.monitor.stopped_by

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.monitor.begin()
        self.stopped_epoch = None
        self._validated = False

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not trainer.sanity_checking:
            self._validated = True

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        epoch = trainer.current_epoch + 1
        stop = False
        if trainer.is_global_zero:
            stop = self.monitor.epoch_end(epoch, epoch_metrics(trainer.callback_metrics, validated=self._validated))
        self._validated = False
        stop = bool(trainer.strategy.broadcast(stop, src=0))
        if stop and self.stopped_epoch is None:
            self.stopped_epoch = epoch
            trainer.should_stop = True

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.is_global_zero:
            self.monitor.finish()
