"""What one training run is: the knobs (`ScenarioConfig`) and what it produced (`TrainingRecord`).

Kept free of torch so that catalogs and configs can be read without the heavy import.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal

ModelName = Literal["mlp", "cnn", "lstm", "transformer"]
OptimizerName = Literal["sgd", "adam", "adamw", "rmsprop", "adagrad"]
DatasetName = Literal["digits", "breast_cancer", "wine", "iris", "blobs", "sequence"]
Schedule = Literal["constant", "warmup", "warmup_cosine", "cosine", "step_up", "burst", "cyclic"]
METRICS = ("train_loss", "val_loss", "train_accuracy", "val_accuracy", "lr", "grad_norm")


@dataclass(frozen=True)
class ScenarioConfig:
    """Every knob of one run. Defaults are sane, so a fault is a single override on top."""

    pathology: str = "healthy"
    model: ModelName = "mlp"
    dataset: DatasetName = "digits"
    optimizer: OptimizerName = "adam"
    learning_rate: float = 1e-3
    batch_size: int = 32
    epochs: int = 20
    seed: int = 0
    momentum: float = 0.9
    weight_decay: float = 0.0
    # model shape
    hidden: int = 64
    depth: int = 1
    dropout: float = 0.0
    batchnorm: bool = False
    batchnorm_after_lstm: bool = False
    bn_momentum: float = 0.1
    tanh_output_into_ce: bool = False
    init_scale: float = 1.0
    bias_init: float | None = None
    # data
    label_noise: float = 0.0
    label_noise_val: bool = False
    train_subset: int | None = None
    input_noise: float = 0.0
    blobs_difficulty: float = 1.0
    # schedule and optimisation faults
    lr_schedule: Schedule = "constant"
    warmup_epochs: int = 0
    schedule_factor: float = 10.0
    schedule_epochs: tuple[int, ...] = ()
    cycle_epochs: int = 2
    grad_clip: float | None = None
    bad_batch_steps: tuple[int, ...] = ()
    bad_batch_scale: float = 50.0
    bad_batch_kind: Literal["scale", "labels"] = "scale"
    # evaluation
    eval_batch_size: int | None = None
    eval_in_train_mode: bool = False
    drop_last: bool = False
    # logging: None = once per epoch; n = a point every n optimiser steps (x_axis "step")
    log_every_steps: int | None = None
    stop_after_nonfinite_epochs: int = 1

    def with_overrides(self, **overrides: Any) -> ScenarioConfig:
        """Validated `dataclasses.replace`: a misspelt knob must fail loudly, not be ignored."""
        known = {f.name for f in fields(self)}
        unknown = set(overrides) - known
        if unknown:
            raise ValueError(f"unknown ScenarioConfig fields: {sorted(unknown)}")
        return replace(self, **overrides)


@dataclass
class Curve:
    """One logged metric: 1-based x positions (epochs or optimiser steps) and values (nan/inf kept)."""

    steps: list[int] = field(default_factory=list)
    values: list[float] = field(default_factory=list)

    def add(self, step: int, value: float) -> None:
        self.steps.append(step)
        self.values.append(value)


@dataclass
class TrainingRecord:
    """Curves of one run, as a logger would have written them, plus the facts a payload's meta needs."""

    config: ScenarioConfig
    x_axis: Literal["epoch", "step"]
    metrics: dict[str, Curve]
    step_train_loss: list[float]
    num_classes: int
    train_size: int
    val_size: int
    steps_per_epoch: int
    seconds: float

    def values(self, name: str) -> list[float]:
        return self.metrics[name].values

    def meta(self) -> dict[str, Any]:
        c = self.config
        return {
            "x_axis": self.x_axis,
            "num_classes": self.num_classes,
            "train_size": self.train_size,
            "val_size": self.val_size,
            "batch_size": c.batch_size,
            "optimizer": c.optimizer,
            "learning_rate": c.learning_rate,
        }
