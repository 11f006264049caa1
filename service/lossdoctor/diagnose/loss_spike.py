"""Loss spikes: training loss jumps far above its neighbours and then recovers."""

from __future__ import annotations

import numpy as np

from lossdoctor.diagnose.base import Context, Finding, Fix, Pathology, clamp, fmt_x

MIN_SCALE_HEIGHT = 0.25  # a spike adds a quarter of the curve's usual scale: 4e-4 -> 2e-3 near zero does not


def detect(ctx: Context) -> Finding | None:
    train = ctx.profile("train_loss", min_points=5)
    if train is None:
        return None
    # A spike rises from the points before it and comes back down; a high first epoch is just the start.
    scale = float(np.percentile(train.values, 90))
    spikes = [s for s in train.spikes if s.isolated and 2 <= s.index < len(train) - 1 and s.rise >= 3.0
              and s.value - s.baseline >= MIN_SCALE_HEIGHT * scale]
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
