"""Assemble a `Run` from loosely typed columns: the one place every parser ends up."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from lossdoctor.exceptions import InputTooLarge, InvalidInput
from lossdoctor.ingest.names import canonical_name
from lossdoctor.run import KNOWN_META, Meta, Run, Series, XAxis

_NON_FINITE = {
    "nan": math.nan, "+nan": math.nan, "-nan": math.nan,
    "inf": math.inf, "+inf": math.inf, "infinity": math.inf, "+infinity": math.inf,
    "-inf": -math.inf, "-infinity": -math.inf,
}

DEFAULT_MAX_POINTS = 1_000_000
MAX_COUNT = 10**12  # sizes and class counts above this are typos, and would not fit a 64-bit integer


def parse_value(value: Any, where: str) -> float | None:
    """A number, None (not logged), or a non-finite token such as "NaN" or "Infinity"."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise InvalidInput(f"{where}: expected a number, got a boolean")
    if isinstance(value, int | float):
        try:
            return float(value)
        except OverflowError:  # a JSON integer beyond the float range: it overflowed, like a loss going inf
            return math.inf if value > 0 else -math.inf
    if isinstance(value, str):
        token = value.strip().lower()
        if token in _NON_FINITE:
            return _NON_FINITE[token]
        try:
            return float(token)
        except ValueError:
            pass
    raise InvalidInput(
        f"{where}: expected a number, null, \"NaN\", \"Infinity\" or \"-Infinity\", got {value!r:.40}"
    )


def make_series(
    name: str,
    steps: Sequence[float] | None,
    values: Sequence[Any],
    *,
    max_points: int = DEFAULT_MAX_POINTS,
    validated: bool = False,
) -> Series:
    """Build one series: drop unlogged points, sort by step, keep the last value of a repeated step."""
    if len(values) > max_points:
        raise InputTooLarge(
            f"metric {name!r} has {len(values)} points; the limit is {max_points}. Down-sample it or split the run.",
            limit=max_points,
        )
    if steps is None:
        step_arr = np.arange(1, len(values) + 1, dtype=np.float64)
    else:
        if len(steps) != len(values):
            raise InvalidInput(
                f"metric {name!r}: 'steps' has {len(steps)} entries but 'values' has {len(values)}; "
                "they must pair up one to one"
            )
        step_arr = _steps_array(name, steps, validated)
    value_arr, all_numbers = _values_array(name, values, validated)
    keep = np.ones(value_arr.size, dtype=bool) if all_numbers else ~np.isnan(value_arr) | _explicit_nan_mask(values)
    step_arr, value_arr = step_arr[keep], value_arr[keep]
    order = np.argsort(step_arr, kind="stable")
    step_arr, value_arr = step_arr[order], value_arr[order]
    if step_arr.size > 1:
        last_of_step = np.append(step_arr[1:] != step_arr[:-1], True)
        step_arr, value_arr = step_arr[last_of_step], value_arr[last_of_step]
    return Series(name=canonical_name(name), steps=step_arr, values=value_arr, source_name=name)


def _steps_array(name: str, steps: Sequence[Any], validated: bool) -> np.ndarray:
    try:
        if not validated and any(isinstance(s, bool) or not isinstance(s, int | float) for s in steps):
            raise TypeError
        arr = np.asarray(steps, dtype=np.float64)
    except OverflowError:
        raise InvalidInput(f"metric {name!r}: 'steps' must be finite numbers (one is beyond the float range)") from None
    except (TypeError, ValueError):
        raise InvalidInput(f"metric {name!r}: every entry of 'steps' must be a number") from None
    if not np.all(np.isfinite(arr)):
        raise InvalidInput(f"metric {name!r}: 'steps' must be finite numbers (found NaN or infinity)")
    return arr


