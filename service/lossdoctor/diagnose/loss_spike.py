"""Loss spikes: training loss jumps far above its neighbours and then recovers."""

from __future__ import annotations

import numpy as np

from lossdoctor.detect.noise import robust_sigma
from lossdoctor.detect.spikes import MIN_RATIO
from lossdoctor.diagnose.base import Context, Finding, Fix, Pathology, chance_ceiling, clamp, fmt_x
from lossdoctor.run import FloatArray

MIN_SCALE_HEIGHT = 0.1  # a spike adds a tenth of the curve's usual scale: 4e-4 -> 2e-3 near zero does not
# Where the number of classes is known, a spike also adds 5 % of ln(C) nats (the loss of a uniform guess): near
# zero a loss can triple by a tenth of a nat and that is minibatch noise on a fitted model, not a disruption.
MIN_CHANCE_HEIGHT = 0.05
MIN_RISE = MIN_RATIO  # the loss at least doubles over the points before it: the spike detector's own cut
LOCAL_WINDOW = 25  # per-step runs: a spike must beat the minibatch noise within this many points around it
LOCAL_SIGMAS = 6.0


def _recovers(signal: FloatArray, index: int, baseline: float, window: int) -> bool:
    """Back below half the jump (in log units) within `window` points."""
    after = signal[index + 1 : index + 1 + window]
    return bool(after.size) and bool(np.min(after) - np.log(baseline) < (signal[index] - np.log(baseline)) / 2)


def _local_noise(signal: FloatArray, index: int, half: int) -> float:
    """Robust noise of the log-loss around a point (the point itself left out): per-step losses get noisier as
    they approach zero, so the whole run's noise understates it late in training."""
    around = np.delete(signal[max(0, index - half) : index + half + 1], min(index, half))
    return robust_sigma(around)


def detect(ctx: Context) -> Finding | None:
    train = ctx.profile("train_loss", min_points=5)
    if train is None:
        return None
    n = len(train)
    per_step = ctx.axis == "step"
    # Recovery is judged over 5 % of a per-step run (a few hundred steps), over 3 points of a per-epoch one.
    window = max(3, n // 20) if per_step else 3
    # A spike rises from the points before it and comes back down; a high first epoch is just the start.
    scale = float(np.percentile(train.values, 90))
    ln_c = chance_ceiling(ctx)
    floor = max(MIN_SCALE_HEIGHT * scale, MIN_CHANCE_HEIGHT * ln_c if ln_c is not None else 0.0)
    spikes = [s for s in train.spikes if 2 <= s.index < n - 1 and s.rise >= MIN_RISE
              and (s.isolated or _recovers(train.signal, s.index, s.baseline, window))
              and s.value - s.baseline >= floor
              and not (per_step and np.log(s.rise) < LOCAL_SIGMAS * _local_noise(train.signal, s.index,
                                                                                  LOCAL_WINDOW))]
    if not spikes:
        return None
    recovery = []
    for s in spikes:
        after = np.flatnonzero(train.signal[s.index + 1 :] - np.log(s.baseline) < np.log(s.ratio) / 2)
        recovery.append(float(train.steps[s.index + 1 + after[0]] - s.step) if after.size else None)
    heights = [s.ratio for s in spikes]
    first = spikes[0]
    known = [r for r in recovery if r is not None]
    return Finding(
        code="loss_spike",
        severity="warning",
        confidence=clamp(0.55 + 0.1 * min(len(spikes), 3) + 0.05 * min(max(heights), 6)),
        onset=first.step,
        metrics=("train_loss",),
        evidence={
            "spike_count": len(spikes),
            "first_spike_at": first.step,
            "max_height": round(max(heights), 3),
            "median_height": round(float(np.median(heights)), 3),
            "median_recovery": None if not known else float(np.median(known)),
        },
        summary=f"Training loss spiked {len(spikes)} time(s), up to {max(heights):.1f}x its neighbours, first at "
        f"{fmt_x(ctx.run, first.step)}, and recovered each time.",
        explanation="A few updates threw the model off and it found its way back: typical of large learning "
        "rates meeting a rare bad batch (outliers, corrupt labels), or of Adam's second-moment estimate "
        "lagging a sudden gradient change.",
        fixes=(
            Fix("clip_gradients", "Clip the gradient norm (clip_grad_norm_(params, 1.0))."),
            Fix("lower_peak_lr", "Lower the peak learning rate or lengthen the warm-up."),
            Fix("skip_bad_batches", "Log the batch indices at the spikes and inspect or skip those batches."),
            Fix("check_data", "Look for outliers or mislabelled examples in the batches that spiked."),
        ),
    )


PATHOLOGY = Pathology(
    code="loss_spike",
    meaning="Spikes in the training loss that recover (count, heights, recovery time).",
    severity_rules="A warning: the run recovers, but each spike wastes steps and may precede a divergence.",
    evidence_keys=("spike_count", "first_spike_at", "max_height", "median_height", "median_recovery"),
    detect=detect,
)
