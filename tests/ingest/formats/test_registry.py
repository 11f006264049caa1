"""The registry: FORMATS, content sniffing (the filename is only a hint) and errors that list the formats."""

from __future__ import annotations

import json

import pytest

from lossdoctor.exceptions import InvalidInput, UnsupportedFormat
from lossdoctor.ingest.formats import FORMATS, detect_format, parse
from tests.ingest.formats.helpers import DATA

PEER = DATA / "peer"
SAMPLES = {
    "tensorboard": PEER / "runmedic" / "examples" / "logs" / "healthy" / "events.out.tfevents.demo",
    "hf_trainer_state": DATA / "transformers" / "bert_tiny.trainer_state.json",
    "jsonl": PEER / "trainproof" / "tests" / "fixtures" / "healthy.jsonl",
    "csv": PEER / "trainspotter" / "examples" / "baseline.csv",
    "coqui": PEER / "trainproof" / "tests" / "fixtures" / "coqui_trainer_slice.txt",
    "keras": DATA / "keras" / "keras3_verbose2.txt",
    "console": PEER / "runmedic" / "examples" / "logs" / "nan" / "train.log",
}


def test_formats_are_named() -> None:
    assert set(FORMATS) == {
        "tensorboard",
        "hf_trainer_state",
        "mlflow",
        "lossdoctor",
        "keras_history",
        "jsonl",
        "csv",
        "coqui",
        "caffe",
        "keras",
        "console",
    }


@pytest.mark.parametrize("fmt", sorted(SAMPLES))
def test_content_decides_not_the_name(fmt: str) -> None:
    data = SAMPLES[fmt].read_bytes()
    assert detect_format(data) == fmt
    assert detect_format(data, filename="misleading.csv" if fmt != "csv" else "x.json") == fmt
    assert parse(data, format=fmt).series


def test_filename_hint_for_a_single_jsonl_line() -> None:
    assert detect_format(b'{"step": 1, "loss": 0.5}\n', filename="log.jsonl") == "jsonl"


def test_unknown_format_name_lists_the_formats() -> None:
    with pytest.raises(UnsupportedFormat) as caught:
        parse(b"step,loss\n1,2\n", format="xlsx")
    assert all(name in caught.value.message for name in FORMATS)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"hello world, nothing here",
        bytes(range(256)) * 4,
        b"\xff\xfe\x00\xd8",
        json.dumps({"a": 1}).encode(),
    ],
)
def test_unrecognised_input(data: bytes) -> None:
    with pytest.raises(UnsupportedFormat) as caught:
        detect_format(data)
    assert "supported formats" in caught.value.message and caught.value.details["formats"] == list(FORMATS)


def test_a_forced_format_that_does_not_fit_is_invalid_input() -> None:
    with pytest.raises(InvalidInput):
        parse(b"just words", format="csv")
