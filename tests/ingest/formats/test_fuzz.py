"""Fuzzing: whatever arrives, a parser answers with a Run or a LossDoctorError (a 4xx), never a crash."""

from __future__ import annotations

import json
import struct
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lossdoctor.exceptions import LossDoctorError
from lossdoctor.ingest.formats import (
    caffe,
    console,
    coqui,
    csv_table,
    detect_format,
    hf_trainer_state,
    json_doc,
    jsonl,
    keras_log,
    mlflow,
    parse,
    parse_log_text,
    tensorboard,
)

# Pieces of every grammar, so random texts reach deep into the parsers rather than failing at once.
# fmt: off
VOCAB = ["Epoch", "epoch", "Step", "iter", "step", "GLOBAL_STEP:", "| > ", "Iteration", "loss", "val_loss",
         "acc", "lr-AdamW/pg1", "train/loss", ":", "=", " - ", " ", "  ", "\n", "\r", "\b", "\t", ",", ";",
         "|", "[", "]", "(", ")", "{", "}", '"', "'", "```", "%", "-", "+", ".", "/", "0", "1", "7", "0.5",
         "1e-3", "1e999", "-inf", "nan", "NaN", "Infinity", "1/10", "10/10", "ETA", "s", "ms/step", "\x1b[1m",
         "\x1b[0m", "━", "█", "log_history", '"log_history": [', '"metrics"', '"key"', '"value"', '"step"',
         "train_runtime", "loss = ", "net output #0:", "Train", "Test", "avg_loss", "> EVALUATION",
         "epoch,step,loss", "_step", "Name,State,Created", "\ufeff"]
# fmt: on
soups = st.lists(st.one_of(st.sampled_from(VOCAB), st.text(max_size=4)), max_size=80).map("".join)
# Whole log lines of every grammar with random numbers, joined by line breaks, spaces or `\r`, with noise.
TEMPLATES = [
    "Epoch {a}/{b}",
    "{a}/{b} [=====] - 1s - loss: {x} - acc: {y} - val_loss: {y}",
    "Epoch {a}: loss {x}",
    "step {a} train/loss={x} train/lr={y}",
    "iter {a}: loss {x}, time 10ms",
    "step {a}: val loss {y}",
    "Epoch [{a}/{b}], Step [{a}/{b}], Loss: {x}",
    "epoch {a} | train loss {x} | val loss {y} | acc {y}%",
    "   --> TIME: t -- STEP: {a}/{b} -- GLOBAL_STEP: {a}",
    "     | > loss: {x}  ({y})",
    "> EVALUATION",
    "     | > avg_loss: {y} (+0)",
    "Iteration {a} (1 iter/s), loss = {x}",
    "Test net output #0: loss = {y}",
    "{a},{x},{y}",
    "epoch,loss,val_loss",
    "step;loss;val_loss",
    "{a};{x};{y}",
    "[{a}, {b}] loss: {x}",
    "{{'loss': {x}, 'epoch': {y}}}",
    '{{"step": {a}, "loss": {x}}}',
    "INFO: train loss:{x}",
    "```",
]
numbers = st.one_of(
    st.integers(0, 10**6).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["nan", "inf", "-inf", "1e999", "0.5", "-0", "1,5", ""]),
)
lines = st.builds(
    lambda t, a, b, x, y: t.format(a=a, b=b, x=x, y=y),
    st.sampled_from(TEMPLATES),
    numbers,
    numbers,
    numbers,
    numbers,
)
logs = st.builds(
    lambda parts, sep: sep.join(parts),
    st.lists(st.one_of(lines, lines, lines, soups), max_size=30),
    st.sampled_from(["\n", " ", "\r", "\r\n", "\n\n"]),
)
COLUMNS = [
    "epoch",
    "step",
    "_step",
    "loss",
    "val_loss",
    "lr-AdamW",
    "train_loss_step",
    "Name",
    "State",
    "Created",
    "run - loss",
    "run - loss__MIN",
    "Relative Time (Process)",
    " x ",
]
tables = st.integers(1, 6).flatmap(
    lambda width: st.builds(
        lambda sep, header, rows: "\n".join([sep.join(header), *(sep.join(r) for r in rows)]),
        st.sampled_from([",", ";", "\t"]),
        st.lists(st.sampled_from(COLUMNS), min_size=width, max_size=width),
        st.lists(st.lists(numbers, min_size=width, max_size=width), max_size=12),
    )
)
texts = st.one_of(logs, soups, tables)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=True),
    st.sampled_from(["NaN", "Infinity", "x", "1.5", ""]),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5),
        st.dictionaries(
            st.sampled_from(
                [
                    "loss",
                    "step",
                    "epoch",
                    "val_loss",
                    "metrics",
                    "log_history",
                    "key",
                    "value",
                    "_step",
                    "history",
                    "steps",
                    "values",
                    "meta",
                    "x_axis",
                ]
            ),
            inner,
            max_size=5,
        ),
    ),
    max_leaves=20,
)
json_texts = st.one_of(
    json_values.map(lambda v: json.dumps(v, allow_nan=True)),
    texts,
    st.lists(json_values.map(json.dumps), max_size=5).map("\n".join),
)


