"""Divergence: training loss falls, then climbs back persistently (the optimiser overshoots)."""

from __future__ import annotations

import numpy as np

from lossdoctor.detect import SeriesProfile
from lossdoctor.detect.noise import smoothing_window
from lossdoctor.diagnose import exploding_nan
from lossdoctor.diagnose.base import (
    Context,
    Finding,
    Fix,
    Pathology,
    chance_ceiling,
    clamp,
    fmt_x,
    length_factor,
    training_losses,
)

MIN_RISE = 0.25  # the tail must stand 25 % above the minimum: minibatch bumps are smaller
# ... and give back a quarter of what the loss had gained before its minimum, unless it ends several times
# above it: a loss that fell 1.6 -> 0.04 and wobbles to 0.055 has kept 99 % of its progress (late-training
# noise on a near-zero loss), while one that climbs to 3x its minimum is off course however far it had fallen.
MIN_GIVE_BACK = 0.25
GIVE_BACK_WAIVED = 2.0  # relative rise (3x the minimum)


def _lr_context(ctx: Context, onset: float) -> dict[str, float | bool | None]:
    """Did the turn follow a learning-rate increase (end of warm-up, a schedule step)?"""
    lr = ctx.profile("lr", min_points=2)
    if lr is None:
        return {"lr_at_onset": None, "lr_increased_before_onset": None}
    before = lr.values[lr.steps <= onset]
    at = float(before[-1]) if before.size else float(lr.values[0])
    start = float(lr.values[0])
    peak_before = float(before.max()) if before.size else at
    increased = peak_before > start * 1.5 if start > 0 else peak_before > 0
    return {"lr_at_onset": at, "lr_increased_before_onset": bool(increased)}


