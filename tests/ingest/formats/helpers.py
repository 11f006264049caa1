"""Shared by the format tests: where the data lives and how a Run is compared with its golden."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import pytest

from lossdoctor.run import Run

DATA = Path(__file__).resolve().parents[2] / "data" / "formats"
GOLDEN = DATA / "golden"
REGEN = os.environ.get("LOSSDOCTOR_REGEN_GOLDEN") == "1"


def _value(v: float) -> float | str:
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    return v


def run_to_json(run: Run | None) -> dict[str, Any]:
    """Everything a parser decides: axis, names, steps, values (non-finite as strings), meta and notes."""
    if run is None:
        return {"found": False, "series": {}}
    return {
        "x_axis": run.x_axis,
        "meta": run.meta.known(),
        "notes": list(run.notes),
        "series": {
            name: {
                "source_name": s.source_name,
                "steps": s.steps.tolist(),
                "values": [_value(v) for v in s.values],
            }
            for name, s in run.series.items()
        },
    }


def _dump(doc: dict[str, Any]) -> str:
    """One series per line: small diffs when a parser changes, and files that stay readable."""
    head = {k: v for k, v in doc.items() if k != "series"}
    lines = [f" {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}," for k, v in head.items()]
    series = [
        f"  {json.dumps(k, ensure_ascii=False)}: {json.dumps(v, ensure_ascii=False)}"
        for k, v in doc["series"].items()
    ]
    body = "\n" + ",\n".join(series) + "\n " if series else ""
    return "{\n" + "\n".join(lines) + '\n "series": {' + body + "}\n}\n"


def check_golden(run: Run | None, name: str) -> None:
    """Compare with tests/data/formats/golden/<name>.json; LOSSDOCTOR_REGEN_GOLDEN=1 rewrites it instead."""
    path = GOLDEN / f"{name}.json"
    got = run_to_json(run)
    if REGEN:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_dump(got), encoding="utf-8")
        pytest.skip(f"golden {path.name} regenerated")
    assert path.exists(), f"no golden {path}; run with LOSSDOCTOR_REGEN_GOLDEN=1 to write it, then review it"
    assert got == json.loads(path.read_text(encoding="utf-8"))
