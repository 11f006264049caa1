"""Change points against seeded synthetic curves whose true turns are known (as ruptures.datasets does)."""

from __future__ import annotations

import numpy as np
import pytest

from lossdoctor.detect.changepoints import ChangePointDetector, reduce_blocks
from lossdoctor.detect.noise import robust_sigma
from lossdoctor.detect.spikes import contiguous_blocks, find_spikes


def piecewise_linear(n: int, turns: list[int], seed: int, noise: float = 0.02) -> tuple[np.ndarray, list[int]]:
    """A log-loss curve that falls, then bends at each turn; returns (signal, true turns)."""
    rng = np.random.default_rng(seed)
    slopes = rng.choice([-0.05, 0.0, 0.04], size=len(turns) + 1, replace=True)
    slopes[0] = -0.05
    for i in range(1, len(slopes)):
        while slopes[i] == slopes[i - 1]:
            slopes[i] = rng.choice([-0.05, 0.0, 0.04])
    bounds = [0, *turns, n]
    y = np.zeros(n)
    level = 1.0
    for (a, b), slope in zip(zip(bounds[:-1], bounds[1:], strict=True), slopes, strict=True):
        y[a:b] = level + slope * np.arange(b - a)
        level = y[b - 1] + slope
    return y + rng.normal(0, noise, n), turns


@pytest.mark.parametrize("seed", range(5))
def test_turns_are_found_within_two_points(seed: int) -> None:
    signal, truth = piecewise_linear(90, [30, 60], seed)
    found = ChangePointDetector().fit(signal).change_points_
    assert len(found) == len(truth)
    assert all(abs(f - t) <= 2 for f, t in zip(found, truth, strict=True))


def test_pure_noise_has_no_change_points() -> None:
    rng = np.random.default_rng(0)
    assert ChangePointDetector().fit(rng.normal(0, 1, 200)).change_points_ == []


def test_long_curves_are_reduced_before_search_and_mapped_back() -> None:
    rng = np.random.default_rng(3)
    x = np.arange(100_000)
    signal = np.where(x < 40_000, 2 - x / 40_000, 1 + (x - 40_000) / 60_000) + rng.normal(0, 0.3, x.size)
    found = ChangePointDetector().fit(signal).change_points_
    assert found and all(abs(f - 40_000) < 2_000 for f in found)
    reduced, centres = reduce_blocks(signal, 200)
    assert reduced.size == 200 and centres[0] == 249.5 and centres[-1] == 99_749.5


def test_robust_sigma_ignores_trend_and_spikes() -> None:
    rng = np.random.default_rng(1)
    x = np.linspace(3, 0, 500) + rng.normal(0, 0.1, 500)
    x[[50, 200, 400]] += 5
    assert 0.08 < robust_sigma(x) < 0.12


def test_spikes_are_found_on_the_full_curve_with_their_ratio() -> None:
    rng = np.random.default_rng(2)
    steps = np.arange(1.0, 1001.0)
    signal = np.log(np.linspace(2, 1, 1000)) + rng.normal(0, 0.01, 1000)
    signal[[100, 700]] += np.log(8)
    spikes = find_spikes(steps, signal, log_scale=True)
    assert [s.index for s in spikes] == [100, 700]
    assert all(7 < s.ratio < 9 and s.isolated for s in spikes)


def test_gaps_split_blocks() -> None:
    assert contiguous_blocks(np.array([1.0, 2, 3, 4, 5, 75, 76, 77])) == [(0, 5), (5, 8)]
