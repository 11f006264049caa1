"""The engine on arbitrary curves: whatever the numbers (NaN, inf, zeros, negatives, one point, train and val on
different steps), a diagnosis comes back, and every onset lies on the run's own x range."""

from __future__ import annotations

import math
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lossdoctor.engine import diagnose
from lossdoctor.ingest.payload import run_from_payload

VALUES = st.one_of(
    st.floats(min_value=-5.0, max_value=50.0, allow_nan=False),
    st.floats(min_value=1e-9, max_value=1e-3),
    st.sampled_from([0.0, 1e6, 1e30, "NaN", "Infinity", "-Infinity"]),
)


@st.composite
def curves(draw: st.DrawFn) -> dict[str, Any]:
    metrics: dict[str, Any] = {}
    for name in draw(st.lists(st.sampled_from(["train_loss", "val_loss", "val_accuracy", "train_accuracy", "lr",
                                               "grad_norm"]), min_size=1, max_size=6, unique=True)):
        n = draw(st.integers(min_value=1, max_value=40))
        start = draw(st.integers(min_value=0, max_value=3))
        stride = draw(st.sampled_from([1, 2, 5]))
        values = draw(st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=n, max_size=n)
                      if name.endswith("accuracy") else st.lists(VALUES, min_size=n, max_size=n))
        metrics[name] = {"steps": [start + stride * i for i in range(n)], "values": values}
    meta = draw(st.fixed_dictionaries({}, optional={"num_classes": st.integers(min_value=2, max_value=1000),
                                                    "val_size": st.integers(min_value=1, max_value=100_000)}))
    return {"metrics": metrics, "meta": meta}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(curves())
def test_any_curves_get_a_diagnosis_with_onsets_on_the_runs_own_x_range(payload: dict[str, Any]) -> None:
    run = run_from_payload(payload)
    result = diagnose(run)
    assert result.status in ("healthy", "unhealthy", "insufficient_data")
    lo = min(float(s.steps.min()) for s in run.series.values())
    hi = max(float(s.steps.max()) for s in run.series.values())
    for f in result.findings:
        assert 0.0 <= f.confidence <= 1.0
        assert f.onset is None or (math.isfinite(f.onset) and lo <= f.onset <= hi), (f.code, f.onset)
