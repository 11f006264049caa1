"""Segments between change points, each with a trend a person can read."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from lossdoctor.run import FloatArray

Trend = Literal["falling", "rising", "flat"]


@dataclass(frozen=True)
class Segment:
    start: float
    end: float
    trend: Trend
    slope: float  # change of the raw value per x unit (epoch or step), from a least-squares line
    relative_change: float  # (end - start) / start of the fitted line, on the curve's own scale


def segment_curve(
    steps: FloatArray, values: FloatArray, signal: FloatArray, change_points: list[int], noise: float
) -> list[Segment]:
    bounds = [0, *change_points, steps.size]
    out: list[Segment] = []
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        if b - a < 1:
            continue
        x, y, s = steps[a:b], values[a:b], signal[a:b]
        slope = _slope(x, y)
        delta = _slope(x, s) * float(x[-1] - x[0])  # the fitted line's change over the segment
        threshold = max(2.0 * noise, 0.02)
        trend: Trend = "flat" if abs(delta) < threshold else ("rising" if delta > 0 else "falling")
        out.append(Segment(float(x[0]), float(x[-1]), trend, slope, float(np.expm1(delta))))
    return out


def _slope(x: FloatArray, y: FloatArray) -> float:
    """Least-squares slope of y on x, in closed form: one pass over long per-step segments, where polyfit's
    Vandermonde matrix and SVD cost several."""
    if x.size < 2:
        return 0.0
    dx = x - x.mean()
    var = float(dx @ dx)
    return float(dx @ (y - y.mean())) / var if var > 0 else 0.0
