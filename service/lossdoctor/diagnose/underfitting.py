"""Underfitting: training loss stays high and validation tracks it: the model cannot fit the data."""

from __future__ import annotations

import math

import numpy as np

from lossdoctor.diagnose.base import Context, Finding, Fix, Pathology, chance_ceiling, clamp
from lossdoctor.diagnose.plateau import find_plateau

HIGH_FRACTION = 0.6  # final train loss at 60 % of the chance ceiling or more is "high"
LOW_ACCURACY = 0.7
MAX_GAP = 0.25  # train and val within 25 % of each other: no generalisation gap to speak of


def _tail(values: np.ndarray) -> float:
    return float(np.median(values[-max(1, min(3, values.size // 3)) :]))


def _plateau_says_it_all(ctx: Context) -> bool:
    """A plateau and underfitting are both reported where both definitions hold (a loss that crawls at a
    high level with train close to val). Two plateaus leave nothing for underfitting to add: a model that
    predicts one class for everything (accuracy exactly constant) has collapsed to the prior, which is the
    plateau's finding, not a capacity problem; and without any validation curve the "train close to val"
    half of underfitting cannot be checked, so a stuck loss is only a plateau."""
    flat = find_plateau(ctx)
    if flat is None:
        return False
    has_val = any(name.startswith("val") for name in ctx.profiles)
    return flat.kind == "constant_accuracy" or not has_val


def detect(ctx: Context) -> Finding | None:
    train = ctx.profile("train_loss", min_points=2)
    longest = max((len(p) for p in (train, ctx.profile("val_loss")) if p is not None), default=0)
    if train is None or longest < 3 or _plateau_says_it_all(ctx):
        return None
    end = _tail(train.values)
    ceiling = chance_ceiling(ctx)
    acc = ctx.profile("train_accuracy", min_points=1) or ctx.profile("val_accuracy", min_points=1)
    evidence: dict[str, float | int | str | bool | None] = {"final_train_loss": round(end, 6)}
    reasons = []
    if ceiling is not None and end >= HIGH_FRACTION * ceiling:
        reasons.append(f"train loss {end:.3g} is {end / ceiling:.0%} of ln({ctx.run.meta.num_classes})")
        evidence["chance_ceiling"] = round(ceiling, 4)
    if acc is not None and _tail(acc.values) < LOW_ACCURACY and acc.values.max() <= 1.0:
        reasons.append(f"{acc.name.replace('_', ' ')} is only {_tail(acc.values):.2f}")
        evidence[f"final_{acc.name}"] = round(_tail(acc.values), 4)
    if ceiling is None and acc is None and abs(end - math.log(2)) < 0.1 and train.values.min() > 0.55:
        reasons.append("train loss stays near ln 2, the loss of guessing on a binary task")
        evidence["chance_ceiling"] = round(math.log(2), 4)
    if not reasons:
        return None
    val = ctx.profile("val_loss", min_points=1)
    if val is not None:
        gap = (_tail(val.values) - end) / end if end > 0 else 0.0
        evidence["final_val_loss"] = round(_tail(val.values), 6)
        evidence["train_val_gap"] = round(gap, 4)
        if abs(gap) > MAX_GAP:
            return None
    onset = float(train.steps[0])
    return Finding(
        code="underfitting",
        severity="warning",
        confidence=clamp(0.55 + 0.15 * len(reasons) + (0.1 if val is not None else 0.0)),
        onset=onset,
        metrics=tuple(m for m in ("train_loss", "val_loss", "train_accuracy") if ctx.profile(m)),
        evidence=evidence,
        summary=f"The model does not fit its training data: {'; '.join(reasons)}; validation tracks training.",
        explanation="Training loss staying high with no gap to validation means the model cannot represent the "
        "task as set up: too little capacity, too much regularisation, too few steps or too low a learning "
        "rate, or inputs/labels that carry little signal.",
        fixes=(
            Fix("train_longer_or_faster", "Train longer, or raise the learning rate 3x (find it with an LR "
                "range test)."),
            Fix("add_capacity", "Use a wider/deeper model or a pretrained backbone."),
            Fix("reduce_regularisation", "Lower dropout and weight decay; remove heavy augmentation."),
            Fix("check_inputs", "Check input normalisation and that labels match inputs; overfit one batch "
                "first."),
        ),
    )


PATHOLOGY = Pathology(
    code="underfitting",
    meaning="Training loss stays high (train accuracy low) with train close to val at the end.",
    severity_rules="A warning.",
    evidence_keys=("final_train_loss", "chance_ceiling", "final_train_accuracy", "final_val_loss",
                   "train_val_gap"),
    detect=detect,
)
