"""Robust noise and smoothing helpers shared by the detectors."""

from __future__ import annotations

import numpy as np

from lossdoctor.run import FloatArray

_MAD_TO_SIGMA = 1.4826


def robust_sigma(x: FloatArray) -> float:
    """Noise level of a curve from its second differences: blind to a linear trend (which inflates first
    differences), and through the median/MAD, to a few spikes. Var(d2) = 6 sigma^2 for white noise."""
    if x.size < 4:
        return 0.0
    d = np.diff(x, 2)
    return float(_MAD_TO_SIGMA * np.median(np.abs(d - np.median(d))) / np.sqrt(6.0))


def log_view(values: FloatArray) -> tuple[FloatArray, bool]:
    """Losses live on a log scale (they fall by decades); fall back to raw values when not all positive."""
    if values.size and np.all(values > 0):
        return np.log(values), True
    return values.astype(np.float64, copy=True), False


MAX_EXACT_WINDOW = 51


def rolling_median(x: FloatArray, window: int) -> FloatArray:
    """Centred rolling median (odd window, edges padded). Wide windows on long curves are approximated by
    medians of blocks, interpolated back, so the cost stays linear in the length of the curve."""
    if window <= 1 or x.size < 3:
        return x.copy()
    if window > MAX_EXACT_WINDOW:
        block = window // 5
        usable = (x.size // block) * block
        medians = np.median(x[:usable].reshape(-1, block), axis=1)
        centres = np.arange(medians.size) * block + (block - 1) / 2.0
        smooth = rolling_median(medians, 5)
        return np.interp(np.arange(x.size, dtype=np.float64), centres, smooth)
    half = window // 2
    padded = np.pad(x, half, mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, window)
    median: FloatArray = np.median(windows, axis=1)
    return median


def smoothing_window(n: int) -> int:
    """Short runs are read point by point; longer ones are smoothed against minibatch noise."""
    if n < 10:
        return 1
    if n < 30:
        return 3
    if n < 200:
        return 5
    return 2 * (n // 80) + 1
