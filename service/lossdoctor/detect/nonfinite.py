"""Non-finite values: a NaN or infinite loss is the strongest evidence a curve can carry."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lossdoctor.run import Series


@dataclass(frozen=True)
class NonFinite:
    first_index: int
    first_step: float
    count: int
    kind: str  # "nan", "inf" or "-inf" at the first occurrence


def find_non_finite(series: Series) -> NonFinite | None:
    bad = ~np.isfinite(series.values)
    if not bad.any():
        return None
    i = int(np.argmax(bad))
    v = float(series.values[i])
    kind = "nan" if np.isnan(v) else ("inf" if v > 0 else "-inf")
    return NonFinite(first_index=i, first_step=float(series.steps[i]), count=int(bad.sum()), kind=kind)
