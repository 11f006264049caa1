"""Input formats -> `Run`: one small module per format, plus the sniffer that picks one.

Public API (wired into the HTTP endpoints and the CLI):
- `FORMATS`: the names of the supported formats.
- `detect_format(data, filename=None)`: content sniffing; the filename is only a hint.
- `parse(data, format=None, filename=None, max_points=...)`: sniff (unless told) and parse.
- `parse_log_text(text)`: the console-log metrics inside free text (a forum post), with their spans.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from lossdoctor.exceptions import InvalidInput, LossDoctorError, UnreadableInput, UnsupportedFormat
from lossdoctor.ingest.build import DEFAULT_MAX_POINTS
from lossdoctor.ingest.formats import (
    _json,
    caffe,
    console,
    coqui,
    csv_table,
    hf_trainer_state,
    json_doc,
    jsonl,
    keras_log,
    mlflow,
    tensorboard,
)
from lossdoctor.ingest.formats._common import check_size, decode_text
from lossdoctor.run import Run

__all__ = ["FORMATS", "detect_format", "parse", "parse_log_text"]

_TEXT_PARSERS: dict[str, Callable[[str, int], Run]] = {
    "hf_trainer_state": hf_trainer_state.parse,
    "mlflow": mlflow.parse,
    "lossdoctor": json_doc.parse_payload,
    "keras_history": json_doc.parse_history,
    "jsonl": jsonl.parse,
    "csv": csv_table.parse,
    "coqui": coqui.parse,
    "caffe": caffe.parse,
    "keras": keras_log.parse,
    "console": lambda text, max_points: console.parse_console(text, max_points=max_points),
}
FORMATS: tuple[str, ...] = ("tensorboard", *_TEXT_PARSERS)


def detect_format(data: bytes, filename: str | None = None) -> str:
    """Name the format of `data` by its content; `filename` only breaks ties (`.csv`, `.jsonl`).

    Raises:
        UnsupportedFormat: nothing matches; the message lists FORMATS.
    """
    check_size(data)
    if tensorboard.detect(data, filename):
        return "tensorboard"
    try:
        text = decode_text(data)
    except UnreadableInput as exc:
        why = f"the input is neither a TensorBoard event file nor UTF-8 text ({exc.message})"
        raise _unsupported(why) from None
    name = (filename or "").lower()
    if text.lstrip().startswith(("{", "[")):
        found = _detect_json(text, name)
        if found:
            return found
    if name.endswith((".csv", ".tsv")) and csv_table.detect(text):
        return "csv"
    for fmt, detect in (("coqui", coqui.detect), ("caffe", caffe.detect), ("keras", keras_log.detect),
                        ("csv", csv_table.detect)):
        if detect(text):
            return fmt
    if console.parse_log_text(text) is not None:
        return "console"
    raise _unsupported("no known training-log format was recognised")


def parse(data: bytes, format: str | None = None, filename: str | None = None,
          max_points: int = DEFAULT_MAX_POINTS) -> Run:
    """Parse `data` as `format` (sniffed when None).

    Raises:
        UnsupportedFormat: unknown format name, or nothing recognised; InvalidInput / UnreadableInput
        when the input is of that format but broken.
    """
    check_size(data)
    fmt = format if format is not None else detect_format(data, filename)
    if fmt == "tensorboard":
        return tensorboard.parse(data, max_points)
    parser = _TEXT_PARSERS.get(fmt)
    if parser is None:
        raise _unsupported(f"unknown format {fmt!r:.60}")
    return parser(decode_text(data), max_points)


def parse_log_text(text: str) -> tuple[Run, list[tuple[int, int]]] | None:
    """The console-log metrics inside free text, with the (start, end) spans they were read from.

    A whole structured file pasted as text (a CSVLogger or Lightning `metrics.csv`, a `trainer_state.json`,
    a Keras history, JSON Lines), alone or in a markdown fence, is read with its own parser. Coqui and Caffe
    logs have their own grammars; everything else goes through the console grammar, which copes with prose,
    code and lost line breaks. Returns None when no metric series is found.
    """
    structured = _structured_text(text)
    if structured is not None:
        return structured
    for module in (coqui, caffe):
        if module.detect(text):
            where = module.extent(text)
            try:
                run = module.parse(text)
            except InvalidInput:
                continue
            if where is not None:
                return run, [where]
    return console.parse_log_text(text)


_STRUCTURED_FORMATS = ("hf_trainer_state", "mlflow", "lossdoctor", "keras_history", "jsonl", "csv")
_FENCED = re.compile(r"```[^\n`]*\n(.*?)```", re.DOTALL)


def _structured_text(text: str) -> tuple[Run, list[tuple[int, int]]] | None:
    """The largest run read from the whole text, or from a fenced block, that is a structured file."""
    candidates = [(0, len(text))] + [m.span(1) for m in _FENCED.finditer(text)]
    best: tuple[Run, list[tuple[int, int]]] | None = None
    for start, end in candidates:
        chunk = text[start:end]
        body = chunk.strip()
        if not body:
            continue
        fmt = _detect_json(body, "") if body.startswith(("{", "[")) else "csv" if csv_table.detect(body) else None
        if fmt not in _STRUCTURED_FORMATS:
            continue
        try:
            run = _TEXT_PARSERS[fmt](body, DEFAULT_MAX_POINTS)
        except LossDoctorError:
            continue
        points = sum(len(s) for s in run.series.values())
        if points and (best is None or points > sum(len(s) for s in best[0].series.values())):
            lead = len(chunk) - len(chunk.lstrip())
            best = (run, [(start + lead, start + lead + len(body))])
    return best


def _detect_json(text: str, name: str) -> str | None:
    if hf_trainer_state.detect(text):
        return "hf_trainer_state"
    first = next(_json.objects(text), None)
    doc = first[0] if first else None
    if mlflow.is_history(doc) or (isinstance(doc, list) and doc and mlflow.is_history(doc[0])):
        return "mlflow"
    if json_doc.is_payload(doc):
        return "lossdoctor"
    if first is not None and not text[first[1]:].strip() and json_doc.history_of(doc) is not None:
        return "keras_history"
    if jsonl.detect(text) or name.endswith(".jsonl"):
        return "jsonl"
    return None


def _unsupported(why: str) -> LossDoctorError:
    return UnsupportedFormat(f"{why}; supported formats: {', '.join(FORMATS)}", formats=list(FORMATS))