def frame(payload: bytes) -> bytes:
    return struct.pack("<Q", len(payload)) + b"\0" * 4 + payload + b"\0" * 4


event_files = st.one_of(
    st.binary(max_size=300),
    st.lists(st.binary(max_size=60).map(frame), max_size=5)
    .map(b"".join)
    .map(lambda b: frame(b"\x1a\x0dbrain.Event:2") + b),
)


def survives(call: Callable[[Any], object], data: Any) -> None:
    try:
        call(data)
    except LossDoctorError:
        pass


TEXT_PARSERS: dict[str, Callable[[str], object]] = {
    "parse_log_text": parse_log_text,
    "console": console.parse_console,
    "keras": keras_log.parse,
    "caffe": caffe.parse,
    "coqui": coqui.parse,
    "csv": csv_table.parse,
}
JSON_PARSERS: dict[str, Callable[[str], object]] = {
    "jsonl": jsonl.parse,
    "keras_history": json_doc.parse_history,
    "payload": json_doc.parse_payload,
    "hf_trainer_state": hf_trainer_state.parse,
    "mlflow": mlflow.parse,
}


@pytest.mark.parametrize("name", sorted(TEXT_PARSERS))
@settings(max_examples=200, deadline=None)
@given(text=texts)
def test_text_parsers(name: str, text: str) -> None:
    survives(TEXT_PARSERS[name], text)


@pytest.mark.parametrize("name", sorted(JSON_PARSERS))
@settings(max_examples=200, deadline=None)
@given(text=json_texts)
def test_json_parsers(name: str, text: str) -> None:
    survives(JSON_PARSERS[name], text)


@settings(max_examples=200, deadline=None)
@given(data=event_files)
def test_tensorboard_parser(data: bytes) -> None:
    survives(tensorboard.parse, data)


@settings(max_examples=200, deadline=None)
@given(data=st.one_of(st.binary(max_size=300), texts.map(str.encode), json_texts.map(str.encode)))
def test_sniffing_and_parsing_any_bytes(data: bytes) -> None:
    survives(detect_format, data)
    survives(parse, data)


@settings(max_examples=200, deadline=None)
@given(text=texts)
def test_free_text_gives_a_run_or_none_and_spans_index_the_text(text: str) -> None:
    found = parse_log_text(text)  # no error at all: a pasted post either holds a log or it does not
    if found is not None:
        assert all(0 <= a < b <= len(text) for a, b in found[1])
        assert all(b1 <= a2 for (_, b1), (a2, _) in zip(found[1], found[1][1:], strict=False))


def test_a_record_of_bookkeeping_alone_is_dropped_not_a_crash() -> None:
    """Found by the fuzzer: a Keras line whose only `metric` after filtering was bookkeeping emptied a record."""
    line = "0/0 [=====] - 1s - loss: 0 - acc: 0 - val_loss: 0"
    text = f'{line}\nB"0\n{line}\nB"0'
    survives(TEXT_PARSERS["console"], text)
