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
        slope = float(np.polyfit(x, y, 1)[0]) if b - a >= 2 and np.ptp(x) > 0 else 0.0
        if b - a >= 2 and np.ptp(x) > 0:
            fit = np.polyval(np.polyfit(x, s, 1), [x[0], x[-1]])
            delta = float(fit[1] - fit[0])
        else:
            delta = 0.0
        threshold = max(2.0 * noise, 0.02)
        trend: Trend = "flat" if abs(delta) < threshold else ("rising" if delta > 0 else "falling")
        out.append(Segment(float(x[0]), float(x[-1]), trend, slope, float(np.expm1(delta))))
    return out
