"""Small classification tasks that need no download, so a run is reproducible anywhere, offline."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import torch
from sklearn.datasets import (  # type: ignore[import-untyped]
    load_breast_cancer,
    load_digits,
    load_iris,
    load_wine,
    make_classification,
)
from sklearn.model_selection import train_test_split  # type: ignore[import-untyped]

from lossdoctor.jobs.scenarios.config import ScenarioConfig

Array = npt.NDArray[np.float64]
VAL_FRACTION = 0.2


@dataclass(frozen=True)
class Split:
    """Tensors of one task. Sequence tasks are (N, T, F); tabular and image tasks are (N, F)."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    num_classes: int

    def to(self, device: str) -> Split:
        """The same split on `device` (a no-op on the CPU)."""
        if device == "cpu":
            return self
        return Split(self.x_train.to(device), self.y_train.to(device), self.x_val.to(device),
                     self.y_val.to(device), self.num_classes)


def _sequence_task(seed: int, n: int = 1600, length: int = 16, width: int = 6) -> tuple[Array, Array]:
    """A class prototype hidden at a random time step in noise: the model has to remember it."""
    rng = np.random.default_rng(1000 + seed)
    classes = 4
    prototypes = rng.normal(0.0, 1.0, size=(classes, width))
    y = rng.integers(0, classes, size=n)
    x = rng.normal(0.0, 1.0, size=(n, length, width))
    where = rng.integers(0, length - 2, size=n)
    x[np.arange(n), where] = 1.5 * prototypes[y] + rng.normal(0.0, 0.3, size=(n, width))
    return x, y.astype(np.float64)


def _raw(config: ScenarioConfig) -> tuple[Array, Array]:
    name = config.dataset
    if name == "sequence":
        return _sequence_task(config.seed)
    if name == "blobs":
        x, y = make_classification(
            n_samples=2000, n_features=20, n_informative=8, n_redundant=4, n_classes=4,
            n_clusters_per_class=2, class_sep=1.0 / config.blobs_difficulty, random_state=config.seed,
        )
        return x, y.astype(np.float64)
    loaders = {"digits": load_digits, "breast_cancer": load_breast_cancer, "wine": load_wine,
               "iris": load_iris}
    bunch = loaders[name]()
    return np.asarray(bunch.data, dtype=np.float64), np.asarray(bunch.target, dtype=np.float64)


def _flip(y: Array, fraction: float, classes: int, rng: np.random.Generator) -> Array:
    """Symmetric label noise: a flipped label is always a *different* class."""
    y = y.copy()
    idx = rng.choice(len(y), size=int(round(fraction * len(y))), replace=False)
    y[idx] = (y[idx] + rng.integers(1, classes, size=len(idx))) % classes
    return y


def load(config: ScenarioConfig) -> Split:
    """Split, standardise with train statistics only, then apply the data faults of `config`."""
    x, y = _raw(config)
    classes = int(y.max()) + 1
    x_tr, x_va, y_tr, y_va = train_test_split(
        x, y, test_size=VAL_FRACTION, random_state=config.seed, stratify=y
    )
    if config.train_subset is not None:
        x_tr, y_tr = x_tr[: config.train_subset], y_tr[: config.train_subset]
    axes = tuple(range(x_tr.ndim - 1))
    mean, std = x_tr.mean(axis=axes), x_tr.std(axis=axes)
    std[std < 1e-3] = 1.0  # constant pixels (digit borders) must not turn into 1e6-scale val inputs
    x_tr, x_va = (x_tr - mean) / std, (x_va - mean) / std
    rng = np.random.default_rng(2000 + config.seed)
    if config.label_noise > 0:
        y_tr = _flip(y_tr, config.label_noise, classes, rng)
        if config.label_noise_val:
            y_va = _flip(y_va, config.label_noise, classes, rng)
    f32, i64 = torch.float32, torch.long
    return Split(
        torch.tensor(x_tr, dtype=f32), torch.tensor(y_tr, dtype=i64),
        torch.tensor(x_va, dtype=f32), torch.tensor(y_va, dtype=i64), classes,
    )
