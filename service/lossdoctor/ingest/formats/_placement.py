"""Where each console value lands on the x axis, from the markers its record carried.

- `Step [100/600]` inside `Epoch [2/10]`: fractional epoch 1 + 100/600.
- steps that never go back (`iter 100`, `step 3000`, `batch: 20`): the step axis.
- only epochs: the epoch axis; several train prints in one epoch share it evenly (two prints in
  epoch 1 -> 0.5 and 1.0). Epochs counted from 0 are shifted to the 1-based axis `Run` uses.
- no markers at all (`INFO: train loss:1.1` lines): the n-th print of each metric is step n.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from dataclasses import dataclass

from lossdoctor.ingest.formats._common import clean_name
from lossdoctor.ingest.names import canonical_name
from lossdoctor.run import XAxis

Columns = dict[str, tuple[list[float], list[float]]]
_METRIC_WORDS = ("loss", "acc", "err", "lr", "learning rate", "perplexity", "ppl", "f1", "auc", "bleu",
                 "wer", "cer", "iou", "dice", "map", "mse", "mae", "rmse", "score", "grad_norm", "reward",
                 "precision", "recall")


@dataclass(frozen=True)
class Point:
    key: str
    value: float
    epoch: float | None
    step: float | None
    step_total: int | None
    order: int


def place(points: list[Point], zero_based: bool = False) -> tuple[XAxis, Columns, list[str]]:
    """Returns (x axis, {name: (xs, values)}, notes); values that cannot be placed are left out."""
    notes: list[str] = []
    stepped = [p for p in points if p.step is not None]
    steps = [p.step for p in stepped if p.step is not None]
    if stepped and all(p.step_total and p.epoch is not None for p in stepped):
        shift = 1.0 if zero_based else 0.0
        xs = [p.epoch + shift - 1 + p.step / p.step_total if p.epoch is not None and p.step is not None
              and p.step_total else None for p in points]
        return "epoch", _columns(points, xs, notes), notes
    if stepped:
        resets = [i for i in range(1, len(steps)) if steps[i] < steps[i - 1]]
        if not resets:
            return "step", _columns(points, [p.step for p in points], notes), notes
        if not any(p.epoch is not None for p in points):
            last = resets[-1]
            notes.append(f"the step counter goes back in the log ({steps[last - 1]:g} -> {steps[last]:g}): "
                         "only the values from there on were kept")
            kept = [p for p in points if p.order >= stepped[last].order]
            return "step", _columns(kept, [p.step for p in kept], notes), notes
    if any(p.epoch is not None for p in points):
        return "epoch", _columns(points, _epoch_positions(points, zero_based), notes), notes
    counts: dict[str, int] = defaultdict(int)
    nth: list[float | None] = []
    for p in points:
        counts[_name(p.key)] += 1
        nth.append(float(counts[_name(p.key)]))
    notes.append("the log prints no epoch or step numbers: the n-th print of each metric is step n")
    columns = _columns(points, nth, notes)
    # Without positions a value printed once is a remark, not a curve.
    return "step", {name: col for name, col in columns.items() if len(col[0]) >= 2}, notes


def _epoch_positions(points: list[Point], zero_based: bool) -> list[float | None]:
    shift = 1.0 if zero_based else 0.0
    per_epoch: dict[tuple[str, float], int] = defaultdict(int)
    for p in points:
        if p.epoch is not None:
            per_epoch[(_name(p.key), p.epoch)] += 1
    seen: dict[tuple[str, float], int] = defaultdict(int)
    xs: list[float | None] = []
    for p in points:
        if p.epoch is None:
            xs.append(None)
            continue
        key = (_name(p.key), p.epoch)
        seen[key] += 1
        count = per_epoch[key]
        if count > 1 and p.epoch.is_integer():
            xs.append(p.epoch + shift - 1 + seen[key] / count)
        else:
            xs.append(p.epoch + shift)
    return xs


@functools.lru_cache(maxsize=4096)
def _clean(key: str) -> str:
    return clean_name(key)


@functools.lru_cache(maxsize=4096)
def _name(key: str) -> str:
    """Logs repeat a handful of names many times: normalise each once."""
    return canonical_name(clean_name(key))


def _columns(points: list[Point], xs: list[float | None], notes: list[str]) -> Columns:
    """Group by canonical name (`Loss` and `loss` are one curve), keeping the first spelling seen."""
    columns: Columns = {}
    spelling: dict[str, str] = {}
    unplaced = 0
    for p, x in zip(points, xs, strict=True):
        if x is None:
            unplaced += 1
            continue
        name = spelling.setdefault(_name(p.key), _clean(p.key))
        column = columns.setdefault(name, ([], []))
        column[0].append(x)
        column[1].append(p.value)
    if unplaced:
        notes.append(f"{unplaced} value(s) printed before any step number were skipped")
    # A single value under a name that does not read as a metric (`turn 0`, `seeing NaN`) is prose.
    return {name: col for name, col in columns.items() if len(col[0]) > 1 or metric_like(name)}


def metric_like(name: str) -> bool:
    """Whether a name reads as a training metric without any position to back it."""
    low = name.lower()
    return any(word in low for word in _METRIC_WORDS)
