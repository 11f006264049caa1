"""Overfitting: validation loss turns up while training loss keeps falling (or stays fitted)."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from lossdoctor.detect import SeriesProfile
from lossdoctor.detect.noise import log_view, robust_sigma, rolling_median, smoothing_window
from lossdoctor.detect.spikes import Spike, never_returns
from lossdoctor.diagnose.base import (
    Context,
    Finding,
    Fix,
    Pathology,
    clamp,
    fmt_x,
    length_factor,
    num,
    validation_losses,
)

MIN_RISE = 0.03  # below 3 % a converged curve's drift is not worth a warning, however smooth


@dataclass(frozen=True)
class Rise:
    curve: SeriesProfile
    best: int  # index of the best smoothed value: where the curve turns
    best_value: float
    rise: float  # relative rise of the tail above the best

    lowest: int  # index of the lowest logged value up to the best: the checkpoint to restore

    @property
    def onset(self) -> float:
        return float(self.curve.steps[self.lowest])


def rise_after_best(val: SeriesProfile) -> Rise | None:
    """The best point and how far the tail stands above it, when it stands clearly and persistently above.

    Uses the smoothed curve so one lucky evaluation does not become the best epoch of a noisy run."""
    n = len(val)
    best = int(np.argmin(val.smooth))
    if best >= n - 1:
        return None
    after = val.values[best + 1 :]
    k = max(1, min(after.size, max(3, after.size // 4)))
    tail = float(np.median(val.values[-k:]))
    best_value = float(val.smooth[best])
    if best_value <= 0:
        return None
    rise = (tail - best_value) / best_value
    # Noise where the rise is measured (from the best, or the later half of the run, on): the curvature of an
    # early steep descent is not noise.
    noise = robust_sigma(val.signal[min(best, n // 2) :])
    noise_rel = noise if val.log_scale else noise / abs(best_value)
    if rise < max(MIN_RISE, 4.0 * noise_rel / np.sqrt(k)) or (rise < 0.05 and after.size < 3):
        return None
    # Persistent: the later half of the curve after the best stays above it (early wobble is allowed).
    later = after[-max(1, after.size // 2) :]
    if float(np.mean(later > best_value * (1 + max(2.0 * noise_rel, 0.25 * rise)))) < 0.75:
        return None
    # The smoothed minimum says where the curve turns; the lowest evaluation up to it (and its smoothing
    # half-window) is the checkpoint early stopping would keep, and the epoch people read off the log.
    reach = best + smoothing_window(n) // 2 + 1
    return Rise(val, best, best_value, rise, lowest=int(np.argmin(val.values[:reach])))


def train_change_since(train: SeriesProfile | None, step: float) -> tuple[float, float] | None:
    """(absolute, relative) change of the smoothed train loss from `step` to the end."""
    if train is None or len(train) < 2:
        return None
    at = float(np.interp(step, train.steps, train.smooth))
    end = float(train.smooth[-1])
    return end - at, (end - at) / abs(at) if at else 0.0


def _train_shares(train: SeriesProfile | None, step: float, ratio: float) -> bool:
    """A training-loss spike within one logged point of a validation jump: the validation jump is the echo of
    a training disruption (a bad batch, an LR burst), not an evaluation artefact."""
    if train is None:
        return False
    return any(abs(s.step - step) <= _spacing(train) and s.ratio >= math.sqrt(ratio) for s in train.spikes)


def _spacing(p: SeriesProfile) -> float:
    return float(np.median(np.diff(p.steps))) if len(p) > 1 else 0.0


def _evaluation_jumps(val: SeriesProfile, train: SeriesProfile | None) -> list[Spike]:
    """Sudden validation jumps that training loss does not share and that do not stay up (or come too near
    the end to tell): evaluation artefacts (an eval-mode bug, an unlucky eval batch), which say nothing about
    the trend of the curve."""
    return [s for s in val.spikes if s.ratio >= 3.0 and not _train_shares(train, s.step, s.ratio)
            and not (val.log_scale and never_returns(val.signal, s))]


def without_jumps(val: SeriesProfile, jumps: list[Spike]) -> SeriesProfile:
    """The curve with each jump replaced by its baseline, so a rise is judged on the trend, not the outliers."""
    if not jumps:
        return val
    values = val.values.copy()
    values[[s.index for s in jumps]] = [s.baseline for s in jumps]
    signal, _ = log_view(values)
    return replace(val, values=values, signal=signal, smooth=rolling_median(values, smoothing_window(values.size)))


def find_overfitting(ctx: Context) -> Rise | None:
    """The earliest gradual rise among the held-out losses that training loss does not share.

    Recovering evaluation jumps are taken out first: they are val spikes, and a rise that needs them is none."""
    return ctx.shared("overfitting", lambda: _search(ctx))


def _trend(val: SeriesProfile, train: SeriesProfile | None) -> SeriesProfile:
    return without_jumps(val, _evaluation_jumps(val, train))


def _search(ctx: Context) -> Rise | None:
    train = ctx.profile("train_loss", min_points=2)
    found: list[Rise] = []
    for val in validation_losses(ctx):
        r = rise_after_best(_trend(val, train))  # its curve is the trend: a best epoch is never a jump
        if r is None:
            continue
        change = train_change_since(train, r.onset)
        if change is not None and change[1] > 0.05 and change[0] > 0.5 * (r.best_value * r.rise):
            continue  # train loss rises with it: divergence, not overfitting
        found.append(r)
    return min(found, key=lambda r: (r.curve.name != "val_loss", r.onset)) if found else None


def detect(ctx: Context) -> Finding | None:
    r = find_overfitting(ctx)
    if r is None:
        return None
    val, onset = r.curve, r.onset
    last = float(ctx.profiles[val.name].values[-1])  # as logged, jump or not
    train = ctx.profile("train_loss", min_points=2)
    change = train_change_since(train, onset)
    gap_best = gap_last = None
    if train is not None:
        gap_best = float(val.values[r.lowest]) - float(np.interp(onset, train.steps, train.smooth))
        gap_last = last - float(train.values[-1])
    confidence = clamp((0.55 + min(r.rise, 1.0) * 0.4) * length_factor(len(val)) * (1.0 if train else 0.8))
    log_next = None if train else ("train_loss per epoch: a falling train loss confirms overfitting, a rising "
                                   "one divergence")
    others = [p.name for p in validation_losses(ctx) if p.name != val.name and rise_after_best(_trend(p, train))]
    return Finding(
        code="overfitting",
        severity="warning",
        confidence=confidence,
        onset=onset,
        metrics=tuple(dict.fromkeys([val.name, *others, *(["train_loss"] if train else [])])),
        evidence={
            "best_epoch" if ctx.axis == "epoch" else "best_step": num(onset),
            "best_val_loss": round(float(val.values[r.lowest]), 6),
            "last_val_loss": round(last, 6),
            "val_loss_rise": round(r.rise, 4),
            "train_loss_change_since_best": None if change is None else round(change[1], 4),
            "gap_at_best": None if gap_best is None else round(gap_best, 6),
            "gap_at_last": None if gap_last is None else round(gap_last, 6),
            "log_next": log_next,
        },
        summary=f"{val.name} was best at {fmt_x(ctx.run, onset)} ({val.values[r.lowest]:.4g}) and has risen "
        f"{r.rise:.0%} since, while training loss kept falling.",
        explanation="The model keeps fitting the training set but stops generalising: past the best epoch it "
        "memorises training examples, so held-out loss climbs while training loss falls.",
        fixes=(
            Fix("restore_best_checkpoint", f"Keep the weights from {fmt_x(ctx.run, onset)}; stop there "
                "(Keras: EarlyStopping(monitor='val_loss', patience=3, restore_best_weights=True); "
                "Lightning: EarlyStopping('val_loss', patience=3) + ModelCheckpoint(monitor='val_loss'))."),
            Fix("add_weight_decay", "Add weight decay / L2 (e.g. torch.optim.AdamW(params, weight_decay=1e-2))."),
            Fix("add_dropout", "Add dropout (0.2-0.5) before the dense layers."),
            Fix("augment_or_more_data", "Augment the training data or collect more of it."),
        ),
    )


PATHOLOGY = Pathology(
    code="overfitting",
    meaning="Validation loss reaches its best and then rises by more than its noise while training loss keeps "
    "falling.",
    severity_rules="Always a warning: the best checkpoint is still usable.",
    evidence_keys=("best_epoch|best_step", "best_val_loss", "last_val_loss", "val_loss_rise",
                   "train_loss_change_since_best", "gap_at_best", "gap_at_last", "log_next"),
    detect=detect,
)
