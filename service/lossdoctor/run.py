"""The canonical `Run`: what every input format is turned into, and all the engine reads."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from lossdoctor.ingest.names import is_known_metric

FloatArray = npt.NDArray[np.float64]
XAxis = Literal["epoch", "step"]

KNOWN_META: dict[str, type | tuple[type, ...]] = {
    "num_classes": int,
    "train_size": int,
    "val_size": int,
    "batch_size": int,
    "optimizer": str,
    "learning_rate": (int, float),
    "loss": str,
    "framework": str,
    "x_axis": str,
}


@dataclass(frozen=True)
class Series:
    """One metric over time. `values` keep NaN and +-inf: a non-finite loss is evidence."""

    name: str
    steps: FloatArray
    values: FloatArray
    source_name: str

    def __post_init__(self) -> None:
        if self.steps.shape != self.values.shape:
            raise ValueError("steps and values must have the same length")

    def __len__(self) -> int:
        return int(self.values.shape[0])

    @property
    def finite(self) -> npt.NDArray[np.bool_]:
        return np.isfinite(self.values)


@dataclass(frozen=True)
class Meta:
    """What the client told us about the run; unknown keys are kept in `extra` and reported."""

    num_classes: int | None = None
    train_size: int | None = None
    val_size: int | None = None
    batch_size: int | None = None
    optimizer: str | None = None
    learning_rate: float | None = None
    loss: str | None = None
    framework: str | None = None
    x_axis: XAxis | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def known(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in KNOWN_META if getattr(self, k) is not None}


@dataclass(frozen=True)
class Run:
    """A training run: named series on one x axis (1-based epochs, or steps as the client sent them)."""

    series: dict[str, Series]
    meta: Meta = field(default_factory=Meta)
    x_axis: XAxis = "epoch"
    notes: tuple[str, ...] = ()

    def get(self, name: str) -> Series | None:
        return self.series.get(name)

    def before(self, x: float) -> Run:
        """The run as it stood before x: every series cut to its points with a smaller step."""
        cut = {name: s.steps < x for name, s in self.series.items()}
        return replace(self, series={name: Series(name, s.steps[cut[name]], s.values[cut[name]], s.source_name)
                                     for name, s in self.series.items()})

    @property
    def unknown_metrics(self) -> list[str]:
        return sorted(name for name in self.series if not is_known_metric(name))

    def fingerprint(self) -> str:
        """A content hash of everything that can change a diagnosis (not of how it was sent)."""
        digest = hashlib.sha256()
        digest.update(self.x_axis.encode())
        for name in sorted(self.series):
            s = self.series[name]
            digest.update(b"\0" + name.encode() + b"\0")
            digest.update(np.ascontiguousarray(s.steps).tobytes())
            digest.update(np.ascontiguousarray(s.values).tobytes())
        digest.update(repr(sorted(self.meta.known().items())).encode())
        return digest.hexdigest()
