"""Validation loss persistently below training loss."""

from __future__ import annotations

import numpy as np

from lossdoctor.diagnose.base import Context, Finding, Fix, Pathology, Severity, clamp, fmt_x

MIN_GAP = 0.10  # val must sit 10 % below train: closer than that is the ordinary half-epoch shift
LEAK_GAP = 0.5  # val at half of train with near-perfect accuracy hints at leakage


def detect(ctx: Context) -> Finding | None:
    val = ctx.profile("val_loss", min_points=3)
    train = ctx.profile("train_loss", min_points=3)
    if val is None or train is None:
        return None
    inside = (val.steps >= train.steps[0]) & (val.steps <= train.steps[-1])
    if inside.sum() < 3:
        return None
    steps, v = val.steps[inside], val.values[inside]
    t = np.interp(steps, train.steps, train.smooth)
    if np.any(t <= 0):
        return None
    gap = (t - v) / t  # positive where val is below train
    below = gap > MIN_GAP / 2
    # the earliest start from which val stays below train at 85 % of the points (one crossing is noise)
    share = np.cumsum(below[::-1])[::-1] / np.arange(len(below), 0, -1)
    qualifying = np.flatnonzero((share >= 0.85) & below)
    # The gap must still hold at the end: one that closes to under MIN_GAP is the half-epoch shift fading as
    # the training loss flattens, not a lasting difference between the splits.
    if gap[-1] < MIN_GAP or not qualifying.size:
        return None
    start = int(qualifying[0])
    stretch = len(below) - start
    if stretch < 3 or stretch < 0.5 * len(below) or float(np.median(gap[start:])) < MIN_GAP:
        return None
    median_gap = float(np.median(gap[start:]))
    acc = ctx.profile("val_accuracy", min_points=1)
    val_acc = float(acc.values[-1]) if acc is not None else None
    leak = median_gap >= LEAK_GAP and val_acc is not None and val_acc >= 0.99
    severity: Severity = "warning" if leak else "info"
    onset = float(steps[start])
    return Finding(
        code="val_below_train",
        severity=severity,
        confidence=clamp(0.5 + min(median_gap, 0.6) * 0.6 + 0.02 * min(stretch, 10)),
        onset=onset,
        metrics=("val_loss", "train_loss"),
        evidence={
            "median_gap": round(median_gap, 4),
            "points_below": int(stretch),
            "last_train_loss": round(float(train.values[-1]), 6),
            "last_val_loss": round(float(val.values[-1]), 6),
            "last_val_accuracy": val_acc,
            "possible_leakage": leak,
        },
        summary=f"Validation loss has stayed {median_gap:.0%} below training loss since {fmt_x(ctx.run, onset)}.",
        explanation="Usually benign: dropout and augmentation are active only in training, and a training loss "
        "averaged over an epoch lags the end-of-epoch weights that validation sees by half an epoch. A large "
        "gap with near-perfect validation accuracy can instead mean validation data leaked into training or "
        "the validation set is much easier.",
        fixes=(
            Fix("compare_like_with_like", "Evaluate the training set in eval mode at the end of an epoch to "
                "compare the two losses on equal terms."),
            Fix("check_leakage", "Check that no validation examples (or near-duplicates) are in the training set."),
            Fix("check_split_difficulty", "Check the validation split is drawn from the same distribution."),
        ),
    )


PATHOLOGY = Pathology(
    code="val_below_train",
    meaning="Validation loss persistently below training loss: dropout/augmentation in training or the "
    "half-epoch shift (info); a large gap with near-perfect validation accuracy hints at leakage.",
    severity_rules="Info; a warning when val is under half of train with validation accuracy >= 0.99.",
    evidence_keys=("median_gap", "points_below", "last_train_loss", "last_val_loss", "last_val_accuracy",
                   "possible_leakage"),
    detect=detect,
)
