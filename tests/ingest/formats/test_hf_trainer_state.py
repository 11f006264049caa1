"""Hugging Face trainer_state.json, including a real Trainer run and files cut short."""

from __future__ import annotations

import json
import math

import pytest

from lossdoctor.exceptions import InvalidInput
from lossdoctor.ingest.formats import detect_format, hf_trainer_state, parse
from tests.ingest.formats.helpers import DATA

PEER = DATA / "peer"
TINYGPT2 = (PEER / "trainspotter" / "examples" / "transformers_tinygpt2.trainer_state.json").read_text()


def test_real_trainer_run() -> None:
    raw = (DATA / "transformers" / "bert_tiny.trainer_state.json").read_bytes()
    assert detect_format(raw) == "hf_trainer_state"
    run = parse(raw)
    assert run.x_axis == "step" and run.meta.framework == "transformers" and run.meta.batch_size == 16
    assert run.series["train_loss"].steps.tolist() == list(range(5, 65, 5))
    assert run.series["val_loss"].steps.tolist() == [20, 40, 60]
    assert run.series["val_accuracy"].steps.tolist() == [20, 40, 60]
    assert {"lr", "grad_norm"} <= set(run.series)
    assert not {"eval_runtime", "eval_samples_per_second", "epoch", "total_flos"} & set(run.series)


def test_summary_average_stays_out_of_the_loss_curve() -> None:
    run = hf_trainer_state.parse(TINYGPT2)
    summary = json.loads(TINYGPT2)["log_history"][-1]["train_loss"]
    assert len(run.series["train_loss"]) > 100
    assert summary not in run.series["train_loss"].values.tolist()
    assert any("summary" in note for note in run.notes)


def test_eval_metrics_are_kept() -> None:
    raw = json.loads((DATA / "real-logs" / "001.json").read_text())["raw"]
    run = hf_trainer_state.parse(raw)
    assert run.series["eval_wer"].steps.tolist() == [1000, 2000, 3000]


def test_bare_infinity_and_nan_tokens() -> None:
    run = hf_trainer_state.parse(
        (PEER / "trainproof" / "examples" / "gallery" / "fp16_nan" / "trainer_state.json").read_text()
    )
    grad = run.series["grad_norm"]
    assert grad.values[grad.steps.tolist().index(20)] == math.inf


@pytest.mark.parametrize("cut", [20_000, 12_345, 5_000])
def test_a_file_cut_short_keeps_its_complete_entries(cut: int) -> None:
    all_steps = [e["step"] for e in json.loads(TINYGPT2)["log_history"] if "loss" in e]
    run = hf_trainer_state.parse(TINYGPT2[:cut])
    steps = run.series["train_loss"].steps.tolist()
    assert 0 < len(steps) < len(all_steps) and steps == all_steps[: len(steps)]
    assert any("cut short" in note for note in run.notes)


@pytest.mark.parametrize(
    "text", ['{"log_history": []}', '{"log_history": [{"epoch": 1}]}', '{"global_step": 3}']
)
def test_no_logged_metrics_is_refused(text: str) -> None:
    with pytest.raises(InvalidInput):
        hf_trainer_state.parse(text)
