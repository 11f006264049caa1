"""Oscillation: a loss that swings up and down with large amplitude and makes no net progress."""

from __future__ import annotations

import numpy as np

from lossdoctor.detect import SeriesProfile
from lossdoctor.detect.changepoints import reduce_blocks
from lossdoctor.detect.noise import rolling_median
from lossdoctor.diagnose.base import Context, Finding, Fix, Pathology, clamp, fmt_x, val_loss_count_noise

MIN_AMPLITUDE = 0.15  # a typical step-to-step swing of 15 % (on the log scale)
MIN_ALTERNATION = 0.5  # at least half of the consecutive moves reverse direction
BLOCKS = 60  # per-step curves are averaged into blocks so minibatch noise does not count as swinging


MIN_SCALE_SWING = 0.1  # and the swings span at least a tenth of the curve's own scale (not a tiny wobble)
SIGNIFICANT_PROGRESS = 2.0  # standard errors: a training descent that is no noise (see train_progresses)


def _swing(p: SeriesProfile, per_step: bool) -> tuple[float, float, float, int] | None:
    """(amplitude, alternation, net progress, start index) over the whole curve or its second half."""
    signal, centres = reduce_blocks(p.signal, BLOCKS) if len(p) > 2 * BLOCKS else (p.signal, np.arange(len(p)))
    if per_step and len(p) <= 2 * BLOCKS:
        # single-batch prints swing with minibatch noise: judge their rolling median instead
        if len(p) < 15:
            return None
        signal = rolling_median(signal, 5)
    best: tuple[float, float, float, int] | None = None
    for start in (0, signal.size // 2):
        window = signal[start:]
        if window.size < 5:
            continue
        d = np.diff(window)
        amplitude = float(np.median(np.abs(d)))
        alternation = float(np.mean(np.sign(d[1:]) != np.sign(d[:-1])))
        half = window.size // 2
        progress = abs(float(np.median(window[:half]) - np.median(window[half:])))
        raw = np.exp(window)
        scale_swing = float(np.median(np.abs(np.diff(raw)))) / float(np.exp(signal).max())
        if (amplitude >= MIN_AMPLITUDE and scale_swing >= MIN_SCALE_SWING and alternation >= MIN_ALTERNATION
                and progress < 2 * amplitude):
            best = (amplitude, alternation, progress, int(centres[_settled(signal, start, amplitude)]))
            break
    return best


def _settled(signal: np.ndarray, start: int, amplitude: float) -> int:
    """Where the swinging begins: the first point that the curve climbs back to later (a descent only makes new
    lows) and from which the rest makes no net progress (its halves' medians within one typical swing), so a
    descent before the bouncing is not dated as part of it."""
    later_max = np.maximum.accumulate(signal[::-1])[::-1]  # the highest point from each index on
    for s in range(start, max(start, signal.size - 8) + 1):
        window = signal[s:]
        half = window.size // 2
        if (signal[s] <= later_max[s + 1]
                and abs(float(np.median(window[:half]) - np.median(window[half:]))) < amplitude):
            return s
    return start


def train_is_smooth(ctx: Context) -> bool:
    """Training loss wobbling by under 10 % about its trend: then a swinging validation curve is the
    evaluation's problem (val_spike), not the optimiser's."""
    train = ctx.profile("train_loss", min_points=5)
    if train is None or not train.log_scale:
        return False
    return train.noise < 0.1  # noise about its own trend (second differences), so a steady fall is smooth


def train_swings(ctx: Context) -> bool:
    """The training loss itself swings (see `_swing`): the optimiser bounces, and every curve bounces with it."""
    train = ctx.profile("train_loss", min_points=5)
    return train is not None and train.log_scale and _swing(train, ctx.axis == "step") is not None


def val_swing(ctx: Context) -> tuple[float, float, float, int] | None:
    val = ctx.profile("val_loss", min_points=5)
    if val is None or not val.log_scale:
        return None
    return _swing(val, ctx.axis == "step")


def train_progresses(ctx: Context, amplitude: float) -> bool:
    """The training loss makes net progress larger than the validation curve's swing (in log units, between
    the halves of the run) and does not swing itself: the optimiser is descending, so a validation curve
    that bounces is the evaluation's problem, not an oscillating optimiser."""
    train = ctx.profile("train_loss", min_points=5)
    if train is None or not train.log_scale or train_swings(ctx):
        return False
    half = len(train) // 2
    progress = float(np.median(train.signal[:half]) - np.median(train.signal[half:]))
    # ... or a descent the training loss's own noise cannot explain: the later half lies below the earlier one
    # by more than SIGNIFICANT_PROGRESS standard errors of a difference of two medians (1.25 sigma/sqrt(m) each)
    stderr = 1.25 * train.noise * float(np.sqrt(1.0 / half + 1.0 / (len(train) - half)))
    return progress >= 2 * amplitude or (stderr > 0 and progress >= SIGNIFICANT_PROGRESS * stderr)


def val_swing_is_evaluation(ctx: Context) -> tuple[float, float, float, int] | None:
    """The validation swing when it belongs to the evaluation: training is smooth or steadily improving."""
    swing = val_swing(ctx)
    if swing is None or not (train_is_smooth(ctx) or train_progresses(ctx, swing[0])):
        return None
    return swing


def detect(ctx: Context) -> Finding | None:
    return ctx.shared("oscillation", lambda: _detect(ctx))


def _detect(ctx: Context) -> Finding | None:
    for name in ("train_loss", "val_loss"):
        p = ctx.profile(name, min_points=5)
        if p is None or not p.log_scale or (name == "val_loss" and val_swing_is_evaluation(ctx)):
            continue
        swing = _swing(p, ctx.axis == "step")
        if swing is None:
            continue
        amplitude, alternation, progress, start = swing
        count_noise = val_loss_count_noise(ctx) if name == "val_loss" else None
        if count_noise is not None and amplitude < 2.0 * count_noise:
            continue  # the few errors of a small validation set flipping, not a bouncing optimiser
        onset = float(p.steps[start])
        return Finding(
            code="oscillation",
            severity="warning",
            confidence=clamp(0.45 + min(amplitude, 1.0) * 0.3 + 0.2 * alternation),
            onset=onset,
            metrics=(name,),
            evidence={
                "typical_swing": round(float(np.expm1(amplitude)), 4),
                "direction_changes": round(alternation, 3),
                "net_progress": round(float(np.expm1(progress)), 4),
                "low": round(float(p.values[start:].min()), 6),
                "high": round(float(p.values[start:].max()), 6),
            },
            summary=f"{name} swings by about {np.expm1(amplitude):.0%} from one point to the next from "
            f"{fmt_x(ctx.run, onset)} on, reversing direction {alternation:.0%} of the time, without net progress.",
            explanation="The optimiser bounces across a valley instead of descending it: the step size is too "
            "large for the curvature, or the gradient estimate is too noisy (small batches), or momentum "
            "overshoots. When only the validation curve swings, the evaluation itself is noisy (a small or "
            "shifting validation set).",
            fixes=(
                Fix("lower_learning_rate", "Lower the learning rate 3x, or decay it (ReduceLROnPlateau)."),
                Fix("larger_batch", "Use a larger batch (or gradient accumulation) to reduce gradient noise."),
                Fix("tune_momentum", "Lower momentum (0.99 -> 0.9) or Adam beta1."),
                Fix("check_validation_set", "If only validation swings: use a larger, fixed validation set."),
            ),
        )
    return None


PATHOLOGY = Pathology(
    code="oscillation",
    meaning="Loss alternates or wanders with large amplitude relative to its trend and makes no net progress.",
    severity_rules="A warning: the run is not converging, but nothing is broken.",
    evidence_keys=("typical_swing", "direction_changes", "net_progress", "low", "high"),
    detect=detect,
)
