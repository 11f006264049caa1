"""Validation spikes: evaluations far above their neighbours while training loss stays smooth."""

from __future__ import annotations

import math

import numpy as np

from lossdoctor.detect import SeriesProfile
from lossdoctor.detect.spikes import Spike, find_spikes, median_before, never_returns
from lossdoctor.diagnose import oscillation
from lossdoctor.diagnose.base import (
    Context,
    Finding,
    Fix,
    Pathology,
    Severity,
    chance_ceiling,
    clamp,
    fmt_x,
    length_factor,
    val_loss_count_noise,
)

ERROR_RATIO = 10.0  # an order of magnitude above the neighbours is an error
MIN_VAL_RATIO = 1.5  # a validation loss 1.5x the evaluations before it, back down at once, is out of place
CALM_TRAIN = 1.2  # ... when the training loss at that point stays within 20 % of its level before
ECHO_RATIO = 1.6  # a training loss 1.6x its level just before the evaluation jump: the jump is its echo
SWING_MULTIPLE = 3.0  # on a validation loss that oscillates, a spike is 3x its typical swing (log scale)
MIN_MATERIAL = 0.05  # and the jump adds 5 % of the uniform-guess loss ln(C) (or of the curve's scale)

EXPLANATION = (
    "Only the evaluation is off, so the model behaves differently in eval mode than in training: "
    "most often BatchNorm running statistics that do not match the eval batches (BatchNorm after an "
    "LSTM, small or unshuffled eval batches), dropout/eval-mode handling, or a numerically unstable "
    "loss on a few examples."
)
FIXES = (
    Fix("check_batchnorm_eval_stats", "Replace BatchNorm after recurrent layers with LayerNorm (or "
        "remove it); otherwise evaluate with larger, shuffled batches."),
    Fix("check_train_eval_mode", "Call model.eval() and torch.no_grad() for validation and model.train() "
        "after it; make sure hidden state is re-initialised for eval batches."),
    Fix("check_eval_batches", "Check the eval batch composition (one class per batch, a tiny last batch)."),
    Fix("stabilise_loss", "Compute the loss from logits (CrossEntropyLoss without a softmax layer)."),
)


def _train_ratio(train: SeriesProfile | None, val: SeriesProfile, index: int) -> float | None:
    """Train loss at the spike over train loss at the evaluations the spike was compared with: a jump that
    train shares is the whole run blowing up, not the evaluation."""
    if train is None or len(train) < 2:
        return None
    before = val.steps[max(0, index - 3) : index] if index else val.steps[1:4]
    base = float(np.median(np.interp(before, train.steps, train.values)))
    at = float(np.interp(val.steps[index], train.steps, train.values))
    return at / base if base > 0 else None


def _first_point_is_broken(train: SeriesProfile | None, value: float, ratio: float, step: float) -> bool:
    """With nothing before it, a first evaluation is a spike only when it is extreme (10x what follows) or
    far above the training loss at the same time (an eval-mode failure, not early training)."""
    if ratio >= ERROR_RATIO:
        return True
    if train is None:
        return False
    return value >= 3.0 * float(np.interp(step, train.steps, train.values))


def accuracy_dips(ctx: Context) -> list[tuple[float, float, float]]:
    """(step, val accuracy, train accuracy) where validation accuracy collapses to under half of what the
    model scores on training data at the same time and under half of its own later level: an eval-only
    failure seen in the accuracy curve."""
    val = ctx.profile("val_accuracy", min_points=4)
    train = ctx.profile("train_accuracy", min_points=2)
    if val is None or train is None:
        return []
    out = []
    for i in range(len(val)):
        later = np.median(val.values[i + 1 : i + 4]) if i + 1 < len(val) else np.nan
        at_train = float(np.interp(val.steps[i], train.steps, train.values))
        v = float(val.values[i])
        if np.isfinite(later) and v < 0.5 * later and v < 0.5 * at_train:
            out.append((float(val.steps[i]), v, at_train))
    return out


def _from_accuracy(ctx: Context) -> Finding | None:
    dips = accuracy_dips(ctx)
    if not dips:
        return None
    step, v, t = dips[0]
    return Finding(
        code="val_spike",
        severity="warning",
        confidence=0.6,
        onset=step,
        metrics=("val_accuracy", "train_accuracy"),
        evidence={"spike_at": step, "val_accuracy": round(v, 4), "train_accuracy": round(t, 4),
                  "spike_count": len(dips)},
        summary=f"Validation accuracy collapsed to {v:.2f} at {fmt_x(ctx.run, step)} while training accuracy "
        f"was {t:.2f}.",
        explanation=EXPLANATION,
        fixes=FIXES,
    )


