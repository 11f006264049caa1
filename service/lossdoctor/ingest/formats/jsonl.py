"""JSON Lines metric logs: one object per line (`{"step": 1, "loss": ...}`, W&B `_step` + `train/loss`).

The x key is the first of the step-like keys present (else `epoch`, else the line number); keys that
start with `_` (W&B's `_runtime`, `_timestamp`) are bookkeeping. Lines that are not JSON objects are
skipped with a note, so a log cut mid-line or holding a stray print still reads.
"""

from __future__ import annotations

from typing import Any

from lossdoctor.exceptions import InvalidInput
from lossdoctor.ingest.build import DEFAULT_MAX_POINTS, build_run
from lossdoctor.ingest.formats import _json
from lossdoctor.ingest.formats._common import check_size, clean_name
from lossdoctor.run import Run, XAxis

STEP_KEYS = ("step", "global_step", "_step", "trainer/global_step", "iteration", "iter", "it")
_NOT_METRICS = frozenset({*STEP_KEYS, "epoch", "timestamp", "time", "wall_time", "walltime"})


def detect(text: str) -> bool:
    lines = [line.strip() for line in text[:100_000].splitlines() if line.strip()][:5]
    objects = sum(isinstance(next(_json.objects(line), (None,))[0], dict) for line in lines)
    return len(lines) >= 2 and objects >= max(1, len(lines) - 1)


def parse(text: str, max_points: int = DEFAULT_MAX_POINTS) -> Run:
    """Args: the JSONL text. Returns the Run; InvalidInput when no line holds a numeric metric."""
    check_size(text)
    rows: list[dict[str, Any]] = []
    bad = 0
    for line in text.splitlines():
        if not line.strip():
            continue
        parsed = next(_json.objects(line), None)
        if parsed is not None and isinstance(parsed[0], dict) and not line[parsed[1]:].strip():
            rows.append(dict(_json.flatten(parsed[0])))
        else:
            bad += 1
    notes = [f"{bad} line(s) that are not JSON objects were skipped"] if bad else []
    axis, xs = _positions(rows, notes)
    rows, xs = _last_run(rows, xs, notes)
    columns: dict[str, tuple[list[float], list[float]]] = {}
    for row, x in zip(rows, xs, strict=True):
        if x is None:
            continue
        for key, value in row.items():
            cell = _json.number(value)
            if cell is None or key in _NOT_METRICS or key.startswith("_"):
                continue
            steps, values = columns.setdefault(clean_name(key), ([], []))
            steps.append(x)
            values.append(cell)
    if not columns:
        raise InvalidInput("no numeric metrics found in the JSON Lines: expected lines such as "
                           '{"step": 1, "loss": 0.52}')
    return build_run(((n, s, v) for n, (s, v) in columns.items()), x_axis=axis, max_points=max_points,
                     notes=notes)


def _positions(rows: list[dict[str, Any]], notes: list[str]) -> tuple[XAxis, list[float | None]]:
    key = next((k for k in STEP_KEYS if any(k in row for row in rows)), None)
    if key is None and any("epoch" in row for row in rows):
        epochs = [_json.finite(row.get("epoch")) for row in rows]
        whole = [e for e in epochs if e is not None]
        if whole and all(e.is_integer() for e in whole) and min(whole) == 0:
            notes.append("epochs in the file count from 0; shown 1-based")
            epochs = [None if e is None else e + 1 for e in epochs]
        return "epoch", epochs
    if key is None:
        notes.append("the lines carry no step: the n-th line is step n")
        return "step", [float(i) for i in range(1, len(rows) + 1)]
    xs = [_json.finite(row.get(key)) for row in rows]
    missing = sum(x is None for x in xs)
    if missing:
        notes.append(f"{missing} line(s) without a finite {key!r} were skipped")
    return "step", xs


def _last_run(rows: list[dict[str, Any]], xs: list[float | None],
              notes: list[str]) -> tuple[list[dict[str, Any]], list[float | None]]:
    """A step counter that goes back means a second run was appended: keep the last one."""
    start, previous = 0, None
    for i, x in enumerate(xs):
        if x is None:
            continue
        if previous is not None and x < previous:
            start = i
        previous = x
    if start:
        notes.append(f"the step counter restarts at line {start + 1}: read the last run only")
    return rows[start:], xs[start:]
