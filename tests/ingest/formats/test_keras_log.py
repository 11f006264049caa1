"""Keras console logs: real Keras 3 output (verbose=1 bars and verbose=2 lines) and Keras 1/2 logs."""

from __future__ import annotations

import json

import pytest

from lossdoctor.ingest.formats import detect_format, keras_log, parse, parse_log_text
from tests.ingest.formats.helpers import DATA

KERAS = DATA / "keras"


def test_verbose1_progress_bars_read_like_verbose2_lines() -> None:
    bars = (KERAS / "keras3_verbose1.txt").read_bytes()
    lines = (KERAS / "keras3_verbose2.txt").read_bytes()
    assert b"\r" in bars and b"\x08" in bars and b"\x1b[" in bars
    assert detect_format(bars) == detect_format(lines) == "keras"
    with_bars, with_lines = parse(bars), parse(lines)
    assert (
        sorted(with_bars.series)
        == sorted(with_lines.series)
        == ["top3", "train_accuracy", "train_loss", "val_accuracy", "val_loss", "val_top3"]
    )
    for name, series in with_lines.series.items():
        assert with_bars.series[name].steps.tolist() == series.steps.tolist() == [1, 2, 3, 4]
        assert with_bars.series[name].values.tolist() == series.values.tolist()
    assert with_lines.meta.framework == "keras"
    assert any("progress-bar" in note for note in with_bars.notes)


def test_founding_example_003_keeps_the_gap_in_epochs() -> None:
    text = (DATA / "examples" / "003_6bec4ba2eca73556.txt").read_text(encoding="utf-8")
    run = keras_log.parse(text)
    for name in ("train_loss", "val_loss", "train_accuracy", "val_accuracy"):
        assert run.series[name].steps.tolist() == [1, 2, 3, 4, 5, 75, 76, 77]
    val = run.series["val_loss"]
    assert val.values.min() == pytest.approx(0.3736) and val.steps[val.values.argmin()] == 3
    assert (run.meta.train_size, run.meta.val_size) == (22500, 2500)
    flattened = keras_log.parse(text.replace("\n", " "))
    assert {n: s.values.tolist() for n, s in flattened.series.items()} == {
        n: s.values.tolist() for n, s in run.series.items()
    }


def _raw(case: str) -> str:
    raw: str = json.loads((DATA / "real-logs" / f"{case}.json").read_text(encoding="utf-8"))["raw"]
    return raw


def test_stray_epoch_fragments_glued_to_a_value_are_not_banners() -> None:
    run = parse(_raw("018").encode())  # `ETA: 2s - loss: 0.2445Epoch 1/1000` inside epoch 308
    assert run.series["train_loss"].steps.tolist() == [308, 309, 310]
    assert run.series["val_loss"].values[1:].tolist() == pytest.approx([float("nan")] * 2, nan_ok=True)


def test_an_unfinished_epoch_bar_is_not_a_point() -> None:
    run = parse(_raw("023").encode())  # epoch 3 stops at 8834/31367 with an ETA
    assert run.series["train_loss"].steps.tolist() == [1, 2]


def test_keras_log_inside_a_post_has_spans_on_the_log() -> None:
    text = _raw("025")
    found = parse_log_text(text)
    assert found is not None
    ((start, end),) = found[1]
    assert text[start:end].startswith("Epoch 1/40") and text[start:end].endswith("val_acc: 0.8750")
