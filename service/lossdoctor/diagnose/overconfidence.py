"""Overconfidence: validation loss rises while validation accuracy holds or improves."""

from __future__ import annotations

import math

import numpy as np

from lossdoctor.detect import SeriesProfile
from lossdoctor.diagnose.base import Context, Finding, Fix, Pathology, clamp, fmt_x, num
from lossdoctor.diagnose.overfitting import find_overfitting

_HIGHER_IS_BETTER = ("acc", "f1", "auc", "precision", "recall")
_LOWER_IS_BETTER = ("wer", "cer", "error")


def _quality_metrics(ctx: Context) -> list[tuple[SeriesProfile, float]]:
    """Held-out quality metrics with their direction (+1: higher is better, -1: lower is better)."""
    out = []
    for name, p in ctx.profiles.items():
        key = name.lower()
        if not key.startswith(("val", "eval", "valid", "test")) or "loss" in key or len(p) < 2:
            continue
        if any(t in key for t in _HIGHER_IS_BETTER):
            out.append((p, 1.0))
        elif any(t in key for t in _LOWER_IS_BETTER):
            out.append((p, -1.0))
    return sorted(out, key=lambda item: item[0].name != "val_accuracy")


def _tolerance(ctx: Context, p: SeriesProfile, level: float) -> float:
    """How much a quality metric may drop and still count as flat: two binomial standard errors when the
    validation size is known (an accuracy of 0.84 on 2,500 samples has an SE of 0.7 %), else its noise."""
    n = ctx.run.meta.val_size
    if n and 0 < level < 1 and p.name.endswith(("acc", "accuracy")):
        return 2.0 * math.sqrt(level * (1 - level) / n)
    spread = float(np.std(np.diff(p.values))) if len(p) > 2 else 0.0
    return max(0.01 * abs(level), spread)


def detect(ctx: Context) -> Finding | None:
    rise = find_overfitting(ctx)
    if rise is None:
        return None
    onset = rise.onset
    turn = float(rise.curve.steps[rise.best])  # where the smoothed val loss turns: quality is compared from there
    for metric, direction in _quality_metrics(ctx):
        at = float(np.interp(turn, metric.steps, metric.smooth))
        later = metric.values[metric.steps >= turn]
        if later.size < 2:
            continue
        end = float(np.median(later[-max(1, min(3, later.size // 2)) :]))
        change = direction * (end - at)  # positive: the metric improved
        tolerance = _tolerance(ctx, metric, at)
        if change < -tolerance:
            continue
        return Finding(
            code="overconfidence",
            severity="warning",
            confidence=clamp(0.5 + 0.3 * min(rise.rise, 1.0) + (0.1 if change > tolerance else 0.0)),
            onset=onset,
            metrics=(rise.curve.name, metric.name),
            evidence={
                "best_epoch" if ctx.axis == "epoch" else "best_step": num(onset),
                "val_loss_rise": round(rise.rise, 4),
                "quality_metric": metric.name,
                "quality_at_best": round(at, 6),
                "quality_at_end": round(end, 6),
                "quality_change": round(change, 6),
                "noise_tolerance": round(tolerance, 6),
            },
            summary=f"{rise.curve.name} rose {rise.rise:.0%} since {fmt_x(ctx.run, onset)} while {metric.name} "
            f"{'improved' if change > tolerance else 'stayed flat'} ({at:.4g} -> {end:.4g}).",
            explanation="The model still ranks the right class first as often as before, but it grows more "
            "confident on the examples it gets wrong: cross-entropy punishes confident mistakes without "
            "bound, so loss climbs while accuracy holds.",
            fixes=(
                Fix("early_stop_on_target_metric", f"Select the checkpoint by {metric.name}, not by loss "
                    "(Keras: EarlyStopping(monitor='val_accuracy', mode='max', restore_best_weights=True))."),
                Fix("label_smoothing", "Train with label smoothing (nn.CrossEntropyLoss(label_smoothing=0.1); "
                    "Keras: CategoricalCrossentropy(label_smoothing=0.1))."),
                Fix("temperature_scaling", "If you need calibrated probabilities, fit a temperature on the "
                    "validation set after training."),
                Fix("regularise", "Weight decay and dropout slow the growth of the logits."),
            ),
        )
    return None


PATHOLOGY = Pathology(
    code="overconfidence",
    meaning="Validation loss rises while validation accuracy (or another quality metric) stays flat or "
    "improves: the model grows confident on its mistakes.",
    severity_rules="A warning: the model is not getting worse at its task, its probabilities are.",
    evidence_keys=("best_epoch|best_step", "val_loss_rise", "quality_metric", "quality_at_best",
                   "quality_at_end", "quality_change", "noise_tolerance"),
    detect=detect,
)
