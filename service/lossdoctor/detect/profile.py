"""A curve's profile: everything detect/ knows about one series, computed once per run."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lossdoctor.detect.changepoints import ChangePointDetector
from lossdoctor.detect.noise import log_view, robust_sigma, rolling_median, smoothing_window
from lossdoctor.detect.nonfinite import NonFinite, find_non_finite
from lossdoctor.detect.segments import Segment, segment_curve
from lossdoctor.detect.spikes import Spike, find_spikes
from lossdoctor.ingest.names import is_loss
from lossdoctor.run import FloatArray, Run, Series


@dataclass(frozen=True)
class SeriesProfile:
    name: str
    steps: FloatArray  # finite points only
    values: FloatArray
    signal: FloatArray  # log(values) for positive curves, else values
    log_scale: bool
    smooth: FloatArray  # rolling median of values, against minibatch noise
    noise: float  # robust sigma of `signal`
    change_points: list[float]  # x values where a new segment starts
    segments: list[Segment]
    spikes: list[Spike]
    non_finite: NonFinite | None

    def __len__(self) -> int:
        return int(self.values.size)


def profile_series(series: Series) -> SeriesProfile:
    finite = series.finite
    steps, values = series.steps[finite], series.values[finite]
    signal, log_scale = log_view(values)
    noise = robust_sigma(signal)
    cps_idx = ChangePointDetector().fit(signal).change_points_ if values.size >= 7 else []
    segments = segment_curve(steps, values, signal, cps_idx, noise) if values.size >= 2 else []
    spikes = find_spikes(steps, signal, log_scale=log_scale) if is_loss(series.name) else []
    return SeriesProfile(
        name=series.name,
        steps=steps,
        values=values,
        signal=signal,
        log_scale=log_scale,
        smooth=rolling_median(values, smoothing_window(values.size)),
        noise=noise,
        change_points=[float(steps[i]) for i in cps_idx],
        segments=segments,
        spikes=spikes,
        non_finite=find_non_finite(series),
    )


def profile_run(run: Run) -> dict[str, SeriesProfile]:
    return {name: profile_series(s) for name, s in run.series.items() if np.isfinite(s.values).any()
            or s.values.size}
