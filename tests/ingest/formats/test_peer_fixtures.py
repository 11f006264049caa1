"""Every committed fixture of the peer tools (tests/data/formats/peer, see INDEX.md) reads as they expect."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from lossdoctor.exceptions import LossDoctorError
from lossdoctor.ingest.formats import parse
from lossdoctor.run import Run
from tests.ingest.formats.helpers import DATA

PEER = DATA / "peer"
TP, RM, TS = PEER / "trainproof", PEER / "runmedic" / "examples" / "logs", PEER / "trainspotter" / "examples"


def read(path: Path) -> Run:
    return parse(path.read_bytes(), filename=path.name)


def counts(run: Run) -> dict[str, int]:
    return {name: len(s) for name, s in run.series.items()}


@pytest.mark.parametrize(
    ("name", "points", "first", "last"),
    [
        ("healthy", 7, 10.0, 5.5),
        ("diverging", 6, 10.0, 25.0),
        ("flat", 5, 10.0, 10.0001),
        ("dead_noisy", 60, None, None),
        ("zero_grad", 12, None, None),
        ("zero_loss", 12, 0.0, 0.0),
    ],
)
def test_trainproof_jsonl(name: str, points: int, first: float | None, last: float | None) -> None:
    loss = read(TP / "tests" / "fixtures" / f"{name}.jsonl").series["train_loss"]
    assert len(loss) == points
    if first is not None:
        assert (loss.values[0], loss.values[-1]) == (first, last)


def test_trainproof_jsonl_details() -> None:
    nan = read(TP / "tests" / "fixtures" / "nan.jsonl").series["train_loss"]
    assert len(nan) == 4 and np.isnan(nan.values[2:]).all()
    dead = read(TP / "tests" / "fixtures" / "dead_noisy.jsonl").series["train_loss"]
    assert (dead.steps[0], dead.steps[-1]) == (
        5,
        300,
    ) and 1.95 <= dead.values.min() <= dead.values.max() <= 2.05
    assert (read(TP / "tests" / "fixtures" / "zero_grad.jsonl").series["grad_norm"].values == 0).all()


def test_trainproof_trainer_states() -> None:
    healthy = read(TP / "tests" / "fixtures" / "trainer_state_healthy.json")
    assert counts(healthy)["train_loss"] == 10 and healthy.series["val_loss"].steps.tolist() == [50]
    assert healthy.series["train_loss"].steps.tolist() == list(range(10, 110, 10))
    diverging = read(TP / "tests" / "fixtures" / "trainer_state_diverging.json").series["train_loss"]
    assert diverging.steps[diverging.values.argmin()] == 70 and diverging.values.min() == 2.0
    assert diverging.values[-1] == 8.5


GALLERY = sorted((TP / "examples" / "gallery").rglob("trainer_state.json"))


@pytest.mark.parametrize("path", GALLERY, ids=lambda p: str(p.relative_to(TP / "examples" / "gallery")))
def test_trainproof_gallery(path: Path) -> None:
    run = read(path)
    kind = path.relative_to(TP / "examples" / "gallery").parts[0]
    assert len(run.series["train_loss"]) == 60  # the final summary entry is not a point
    assert any("summary" in note for note in run.notes)
    if kind == "overfit":
        val = run.series["val_loss"]
        assert len(val) == 20 and val.steps[val.values.argmin()] == 30 and val.values[-1] > 3
    if kind == "fp16_nan":
        assert np.isinf(run.series["grad_norm"].values).any()
    if kind == "lr_zero":
        assert (run.series["lr"].values == 0).all()


def test_trainproof_real_world_and_evidence() -> None:
    xtts = read(TP / "examples" / "real_world" / "xtts_diverged" / "trainer_0_log.txt").series["train_loss"]
    assert len(xtts) == 1459 and xtts.steps[-1] == 72900 and xtts.steps[xtts.values.argmin()] == 48350
    assert xtts.values[-1] / xtts.values.min() == pytest.approx(1.62, abs=0.01)
    longer = read(TP / "evidence" / "xtts_coqui_feb2026" / "trainer_0_log.txt").series["train_loss"]
    assert len(longer) == 2501 and longer.steps[-1] == 125000
    chat = read(TP / "evidence" / "web_chat_tinyllama_apr2025" / "trainer_state.json")
    loss = chat.series["train_loss"]
    assert len(loss) == 36 and (loss.steps[0], loss.steps[-1]) == (10, 360)
    assert loss.values[0] == pytest.approx(2.859, abs=1e-3) and (loss.values[1:] == 0).all()
    assert np.isnan(chat.series["grad_norm"].values).all()


def test_trainproof_fish_lightning_folder() -> None:
    folder = TP / "evidence" / "fish_lightning_feb2026"
    run = read(next(folder.glob("events.out.tfevents.*")))
    val = run.series["val_loss"]
    assert len(val) == 82 and len(run.series["train_loss"]) == 41
    assert val.values[0] == pytest.approx(10.41, abs=0.01) and val.values[-1] == pytest.approx(
        16.19, abs=0.01
    )
    assert val.steps[val.values.argmin()] == 99 and val.values.min() == pytest.approx(9.23, abs=0.01)
    assert "lr" in run.series and "lr-AdamW/pg2" in run.series  # lr is param group 1
    for companion in ("train.log", "hparams.yaml"):  # a crash log and the hparams: refused, not crashed on
        with pytest.raises(LossDoctorError):
            read(folder / companion)


@pytest.mark.parametrize("kind", ["healthy", "nan", "overfit", "slow-data"])
def test_runmedic_event_file_and_text_log_agree(kind: str) -> None:
    events, text = read(RM / kind / "events.out.tfevents.demo"), read(RM / kind / "train.log")
    assert counts(events) == counts(text)
    for name, series in events.series.items():
        assert series.steps.tolist() == text.series[name].steps.tolist()
        np.testing.assert_allclose(series.values, text.series[name].values, rtol=1e-5)


def test_runmedic_expectations() -> None:
    assert counts(read(RM / "healthy" / "train.log")) == {"train_loss": 756, "lr": 756, "val_loss": 12}
    nan = read(RM / "nan" / "train.log")
    grad, loss = nan.series["grad_norm"], nan.series["train_loss"]
    assert len(loss) == 400 and grad.values[323] == math.inf and loss.values[324] == math.inf
    assert np.isnan(loss.values[325:]).all() and np.isfinite(loss.values[:324]).all()
    val = read(RM / "overfit" / "train.log").series["val_loss"]
    assert len(val) == 150 and val.steps[val.values.argmin()] == 15
    assert set(read(RM / "slow-data" / "train.log").series) == {
        "train_loss",
        "perf/data_time",
        "perf/step_time",
    }


@pytest.mark.parametrize(
    ("name", "train", "evals"),
    [
        ("baseline", 400, 81),
        ("divergence", 323, 33),
        ("missing_warmup", 250, 51),
        ("overfitting", 800, 161),
        ("throughput_drop", 300, 31),
    ],
)
def test_trainspotter_csv_and_trainer_state_twins(name: str, train: int, evals: int) -> None:
    table, state = read(TS / f"{name}.csv"), read(TS / f"{name}.trainer_state.json")
    for run in (table, state):
        assert counts(run)["train_loss"] == train and counts(run)["val_loss"] == evals
    for series_name, series in table.series.items():
        np.testing.assert_array_equal(series.steps, state.series[series_name].steps)


def test_trainspotter_tinygpt2() -> None:
    run = read(TS / "transformers_tinygpt2.trainer_state.json")
    assert len(run.series["train_loss"]) > 100 and 2.80 not in np.round(run.series["train_loss"].values, 2)


def test_runwise_jsonl() -> None:
    run = read(PEER / "runwise" / "examples" / "training_log.jsonl")
    assert run.series["train_loss"].steps.tolist() == list(range(0, 1001, 100))
    assert counts(run)["val_loss"] == 11 and "val_accuracy" in run.series
