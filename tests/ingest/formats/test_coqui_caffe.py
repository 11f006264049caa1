"""Coqui TTS trainer logs and Caffe glog output: the two console formats with their own grammar."""

from __future__ import annotations

import json

import pytest

from lossdoctor.exceptions import InvalidInput
from lossdoctor.ingest.formats import caffe, coqui, detect_format, parse, parse_log_text
from tests.ingest.formats.helpers import DATA

TRAINPROOF = DATA / "peer" / "trainproof"
SLICE = (TRAINPROOF / "tests" / "fixtures" / "coqui_trainer_slice.txt").read_text(encoding="utf-8")


def test_coqui_slice_gives_step_records_with_loss_lr_and_time() -> None:
    assert detect_format(SLICE.encode()) == "coqui"
    run = coqui.parse(SLICE)
    assert run.x_axis == "step"
    steps = run.series["train_loss"].steps.tolist()
    # 7 step blocks (GLOBAL_STEP 0-300); the slice is cut right after the last block's header
    assert steps == [0, 50, 100, 150, 200, 250]
    for name in ("lr", "step_time"):
        assert run.series[name].steps.tolist() == steps
    assert run.series["val_loss"].steps.tolist() == [0]  # the EVAL block before any training


def test_coqui_big_log_and_flattened_text() -> None:
    text = (TRAINPROOF / "examples" / "real_world" / "xtts_diverged" / "trainer_0_log.txt").read_text(
        encoding="utf-8"
    )
    run = coqui.parse(text)
    assert len(run.series["train_loss"]) == 1459 and run.series["train_loss"].steps[-1] == 72900
    flat = coqui.parse(SLICE.replace("\n", " "))
    assert (
        flat.series["train_loss"].values.tolist() == coqui.parse(SLICE).series["train_loss"].values.tolist()
    )


def test_coqui_inside_free_text() -> None:
    found = parse_log_text("My XTTS fine-tune diverges:\n" + SLICE + "\nAny idea?")
    assert found is not None
    run, [(start, end)] = found
    assert len(run.series["train_loss"]) == 6 and start > 0


GLOG = """\
I0515 11:05:31.873651 37636 solver.cpp:239] Iteration 0 (-nan iter/s, 26.7698s/20 iters), loss = 6.91161
I0515 11:05:31.873690 37636 solver.cpp:258]     Train net output #0: loss = 6.91161 (* 1 = 6.91161 loss)
I0515 11:05:31.873761 37636 sgd_solver.cpp:112] Iteration 0, lr = 0.01
I0515 11:05:51.320263 37636 solver.cpp:239] Iteration 20 (1.02848 iter/s, 19.4461s/20 iters), loss = 6.90501
I0515 11:05:51.320302 37636 solver.cpp:258]     Train net output #0: loss = 6.90776 (* 1 = 6.90776 loss)
I0515 11:05:51.320356 37636 sgd_solver.cpp:112] Iteration 20, lr = 0.01
I0515 11:06:00.000000 37636 solver.cpp:330] Iteration 20, Testing net (#0)
I0515 11:06:01.000000 37636 solver.cpp:397]     Test net output #0: accuracy = 0.001
I0515 11:06:01.000000 37636 solver.cpp:397]     Test net output #1: loss = nan (* 1 = nan loss)
"""


@pytest.mark.parametrize("flat", [False, True])
def test_caffe_glog(flat: bool) -> None:
    text = GLOG.replace("\n", " ") if flat else GLOG
    assert detect_format(text.encode()) == "caffe"
    run = parse(text.encode())
    assert run.series["train_loss"].values.tolist() == [6.91161, 6.90501]
    assert run.series["train_loss_batch"].values.tolist() == [6.91161, 6.90776]
    assert run.series["lr"].steps.tolist() == [0, 20]
    assert run.series["val_accuracy"].steps.tolist() == [20]
    assert run.series["val_loss"].values[0] != run.series["val_loss"].values[0]  # NaN kept


def test_caffe_issue_from_the_real_logs() -> None:
    raw = json.loads((DATA / "real-logs" / "024.json").read_text())["raw"]
    found = parse_log_text(raw)
    assert found is not None and found[0].series["train_loss"].steps.tolist() == [0, 20, 40, 60, 80]


@pytest.mark.parametrize("module", [coqui, caffe])
def test_no_records_is_refused(module: object) -> None:
    with pytest.raises(InvalidInput):
        module.parse("nothing to see here")  # type: ignore[attr-defined]
