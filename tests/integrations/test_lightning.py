"""The Lightning callback on real CPU trainings."""

from __future__ import annotations

import logging
from typing import Any

import pytest

torch = pytest.importorskip("torch")
pl = pytest.importorskip("lightning.pytorch")

from torch.utils.data import DataLoader, TensorDataset  # noqa: E402

from lossdoctor.integrations.lightning import LossDoctorCallback, epoch_metrics  # noqa: E402
from tests.integrations import refused_url, running_service  # noqa: E402

# Lightning's own pytree helper trips a typing_extensions deprecation in this torch/lightning pairing.
pytestmark = [pytest.mark.slow,
              pytest.mark.filterwarnings(r"ignore:`isinstance\(treespec, LeafSpec\)` is deprecated:FutureWarning")]
LOGGER = "lossdoctor.integrations"
EPOCHS = 12


class Regression(pl.LightningModule):
    """An MLP on a noisy linear target, SGD; from epoch `jump_epoch` (1-based) the learning rate is `jump_to`."""

    def __init__(self, lr: float = 0.05, jump_to: float | None = None, jump_epoch: int = 5) -> None:
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Linear(8, 32), torch.nn.ReLU(), torch.nn.Linear(32, 1))
        self.lr, self.jump_to, self.jump_epoch = lr, jump_to, jump_epoch

    def training_step(self, batch: Any, batch_idx: int) -> Any:
        loss = torch.nn.functional.mse_loss(self.net(batch[0]), batch[1])
        self.log("train_loss", loss, on_step=True, on_epoch=True)  # -> train_loss_step and train_loss_epoch
        return loss

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        self.log("val_loss", torch.nn.functional.mse_loss(self.net(batch[0]), batch[1]))

    def on_train_epoch_start(self) -> None:
        if self.jump_to is not None and self.current_epoch + 1 >= self.jump_epoch:
            for group in self.trainer.optimizers[0].param_groups:
                group["lr"] = self.jump_to

    def configure_optimizers(self) -> Any:
        return torch.optim.SGD(self.parameters(), lr=self.lr)


def _fit(doctor: LossDoctorCallback, module: Any, epochs: int = EPOCHS, **trainer_args: Any) -> Any:
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(256, 8, generator=generator)
    y = x @ torch.randn(8, 1, generator=generator) + 0.1 * torch.randn(256, 1, generator=generator)
    trainer = pl.Trainer(max_epochs=epochs, accelerator="cpu", logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False, log_every_n_steps=1,
                         callbacks=[doctor], **trainer_args)
    train = DataLoader(TensorDataset(x[:192], y[:192]), batch_size=32, shuffle=True, generator=generator)
    trainer.fit(module, train, DataLoader(TensorDataset(x[192:], y[192:]), batch_size=64))
    return trainer


@pytest.fixture(autouse=True)
def _seed() -> None:
    pl.seed_everything(0, verbose=False)


def test_epoch_metrics_maps_lightning_names_and_drops_stale_validation_values() -> None:
    logged = {"train_loss": 0.5, "train_loss_step": 0.4, "train_loss_epoch": 0.5, "val_loss": 0.7,
              "val/acc": 0.8, "lr_step": 0.1, "test_loss": 0.6}
    assert epoch_metrics(logged, validated=True) == {"train_loss": 0.5, "val_loss": 0.7, "val/acc": 0.8,
                                                     "lr_step": 0.1, "test_loss": 0.6}
    assert epoch_metrics(logged, validated=False) == {"train_loss": 0.5, "lr_step": 0.1}
    assert epoch_metrics({"train_loss_epoch": 0.3, "train_loss": 9.0}, validated=True) == {"train_loss": 0.3}


def test_a_nan_stops_the_trainer_at_its_epoch(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    doctor = LossDoctorCallback()
    trainer = _fit(doctor, Regression(jump_to=5.0))
    assert doctor.stopped_by is not None, doctor.diagnosis
    assert doctor.stopped_by["code"] == "exploding_nan" and doctor.stopped_by["onset"] == {"epoch": 5}
    assert doctor.stopped_epoch == 5 < EPOCHS and trainer.should_stop and trainer.current_epoch == 5
    errors = [r.getMessage() for r in caplog.records if r.name == LOGGER and r.levelno == logging.ERROR]
    assert any("error exploding_nan from epoch 5" in m for m in errors), errors
    assert any("stopping training at epoch 5" in m for m in errors), errors


def test_a_learning_rate_jump_stops_the_trainer_on_divergence_over_http() -> None:
    with running_service() as service:
        doctor = LossDoctorCallback(service.url, meta={"batch_size": 32})
        trainer = _fit(doctor, Regression(jump_to=0.25))  # the loss jumps ~50x at epoch 5 and stays high
    assert doctor.stopped_by is not None, doctor.diagnosis
    assert doctor.stopped_by["code"] == "divergence" and doctor.stopped_by["severity"] == "error"
    assert doctor.stopped_by["onset"] == {"epoch": 5}
    assert doctor.stopped_epoch is not None and 5 < doctor.stopped_epoch < EPOCHS
    assert trainer.current_epoch == doctor.stopped_epoch
    assert len(service.posts) == doctor.stopped_epoch  # every epoch went to the service
    assert doctor.diagnosis is not None
    assert doctor.diagnosis["links"]["self"] == f"/v1/diagnoses/{doctor.diagnosis['id']}"
    body = service.posts[-1]
    assert set(body["metrics"]) == {"train_loss", "val_loss"}  # train_loss_epoch sent as train_loss, no _step
    assert body["meta"] == {"x_axis": "epoch", "framework": "lightning", "batch_size": 32}


def test_a_healthy_run_is_not_stopped_and_validation_is_sent_only_for_epochs_that_ran_it() -> None:
    doctor = LossDoctorCallback(every_n_epochs=4)
    trainer = _fit(doctor, Regression(), check_val_every_n_epoch=2)
    assert trainer.current_epoch == EPOCHS and doctor.stopped_by is None and doctor.stopped_epoch is None
    payload = doctor.monitor.payload()
    assert payload["metrics"]["train_loss"]["steps"] == list(range(1, EPOCHS + 1))
    assert payload["metrics"]["val_loss"]["steps"] == list(range(2, EPOCHS + 1, 2))
    assert doctor.diagnosis is not None and doctor.monitor.checked_epoch == EPOCHS
    assert not [f for f in doctor.diagnosis["findings"] if f["severity"] == "error"], doctor.diagnosis["findings"]


def test_an_unreachable_service_does_not_interrupt_the_trainer(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    doctor = LossDoctorCallback(refused_url(), timeout=1.0)
    trainer = _fit(doctor, Regression(jump_to=5.0), epochs=6)  # a NaN run, but no diagnosis: nothing stops it
    assert trainer.current_epoch == 6 and doctor.stopped_by is None and doctor.diagnosis is None
    warnings = [r.getMessage() for r in caplog.records if r.name == LOGGER and r.levelno == logging.WARNING]
    assert len(warnings) == 6 and all("training continues" in m for m in warnings), warnings
