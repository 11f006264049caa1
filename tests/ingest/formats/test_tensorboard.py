"""TensorBoard event files written by torch's SummaryWriter (simple values and tensors), cut or corrupt."""

from __future__ import annotations

import importlib
import math
import struct
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lossdoctor.exceptions import InvalidInput, UnsupportedFormat
from lossdoctor.ingest.formats import detect_format, parse, tensorboard
from tests.ingest.formats.helpers import DATA

pytest.importorskip("tensorboard")
SummaryWriter = pytest.importorskip("torch.utils.tensorboard").SummaryWriter


def written(folder: Path, fill: object) -> bytes:
    writer = SummaryWriter(str(folder))
    fill(writer)  # type: ignore[operator]
    writer.close()
    (path,) = folder.glob("events.out.tfevents.*")
    return path.read_bytes()


def lightning_like(writer: Any) -> None:
    for step in range(20):
        writer.add_scalar("train/loss", 2.0 / (step + 1), step)
        writer.add_scalar("lr-AdamW/pg1", 1e-3, step)
        writer.add_scalar("lr-AdamW/pg2", 1e-4, step)
        writer.add_scalar("epoch", step // 10, step)
    for step in (9, 19):
        writer.add_scalar("val/loss", 1.0 if step == 9 else float("nan"), step)


def test_scalars_by_tag(tmp_path: Path) -> None:
    data = written(tmp_path, lightning_like)
    assert detect_format(data) == "tensorboard"
    run = parse(data)
    assert run.x_axis == "step"
    assert sorted(run.series) == ["lr", "lr-AdamW/pg2", "train_loss", "val_loss"]  # `epoch` is no metric
    assert run.series["train_loss"].steps.tolist() == list(range(20))
    assert run.series["val_loss"].values[0] == 1.0 and math.isnan(run.series["val_loss"].values[1])


def test_every_point_is_kept_past_the_default_reservoir(tmp_path: Path) -> None:
    data = written(tmp_path, lambda w: [w.add_scalar("loss", float(s), s) for s in range(12_000)])
    assert len(parse(data).series["train_loss"]) == 12_000


def test_tensor_encoded_scalars(tmp_path: Path) -> None:
    summary_pb2, tensor_pb2, tensor_shape_pb2, types_pb2 = (
        importlib.import_module(f"tensorboard.compat.proto.{name}")
        for name in ("summary_pb2", "tensor_pb2", "tensor_shape_pb2", "types_pb2")
    )

    def fill(writer: Any) -> None:
        for step in range(3):
            writer.add_scalar("val/loss", 0.5 - 0.1 * step, step, new_style=True)  # DT_FLOAT, scalars plugin
            double = tensor_pb2.TensorProto(
                dtype=types_pb2.DT_DOUBLE,
                tensor_shape=tensor_shape_pb2.TensorShapeProto(),
                tensor_content=struct.pack("<d", math.nan if step == 2 else 1.5 * step),
            )
            summary = summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag="loss", tensor=double)])
            writer._get_file_writer().add_summary(summary, step)

    run = parse(written(tmp_path, fill))
    np.testing.assert_allclose(run.series["val_loss"].values, [0.5, 0.4, 0.3], rtol=1e-6)
    values = run.series["train_loss"].values
    assert values[:2].tolist() == [0.0, 1.5] and math.isnan(values[2])


def test_truncated_file_reads_what_survives(tmp_path: Path) -> None:
    data = written(tmp_path, lambda w: [w.add_scalar("loss", float(s), s) for s in range(5)])
    run = tensorboard.parse(data[:-7])
    assert run.series["train_loss"].steps.tolist() == [0, 1, 2, 3]
    assert any("cut short" in note for note in run.notes)


def test_truncated_peer_file_with_garbage() -> None:
    data = (
        DATA
        / "peer"
        / "trainproof"
        / "evidence"
        / "fish_lightning_feb2026"
        / "events.out.tfevents.1772206357.InfinityGear.2772.0"
    ).read_bytes()
    run = tensorboard.parse(data[: int(len(data) * 0.6)] + b"\xde\xad\xbe\xef" * 9)
    assert 0 < len(run.series["train_loss"]) < 41


@pytest.mark.parametrize("junk", [struct.pack("<Q", 2**60) + b"\0" * 40, b"", b"\x01" * 8])
def test_corrupt_files_read_as_empty(junk: bytes) -> None:
    with pytest.raises(InvalidInput, match="no scalar"):
        tensorboard.parse(junk)


def test_missing_tensorboard_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tensorboard.backend.event_processing.event_accumulator", None)
    with pytest.raises(UnsupportedFormat, match=r"lossdoctor\[tensorboard\]"):
        tensorboard.parse(b"")
