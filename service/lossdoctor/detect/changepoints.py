"""Change points with ruptures, on a bounded reduction of the curve so cost stays near linear."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Self

import numpy as np
import ruptures as rpt

from lossdoctor.run import FloatArray


def reduce_blocks(x: FloatArray, max_points: int) -> tuple[FloatArray, int]:
    """Block means: a curve of 10^6 points becomes `max_points` points; returns (reduced, block size)."""
    block = max(1, math.ceil(x.size / max_points))
    if block == 1:
        return x, 1
    usable = (x.size // block) * block
    reduced = x[:usable].reshape(-1, block).mean(axis=1)
    if usable < x.size:
        reduced = np.append(reduced, x[usable:].mean())
    return reduced, block


@dataclass
class ChangePointDetector:
    """Continuous piecewise-linear fit (ruptures `clinear` cost, PELT search).

    Losses bend rather than jump, so a linear cost per segment finds the epoch where the trend turns.
    The penalty scales with the noise variance, estimated from second differences, and log(n) (BIC-like).
    """

    max_points: int = 240
    min_size: int = 3
    penalty_scale: float = 6.0
    change_points_: list[int] = field(default_factory=list, init=False)

    def fit(self, signal: FloatArray) -> Self:
        reduced, block = reduce_blocks(signal, self.max_points)
        n = reduced.size
        self.change_points_ = []
        if n < 2 * self.min_size + 1:
            return self
        d2 = np.diff(reduced, 2)
        sigma = 1.4826 * float(np.median(np.abs(d2 - np.median(d2)))) / math.sqrt(6.0)
        span = float(np.ptp(reduced)) or 1.0
        sigma = max(sigma, 1e-3 * span)
        penalty = self.penalty_scale * sigma**2 * math.log(n)
        algo = rpt.Pelt(model="clinear", min_size=self.min_size, jump=1).fit(reduced)
        ends = algo.predict(pen=penalty)
        self.change_points_ = [min(int(e) * block, signal.size - 1) for e in ends[:-1]]
        return self
