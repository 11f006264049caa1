"""Plateau: the loss stops moving (early, at a high level) or never moves at all."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lossdoctor.detect import SeriesProfile
from lossdoctor.diagnose.base import Context, Finding, Fix, Pathology, chance_ceiling, clamp, fmt_x

FROZEN = 0.002  # within 0.2 % of its level: the optimiser is not changing the loss at all
MIN_IMPROVEMENT = 0.02


@dataclass(frozen=True)
class Flat:
    curve: SeriesProfile
    start: int
    kind: str  # "frozen", "never_improves", "stalled_high" or "constant_accuracy"
    level: float


def _frozen_from(p: SeriesProfile, tolerance: float) -> int | None:
    """Earliest index from which the rest of the curve stays within `tolerance` of its level."""
    v = p.values
    hi = np.maximum.accumulate(v[::-1])[::-1]
    lo = np.minimum.accumulate(v[::-1])[::-1]
    level = np.abs(np.median(v[len(v) // 2 :])) or 1.0
    ok = np.flatnonzero((hi - lo) / level <= tolerance)
    return int(ok[0]) if ok.size else None


def _never_improves(losses: list[SeriesProfile]) -> bool:
    """No loss curve moves meaningfully (better or worse) from its first third to its last."""
    for p in losses:
        third = max(1, len(p) // 3)
        first, last = float(np.median(p.values[:third])), float(np.median(p.values[-third:]))
        noise = p.noise if p.log_scale else p.noise / (abs(first) or 1.0)
        if first <= 0 or abs(first - last) / first >= max(MIN_IMPROVEMENT, 2.0 * noise / np.sqrt(third)):
            return False
        low, high = np.percentile(p.values, [10, 90])
        if (high - low) / np.median(p.values) > 0.1:
            return False  # too spread out to call flat, whatever its trend
    return True


def _no_progress(p: SeriesProfile) -> bool:
    third = max(1, len(p) // 3)
    return bool(np.median(p.values[-third:]) >= 0.95 * np.median(p.values[:third]))


STALL_BAND = 0.05  # a loss that stays within 5 % of its level has stopped moving in any practical sense
STALL_GAIN = 0.03  # ...and one that still gains more than 3 % over that stretch is learning slowly, not stalled
HIGH_LEVEL = 0.6  # "a high level": the same fraction of ln(num_classes) underfitting calls a high train loss


def _stalled_from(p: SeriesProfile) -> int | None:
    """Start of a stalled tail of the smoothed curve: it begins in the first 60 % of the run, covers at least
    40 % of it, stays within STALL_BAND of its mean and gains at most STALL_GAIN from its start to the end.

    Read on the smoothed curve (minibatch noise is not movement) with fixed bands, not noise-scaled ones: a
    loss that swings widely is oscillating, and its noise must not make it count as flat."""
    v = p.smooth
    n = v.size
    if n < 5:
        return None
    # suffix statistics, so every candidate start is checked at once (linear in the length of the curve)
    hi = np.maximum.accumulate(v[::-1])[::-1]
    lo = np.minimum.accumulate(v[::-1])[::-1]
    mean = np.cumsum(v[::-1])[::-1] / np.arange(n, 0, -1)
    starts = np.arange(n)
    ok = ((starts <= 0.6 * n) & (n - starts >= max(5, 0.4 * n)) & (mean > 0)
          & (hi - lo <= STALL_BAND * mean) & (v - v[-1] <= STALL_GAIN * v))
    hits = np.flatnonzero(ok)
    return int(hits[0]) if hits.size else None


def find_plateau(ctx: Context) -> Flat | None:
    return ctx.shared("plateau", lambda: _search(ctx))


def _search(ctx: Context) -> Flat | None:
    losses = [p for p in (ctx.profile("train_loss", 4), ctx.profile("val_loss", 4)) if p is not None]
    if any(p.non_finite is not None for p in losses):
        return None  # a loss that turned NaN is not stuck: exploding_nan says what happened
    ceiling = chance_ceiling(ctx)
    # Plateaus are about optimisation, so the training curve decides; a converged validation curve is
    # flat in healthy runs too, and is judged only when no training curve was logged.
    primary = losses[:1]
    for p in primary:
        start = _frozen_from(p, FROZEN)
        if start is not None and len(p) - start >= max(4, 0.5 * len(p)):
            return Flat(p, start, "frozen", float(p.values[start]))
    lr = ctx.profile("lr", 3)
    if primary and lr is not None and not np.any(lr.values) and _no_progress(primary[0]):
        return Flat(primary[0], 0, "zero_lr", float(np.median(primary[0].values)))
    if losses and min(len(p) for p in losses) >= 5 and _never_improves(losses):
        return Flat(losses[0], 0, "never_improves", float(np.median(losses[0].values)))
    # a quick drop, then a long flat stretch at a high level (near the chance ceiling) in every loss curve
    stalled = [_stalled_from(p) for p in losses]
    if ceiling is not None and losses and all(s is not None for s in stalled):
        p, start = losses[0], stalled[0]
        assert start is not None
        level = float(np.median(p.values[start:]))
        if level >= HIGH_LEVEL * ceiling:
            return Flat(p, start, "stalled_high", level)
    for name in ("val_accuracy", "train_accuracy"):
        acc = ctx.profile(name, 5)
        if acc is None:
            continue
        start = _frozen_from(acc, 1e-4)
        # stuck at one low value (a single class predicted); a converged model's accuracy is constant too
        if start is not None and len(acc) - start >= max(5, 0.5 * len(acc)) and acc.values[-1] <= 0.5:
            return Flat(acc, start, "constant_accuracy", float(acc.values[-1]))
    return None


def detect(ctx: Context) -> Finding | None:
    flat = find_plateau(ctx)
    if flat is None:
        return None
    onset = float(flat.curve.steps[flat.start])
    ceiling = chance_ceiling(ctx)
    near_prior = ceiling is not None and flat.kind != "constant_accuracy" and abs(flat.level - ceiling) < 0.1 * ceiling
    what = {
        "frozen": "has not changed",
        "never_improves": "has not improved",
        "stalled_high": "stalled at a high level",
        "constant_accuracy": "is exactly constant (one class predicted for everything?)",
        "zero_lr": "has not improved with a learning rate of exactly 0 (the optimiser never steps)",
    }[flat.kind]
    prior = f" That is ln({ctx.run.meta.num_classes}): the model predicts the class prior." if near_prior else ""
    return Finding(
        code="plateau",
        severity="warning",
        confidence=clamp(0.9 if flat.kind in ("frozen", "constant_accuracy", "zero_lr") else 0.7),
        onset=onset,
        metrics=(flat.curve.name,),
        evidence={
            "kind": flat.kind,
            "level": round(flat.level, 6),
            "points_flat": len(flat.curve) - flat.start,
            "chance_ceiling": None if ceiling is None else round(ceiling, 4),
            "at_class_prior": near_prior,
        },
        summary=f"{flat.curve.name} {what} since {fmt_x(ctx.run, onset)} (level {flat.level:.4g}).{prior}",
        explanation="The weights are not moving usefully: the learning rate is far too low (or zero), gradients "
        "do not flow (dead ReLUs, vanishing gradients, a detached graph), or the labels carry no signal "
        "(shuffled against the inputs), so the model can only learn the class frequencies.",
        fixes=(
            Fix("check_learning_rate", "Check the learning rate actually applied (log it); raise it 10x."),
            Fix("check_gradient_flow", "Log per-layer gradient norms; zero or tiny ones mean dead ReLUs, "
                "vanishing gradients or a tensor detached from the graph (.detach(), .item(), numpy)."),
            Fix("check_labels", "Check labels match inputs after shuffling and that the loss gets the right "
                "targets (overfit a single batch first: the loss must go to ~0)."),
            Fix("check_initialisation", "Use the framework's default initialisation; avoid large negative biases."),
        ),
    )


PATHOLOGY = Pathology(
    code="plateau",
    meaning="Loss stops improving early at a high level, or never moves; near ln(num_classes) the model "
    "predicts the class prior.",
    severity_rules="A warning: training is wasting compute; nothing is corrupted.",
    evidence_keys=("kind", "level", "points_flat", "chance_ceiling", "at_class_prior"),
    detect=detect,
)
