"""Metric-name normalisation: the many spellings frameworks use for the same curve."""

from __future__ import annotations

import re

_ALIASES: dict[str, str] = {
    "loss": "train_loss",
    "train_loss": "train_loss",
    "training_loss": "train_loss",
    "trainloss": "train_loss",
    "train/loss": "train_loss",
    "val_loss": "val_loss",
    "validation_loss": "val_loss",
    "valid_loss": "val_loss",
    "eval_loss": "val_loss",
    "val/loss": "val_loss",
    "validation/loss": "val_loss",
    "eval/loss": "val_loss",
    "test_loss": "val_loss",
    "acc": "train_accuracy",
    "accuracy": "train_accuracy",
    "train_acc": "train_accuracy",
    "train_accuracy": "train_accuracy",
    "training_accuracy": "train_accuracy",
    "train/accuracy": "train_accuracy",
    "train/acc": "train_accuracy",
    "val_acc": "val_accuracy",
    "val_accuracy": "val_accuracy",
    "validation_accuracy": "val_accuracy",
    "valid_acc": "val_accuracy",
    "valid_accuracy": "val_accuracy",
    "eval_accuracy": "val_accuracy",
    "eval_acc": "val_accuracy",
    "val/accuracy": "val_accuracy",
    "val/acc": "val_accuracy",
    "test_acc": "val_accuracy",
    "test_accuracy": "val_accuracy",
    "lr": "lr",
    "learning_rate": "lr",
    "learningrate": "lr",
    "train/lr": "lr",
    "grad_norm": "grad_norm",
    "gradient_norm": "grad_norm",
    "train/grad_norm": "grad_norm",
}

CANONICAL = frozenset(_ALIASES.values())


def _key(name: str) -> str:
    key = name.strip().lower().replace(" ", "_").replace("-", "_")
    return re.sub(r"_+", "_", key)


def canonical_name(name: str) -> str:
    """Map a metric name to its canonical form; names we do not know are kept as sent (trimmed)."""
    return _ALIASES.get(_key(name), name.strip())


def is_known_metric(name: str) -> bool:
    return name in CANONICAL


def is_loss(name: str) -> bool:
    """Any series that is a loss (train, val, or a named component such as `mel_loss`)."""
    key = _key(name)
    return key.endswith("loss") or key in {"train_loss", "val_loss"}