def _from_unstable_evaluation(ctx: Context) -> Finding | None:
    """Validation loss jumping up and down again and again while training loss is smooth or steadily improving
    (oscillation.val_swing_is_evaluation): many spikes, none isolated enough for the spike detector, one cause
    (the evaluation)."""
    val = ctx.profile("val_loss", min_points=5)
    swing = oscillation.val_swing_is_evaluation(ctx) if val is not None else None
    if val is None or swing is None:
        return None
    amplitude, alternation, _, start = swing
    count_noise = val_loss_count_noise(ctx)
    if count_noise is not None and amplitude < 2.0 * count_noise:
        return None  # a small validation set's few errors flipping: noise, not a broken evaluation
    # the median of the 3 evaluations before each (NaN for the first, which is never a jump)
    jumps = np.flatnonzero(val.values > MIN_VAL_RATIO * median_before(val.values, 3))
    train = ctx.profile("train_loss", min_points=2)
    own = [int(i) for i in jumps if not _shares_train_jump(train, val, int(i))]
    if jumps.size and not own:
        return None  # every jump comes with a training-loss jump: the weights were knocked off, not the evaluation
    onset_i = own[0] if own else start
    worst = int(np.argmax(val.values[onset_i:])) + onset_i
    ratio = float(val.values[worst] / np.median(val.values))
    return Finding(
        code="val_spike",
        severity="error" if ratio >= ERROR_RATIO else "warning",
        confidence=clamp(0.5 + 0.3 * min(amplitude, 1.0) + 0.1 * alternation),
        onset=float(val.steps[onset_i]),
        metrics=("val_loss", "train_loss"),
        evidence={"spike_at": float(val.steps[onset_i]), "spike_val_loss": round(float(val.values[worst]), 6),
                  "baseline_val_loss": round(float(np.median(val.values)), 6), "max_ratio": round(ratio, 2),
                  "spike_count": int(jumps.size), "recovers": True, "train_loss_smooth": True},
        summary=f"Validation loss jumps up and down from {fmt_x(ctx.run, float(val.steps[onset_i]))} on (up to "
        f"{ratio:.1f}x its median) while training loss stays smooth.",
        explanation=EXPLANATION,
        fixes=FIXES,
    )


def _shares_train_jump(train: SeriesProfile | None, val: SeriesProfile, index: int) -> bool:
    """The training loss jumped at this evaluation, just before it (see `_echoes_train`), or at the next one: an
    epoch's training loss averages over updates that start from the weights the evaluation saw, so weights
    knocked off late in one epoch show in the next epoch's training loss."""
    moved = _train_ratio(train, val, index)
    nxt = _train_ratio(train, val, index + 1) if index + 1 < len(val) else None
    return any(m is not None and m >= CALM_TRAIN for m in (moved, nxt)) or _echoes_train(train, val, index)


def _echoes_train(train: SeriesProfile | None, val: SeriesProfile, index: int) -> bool:
    """A training-loss jump since the evaluation before the previous one: the weights were knocked off by a bad
    batch or an LR burst, and the next evaluations show it. That is the training spike, seen again."""
    if train is None or index < 1:
        return False
    lo = float(val.steps[index - 2]) if index >= 2 else -math.inf
    inside = (train.steps > lo) & (train.steps <= val.steps[index])
    first = int(np.argmax(inside)) if inside.any() else -1
    if first < 1:
        return False
    before = float(np.median(train.values[max(0, first - 3) : first]))
    return before > 0 and float(train.values[inside].max()) >= ECHO_RATIO * before


def _moderate(ctx: Context, val: SeriesProfile, train: SeriesProfile | None, known: set[int]) -> list[Spike]:
    """Validation jumps of MIN_VAL_RATIO-2x that the strong-spike detector leaves alone. An evaluation is not a
    minibatch: with the model's weights moving smoothly, a held-out loss that jumps half as high again and comes
    straight back down can only come from the evaluation. So such a jump counts when it recovers within three
    evaluations, is material (MIN_MATERIAL of the uniform-guess loss, or of the curve's own scale), and the
    training loss neither jumped with it or just before it, nor swings (then everything swings with the LR)."""
    if train is None or len(val) < 5 or oscillation.train_swings(ctx):
        return []
    ceiling = chance_ceiling(ctx)
    floor = MIN_MATERIAL * (ceiling if ceiling else float(np.percentile(val.values, 90)))
    out = []
    for s in find_spikes(val.steps, val.signal, log_scale=val.log_scale, min_ratio=MIN_VAL_RATIO,
                         noise_sigmas=0.0):
        if s.index in known or s.index < 2 or not s.isolated or s.value - s.baseline < floor:
            continue
        moved = _train_ratio(train, val, s.index)
        if moved is None or moved >= CALM_TRAIN or _echoes_train(train, val, s.index):
            continue
        out.append(s)
    return out


