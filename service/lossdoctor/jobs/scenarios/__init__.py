"""Scenario library: real small trainings with faults injected the way they happen to people.

This is the only package that imports torch, and only when `train` is first used: the catalog,
configs and curve labelling can be read by code that must stay torch-free.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lossdoctor.jobs.scenarios.config import METRICS, Curve, ScenarioConfig, TrainingRecord

if TYPE_CHECKING:
    from lossdoctor.jobs.scenarios.training import train

__all__ = ["METRICS", "Curve", "ScenarioConfig", "TrainingRecord", "train"]


def __getattr__(name: str) -> Any:
    if name == "train":
        from lossdoctor.jobs.scenarios.training import train

        return train
    raise AttributeError(name)
