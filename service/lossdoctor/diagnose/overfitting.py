"""Overfitting: validation loss turns up while training loss keeps falling."""

from __future__ import annotations

import numpy as np

from lossdoctor.detect import SeriesProfile
from lossdoctor.diagnose.base import Context, Finding, Fix, Pathology, clamp, fmt_x, length_factor


def _train_change_since(train: SeriesProfile | None, step: float) -> float | None:
    """Relative change of the (smoothed) train loss from `step` to the end; None without a train curve."""
    if train is None or len(train) < 2:
        return None
    at = float(np.interp(step, train.steps, train.smooth))
    return (float(train.smooth[-1]) - at) / abs(at) if at else None


def rise_after_best(val: SeriesProfile) -> tuple[int, float, float] | None:
    """(index of best, best value, relative rise of the tail) when the curve's tail stands clearly above its best.

    Uses the smoothed curve so one lucky evaluation does not become the best epoch of a noisy run.
    """
    n = len(val)
    best = int(np.argmin(val.smooth))
    if best >= n - 1:
        return None
    after = val.smooth[best + 1 :]
    k = max(1, min(after.size, max(3, after.size // 4)))
    tail = float(np.median(val.values[-k:]))
    best_value = float(val.smooth[best])
    if best_value <= 0:
        return None
    rise = (tail - best_value) / best_value
    # noise of the tail median, on the relative scale (signal is log values for losses)
    tail_noise = val.noise / np.sqrt(k) if val.log_scale else val.noise / abs(best_value) / np.sqrt(k)
    if rise < max(0.05, 4.0 * tail_noise):
        return None
    # Persistent: the later half of the curve after the best stays above it (early wobble is allowed).
    later = val.values[best + 1 :][-max(1, (n - best) // 2) :]
    margin = 2.0 * val.noise if val.log_scale else 2.0 * val.noise / abs(best_value)
    if float(np.mean(later > best_value * (1 + margin))) < 0.75:
        return None
    return best, best_value, rise


def detect(ctx: Context) -> Finding | None:
    val = ctx.profile("val_loss", min_points=3)
    if val is None:
        return None
    found = rise_after_best(val)
    if found is None:
        return None
    best, best_value, rise = found
    onset = float(val.steps[best])
    # A sudden jump right after the best epoch is a val spike (eval-mode bug), not gradual overfitting.
    if any(s.step > onset and s.ratio >= 3.0 for s in val.spikes):
        return None
    train = ctx.profile("train_loss", min_points=2)
    train_change = _train_change_since(train, onset)
    if train_change is not None and train_change > -0.02:
        return None  # train loss not falling: that is divergence or a plateau, not overfitting
    gap_best = gap_last = None
    if train is not None:
        gap_best = best_value - float(np.interp(onset, train.steps, train.smooth))
        gap_last = float(val.values[-1]) - float(train.values[-1])
    confidence = clamp((0.6 + min(rise, 1.0) * 0.35) * length_factor(len(val)) * (1.0 if train else 0.8))
    last = float(val.values[-1])
    return Finding(
        code="overfitting",
        severity="warning",
        confidence=confidence,
        onset=onset,
        metrics=("val_loss", "train_loss") if train else ("val_loss",),
        evidence={
            "best_epoch" if ctx.axis == "epoch" else "best_step": _num(onset),
            "best_val_loss": round(float(val.values[best]), 6),
            "last_val_loss": round(last, 6),
            "val_loss_rise": round(rise, 4),
            "train_loss_change_since_best": None if train_change is None else round(train_change, 4),
            "gap_at_best": None if gap_best is None else round(gap_best, 6),
            "gap_at_last": None if gap_last is None else round(gap_last, 6),
        },
        summary=f"Validation loss was best at {fmt_x(ctx.run, onset)} ({val.values[best]:.4g}) and has risen "
        f"{rise:.0%} since, while training loss kept falling.",
        explanation="The model keeps fitting the training set but stops generalising: past the best epoch it "
        "memorises training examples, so held-out loss climbs while training loss falls.",
        fixes=(
            Fix("restore_best_checkpoint", f"Keep the weights from {fmt_x(ctx.run, onset)}; stop there "
                "(Keras: EarlyStopping(monitor='val_loss', patience=3, restore_best_weights=True))."),
            Fix("add_weight_decay", "Add weight decay / L2 (e.g. AdamW(weight_decay=1e-2))."),
            Fix("add_dropout", "Add dropout (0.2-0.5) before the dense layers."),
            Fix("augment_or_more_data", "Augment the training data or collect more of it."),
        ),
    )


def _num(x: float) -> float | int:
    return int(x) if float(x).is_integer() else x


PATHOLOGY = Pathology(
    code="overfitting",
    meaning="Validation loss reaches its best and then rises by more than its noise while training loss keeps "
    "falling.",
    severity_rules="Always a warning: the best checkpoint is still usable.",
    evidence_keys=("best_epoch|best_step", "best_val_loss", "last_val_loss", "val_loss_rise",
                   "train_loss_change_since_best", "gap_at_best", "gap_at_last"),
    detect=detect,
)
