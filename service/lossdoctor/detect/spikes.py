"""Spikes: points far above their neighbours, found on the full curve with vectorised numpy."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lossdoctor.detect.noise import robust_sigma
from lossdoctor.run import FloatArray

MIN_RATIO = 2.0  # a point must stand this far above the points before it to be called a spike


@dataclass(frozen=True)
class Spike:
    index: int
    step: float
    value: float
    baseline: float
    ratio: float  # value / baseline (or difference when the curve is not positive)
    isolated: bool  # the curve returns near its baseline afterwards
    rise: float  # value / median of the points just before it (inf for the first point)


def median_before(signal: FloatArray, window: int) -> FloatArray:
    """Median of the `window` points before each point (fewer at the start; NaN for the first point).

    Vectorised over a sliding window view: a million points cost one partition pass, not a Python loop."""
    n = signal.size
    out = np.full(n, np.nan)
    if n > window:
        out[window:] = np.median(np.lib.stride_tricks.sliding_window_view(signal, window)[: n - window], axis=1)
    for i in range(1, min(window, n)):
        out[i] = np.median(signal[:i])
    return out


def contiguous_blocks(steps: FloatArray) -> list[tuple[int, int]]:
    """Stretches logged at the usual spacing; a gap (epochs 5 -> 75) starts a new block, because a jump
    across a gap is not sudden and points on the far side are not neighbours."""
    if steps.size < 2:
        return [(0, int(steps.size))]
    spacing = np.diff(steps)
    typical = float(np.median(spacing))
    cuts = np.flatnonzero(spacing > 2.0 * typical + 1e-12) + 1
    bounds = [0, *cuts.tolist(), int(steps.size)]
    return list(zip(bounds[:-1], bounds[1:], strict=True))


def find_spikes(
    steps: FloatArray, signal: FloatArray, *, log_scale: bool, window: int = 3, min_ratio: float = MIN_RATIO,
    noise_sigmas: float = 4.0,
) -> list[Spike]:
    """Points whose value stands far above both the points before them and their two-sided neighbourhood.

    The threshold is the larger of `min_ratio` and `noise_sigmas` robust standard deviations of the curve's
    own step-to-step noise, so a noisy curve needs a bigger jump to count.
    """
    if signal.size < 3 or not log_scale:
        return []  # without a positive scale a ratio is meaningless; spikes are only judged on losses
    noise = robust_sigma(signal) if signal.size >= 8 else 0.0
    threshold = max(float(np.log(min_ratio)), noise_sigmas * noise)
    out: list[Spike] = []
    for a, b in contiguous_blocks(steps):
        if b - a < 2:
            continue
        block = signal[a:b]
        prev = median_before(block, window)
        following = median_before(block[::-1], window)[::-1]
        # A spike rises from the points before it; the first point of a block can only be compared with
        # the points after it.
        baseline = np.where(np.isnan(prev), following, prev)
        excess = block - baseline
        for j in np.flatnonzero((excess > threshold) & np.isfinite(excess)):
            after = block[j + 1 : j + 1 + window]
            isolated = bool(after.size and np.min(after) - baseline[j] < threshold / 2)
            i = a + int(j)
            rise = float(np.exp(block[j] - prev[j])) if np.isfinite(prev[j]) else float("inf")
            out.append(Spike(i, float(steps[i]), float(np.exp(block[j])), float(np.exp(baseline[j])),
                             float(np.exp(excess[j])), isolated, rise))
    return out


def never_returns(signal: FloatArray, spike: Spike, min_after: int = 3) -> bool:
    """After the jump the (log) curve never again comes even halfway back to where it was before: a level
    shift, not a spike. Needs `min_after` points after it to judge; a jump near the end is left alone."""
    after = signal[spike.index + 1 :]
    if after.size < min_after or spike.baseline <= 0 or spike.ratio <= 1:
        return False
    return bool(np.min(after) - np.log(spike.baseline) >= 0.5 * np.log(spike.ratio))
