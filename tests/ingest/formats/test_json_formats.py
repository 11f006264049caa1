"""JSON Lines logs, Keras history dumps and LossDoctor's own payload."""

from __future__ import annotations

import json
import math

import pytest

from lossdoctor.exceptions import InvalidInput, UnreadableInput
from lossdoctor.ingest.formats import detect_format, json_doc, jsonl, parse
from tests.ingest.formats.helpers import DATA

PEER = DATA / "peer"


def test_jsonl_with_nan_strings_keeps_them() -> None:
    run = jsonl.parse((PEER / "trainproof" / "tests" / "fixtures" / "nan.jsonl").read_text())
    values = run.series["train_loss"].values
    assert (
        run.x_axis == "step" and values[:2].tolist() == [10.0, 8.0] and all(math.isnan(v) for v in values[2:])
    )


def test_wandb_style_jsonl_with_slash_keys() -> None:
    run = parse((PEER / "runwise" / "examples" / "training_log.jsonl").read_bytes())
    assert run.series["train_loss"].steps.tolist()[:3] == [0, 100, 200]
    assert {"train_loss", "val_loss", "train_accuracy", "val_accuracy", "lr", "grad_norm"} <= set(run.series)
    # `loss` and `train/loss` are the same curve here: one is kept, the other under the name it was sent with
    assert any("train/loss" in note for note in run.notes)


def test_jsonl_skips_bad_lines_and_reads_bare_nan_tokens() -> None:
    text = (
        '{"global_step": 1, "loss": 2.0}\nnot json at all\n[1, 2]\n{"global_step": 2, "loss": NaN}\n'
        '{"global_step": 3, "loss": 1.5, "flag": true, "train": {"acc": 0.5}}\n'
        '{"global_step": 1e999, "loss": 1}\n'
        '{"global_step": 4, "lo'
    )
    run = jsonl.parse(text)
    assert run.series["train_loss"].steps.tolist() == [1, 2, 3]
    assert math.isnan(run.series["train_loss"].values[1])
    assert run.series["train_accuracy"].values.tolist() == [0.5]  # nested {"train": {"acc": ...}}
    assert "flag" not in run.series
    assert any("3 line(s)" in note for note in run.notes) and any(
        "without a finite" in note for note in run.notes
    )


def test_jsonl_without_steps_uses_epochs_or_line_numbers() -> None:
    by_epoch = jsonl.parse('{"epoch": 0, "loss": 1.0}\n{"epoch": 1, "loss": 0.5}\n')
    assert by_epoch.x_axis == "epoch" and by_epoch.series["train_loss"].steps.tolist() == [1, 2]
    by_line = jsonl.parse('{"loss": 1.0}\n{"loss": 0.5}\n')
    assert by_line.x_axis == "step" and by_line.series["train_loss"].steps.tolist() == [1, 2]


def test_jsonl_without_numbers_is_refused() -> None:
    with pytest.raises(InvalidInput):
        jsonl.parse('{"step": 1, "note": "hello"}\n{"step": 2, "note": "bye"}\n')


def test_keras_history_json() -> None:
    doc = {"loss": [0.9, 0.7, None], "val_loss": [1.0, "NaN", 0.8], "accuracy": [0.5, 0.6, 0.7]}
    raw = json.dumps(doc).encode()
    assert detect_format(raw) == "keras_history"
    run = parse(raw)
    assert run.series["train_loss"].steps.tolist() == [1, 2]  # None: not logged
    assert math.isnan(run.series["val_loss"].values[1])
    assert run.meta.framework == "keras"


def test_keras_history_with_custom_names_and_epochs() -> None:
    doc = {"history": {"train_loss_history": [0.5, 0.4], "val_acc_history": [0.8, 0.82], "epoch": [0, 1]}}
    run = json_doc.parse_history(json.dumps(doc))
    assert sorted(run.series) == ["train_loss", "val_accuracy"]
    assert run.series["train_loss"].steps.tolist() == [1, 2]


def test_lossdoctor_payload() -> None:
    doc = {
        "metrics": {"loss": {"steps": [10, 20], "values": [1.0, "Infinity"]}, "val_loss": [0.9, 0.8]},
        "meta": {"x_axis": "step", "num_classes": 3},
    }
    raw = json.dumps(doc).encode()
    assert detect_format(raw) == "lossdoctor"
    run = parse(raw)
    assert run.x_axis == "step" and run.meta.num_classes == 3
    assert run.series["train_loss"].values[1] == math.inf
    assert run.series["val_loss"].steps.tolist() == [1, 2]


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ('{"metrics": {"loss": {"steps": [1], "values": [1, 2]}}}', InvalidInput),
        ('{"metrics": {"loss": "high"}}', InvalidInput),
        ('{"metrics": {"loss": [1, true]}}', InvalidInput),
        ('{"metrics": {}, "meta": []}', InvalidInput),
        ('{"metrics": {"loss": [1, 2]', UnreadableInput),
    ],
)
def test_bad_payloads_say_what_to_fix(text: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        json_doc.parse_payload(text)
