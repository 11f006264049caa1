"""The catalog: every pathology LossDoctor can report, in the order they are checked and listed."""

from __future__ import annotations

from lossdoctor.diagnose import (
    divergence,
    exploding_nan,
    loss_spike,
    oscillation,
    overconfidence,
    overfitting,
    plateau,
    underfitting,
    val_below_train,
    val_spike,
)
from lossdoctor.diagnose.base import Pathology

CATALOG: tuple[Pathology, ...] = (
    exploding_nan.PATHOLOGY,
    divergence.PATHOLOGY,
    val_spike.PATHOLOGY,
    loss_spike.PATHOLOGY,
    overfitting.PATHOLOGY,
    overconfidence.PATHOLOGY,
    plateau.PATHOLOGY,
    oscillation.PATHOLOGY,
    underfitting.PATHOLOGY,
    val_below_train.PATHOLOGY,
)

FINDING_CODES: tuple[str, ...] = tuple(p.code for p in CATALOG)
