"""The contract every pathology module follows, and the finding it returns."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal, TypeVar, cast

import numpy as np

from lossdoctor.detect import SeriesProfile
from lossdoctor.run import Run

Severity = Literal["error", "warning", "info"]
EvidenceValue = float | int | str | bool | None
T = TypeVar("T")


@dataclass(frozen=True)
class Fix:
    action: str
    detail: str


@dataclass(frozen=True)
class Finding:
    code: str
    severity: Severity
    confidence: float
    onset: float | None  # on the run's x axis (1-based epoch or step)
    metrics: tuple[str, ...]
    evidence: dict[str, EvidenceValue]
    summary: str
    explanation: str
    fixes: tuple[Fix, ...]
    basis: Literal["metrics", "description"] = "metrics"


@dataclass(frozen=True)
class Context:
    """What a classifier reads: the run and the profile of each of its curves."""

    run: Run
    profiles: Mapping[str, SeriesProfile]
    _shared: dict[str, object] = field(default_factory=dict, repr=False, compare=False)

    def shared(self, key: str, compute: Callable[[], T]) -> T:
        """A search several classifiers read (the plateau, the val rise, the oscillation), done once per run."""
        if key not in self._shared:
            self._shared[key] = compute()
        return cast(T, self._shared[key])

    def profile(self, name: str, min_points: int = 1) -> SeriesProfile | None:
        p = self.profiles.get(name)
        return p if p is not None and len(p) >= min_points else None

    @property
    def axis(self) -> str:
        return self.run.x_axis


@dataclass(frozen=True)
class Pathology:
    """One entry of the catalog: what the code means, how severity is decided, and its classifier."""

    code: str
    meaning: str
    severity_rules: str
    evidence_keys: tuple[str, ...]
    detect: Callable[[Context], Finding | None] = field(repr=False)


def clamp(x: float, lo: float = 0.05, hi: float = 0.99) -> float:
    return float(min(hi, max(lo, x)))


def length_factor(n: int) -> float:
    """Runs of 3-5 points still get a verdict, with less confidence than long ones."""
    return min(1.0, 0.55 + 0.05 * n)


def fmt_x(run: Run, x: float | None) -> str:
    if x is None:
        return "?"
    label = "epoch" if run.x_axis == "epoch" else "step"
    return f"{label} {int(x) if float(x).is_integer() else round(x, 2)}"


def validation_losses(ctx: Context, min_points: int = 3) -> list[SeriesProfile]:
    """`val_loss` first, then any other held-out loss a client logged (`val_g0_loss`, `eval/mel_loss`)."""
    out = []
    for name, p in ctx.profiles.items():
        key = name.lower()
        held_out = name == "val_loss" or (key.startswith(("val", "eval", "valid", "test")) and key.endswith("loss"))
        if held_out and len(p) >= min_points:
            out.append(p)
    return sorted(out, key=lambda p: p.name != "val_loss")


def chance_ceiling(ctx: Context) -> float | None:
    """ln(num_classes): the cross-entropy of predicting the uniform distribution."""
    k = ctx.run.meta.num_classes
    return float(np.log(k)) if k and k > 1 else None


MIN_ERRORS = 5.0


def val_loss_count_noise(ctx: Context) -> float | None:
    """The relative (log-scale) wobble a validation loss shows from the size of its validation set alone.

    Cross-entropy on a classifier is carried by its few misclassified examples; with e of them the loss moves
    by about 1/sqrt(e) of itself from epoch to epoch as borderline examples flip (the Poisson noise of a
    count). 10 errors among 320 examples make +-30 % swings that say nothing about the evaluation. None when
    the validation size or accuracy is unknown."""
    acc = ctx.profile("val_accuracy", min_points=1)
    n = ctx.run.meta.val_size
    if acc is None or not n:
        return None
    level = float(np.median(acc.values))
    level = level / 100.0 if 1.0 < level <= 100.0 else level  # accuracy logged in percent
    errors = (1.0 - level) * n
    if not 0.0 < level < 1.0 or errors < MIN_ERRORS:
        return None  # with a handful of errors the loss is carried by the right answers: 1/sqrt(e) fails
    return 1.0 / float(np.sqrt(errors))


def num(x: float) -> float | int:
    return int(x) if float(x).is_integer() else round(float(x), 6)


def training_losses(ctx: Context, min_points: int = 3) -> list[SeriesProfile]:
    """`train_loss` first, then the components a trainer logs beside it (`loss_mel_ce`, `aux_loss`)."""
    out = []
    for name, p in ctx.profiles.items():
        key = name.lower()
        held_out = key.startswith(("val", "eval", "valid", "test"))
        if (name == "train_loss" or (key.endswith("loss") and not held_out)) and len(p) >= min_points:
            out.append(p)
    return sorted(out, key=lambda p: p.name != "train_loss")
