"""TensorBoard event files (`events.out.tfevents.*`), read with tensorboard's own EventAccumulator.

`size_guidance={"scalars": 0, "tensors": 0}` keeps every point (the default reservoir-samples down to
10,000 per tag). Scalars written as `simple_value` and as one-element tensors (TF2 / `new_style`)
both count. The file is first cut at the last complete record, so a truncated upload reads what
survives and a corrupt length header reads as empty. tensorboard is imported lazily: the service
starts without it.
"""

from __future__ import annotations

import importlib
import struct
import tempfile
from pathlib import Path
from typing import Any

from lossdoctor.exceptions import InvalidInput, UnsupportedFormat
from lossdoctor.ingest.build import DEFAULT_MAX_POINTS, build_run
from lossdoctor.ingest.formats._common import check_size, clean_name
from lossdoctor.run import Run

_HEADER = struct.Struct("<Q")
_FRAMING = 8 + 4 + 4  # length, length CRC, payload CRC
# Positions logged as scalars, and Lightning's `hp_metric` placeholder (-1 unless set): not curves.
_NOT_METRICS = frozenset({"epoch", "step", "global_step", "hp_metric"})


def detect(data: bytes, filename: str | None = None) -> bool:
    return b"brain.Event:" in data[:64] or (filename is not None and "tfevents" in filename)


def complete_prefix(data: bytes) -> bytes:
    """The bytes up to the last whole TFRecord (framing only; the events inside are tensorboard's to read)."""
    pos = 0
    while pos + _FRAMING <= len(data):
        (length,) = _HEADER.unpack_from(data, pos)
        if pos + _FRAMING + length > len(data):
            break
        pos += _FRAMING + length
    return data[:pos]


def parse(data: bytes, max_points: int = DEFAULT_MAX_POINTS) -> Run:
    """Args: the bytes of one event file. Returns the Run on the step axis, one series per scalar tag."""
    check_size(data)
    try:
        accumulator = importlib.import_module("tensorboard.backend.event_processing.event_accumulator")
        tensor_util = importlib.import_module("tensorboard.util.tensor_util")
        decode_error = importlib.import_module("google.protobuf.message").DecodeError
    except ImportError:
        raise UnsupportedFormat("reading TensorBoard event files needs tensorboard: install the "
                                "`tensorboard` extra (pip install 'lossdoctor[tensorboard]')") from None
    usable = complete_prefix(data)
    notes = [f"the event file is cut short: read its first {len(usable):,} of {len(data):,} bytes"] \
        if len(usable) < len(data) else []
    with tempfile.TemporaryDirectory(prefix="lossdoctor-tb-") as folder:
        path = Path(folder) / "events.out.tfevents.upload"
        path.write_bytes(usable)
        acc = accumulator.EventAccumulator(str(path), size_guidance={"scalars": 0, "tensors": 0})
        try:
            acc.Reload()
        except (decode_error, ValueError, OSError, struct.error) as exc:
            raise InvalidInput(f"the TensorBoard event file cannot be read ({type(exc).__name__}); "
                               "send the file as written by the SummaryWriter") from None
        columns = _scalars(acc) + _tensors(acc, tensor_util)
    if not columns:
        raise InvalidInput("the TensorBoard event file holds no scalar summaries (add_scalar) to diagnose")
    return build_run(columns, x_axis="step", max_points=max_points, notes=notes)


def _scalars(acc: Any) -> list[tuple[str, list[float], list[float]]]:
    out = []
    for tag in acc.Tags().get("scalars", []):
        if tag.lower() in _NOT_METRICS:
            continue
        events = acc.Scalars(tag)
        out.append((clean_name(tag), [float(e.step) for e in events], [float(e.value) for e in events]))
    return out


def _tensors(acc: Any, tensor_util: Any) -> list[tuple[str, list[float], list[float]]]:
    """One-element numeric tensors from the scalars plugin (or with no plugin at all)."""
    out = []
    for tag in acc.Tags().get("tensors", []):
        metadata = acc.summary_metadata.get(tag)  # absent for tensors written without any metadata
        plugin = metadata.plugin_data.plugin_name if metadata is not None else ""
        if plugin not in ("", "scalars") or tag.lower() in _NOT_METRICS:
            continue
        steps: list[float] = []
        values: list[float] = []
        for event in acc.Tensors(tag):
            try:
                array = tensor_util.make_ndarray(event.tensor_proto)
                value = float(array.reshape(-1)[0]) if array.size == 1 else None
            except (TypeError, ValueError):
                value = None
            if value is not None:
                steps.append(float(event.step))
                values.append(value)
        if steps:
            out.append((clean_name(tag), steps, values))
    return out
