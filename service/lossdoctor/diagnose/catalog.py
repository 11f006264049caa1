"""The catalog: every pathology LossDoctor can report, in the order findings are listed."""

from __future__ import annotations

from lossdoctor.diagnose import divergence, exploding_nan, overfitting, val_spike
from lossdoctor.diagnose.base import Pathology

CATALOG: tuple[Pathology, ...] = (
    exploding_nan.PATHOLOGY,
    divergence.PATHOLOGY,
    val_spike.PATHOLOGY,
    overfitting.PATHOLOGY,
)

FINDING_CODES: tuple[str, ...] = (
    "overfitting", "overconfidence", "divergence", "exploding_nan", "val_spike", "loss_spike", "plateau",
    "oscillation", "underfitting", "val_below_train",
)
