"""Change points with ruptures, on a bounded reduction of the curve so cost stays near linear."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Self

import numpy as np
import ruptures as rpt
from ruptures.base import BaseCost

from lossdoctor.run import FloatArray


class CostL2Cumsum(BaseCost):  # type: ignore[misc]
    """ruptures' l2 cost (squared deviation from the segment mean) in O(1) per segment from prefix sums.

    ruptures' own CostL2 calls numpy's var on every candidate segment, which dominates the time of a short
    run; the result is the same."""

    model = "l2_cumsum"
    min_size = 2

    def fit(self, signal: FloatArray) -> CostL2Cumsum:
        x = np.asarray(signal, dtype=np.float64).ravel()
        self.signal = x.reshape(-1, 1)  # ruptures reads the length from here
        self._s1 = np.concatenate([[0.0], np.cumsum(x)]).tolist()
        self._s2 = np.concatenate([[0.0], np.cumsum(x * x)]).tolist()
        return self

    def error(self, start: int, end: int) -> float:
        total = self._s1[end] - self._s1[start]
        return float(self._s2[end] - self._s2[start] - total * total / (end - start))


def reduce_blocks(x: FloatArray, max_points: int) -> tuple[FloatArray, FloatArray]:
    """Means of at most `max_points` near-equal blocks, and each block's centre index in `x`.

    A curve of 10^6 points is searched as a few hundred; the centres map change points back."""
    if x.size <= max_points:
        return x, np.arange(x.size, dtype=np.float64)
    bounds = np.linspace(0, x.size, max_points + 1).astype(np.int64)
    sizes = np.diff(bounds)
    means = np.add.reduceat(x, bounds[:-1]) / sizes
    centres = bounds[:-1] + (sizes - 1) / 2.0
    return means, centres


@dataclass
class ChangePointDetector:
    """Where the trend of a curve turns: PELT with an l2 cost on the curve's slope (its first difference).

    Losses bend rather than jump, so a turn is a shift in the mean of the slope. The penalty is BIC-like:
    it scales with the slope's noise variance (from a robust MAD) and log(n)."""

    max_points: int = 200
    min_size: int = 3
    penalty_scale: float = 3.0
    change_points_: list[int] = field(default_factory=list, init=False)

    def fit(self, signal: FloatArray) -> Self:
        reduced, centres = reduce_blocks(signal, self.max_points)
        slope = np.diff(reduced)
        n = slope.size
        self.change_points_ = []
        if n < 2 * self.min_size + 1:
            return self
        curvature = np.diff(slope)
        sigma = 1.4826 * float(np.median(np.abs(curvature - np.median(curvature)))) / math.sqrt(2.0)
        sigma = max(sigma, 1e-6 * (float(np.ptp(reduced)) or 1.0))
        penalty = float(np.float64(self.penalty_scale) * np.float64(sigma) ** 2 * math.log(n))
        if not (math.isfinite(penalty) and np.all(np.isfinite(slope)) and np.isfinite(np.sum(slope**2))):
            return self  # values near the float limit: no meaningful segmentation
        ends = rpt.Pelt(custom_cost=CostL2Cumsum(), min_size=self.min_size, jump=1).fit(slope).predict(
            pen=penalty
        )
        # slope[k] lies between reduced[k] and reduced[k + 1]: a shift at slope index e turns at point e.
        self.change_points_ = sorted({int(round(centres[e])) for e in ends[:-1]})
        return self
