"""Free-form console logs: PyTorch prints, nanoGPT, tqdm, Python logging, `step N key=value`, Keras.

The grammar is general rather than per-framework: a log is a run of *records* (lines, or, when line
breaks were lost, stretches cut where a marker or a metric name repeats); a record holds `name: value`
pairs and maybe an `Epoch N`/`Step N` marker that positions it. Stretches of text where pairs are
sparse (prose, code) are *segments* apart and are kept only if they look like a log. Where each value
lands on the x axis is decided in `_placement`.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, NamedTuple

from lossdoctor.exceptions import InvalidInput
from lossdoctor.ingest.build import DEFAULT_MAX_POINTS, build_run
from lossdoctor.ingest.formats import _placement
from lossdoctor.ingest.formats._common import MAX_TEXT_CHARS, check_size
from lossdoctor.ingest.formats._tokens import Event, clean, events
from lossdoctor.run import Run, XAxis

# More tokens than this between two events and they belong to different stretches of text.
GAP_TOKENS = 20
# An HF Trainer summary line holds the run's *average* train loss; it must not join the curve.
_SUMMARY_KEYS = frozenset({"train_runtime", "train_samples_per_second"})
# HF's `eval_runtime`, `eval_samples_per_second`: timings of the loop, not measurements of the model.
_BOOKKEEPING = ("_runtime", "_per_second")


class Record:
    """One line (or one stretch of a flattened line) of a log: its events and what they say."""

    __slots__ = ("events", "keys", "marker_kinds", "has_counter", "interim", "complete")

    def __init__(self) -> None:  # a plain class: a progress-bar soup makes hundreds of thousands of these
        self.events: list[Event] = []
        self.keys: set[str] = set()
        self.marker_kinds: set[str] = set()
        self.has_counter = self.interim = self.complete = False

    def add(self, ev: Event) -> None:
        self.events.append(ev)
        if ev.kind == "metric":
            self.keys.add(ev.key)
        elif ev.kind == "marker":
            self.marker_kinds.add(ev.key)
        elif ev.kind == "counter":
            self.has_counter = True
            self.complete = self.complete or ev.value == ev.total
            self.interim = self.interim or (ev.total is not None and ev.value < ev.total)
        elif ev.kind == "eta":
            self.interim = True

    def starts_new(self, ev: Event) -> bool:
        return ((ev.kind == "marker" and ev.key in self.marker_kinds)
                or (ev.kind == "counter" and self.has_counter)
                or (ev.kind == "metric" and ev.key in self.keys))


class Found(NamedTuple):
    """What the grammar read from a text, before it becomes a Run."""

    axis: XAxis
    columns: _placement.Columns
    notes: list[str]
    spans: list[tuple[int, int]]


def parse_log_text(text: str) -> tuple[Run, list[tuple[int, int]]] | None:
    """Find console-log metrics inside free text (a post mixing prose, code and a log).

    Args:
        text: the text as pasted; line breaks may be missing.

    Returns:
        The Run and the (start, end) character spans of the log records it was read from, merged where
        only whitespace or punctuation separates them; None when the text holds no metric series of two
        or more points.
    """
    found = read(text)
    if found is None or not any(len(xs) >= 2 for xs, _ in found.columns.values()):
        return None
    return _run(found, {}, DEFAULT_MAX_POINTS), found.spans


def parse_console(data: str, framework: str | None = None, meta: dict[str, Any] | None = None,
                  max_points: int = DEFAULT_MAX_POINTS) -> Run:
    """A whole console log; InvalidInput when it holds no metric series."""
    found = read(data)
    if found is None:
        raise InvalidInput("no training metrics found in the log: expected lines such as "
                           "`Epoch 3 ... loss: 0.52 - val_loss: 0.61` or `step 100 loss=2.3`")
    full_meta = dict(meta or {})
    if framework:
        full_meta.setdefault("framework", framework)
    return _run(found, full_meta, max_points)


def _run(found: Found, meta: dict[str, Any], max_points: int) -> Run:
    return build_run(((name, xs, vs) for name, (xs, vs) in found.columns.items()), meta, x_axis=found.axis,
                     max_points=max_points, notes=found.notes)


def read(text: str) -> Found | None:
    """Read every kept record of `text` and place its values; None when no log is found."""
    check_size(text, MAX_TEXT_CHARS)
    cleaned = clean(text)
    kept = [seg for seg in (_keep(seg) for seg in _segments(events(cleaned))) if seg]
    records = [rec for seg in kept for rec in seg]
    drop_interim = any(rec.complete for rec in records)
    notes = ["progress-bar updates inside an epoch were skipped; the epoch's final line was used"] \
        if drop_interim and any(rec.interim for rec in records) else []
    points: list[_placement.Point] = []
    spans: list[tuple[int, int]] = []
    for seg in kept:
        for rec, position in _positions(seg):
            spans.append((rec.events[0].start, rec.events[-1].end))
            if drop_interim and rec.interim:
                continue
            for ev in rec.events:
                if ev.kind == "metric":
                    points.append(_placement.Point(ev.key, ev.value, *position, order=len(points)))
    if not points:
        return None
    zero_based = any(ev.kind == "marker" and ev.key == "epoch" and ev.value == 0
                     for rec in records for ev in rec.events)
    axis, columns, placement_notes = _placement.place(points, zero_based)
    if not columns:
        return None
    return Found(axis, columns, notes + placement_notes, _merge(spans, cleaned))


def _segments(found: list[Event]) -> list[list[Record]]:
    """Cut the events into segments (dense stretches), then each segment into records."""
    raw: list[list[Event]] = []
    last_tok = -GAP_TOKENS - 1
    for ev in found:
        if ev.kind == "nl":
            if raw:
                raw[-1].append(ev)
            continue
        if ev.kind == "break":
            last_tok = -GAP_TOKENS - 1
            continue
        if ev.tok - last_tok > GAP_TOKENS or not raw:
            raw.append([])
        raw[-1].append(ev)
        last_tok = ev.tok_end
    return [_records(seg) for seg in raw]


def _records(segment: list[Event]) -> list[Record]:
    """Lines are records; text that lost its line breaks is cut where a marker or a name comes again.

    Without line breaks a marker also opens a new record once the current one holds values, since
    loggers print the position first (`Epoch 3/10 ... loss: ...`, `iter 100: loss ...`).
    """
    flat = not any(ev.kind == "nl" for ev in segment)
    records: list[Record] = []
    record = Record()
    for ev in segment:
        if ev.kind == "nl" or (record.events and (record.starts_new(ev) or (
                flat and ev.kind == "marker" and bool(record.keys)))):
            if record.events:
                records.append(record)
            record = Record()
        if ev.kind != "nl":
            record.add(ev)
    if record.events:
        records.append(record)
    return records


def _keep(segment: list[Record]) -> list[Record]:
    """A segment is a log if it positions its values, or repeats metric-like names without markers."""
    counts = Counter(key for rec in segment for key in rec.keys)
    # `[turn 0 by someone]` above a pasted log: a one-off, unpositioned, non-metric name is no record.
    segment = [rec for rec in segment if not rec.keys & _SUMMARY_KEYS and (
        rec.marker_kinds or any(counts[k] > 1 or _placement.metric_like(k) for k in rec.keys))]
    if not any(rec.marker_kinds for rec in segment):
        for rec in segment:
            rec.events = [ev for ev in rec.events if ev.kind != "metric" or _placement.metric_like(ev.key)]
            rec.keys = {k for k in rec.keys if _placement.metric_like(k)}
    for rec in segment:
        rec.events = [ev for ev in rec.events if ev.kind != "metric" or not ev.key.endswith(_BOOKKEEPING)]
    segment = [rec for rec in segment if rec.events]  # a record of bookkeeping alone is no record
    seen: set[str] = set()
    for rec in segment:
        if rec.keys & seen:
            return segment  # a name printed again: a series, not a one-off number in prose
        seen |= rec.keys
    return []


def _positions(segment: list[Record]) -> list[tuple[Record, tuple[float | None, float | None, int | None]]]:
    """(epoch, step, step total) of each record: its own marker, else the last one before it.

    Records before the segment's first epoch marker belong to the epoch before it (a log pasted from
    the middle prints an epoch's metrics and then the next epoch's banner).
    """
    epoch: float | None = None
    step: float | None = None
    step_total: int | None = None
    first_epoch: float | None = None
    out: list[tuple[Record, tuple[float | None, float | None, int | None]]] = []
    for rec in segment:
        for ev in rec.events:
            if ev.kind == "marker" and ev.key == "epoch":
                epoch = ev.value
                first_epoch = ev.value if first_epoch is None else first_epoch
                if "step" not in rec.marker_kinds:
                    step, step_total = None, None
            elif ev.kind == "marker":
                step, step_total = ev.value, ev.total
        out.append((rec, (epoch, step, step_total)))
    if first_epoch is not None and first_epoch >= 1:
        out = [(rec, (first_epoch - 1, *pos[1:]) if pos[0] is None else pos) for rec, pos in out]
    return out


def _merge(spans: list[tuple[int, int]], text: str) -> list[tuple[int, int]]:
    """Join spans that only whitespace or punctuation (line breaks, `[`, `>` quote marks) separates."""
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and (start <= merged[-1][1] or not any(c.isalnum() for c in text[merged[-1][1]:start])):
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged
