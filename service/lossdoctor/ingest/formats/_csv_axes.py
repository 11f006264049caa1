"""The x axis of a CSV table: restarts, 0-based epochs and Lightning's sparse epoch/step rows."""

from __future__ import annotations

import math
from dataclasses import dataclass

from lossdoctor.ingest.formats._common import to_float


@dataclass(frozen=True)
class Rows:
    header: list[str]  # lower-cased, stripped
    cells: list[list[str]]
    comma: bool

    def numbers(self, index: int, notes: list[str] | None = None) -> list[float | None]:
        """A column as finite floats; None where empty, text or non-finite (a row without a position)."""
        out: list[float | None] = []
        for row in self.cells:
            value = to_float(row[index], self.comma) if index < len(row) else None
            out.append(value if value is not None and math.isfinite(value) else None)
        bad = sum(1 for v, row in zip(out, self.cells, strict=True) if v is None and row[index].strip())
        if bad and notes is not None:
            notes.append(f"{bad} row(s) with a non-numeric or infinite {self.header[index]!r} were skipped")
        return out


def split_runs(table: Rows, x_index: int | None) -> tuple[Rows, list[str]]:
    """Two runs appended in one file (the x column restarts, or the header repeats): keep the last."""
    starts = [0]
    previous: float | None = None
    for i, row in enumerate(table.cells):
        if [c.strip().lower() for c in row[: len(table.header)]] == table.header:
            starts.append(i + 1)
            previous = None
            continue
        value = to_float(row[x_index], table.comma) if x_index is not None and x_index < len(row) else None
        if value is None or not math.isfinite(value):
            continue
        if previous is not None and value < previous:
            starts.append(i)
        previous = value
    if len(starts) == 1:
        return table, []
    kept = [row for row in table.cells[starts[-1]:] if [c.strip().lower() for c in row] != table.header]
    note = (f"the file holds {len(starts)} runs appended one after another (the "
            f"{table.header[x_index] if x_index is not None else 'header'} restarts); read the last one "
            f"({len(kept)} rows)")
    return Rows(table.header, kept, table.comma), [note]


def epoch_axis(epochs: list[float | None], keras: bool, notes: list[str]) -> list[float | None]:
    """Whole epochs counted from 0 (and Keras CSVLogger's, always 0-based) move to the 1-based axis."""
    present = [e for e in epochs if e is not None]
    if present and all(e.is_integer() for e in present) and (keras or min(present) == 0):
        notes.append("epochs in the file count from 0; shown 1-based")
        return [None if e is None else e + 1 for e in epochs]
    return epochs


def lightning_axis(
    table: Rows, epoch_index: int, step_index: int, notes: list[str]
) -> list[float | None] | None:
    """Lightning rows carry a whole (0-based) epoch and a global step: place each row at a fractional epoch.

    An epoch-end row (validation, `*_epoch`) lands on epoch + 1; a `*_step` row inside it lands where its
    step falls between the last steps of the previous epoch and this one. None when epochs are fractional
    (an HF-style table, which belongs on the step axis).
    """
    epochs, steps = table.numbers(epoch_index, notes), table.numbers(step_index)
    present = [e for e in epochs if e is not None]
    if not present or not all(e.is_integer() for e in present):
        return None
    last: dict[float, float] = {}
    for e, s in zip(epochs, steps, strict=True):
        if e is not None and s is not None:
            last[e] = max(s, last.get(e, s))
    first = min(present)
    out: list[float | None] = []
    for e, s in zip(epochs, steps, strict=True):
        if e is None:
            out.append(None)
            continue
        prev = last.get(e - 1, -1.0 if e == first == 0 else None)
        end = last.get(e)
        if s is None or prev is None or end is None or end <= prev:
            out.append(e + 1)
        else:
            out.append(e + min(1.0, max(0.0, (s - prev) / (end - prev))))
    return out
