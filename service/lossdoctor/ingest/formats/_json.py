"""JSON helpers: lenient documents (bare NaN/Infinity, as Python's json accepts) and scalar cells."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any

from lossdoctor.exceptions import UnreadableInput
from lossdoctor.ingest.formats._common import to_float

_DECODER = json.JSONDecoder()
MAX_DEPTH = 3


def load(text: str, what: str) -> Any:
    """One JSON document; UnreadableInput naming the line and column where it breaks."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        raise UnreadableInput(f"{what} is not valid JSON: {exc.msg} at {where}") from None
    except RecursionError:
        raise UnreadableInput(f"{what} nests too deeply to be a metrics file") from None


def objects(text: str, start: int = 0) -> Iterator[tuple[Any, int]]:
    """JSON values written one after another (`{...}{...}` or `{...}\\n{...}`), with their end offsets.

    Stops quietly at the first value that does not parse (a file cut short keeps what precedes the cut).
    """
    pos, end = start, len(text)
    while True:
        while pos < end and text[pos] in " \t\r\n,":
            pos += 1
        if pos >= end:
            return
        try:
            value, pos = _DECODER.raw_decode(text, pos)
        except (json.JSONDecodeError, RecursionError):
            return
        yield value, pos


def number(value: Any) -> float | None:
    """A JSON cell as a float: numbers, numeric strings and "NaN"/"Infinity"; None for the rest."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        return to_float(value)
    return None


def finite(value: Any) -> float | None:
    """A usable x position: a finite number, else None."""
    x = number(value)
    return x if x is not None and math.isfinite(x) else None


def flatten(row: dict[str, Any], prefix: str = "", depth: int = 0) -> Iterator[tuple[str, Any]]:
    """`{"train": {"loss": 1}}` -> `train/loss`; W&B and some loggers nest their keys."""
    for key, value in row.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and depth < MAX_DEPTH:
            yield from flatten(value, name + "/", depth + 1)
        else:
            yield name, value
