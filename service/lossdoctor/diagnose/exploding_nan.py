"""Exploding / NaN: non-finite values, or loss and gradient norm growing by orders of magnitude."""

from __future__ import annotations

import numpy as np

from lossdoctor.detect import SeriesProfile
from lossdoctor.detect.noise import smoothing_window
from lossdoctor.diagnose.base import Context, Finding, Fix, Pathology, chance_ceiling, fmt_x, training_losses
from lossdoctor.ingest.names import is_loss
from lossdoctor.run import FloatArray

EXPLOSION_FACTOR = 100.0  # a training loss 100x above where an untrained model starts has blown up
RUN_UP_FACTOR = 2.0  # the explosion starts where the loss last rose above twice that reference


def _watched(ctx: Context) -> list[SeriesProfile]:
    return [p for name, p in ctx.profiles.items() if is_loss(name) or name == "grad_norm"]


def reference_loss(p: SeriesProfile, ceiling: float | None) -> float | None:
    """The loss of the untrained model: the first logged value, or ln(num_classes) when that is higher.

    Growth is measured against it, not against the running minimum: a per-step loss touches tiny values on
    lucky batches (1e-8), and 1000x such a value is still an ordinary loss."""
    if not len(p) or p.values[0] <= 0:
        return None
    return max(float(p.values[0]), ceiling or 0.0)


def _explosion(p: SeriesProfile, ceiling: float | None) -> tuple[float, float] | None:
    """(step, growth factor) of the first point of a training loss EXPLOSION_FACTOR above its reference.

    Only training losses: a gradient norm grows by orders of magnitude in runs that merely diverge (the loss
    stays bounded), and a validation loss follows the training one."""
    if len(p) < 2 or not is_loss(p.name) or p.name.startswith(("val", "eval", "valid", "test")):
        return None
    ref = reference_loss(p, ceiling)
    if ref is None:
        return None
    growth = p.values / ref
    hits = np.flatnonzero(growth >= EXPLOSION_FACTOR)
    if not hits.size:
        return None
    return float(p.steps[int(hits[0])]), float(growth.max())


def _smooth_unpadded(p: SeriesProfile, end: int) -> FloatArray:
    """The smoothed curve up to `end`, its last points re-smoothed over windows that shrink at the edge
    instead of repeating the last value: one wild last point must not read as a sustained climb."""
    window = smoothing_window(len(p))
    half = window // 2
    out = np.array(p.smooth[:end], dtype=np.float64)
    for i in range(max(0, end - half), end):
        out[i] = float(np.median(p.values[max(0, i - half) : end]))
    return out


def run_up_start(p: SeriesProfile, until: float, ceiling: float | None) -> float | None:
    """Where the blow-up that ends at `until` started: the first point of the uninterrupted stretch of the
    smoothed training loss above RUN_UP_FACTOR x its reference that leads into it. A loss that climbs for
    ten epochs before it overflows was exploding from the start of the climb; the weights past that point are
    not worth restoring."""
    ref = reference_loss(p, ceiling)
    if ref is None:
        return None
    before = np.flatnonzero(p.steps < until)
    if not before.size:
        return None
    end = int(before[-1]) + 1
    high = _smooth_unpadded(p, end) > RUN_UP_FACTOR * ref
    if not high[-1]:
        return None
    low = np.flatnonzero(~high)
    return float(p.steps[int(low[-1]) + 1 if low.size else 0])


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + "."


def detect(ctx: Context) -> Finding | None:
    first: tuple[float, str, str] | None = None  # (step, metric, kind)
    counts: dict[str, int] = {}
    for p in _watched(ctx):
        if p.non_finite is not None:
            counts[p.name] = p.non_finite.count
            if first is None or p.non_finite.first_step < first[0]:
                first = (p.non_finite.first_step, p.name, p.non_finite.kind)
    ceiling = chance_ceiling(ctx)
    explosion: tuple[float, str, float] | None = None
    for p in _watched(ctx):
        hit = _explosion(p, ceiling)
        if hit and (explosion is None or hit[0] < explosion[0]):
            explosion = (hit[0], p.name, hit[1])
    if first is None and explosion is None:
        return None
    evidence: dict[str, float | int | str | bool | None] = {}
    if first is not None:
        evidence.update(first_non_finite_at=first[0], first_non_finite_metric=first[1],
                        first_non_finite_value=first[2], non_finite_count=sum(counts.values()))
    if explosion is not None:
        evidence.update(explosion_at=explosion[0], explosion_metric=explosion[1],
                        growth_factor=float(f"{explosion[2]:.3g}"))
    if first is not None and first[1] == "grad_norm" and "train_loss" not in counts:
        # Hugging Face's Trainer drops NaN/inf losses from its logged average (logging_nan_inf_filter), so a
        # finite loss curve beside a non-finite gradient norm does not mean the loss was fine.
        evidence["loss_may_hide_non_finite"] = True
    onset = min(x for x in (first[0] if first else None, explosion[0] if explosion else None) if x is not None)
    metric = first[1] if first and first[0] == onset else (explosion[1] if explosion else "train_loss")
    what = f"{first[1]} became {first[2]} at {fmt_x(ctx.run, first[0])}" if first else ""
    grew = (f"{explosion[1]} reached {explosion[2]:.3g}x its starting level by {fmt_x(ctx.run, explosion[0])}"
            if explosion else "")
    train = next(iter(training_losses(ctx, min_points=2)), None)
    run_up = run_up_start(train, onset, ceiling) if train is not None else None
    climb = ""
    if run_up is not None and run_up < onset:
        evidence["run_up_from"] = run_up
        climb = f"the climb into it started at {fmt_x(ctx.run, run_up)}"
        onset = run_up
    return Finding(
        code="exploding_nan",
        severity="error",
        confidence=0.97 if first else 0.85,
        onset=onset,
        metrics=(metric, *sorted(set(counts) - {metric})),  # the metric that failed first leads
        evidence=evidence,
        summary=_sentence("; ".join(x for x in (grew, what, climb) if x)),
        explanation="Weights or activations overflowed: gradients grew until an update produced inf, and "
        "every later value is NaN. Typical causes: a learning rate too high for the model, no gradient "
        "clipping in an RNN, log/softmax of zero, fp16 overflow without loss scaling.",
        fixes=(
            Fix("clip_gradients", "Clip the gradient norm (torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0);"
                " Keras: optimizer(clipnorm=1.0))."),
            Fix("lower_learning_rate", "Lower the learning rate 3-10x, or add a warm-up."),
            Fix("use_loss_scaling", "In mixed precision use a dynamic loss scaler (torch.amp.GradScaler) or bf16."),
            Fix("stabilise_log_softmax", "Compute losses from logits (CrossEntropyLoss, from_logits=True) instead "
                "of log(softmax(x)); add eps inside logs and divisions."),
            Fix("find_first_nan", "Run a few steps with torch.autograd.set_detect_anomaly(True) to find the op "
                "that produces the first NaN."),
        ),
    )


PATHOLOGY = Pathology(
    code="exploding_nan",
    meaning="Non-finite values (NaN/inf) in a loss or the gradient norm, or growth by orders of magnitude "
    "before them.",
    severity_rules="Always an error: the weights are no longer usable past the onset.",
    evidence_keys=("first_non_finite_at", "first_non_finite_metric", "first_non_finite_value",
                   "non_finite_count", "explosion_at", "explosion_metric", "growth_factor", "run_up_from",
                   "loss_may_hide_non_finite"),
    detect=detect,
)
