"""The JSON document of a diagnosis: the contract described by openapi.yaml."""

from __future__ import annotations

import math
from typing import Any

from lossdoctor.diagnose import Finding
from lossdoctor.engine import Diagnosis
from lossdoctor.run import Run


def _x(x: float) -> float | int:
    return int(x) if float(x).is_integer() else round(x, 6)


def _clean(value: Any) -> Any:
    """JSON has no NaN or infinity: send them as the same tokens clients use on the way in."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, float):
        return round(value, 6)
    return value


def finding_json(finding: Finding, run: Run) -> dict[str, Any]:
    onset = None if finding.onset is None else {run.x_axis: _x(finding.onset)}
    return {
        "code": finding.code,
        "severity": finding.severity,
        "confidence": round(finding.confidence, 3),
        "basis": finding.basis,
        "onset": onset,
        "metrics": list(finding.metrics),
        "evidence": {k: _clean(v) for k, v in finding.evidence.items()},
        "summary": finding.summary,
        "explanation": finding.explanation,
        "fixes": [{"action": f.action, "detail": f.detail} for f in finding.fixes],
    }


def input_json(run: Run) -> dict[str, Any]:
    """What we understood of the input, so a client can see a misnamed metric or an ignored meta key."""
    return {
        "x_axis": run.x_axis,
        "series": {
            name: {"source_name": s.source_name, "points": len(s), "non_finite": int((~s.finite).sum())}
            for name, s in run.series.items()
        },
        "unknown_metrics": run.unknown_metrics,
        "meta": {k: _clean(v) for k, v in run.meta.known().items()},
        "unknown_meta": run.meta.extra,
        "notes": list(run.notes),
    }


def diagnosis_json(diagnosis: Diagnosis) -> dict[str, Any]:
    """Everything but the per-request fields (`cached`), which the caller adds."""
    run = diagnosis.run
    return {
        "id": diagnosis.id,
        "engine_version": diagnosis.engine_version,
        "status": diagnosis.status,
        "findings": [finding_json(f, run) for f in diagnosis.findings],
        "series": {
            name: {
                "change_points": [_x(c) for c in p.change_points],
                "segments": [
                    {"start": _x(s.start), "end": _x(s.end), "trend": s.trend, "slope": _clean(s.slope)}
                    for s in p.segments
                ],
            }
            for name, p in diagnosis.profiles.items()
        },
        "input": input_json(run),
        "links": {"self": f"/v1/diagnoses/{diagnosis.id}"},
    }
