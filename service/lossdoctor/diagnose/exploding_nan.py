"""Exploding / NaN: non-finite values, or loss and gradient norm growing by orders of magnitude."""

from __future__ import annotations

import numpy as np

from lossdoctor.detect import SeriesProfile
from lossdoctor.diagnose.base import Context, Finding, Fix, Pathology, fmt_x
from lossdoctor.ingest.names import is_loss

EXPLOSION_FACTOR = 1e3  # three orders of magnitude above the best value seen so far


def _watched(ctx: Context) -> list[SeriesProfile]:
    return [p for name, p in ctx.profiles.items() if is_loss(name) or name == "grad_norm"]


def _explosion(p: SeriesProfile) -> tuple[float, float] | None:
    """(step, growth factor) of the first point 1000x above the running minimum of a positive curve."""
    if len(p) < 2 or not p.log_scale or p.name.startswith("val"):
        return None
    running_min = np.minimum.accumulate(p.values)
    growth = p.values / running_min
    hits = np.flatnonzero(growth >= EXPLOSION_FACTOR)
    if not hits.size:
        return None
    i = int(hits[0])
    return float(p.steps[i]), float(growth.max())


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
    explosion: tuple[float, str, float] | None = None
    for p in _watched(ctx):
        hit = _explosion(p)
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
    what = f"{metric} became {first[2]} at {fmt_x(ctx.run, first[0])}" if first else ""
    grew = f"{explosion[1]} grew {explosion[2]:.3g}x from {fmt_x(ctx.run, explosion[0])}" if explosion else ""
    return Finding(
        code="exploding_nan",
        severity="error",
        confidence=0.97 if first else 0.85,
        onset=onset,
        metrics=(metric, *sorted(set(counts) - {metric})),  # the metric that failed first leads
        evidence=evidence,
        summary=_sentence("; ".join(x for x in (grew, what) if x)),
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
                   "non_finite_count", "explosion_at", "explosion_metric", "growth_factor",
                   "loss_may_hide_non_finite"),
    detect=detect,
)
