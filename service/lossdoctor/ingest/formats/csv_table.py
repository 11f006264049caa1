"""CSV metric tables: Lightning `metrics.csv`, Keras `CSVLogger`, W&B history and chart exports, generic.

Read with the stdlib `csv` module after sniffing the separator (`,` `;` tab `|`); `;`/tab files may use
decimal commas. Columns are roles, found by name: an x column (step-like or `epoch`), ignored columns
(timestamps, W&B `__MIN`/`__MAX` bands) and metric columns (every other numeric column).
"""

from __future__ import annotations

import csv
import io
import re

from lossdoctor.exceptions import InvalidInput
from lossdoctor.ingest.build import DEFAULT_MAX_POINTS, build_run
from lossdoctor.ingest.formats._common import check_size, clean_name, to_float
from lossdoctor.ingest.formats._csv_axes import Rows, epoch_axis, lightning_axis, split_runs
from lossdoctor.run import Run, XAxis

_DELIMITERS = (",", ";", "\t", "|")
_STEP_COLUMNS = ("step", "global_step", "_step", "trainer/global_step", "iteration", "iter", "steps", "it")
_TIME_COLUMNS = ("relative time (process)", "relative time (wall)")
_IGNORED = frozenset({"_runtime", "_timestamp", "timestamp", "time", "wall_time", "walltime", "date",
                      "created", "datetime", *_TIME_COLUMNS})
_WANDB_RUNS_TABLE = frozenset({"name", "state", "created"})
_DECIMAL_COMMA = re.compile(r"-?\d+,\d+(?:[eE][-+]?\d+)?")
_SNIFF_LINES = 30
_BANDS = ("__MIN", "__MAX")


def sniff(text: str) -> tuple[str, bool] | None:
    """(separator, decimal comma) when the text reads as a table with a numeric column, else None."""
    lines = [line for line in text[:200_000].splitlines()[: _SNIFF_LINES + 1] if line.strip()][:_SNIFF_LINES]
    best: tuple[int, str, bool] | None = None
    for delimiter in _DELIMITERS:
        try:
            rows = list(csv.reader(lines, delimiter=delimiter))
        except csv.Error:  # e.g. a field past csv's size limit: not a metric table
            continue
        if len(rows) < 2 or len(rows[0]) < 2:
            continue
        width = len(rows[0])
        body = rows[1:-1] if len(rows) > 2 else rows[1:]  # the last line may be cut mid-row
        body = [r for r in body if r != rows[0]]  # a header repeated where a second run was appended
        if sum(len(r) == width for r in body) < 0.9 * len(body):
            continue
        comma = delimiter != "," and any(_DECIMAL_COMMA.fullmatch(c.strip()) for r in body for c in r)
        numeric = [all(not c.strip() or to_float(c, comma) is not None for c in col)
                   for col in zip(*(r for r in body if len(r) == width), strict=True)]
        if any(numeric) and (best is None or width > best[0]):
            best = (width, delimiter, comma)
    return (best[1], best[2]) if best else None


def detect(text: str) -> bool:
    return sniff(text) is not None


def parse(text: str, max_points: int = DEFAULT_MAX_POINTS) -> Run:
    """Args: the CSV text. Returns the Run; InvalidInput when no column holds numeric metrics."""
    check_size(text)
    dialect = sniff(text)
    if dialect is None:
        raise InvalidInput("not a CSV metric table: expected a header row and rows of numbers separated by "
                           "`,`, `;` or tabs")
    delimiter, comma = dialect
    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        rows = [r for r in reader if any(c.strip() for c in r)]
    except csv.Error as exc:
        raise InvalidInput(f"the CSV cannot be read: {exc}") from None
    header = [h.strip() for h in rows[0]]
    if all(to_float(h) is not None for h in header if h):
        raise InvalidInput("the CSV has no header row: add one naming each column "
                           "(e.g. `epoch,loss,val_loss`)")
    lower = [h.lower() for h in header]
    if _WANDB_RUNS_TABLE <= set(lower):
        raise InvalidInput("this is a W&B runs table (one row per run, summary values only); export a run's "
                           "history (its metrics over steps) instead")
    notes: list[str] = []
    metrics = _metric_columns(header, notes)
    table = Rows(header=lower, cells=[r + [""] * (len(header) - len(r)) for r in rows[1:]], comma=comma)
    table, restart_note = split_runs(table, _x_index(lower))
    notes += restart_note
    xs, axis, framework = _x_values(table, metrics, notes)
    columns = []
    for index, name in metrics:
        steps, values = [], []
        text_cells = 0
        for x, row in zip(xs, table.cells, strict=True):
            cell = row[index].strip() if index < len(row) else ""
            if x is None or not cell:
                continue
            value = to_float(cell, comma)
            if value is None:
                text_cells += 1
                continue
            steps.append(x)
            values.append(value)
        if text_cells:
            notes.append(f"column {name!r} holds text, not numbers; skipped")
        elif values:
            columns.append((name, steps, values))
    if not columns:
        raise InvalidInput("the CSV has no numeric metric column (such as `loss` or `val_loss`); "
                           f"its columns are {', '.join(header)[:200]}")
    return build_run(columns, {"framework": framework} if framework else None, x_axis=axis,
                     max_points=max_points, notes=notes)


def _x_index(lower: list[str]) -> int | None:
    for name in (*_STEP_COLUMNS, "epoch", *_TIME_COLUMNS):
        if name in lower:
            return lower.index(name)
    return None


def _metric_columns(header: list[str], notes: list[str]) -> list[tuple[int, str]]:
    """(index, name) of the metric columns; of a W&B chart export, its first run's `<run> - <metric>`."""
    out: list[tuple[int, str]] = []
    runs: list[str] = []
    for index, raw in enumerate(header):
        low = raw.lower()
        if not raw or low in _IGNORED or low in _STEP_COLUMNS or low == "epoch" or raw.endswith(_BANDS):
            continue
        if " - " in raw:
            run, _, metric = raw.partition(" - ")
            if run not in runs:
                runs.append(run)
            if run != runs[0]:
                continue
            raw = metric
        out.append((index, clean_name(raw)))
    if len(runs) > 1:
        notes.append(f"the export holds {len(runs)} runs; read {runs[0]!r}, not {', '.join(runs[1:])[:200]}")
    return out


def _x_values(
    table: Rows, metrics: list[tuple[int, str]], notes: list[str]
) -> tuple[list[float | None], XAxis, str | None]:
    """(x of each row, axis, framework guessed from the layout)."""
    lower = table.header
    step = next((lower.index(n) for n in _STEP_COLUMNS if n in lower), None)
    epoch = lower.index("epoch") if "epoch" in lower else None
    if step is not None and epoch is not None:
        lightning = lightning_axis(table, epoch, step, notes)
        if lightning is not None and any(not name.endswith("_step") for _, name in metrics):
            return lightning, "epoch", "lightning"
    if step is not None:
        return table.numbers(step, notes), "step", None
    if epoch is not None:
        keras = lower[0] == "epoch" and "loss" in lower and lower[1:] == sorted(lower[1:])
        return epoch_axis(table.numbers(epoch, notes), keras, notes), "epoch", "keras" if keras else None
    time = next((lower.index(n) for n in _TIME_COLUMNS if n in lower), None)
    if time is not None:
        notes.append("the export has no step column: x is the run's relative time in seconds")
        return table.numbers(time, notes), "step", None
    return [float(i) for i in range(1, len(table.cells) + 1)], "epoch", None