def find_turn(train: SeriesProfile) -> tuple[int, int, float] | None:
    """(index of the minimum, index of onset, relative rise of the tail) or None."""
    n = len(train)
    smooth = train.smooth
    low = int(np.argmin(smooth))
    # The smoothed minimum locates the turn; the raw minimum near it is the value people read off the log.
    w = max(1, smoothing_window(n) // 2)
    low = max(0, low - w) + int(np.argmin(train.values[max(0, low - w) : low + w + 1]))
    if low >= n - 1:
        return None
    # Rises are measured from the smoothed minimum: the raw minimum of a noisy curve is a lucky batch.
    low_value = float(smooth[low]) if w > 1 else float(train.values[low])
    if low_value <= 0:
        return None
    # A curve that climbs and then turns non-finite ends in its climb: judge its last finite point alone.
    runs_off = train.non_finite is not None and train.non_finite.first_step > float(train.steps[-1])
    k = 1 if runs_off else max(1, min(n - low - 1, max(2, (n - low) // 4)))
    tail = float(np.median(train.values[-k:]))
    rise = (tail - low_value) / low_value
    if low == 0 and rise < 1.0:
        return None  # never fell: only a doubling from the very first value counts (an LR far too high)
    if n - low - 1 < 3 and not runs_off:
        return None  # a minimum in the last points is not yet a persistent rise
    noise_rel = train.noise if train.log_scale else train.noise / low_value
    # The rise must beat the noise on the scale the noise is measured on: log units for a positive loss (a
    # relative rise of 16x is log 2.8, no climb where the points scatter by +-1.6 in log).
    if rise < MIN_RISE or (np.log1p(rise) if train.log_scale else rise) < 4.0 * noise_rel / np.sqrt(k):
        return None
    fell = float(np.max(smooth[: low + 1])) - low_value
    if not runs_off and low > 0 and rise < GIVE_BACK_WAIVED and tail - low_value < MIN_GIVE_BACK * fell:
        return None  # most of the progress is kept: a wobble at the bottom, not a climb back
    after = train.values[low + 1 :]
    later = (smooth if w > 1 else train.values)[low + 1 :][-max(1, after.size // 2) :]
    # Persistent: the later points stay halfway up the climb, measured geometrically (losses live on a log
    # scale): after a 50x climb a point at 8x the minimum has not come back down; for small rises this is
    # the arithmetic halfway point.
    if not runs_off and float(np.mean(later > low_value * np.sqrt(1 + rise))) < 0.75:
        return None  # it came back down: a spike, not divergence
    # Departure: 10 % above the minimum (beyond its noise), or 10 % of the way up the climb when that is more,
    # so a 17x climb starts where it leaves the floor, not at the first bump off it.
    threshold = low_value * (1 + max(0.1, 3.0 * noise_rel, 0.1 * rise))
    if runs_off:  # the final climb: the last stretch above the threshold before the values ran off
        below = np.flatnonzero(after <= threshold)
        onset = low + 2 + int(below[-1]) if below.size else low + 1
        return low, min(onset, n - 1), rise
    above = np.flatnonzero((after > threshold) & (smooth[low + 1 :] > threshold))
    onset = low + 1 + int(above[0]) if above.size else low + 1
    return low, onset, rise


COLLAPSE = 10.0  # without ln(C) to compare with: an order of magnitude above the minimum, on both splits


def collapse_at_end(ctx: Context, train: SeriesProfile) -> tuple[int, int, float] | None:
    """A turn too late to show persistence (fewer than three points after the minimum: the run was stopped,
    or the log pasted, right after it broke): a per-epoch loss that ends above ln(C), the loss of a uniform
    guess, after it had fallen under half of it (or, with C unknown, COLLAPSE times its minimum with accuracy
    halved), and the validation loss up there too. No wobble does that: the model has collapsed to confidently
    wrong outputs. (minimum index, onset index, relative rise) like `find_turn`."""
    val = ctx.profile("val_loss", min_points=2)
    if ctx.axis != "epoch" or train.name != "train_loss" or len(train) < 2 or val is None:
        return None
    values = train.values
    low = int(np.argmin(values[:-1]))
    val_low = float(val.values[:-1].min())
    if len(train) - low - 1 >= 3 or values[low] <= 0 or val_low <= 0 or val.steps[-1] < train.steps[-1]:
        return None
    ceiling = chance_ceiling(ctx)
    if ceiling is not None:
        broke = values[-1] > ceiling and values[low] <= 0.5 * ceiling and float(val.values[-1]) > ceiling
    else:  # a tenfold jump could still be a spike that recovers, unless accuracy collapsed with it
        broke = (values[-1] >= COLLAPSE * values[low] and float(val.values[-1]) >= COLLAPSE * val_low
                 and _accuracy_collapsed(ctx))
    return (low, len(train) - 1, float(values[-1] / values[low] - 1.0)) if broke else None


def _accuracy_collapsed(ctx: Context) -> bool:
    """An accuracy curve whose last value is under half of its best before."""
    for name in ("val_accuracy", "train_accuracy"):
        acc = ctx.profile(name, min_points=2)
        if acc is not None and float(acc.values[-1]) < 0.5 * float(acc.values[:-1].max()):
            return True
    return False


def detect(ctx: Context) -> Finding | None:
    for train in training_losses(ctx, min_points=2):
        turn = find_turn(train) if len(train) >= 3 else None
        collapsed = turn is None
        turn = turn or collapse_at_end(ctx, train)
        if turn is not None:
            break
    else:
        return None
    low, onset_i, rise = turn
    onset = float(train.steps[onset_i])
    explosion = exploding_nan.detect(ctx)
    if (explosion is not None and explosion.onset is not None and explosion.onset <= onset
            and train.name in explosion.metrics[:1]):
        return None  # the rise is the training loss exploding, reported as exploding_nan
    evidence: dict[str, float | int | str | bool | None] = {
        "metric": train.name,
        "min_train_loss": round(float(train.values[low]), 6),
        "min_at": float(train.steps[low]),
        "last_train_loss": round(float(train.values[-1]), 6),
        "rise_factor": round(1 + rise, 3),
        "collapsed": collapsed,
    }
    acc = ctx.profile("train_accuracy", min_points=2)
    if acc is not None:
        at_min = float(np.interp(train.steps[low], acc.steps, acc.values))
        evidence["train_accuracy_change"] = round(float(acc.values[-1]) - at_min, 4)
    evidence.update(_lr_context(ctx, onset))
    if ctx.profile("lr") is None:
        evidence["log_next"] = ("lr per step: it tells a schedule step or warm-up end (an LR increase before the "
                                "turn) from a constant rate that is simply too high")
    cut = "10" if rise > 2 else "3"
    lr_note = ""
    if evidence.get("lr_increased_before_onset"):
        lr_note = " The turn follows a learning-rate increase (end of warm-up or a schedule step)."
    return Finding(
        code="divergence",
        severity="error",
        confidence=clamp((0.65 + min(rise, 2.0) * 0.15) * length_factor(len(train))),
        onset=onset,
        metrics=(train.name, *(m for m in ("train_accuracy", "lr") if ctx.profile(m))),
        evidence=evidence,
        summary=f"{train.name} fell to {train.values[low]:.4g}, then rose {1 + rise:.1f}x from "
        f"{fmt_x(ctx.run, onset)} on.{lr_note}",
        explanation="When training loss itself climbs back, the optimiser's steps are too large for the region "
        "it has reached: it overshoots the minimum and is thrown out of it.",
        fixes=(
            Fix("lower_learning_rate", f"Cut the learning rate by {cut}x (or resume from before "
                f"{fmt_x(ctx.run, onset)} with the lower rate)."),
            Fix("add_warmup_and_decay", "Warm up over the first few hundred steps, then decay (cosine or step)."),
            Fix("clip_gradients", "Clip the gradient norm (torch.nn.utils.clip_grad_norm_(params, 1.0); Keras "
                "optimizer clipnorm=1.0)."),
            Fix("raise_adam_epsilon", "With Adam, raise epsilon (1e-7 -> 1e-4) to damp steps where second "
                "moments are tiny."),
            Fix("check_soft_labels", "If labels are soft, check each row is a valid distribution (sums to 1)."),
        ),
    )


PATHOLOGY = Pathology(
    code="divergence",
    meaning="Training loss falls, then rises persistently (not a spike); accuracy falls with it. A turn too "
    "late to show persistence counts when the loss ends above ln(num_classes), worse than guessing, after it "
    "had fallen under half of that (10x its minimum with accuracy halved when num_classes is unknown), and the "
    "validation loss ends there too.",
    severity_rules="Always an error: the run is getting worse on the data it trains on.",
    evidence_keys=("log_next", "metric", "min_train_loss", "min_at", "last_train_loss", "rise_factor",
                   "collapsed", "train_accuracy_change",
                   "lr_at_onset", "lr_increased_before_onset"),
    detect=detect,
)
