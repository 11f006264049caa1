"""The JSON document of a diagnosis: the contract described by openapi.yaml."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from lossdoctor.diagnose import Finding
from lossdoctor.engine import Diagnosis
from lossdoctor.run import Run


def _x(x: float) -> float | int:
    """Whole steps print as integers; beyond 2**53 a float is not an exact integer anyway."""
    return int(x) if float(x).is_integer() and abs(x) < 2**53 else round(x, 6)


def json_safe(value: Any) -> Any:
    """Echo client-supplied values (unknown meta) as strict JSON: non-finite floats become the tokens
    clients send, integers beyond 64 bits become floats or strings."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return value if -(2**63) <= value < 2**64 else str(value)
    if isinstance(value, float):
        return _clean(value)
    return str(value)


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
        "unknown_meta": json_safe(run.meta.extra),
        "notes": list(run.notes),
    }


def code_finding_json(code_finding: Any, found: set[str]) -> dict[str, Any]:
    return {
        "rule": code_finding.rule,
        "severity": code_finding.severity,
        "snippet": code_finding.snippet,
        "start": code_finding.start,
        "end": code_finding.end,
        "line": code_finding.line,
        "why": code_finding.why,
        "fix": code_finding.fix,
        "explains": list(code_finding.explains),
        "explains_findings": [c for c in code_finding.explains if c in found],
    }


def diagnosis_json(diagnosis: Diagnosis, diagnosis_id: str | None = None) -> dict[str, Any]:
    """The stored, content-addressed part. Per-request fields (`cached`, and `input`, which echoes how this
    client spelled its metrics and meta) are added by `response_json`, so one client never sees another's."""
    run = diagnosis.run
    ident = diagnosis_id or diagnosis.id
    document = {
        "id": ident,
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
        "links": {"self": f"/v1/diagnoses/{ident}"},
    }
    if diagnosis.extracted is not None:
        found = {f.code for f in diagnosis.findings}
        document["code_findings"] = [code_finding_json(c, found) for c in diagnosis.code_findings]
        document["extracted"] = diagnosis.extracted
    return document


def response_json(document: dict[str, Any], run: Run, cached: bool) -> dict[str, Any]:
    return {**document, "cached": cached, "input": input_json(run)}


MAX_PLOT_POINTS = 2000


def plot_indices(values: np.ndarray, max_points: int) -> np.ndarray:
    """Which points a plot keeps: every point of a short series; of a long one, the lowest and the highest
    of each of `max_points / 2` equal buckets (so a one-step spike is never averaged or sampled away), the
    first and the last point, and every non-finite value."""
    n = len(values)
    if n <= max_points:
        return np.arange(n)
    finite = np.where(np.isfinite(values), values, np.nan)
    keep = np.zeros(n, dtype=bool)
    keep[[0, n - 1]] = True
    keep |= ~np.isfinite(values)
    edges = np.linspace(0, n, max(1, max_points // 2) + 1).astype(int)
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        chunk = finite[lo:hi]
        if hi > lo and not np.isnan(chunk).all():
            keep[lo + int(np.nanargmin(chunk))] = True
            keep[lo + int(np.nanargmax(chunk))] = True
    return np.flatnonzero(keep)


def curves_json(run: Run, max_points: int = MAX_PLOT_POINTS) -> dict[str, Any]:
    """The run's curves for drawing, and its known meta (reproductions choose a scenario by it), stored beside
    its diagnosis: each series reduced to about `max_points` points by `plot_indices`, which keeps spikes and
    non-finite values visible."""
    out: dict[str, Any] = {"x_axis": run.x_axis, "meta": {k: _clean(v) for k, v in run.meta.known().items()},
                           "series": {}}
    for name, s in run.series.items():
        keep = plot_indices(s.values, max_points)
        out["series"][name] = {
            "steps": [_x(float(x)) for x in s.steps[keep]],
            "values": [_clean(float(v)) for v in s.values[keep]],
        }
    return out
