"""Whole-document JSON metrics: Keras `history.history` dumps and LossDoctor's own payload.

Keras history: `{"loss": [...], "val_loss": [...]}` (or under a `"history"` key), one value per epoch,
1-based; an `"epoch"` list, when present, gives the epochs. Payload: `{"metrics": {name: {"steps",
"values"} or [values]}, "meta": {...}}`, passed to build_run as sent.
"""

from __future__ import annotations

from typing import Any

from lossdoctor.exceptions import InvalidInput
from lossdoctor.ingest.build import DEFAULT_MAX_POINTS, build_run
from lossdoctor.ingest.formats import _json
from lossdoctor.ingest.formats._common import check_size, clean_name
from lossdoctor.ingest.payload import run_from_payload
from lossdoctor.run import Run


def history_of(doc: Any) -> dict[str, list[Any]] | None:
    """The metric lists of a Keras history dump, or None when `doc` is not one."""
    if isinstance(doc, dict) and isinstance(doc.get("history"), dict):
        doc = doc["history"]
    if not isinstance(doc, dict):
        return None
    lists = {k: v for k, v in doc.items() if isinstance(k, str) and isinstance(v, list)
             and v and all(_json.number(x) is not None or x is None for x in v)}
    return lists if lists and len(lists) >= len(doc) / 2 else None


def is_payload(doc: Any) -> bool:
    return isinstance(doc, dict) and isinstance(doc.get("metrics"), dict)


def parse_history(text: str, max_points: int = DEFAULT_MAX_POINTS) -> Run:
    """Args: the JSON text of `history.history`. Returns a Run on 1-based epochs."""
    check_size(text)
    history = history_of(_json.load(text, "the Keras history"))
    if history is None:
        raise InvalidInput('not a Keras history: expected {"loss": [...], "val_loss": [...]} with one number '
                           "per epoch")
    epochs: list[float] | None = None
    if "epoch" in history:
        raw = [_json.finite(e) for e in history.pop("epoch")]
        whole = [e for e in raw if e is not None and e.is_integer()]
        if whole and len(whole) == len(raw):
            shift = 1.0 if min(whole) == 0 else 0.0  # Keras counts epochs from 0
            epochs = [e + shift for e in whole]
    columns = []
    for key, values in history.items():
        steps = epochs if epochs is not None and len(epochs) == len(values) else None
        columns.append((clean_name(key), steps, [_json.number(v) for v in values]))
    if not columns:
        raise InvalidInput("the Keras history holds no metric lists")
    return build_run(columns, {"framework": "keras"}, x_axis="epoch", max_points=max_points)


def parse_payload(text: str, max_points: int = DEFAULT_MAX_POINTS) -> Run:
    """Args: `{"metrics": {...}, "meta": {...}}`. Validated exactly as POST /v1/diagnoses validates it."""
    check_size(text)
    doc = _json.load(text, "the payload")
    if not is_payload(doc):
        raise InvalidInput('expected {"metrics": {"train_loss": {"steps": [...], "values": [...]}}, '
                           '"meta": {...}}')
    return run_from_payload(doc, max_points=max_points)
