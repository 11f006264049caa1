"""Pydantic models at the boundary: what a client may send. Inside, the engine uses dataclasses and numpy."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, StrictStr

Value = StrictFloat | StrictInt | StrictStr | None


class SeriesIn(BaseModel):
    """A metric with explicit steps (or fractional epochs); unknown keys are ignored."""

    model_config = ConfigDict(extra="ignore")
    steps: list[StrictFloat | StrictInt]
    values: list[Value]


class MetaIn(BaseModel):
    """Known keys are typed; any other key is kept and reported back under `input.unknown_meta`."""

    model_config = ConfigDict(extra="allow")
    num_classes: StrictInt | None = Field(default=None, ge=1, le=10**12)
    train_size: StrictInt | None = Field(default=None, ge=1, le=10**12)
    val_size: StrictInt | None = Field(default=None, ge=1, le=10**12)
    batch_size: StrictInt | None = Field(default=None, ge=1, le=10**12)
    optimizer: StrictStr | None = None
    learning_rate: StrictFloat | StrictInt | None = Field(default=None, ge=0)
    loss: StrictStr | None = None
    framework: StrictStr | None = None
    x_axis: Literal["epoch", "step"] | None = None


class DiagnosisRequest(BaseModel):
    """`metrics` maps names to a list of values (1-based epochs) or to {steps, values}."""

    model_config = ConfigDict(extra="allow")
    metrics: dict[str, list[Value] | SeriesIn] = Field(min_length=1)
    meta: MetaIn = Field(default_factory=MetaIn)

    def meta_dict(self) -> dict[str, Any]:
        known = self.meta.model_dump(exclude_none=True, exclude=set(self.meta.model_extra or {}))
        return {**known, **(self.meta.model_extra or {})}
