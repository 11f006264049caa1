"""Keras `fit()` console output: verbose=1 progress bars (`\\r`, `\\b`, ANSI, ETA) and verbose=2 lines.

Keras 1/2 (`loss: 0.54 - acc: 0.72 - val_loss: ...`) and Keras 3 (`accuracy:`) alike go through the
console grammar: the `Epoch N/M` banner positions each epoch (so gaps such as 1-5 then 75-77 stay
gaps), and progress-bar updates before an epoch's final `N/N` line are skipped.
"""

from __future__ import annotations

import re
from typing import Any

from lossdoctor.ingest.build import DEFAULT_MAX_POINTS
from lossdoctor.ingest.formats.console import parse_console
from lossdoctor.run import Run

_BANNER = re.compile(r"Epoch \d{1,9}/\d{1,9}")
_PAIR = re.compile(r" - (?:val_)?[A-Za-z_]\w{0,40}: (?:[-+]?\d|nan|inf)")
_SIZES = re.compile(r"Train on (\d{1,12}) samples, validate on (\d{1,12}) samples")


def detect(text: str) -> bool:
    """An `Epoch N/M` banner and Keras' ` - name: value` pairs."""
    head = text[:200_000]
    return _BANNER.search(head) is not None and _PAIR.search(head) is not None


def parse(text: str, max_points: int = DEFAULT_MAX_POINTS) -> Run:
    """Args: the captured stdout of `model.fit`. Returns the per-epoch Run (1-based epochs)."""
    meta: dict[str, Any] = {}
    sizes = _SIZES.search(text[:200_000])
    if sizes:  # Keras 1/2 print the split sizes; the validation size bounds what a val_acc wobble means
        meta = {"train_size": int(sizes.group(1)), "val_size": int(sizes.group(2))}
    return parse_console(text, framework="keras", meta=meta, max_points=max_points)