def _val_oscillation(ctx: Context) -> float | None:
    """The typical step-to-step swing (log scale) of a validation loss that oscillates as a whole."""
    swinging = oscillation.detect(ctx)
    if swinging is None or swinging.metrics[0] != "val_loss":
        return None
    return math.log1p(float(swinging.evidence["typical_swing"] or 0.0))


def detect(ctx: Context) -> Finding | None:
    val = ctx.profile("val_loss", min_points=3)
    train = ctx.profile("train_loss", min_points=2)
    candidates = [] if val is None else sorted(
        [*val.spikes, *_moderate(ctx, val, train, {s.index for s in val.spikes})], key=lambda s: s.index)
    swing = _val_oscillation(ctx)
    if swing is not None:  # a curve that swings as a whole: only a jump far beyond its swing stands out
        candidates = [s for s in candidates if s.ratio > 0 and math.log(s.ratio) >= SWING_MULTIPLE * swing]
    if val is None or not candidates:
        return _from_accuracy(ctx) or (None if swing is not None else _from_unstable_evaluation(ctx))
    spikes = []
    for s in candidates:
        moved = _train_ratio(train, val, s.index)
        if moved is not None and moved > math.sqrt(s.ratio):
            continue  # train loss jumped too: the whole run blew up, not the evaluation
        if val.log_scale and never_returns(val.signal, s):
            continue  # a step up that the curve never comes back from is a trend (overfitting), not a spike
        if s.index == 0 and not _first_point_is_broken(train, s.value, s.ratio, s.step):
            continue  # a high first evaluation is usually just the start of training
        spikes.append(s)
    if not spikes:
        return _from_accuracy(ctx) or _from_unstable_evaluation(ctx)
    first = spikes[0]
    worst = max(spikes, key=lambda s: s.ratio)
    evidence: dict[str, float | int | str | bool | None] = {
        "spike_at": first.step,
        "spike_val_loss": round(first.value, 6),
        "baseline_val_loss": round(first.baseline, 6),
        "ratio": round(first.ratio, 2),
        "max_ratio": round(worst.ratio, 2),
        "spike_count": len(spikes),
        "recovers": all(s.isolated for s in spikes),
    }
    ceiling_note = ""
    if ctx.run.meta.num_classes and ctx.run.meta.num_classes > 1:
        ceiling = math.log(ctx.run.meta.num_classes)
        evidence["chance_ceiling"] = round(ceiling, 4)
        evidence["above_chance_ceiling"] = worst.value > ceiling
        if worst.value > ceiling:
            ceiling_note = f" It exceeds ln({ctx.run.meta.num_classes}) = {ceiling:.2f}, the loss of guessing: " \
                "predictions are confidently wrong."
    if train is not None:
        evidence["train_loss_smooth"] = True
    evidence["log_next"] = ("val loss of one validation batch in model.train() and in model.eval(): a large gap "
                            "points at BatchNorm running statistics, no gap at the data or the loss")
    severity: Severity = "error" if worst.ratio >= ERROR_RATIO else "warning"
    return Finding(
        code="val_spike",
        severity=severity,
        confidence=clamp((0.6 + min(math.log10(worst.ratio), 2.0) * 0.18) * length_factor(len(val))),
        onset=first.step,
        metrics=("val_loss", "train_loss") if train else ("val_loss",),
        evidence=evidence,
        summary=f"Validation loss jumped {first.ratio:.0f}x at {fmt_x(ctx.run, first.step)} "
        f"({first.baseline:.4g} -> {first.value:.4g}) while training loss stayed smooth.{ceiling_note}",
        explanation=EXPLANATION,
        fixes=FIXES,
    )


PATHOLOGY = Pathology(
    code="val_spike",
    meaning="Isolated validation-loss values far above their neighbours (robust median/MAD on log loss) while "
    "training loss is smooth.",
    severity_rules="Error when a spike is 10x or more above its neighbours, otherwise a warning.",
    evidence_keys=("spike_at", "spike_val_loss", "baseline_val_loss", "ratio", "max_ratio", "spike_count",
                   "recovers", "chance_ceiling", "above_chance_ceiling", "train_loss_smooth", "log_next",
                   "val_accuracy", "train_accuracy"),
    detect=detect,
)
