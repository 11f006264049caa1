"""Spikes: points far above their neighbours, found on the full curve with vectorised numpy."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from lossdoctor.detect.noise import robust_sigma
from lossdoctor.run import FloatArray

MIN_RATIO = 3.0  # a point must stand at least 3x above its neighbours to be called a spike


@dataclass(frozen=True)
class Spike:
    index: int
    step: float
    value: float
    baseline: float
    ratio: float  # value / baseline (or difference when the curve is not positive)
    isolated: bool  # the curve returns near its baseline afterwards


def _neighbour_median(signal: FloatArray, window: int, before_only: bool) -> FloatArray:
    n = signal.size
    pad = np.full(window, np.nan)
    padded = np.concatenate([pad, signal, pad])
    idx = np.arange(n)[:, None]
    before = padded[idx + np.arange(window)[None, :]]
    if before_only:
        stack = before
    else:
        after = padded[idx + window + 1 + np.arange(window)[None, :]]
        stack = np.concatenate([before, after], axis=1)
    # Rows that are all NaN (the first point has nothing before it) are expected: their median is NaN.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmedian(stack, axis=1)


def find_spikes(
    steps: FloatArray, signal: FloatArray, *, log_scale: bool, window: int = 3, min_ratio: float = MIN_RATIO
) -> list[Spike]:
    """Points whose value stands far above both the points before them and their two-sided neighbourhood.

    The threshold is the larger of `min_ratio` and six robust standard deviations of the curve's own
    step-to-step noise, so a noisy curve needs a bigger jump to count.
    """
    n = signal.size
    if n < 3:
        return []
    spacing = np.diff(steps)
    typical = float(np.median(spacing)) if spacing.size else 1.0
    noise = robust_sigma(signal) if n >= 20 else 0.0
    threshold = max(np.log(min_ratio) if log_scale else 0.0, 6.0 * noise)
    prev = _neighbour_median(signal, window, before_only=True)
    both = _neighbour_median(signal, window, before_only=False)
    baseline = np.where(np.isnan(prev), both, np.fmin(prev, both))
    excess = signal - baseline
    # A jump across a gap in the log (epochs 5 -> 75) is not sudden: require the previous point to be
    # at the usual spacing.
    close = np.ones(n, dtype=bool)
    close[1:] = spacing <= 2.0 * typical + 1e-12
    candidates = np.flatnonzero((excess > threshold) & close & np.isfinite(excess))
    if not log_scale:
        return []  # without a positive scale a ratio is meaningless; spikes are only judged on losses
    out: list[Spike] = []
    for i in candidates:
        following = signal[i + 1 : i + 1 + window]
        isolated = bool(following.size and np.min(following) - baseline[i] < threshold / 2)
        out.append(
            Spike(int(i), float(steps[i]), float(np.exp(signal[i])), float(np.exp(baseline[i])),
                  float(np.exp(excess[i])), isolated)
        )
    return out
