"""Hugging Face `trainer_state.json`: the Trainer's `log_history`, on the global-step axis.

Train entries carry `loss`, `learning_rate`, `grad_norm`; eval entries carry `eval_*`. The closing
run-summary entry (`train_loss` = the run's *average*, `train_runtime`, ...) is not a point of any curve
and is dropped. Throughput and runtime fields are bookkeeping. A file cut short (as pasted or truncated)
keeps every complete `log_history` entry before the cut.
"""

from __future__ import annotations

import json
import re
from typing import Any

from lossdoctor.exceptions import InvalidInput
from lossdoctor.ingest.build import DEFAULT_MAX_POINTS, build_run
from lossdoctor.ingest.formats import _json
from lossdoctor.ingest.formats._common import check_size, clean_name
from lossdoctor.run import Run

_LOG_HISTORY = re.compile(r'"log_history"\s{0,100}:\s{0,100}\[')
_SUMMARY_KEYS = frozenset({"train_runtime", "train_samples_per_second", "train_steps_per_second",
                           "total_flos"})
_SKIPPED_SUFFIXES = ("_runtime", "_samples_per_second", "_steps_per_second")
_NOT_METRICS = frozenset({"step", "epoch", "total_flos"})


def detect(text: str) -> bool:
    return _LOG_HISTORY.search(text[:1_000_000]) is not None


def parse(text: str, max_points: int = DEFAULT_MAX_POINTS) -> Run:
    """Args: the trainer_state.json text. Returns the Run (x axis: global step)."""
    check_size(text)
    notes: list[str] = []
    meta: dict[str, Any] = {"framework": "transformers"}
    try:
        doc = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        doc = None
    if isinstance(doc, dict) and isinstance(doc.get("log_history"), list):
        entries = doc["log_history"]
        batch = doc.get("train_batch_size")
        if isinstance(batch, int) and not isinstance(batch, bool) and batch >= 1:
            meta["batch_size"] = batch
    else:
        entries = _recover(text)
        notes.append(f"the file is cut short or malformed: read its {len(entries)} complete log_history "
                     "entries")
    columns: dict[str, tuple[list[float], list[float]]] = {}
    skipped = 0
    for entry in entries:
        step = _json.finite(entry.get("step")) if isinstance(entry, dict) else None
        if step is None or not isinstance(entry, dict):
            skipped += 1
            continue
        if entry.keys() & _SUMMARY_KEYS and "loss" not in entry:
            notes.append("the final run-summary entry (average train loss over the run) was left out")
            continue
        for key, value in entry.items():
            cell = _json.number(value)
            if cell is None or key in _NOT_METRICS or key.endswith(_SKIPPED_SUFFIXES):
                continue
            steps, values = columns.setdefault(clean_name(key), ([], []))
            steps.append(step)
            values.append(cell)
    if skipped:
        notes.append(f"{skipped} log_history entries without a step were skipped")
    if not columns:
        raise InvalidInput("the trainer_state.json has no logged metrics in log_history "
                           "(set logging_steps, or send the checkpoint saved after the first log)")
    return build_run(((n, s, v) for n, (s, v) in columns.items()), meta, x_axis="step", max_points=max_points,
                     notes=notes)


def _recover(text: str) -> list[Any]:
    """The complete entries of a log_history list that was cut (or broken) part-way."""
    found = _LOG_HISTORY.search(text)
    if found is None:
        raise InvalidInput('not a trainer_state.json: no "log_history" list found')
    return [value for value, _ in _json.objects(text, found.end())]