def _values_array(name: str, values: Sequence[Any], validated: bool) -> tuple[np.ndarray, bool]:
    """(values as float64, whether every entry was a plain number). `validated` input (pydantic has already
    refused booleans and containers) takes numpy's C conversion when it holds only numbers."""
    if validated:
        try:
            arr = np.asarray(values)
        except (OverflowError, ValueError):
            arr = np.asarray([], dtype=object)
        if arr.dtype.kind in "fi" and arr.ndim == 1 and arr.size == len(values):
            return arr.astype(np.float64, copy=False), True
    elif all(type(v) is float or type(v) is int for v in values):
        try:
            return np.asarray(values, dtype=np.float64), True
        except OverflowError:
            pass  # an integer beyond the float range: the slow path turns it into inf
    out = np.empty(len(values), dtype=np.float64)
    for i, v in enumerate(values):
        parsed = parse_value(v, f"metric {name!r}, value {i}")
        out[i] = math.nan if parsed is None else parsed
    return out, False


def _explicit_nan_mask(values: Sequence[Any]) -> np.ndarray:
    """True where a NaN was sent on purpose (a float NaN or a "NaN" token), False where null."""
    return np.fromiter((v is not None for v in values), dtype=bool, count=len(values))


def build_meta(raw: Mapping[str, Any] | None) -> Meta:
    """Type-check the known keys; keep every other key, as sent, in `extra`."""
    raw = dict(raw or {})
    known: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, value in raw.items():
        expected = KNOWN_META.get(key)
        if expected is None:
            extra[key] = value
            continue
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, expected):
            kind = "a number" if expected == (int, float) else ("an integer" if expected is int else "a string")
            raise InvalidInput(f"meta.{key} must be {kind}, got {value!r:.40}")
        known[key] = value
    if known.get("x_axis") not in (None, "epoch", "step"):
        raise InvalidInput(f"meta.x_axis must be \"epoch\" or \"step\", got {known['x_axis']!r:.40}")
    for key in ("num_classes", "train_size", "val_size", "batch_size"):
        if key in known and known[key] < 1:
            raise InvalidInput(f"meta.{key} must be a positive integer, got {known[key]}")
    if "learning_rate" in known:
        try:
            known["learning_rate"] = float(known["learning_rate"])
        except OverflowError:
            raise InvalidInput("meta.learning_rate is beyond the float range") from None
    for key in ("num_classes", "train_size", "val_size", "batch_size"):
        if key in known and known[key] > MAX_COUNT:
            raise InvalidInput(f"meta.{key} must be at most {MAX_COUNT}, got {known[key]:.3g}")
    return Meta(**known, extra=extra)


def build_run(
    columns: Iterable[tuple[str, Sequence[float] | None, Sequence[Any]]],
    meta: Mapping[str, Any] | None = None,
    *,
    x_axis: XAxis | None = None,
    max_points: int = DEFAULT_MAX_POINTS,
    notes: Sequence[str] = (),
    validated: bool = False,
) -> Run:
    """Columns are (name, steps or None for 1-based epochs, values). Names are normalised here."""
    run_meta = build_meta(meta)
    series: dict[str, Series] = {}
    messages = list(notes)
    for name, steps, values in columns:
        s = make_series(name, steps, values, max_points=max_points, validated=validated)
        if s.name in series:
            # Two spellings of one curve (e.g. `loss` and `train_loss`): the exact canonical spelling takes
            # the canonical slot, the other stays under the name it was sent with; nothing is dropped.
            other = series[s.name]
            if s.source_name == s.name:
                s, other = other, s
                series[other.name] = other
            renamed = Series(name=s.source_name, steps=s.steps, values=s.values, source_name=s.source_name)
            if renamed.name in series:
                raise InvalidInput(f"metric {s.source_name!r} is sent twice; send each metric once")
            messages.append(f"{s.source_name!r} also means {other.name!r}; kept under its own name")
            s = renamed
        series[s.name] = s
    axis: XAxis = x_axis or run_meta.x_axis or "epoch"
    return Run(series=series, meta=run_meta, x_axis=axis, notes=tuple(messages))
