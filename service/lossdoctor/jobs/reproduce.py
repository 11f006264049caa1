"""A reproduction: train a catalogued scenario and each of its fixes, diagnose every run with the engine.

`run_reproduction(spec)` is the RQ job (enqueued by dotted path, JSON arguments, JSON result). Importing this
module does not import torch: the web process uses `scenario_configs` to check a spec before enqueueing it.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from lossdoctor.jobs.scenarios.catalog import CATALOG, Scenario
from lossdoctor.jobs.scenarios.config import ScenarioConfig, TrainingRecord

log = logging.getLogger(__name__)

MAX_EPOCHS = 60
EARLY_STOPPING = "early_stopping"  # the fix whose epoch count comes from the baseline's diagnosis


class Knobs(BaseModel):
    """The only knobs a request may set, each bounded; everything else comes from the catalogued scenario
    (never user code). Checked by the API before enqueueing and again by the worker."""

    model_config = ConfigDict(extra="forbid")
    optimizer: Literal["sgd", "adam", "adamw", "rmsprop", "adagrad"] | None = None
    learning_rate: float | None = Field(default=None, gt=0, le=10)
    batch_size: int | None = Field(default=None, ge=1, le=1024)
    epochs: int | None = Field(default=None, ge=1, le=MAX_EPOCHS)
    seed: int | None = Field(default=None, ge=0, le=2**31 - 1)

    def set(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


USER_KNOBS = frozenset(Knobs.model_fields)
_device = "cpu"


def use_device(device: str) -> None:
    """The device later jobs in this process train on ("cpu" or "cuda:0"); set by the worker at start."""
    global _device
    _device = device


def current_device() -> str:
    return _device


def _retime(config: ScenarioConfig, factor: float) -> ScenarioConfig:
    """Stretch or compress the run's timeline, so a shortened run still meets its fault (a warm-up to a bad
    peak, an LR step at some epoch) at the same fraction of training."""
    if factor == 1.0:
        return config

    def scaled(epoch: int) -> int:
        return max(1, round(epoch * factor))

    return config.with_overrides(
        epochs=scaled(config.epochs),
        warmup_epochs=scaled(config.warmup_epochs) if config.warmup_epochs else 0,
        schedule_epochs=tuple(sorted({scaled(e) for e in config.schedule_epochs})),
        cycle_epochs=scaled(config.cycle_epochs),
    )


def scenario_configs(scenario: Scenario, knobs: dict[str, Any]) -> dict[str, ScenarioConfig]:
    """The baseline and one config per fix: scenario base, then the request's knobs, then the fix.

    `epochs` re-times the whole scenario (fixes included) instead of cutting it off early."""
    unknown = set(knobs) - USER_KNOBS
    if unknown:
        raise ValueError(f"knobs that a reproduction may not set: {sorted(unknown)}")
    rest = {k: v for k, v in knobs.items() if k != "epochs"}
    factor = knobs["epochs"] / scenario.base.epochs if "epochs" in knobs else 1.0
    base = scenario.base.with_overrides(**rest)
    out = {"baseline": _retime(base, factor)}
    for fix in scenario.fixes:
        out[fix.name] = _retime(base.with_overrides(**dict(fix.overrides)), factor)
    return out


def _finite_or_token(value: float) -> float | str:
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    return round(value, 6)


def _config_json(config: ScenarioConfig) -> dict[str, Any]:
    raw = dataclasses.asdict(config)
    return {k: list(v) if isinstance(v, tuple) else v for k, v in raw.items()}


def findings_of(record: TrainingRecord) -> list[dict[str, Any]]:
    """The engine's findings on the recorded curves, exactly as a client POSTing them would get them."""
    from lossdoctor.engine import diagnose
    from lossdoctor.ingest.build import build_run
    from lossdoctor.render.json import finding_json

    columns = [(name, [float(s) for s in c.steps], c.values) for name, c in record.metrics.items() if c.values]
    run = build_run(columns, record.meta(), x_axis=record.x_axis, validated=True)
    return [finding_json(f, run) for f in diagnose(run).findings]


def shows(pathology: str, codes: list[str]) -> bool:
    """Whether a run shows the pathology; a "healthy" scenario shows health, i.e. no finding at all."""
    return not codes if pathology == "healthy" else pathology in codes


def run_json(name: str, record: TrainingRecord, findings: list[dict[str, Any]], shown: bool) -> dict[str, Any]:
    return {
        "name": name,
        "config": _config_json(record.config),
        "x_axis": record.x_axis,
        "curves": {
            metric: {"steps": list(c.steps), "values": [_finite_or_token(v) for v in c.values]}
            for metric, c in record.metrics.items()
        },
        "findings": findings,
        "shows_pathology": shown,
        "seconds": round(record.seconds, 3),
    }


def detected_epoch(findings: list[dict[str, Any]], code: str) -> int | None:
    """The epoch the engine dates `code` from (its onset), when the run is logged per epoch."""
    for finding in findings:
        onset = finding.get("onset") or {}
        if finding["code"] == code and isinstance(onset.get("epoch"), int | float):
            return max(1, int(onset["epoch"]))
    return None


def stopped_early(config: ScenarioConfig, epoch: int | None) -> ScenarioConfig:
    """Early stopping as a practitioner applies it: the same run, stopped at the epoch the diagnosis
    names (the best validation epoch, where overfitting starts), instead of the catalog's fixed guess."""
    return config if epoch is None else config.with_overrides(epochs=min(epoch, config.epochs))


def reproduce(scenario_name: str, knobs: dict[str, Any], device: str = "cpu") -> dict[str, Any]:
    """Train the baseline and every fix on `device`; the result document (strict JSON).

    `verdict.reproduced`: the engine finds the scenario's pathology on the baseline's curves (for a
    "healthy" scenario: finds nothing). `verdict.fixed_by`: the fixes whose run no longer shows it (empty
    when the baseline did not show it: a fix of a fault that did not appear proves nothing)."""
    from lossdoctor.jobs.scenarios import train

    scenario = CATALOG[scenario_name]
    started = time.perf_counter()
    runs: list[dict[str, Any]] = []
    reproduced, fixed_by, not_fixed_by = False, list[str](), list[str]()
    onset: int | None = None
    for name, config in scenario_configs(scenario, knobs).items():
        if name == EARLY_STOPPING:
            config = stopped_early(config, onset)
        record = train(config, device)
        findings = findings_of(record)
        shown = shows(scenario.pathology, [f["code"] for f in findings])
        runs.append(run_json(name, record, findings, shown))
        if name == "baseline":
            reproduced = shown
            onset = detected_epoch(findings, scenario.pathology) if shown else None
        elif reproduced:
            (not_fixed_by if shown else fixed_by).append(name)
        log.info("%s/%s on %s: %s in %.1fs", scenario_name, name, device,
                 [f["code"] for f in findings], record.seconds)
    return {
        "scenario": scenario_name,
        "pathology": scenario.pathology,
        "description": scenario.description,
        "device": device,
        "runs": runs,
        "verdict": {"pathology": scenario.pathology, "reproduced": reproduced, "fixed_by": fixed_by,
                    "not_fixed_by": not_fixed_by},
        "seconds": round(time.perf_counter() - started, 3),
    }


class RefusedSpec(ValueError):
    """The worker will not run this spec: it names no catalogued scenario or sets a knob out of bounds."""


def check_spec(spec: Any) -> tuple[str, dict[str, Any]]:
    """The scenario name and validated knobs of a job's spec, or `RefusedSpec` saying what is wrong."""
    if not isinstance(spec, dict):
        raise RefusedSpec(f"a reproduction spec is an object, not {type(spec).__name__}")
    unknown = set(spec) - {"scenario", "knobs"}
    scenario, knobs = spec.get("scenario"), spec.get("knobs", {})
    if unknown:
        raise RefusedSpec(f"unknown spec keys {sorted(unknown)}: only 'scenario' and 'knobs'")
    if not isinstance(scenario, str) or scenario not in CATALOG:
        raise RefusedSpec(f"unknown scenario {scenario!r}: only catalogued scenarios are trained")
    try:
        checked = Knobs.model_validate(knobs).set()
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "knobs"
        raise RefusedSpec(f"knob {where}: {first['msg']}") from None
    return scenario, checked


def run_reproduction(spec: dict[str, Any]) -> dict[str, Any]:
    """The RQ job. `spec` is `{"scenario": <catalog name>, "knobs": {...}}`, checked again here: the queue
    is shared, so the worker trusts nothing it did not validate itself. A refused spec fails at once, without
    the retries meant for lost workers and timeouts (running it again would be refused again)."""
    from rq import get_current_job

    job = get_current_job()
    try:
        scenario, knobs = check_spec(spec)
    except RefusedSpec:
        if job is not None:
            job.retries_left = 0
        raise
    if job is not None:
        job.meta["device"] = _device
        job.save_meta()  # type: ignore[no-untyped-call]
    return reproduce(scenario, knobs, _device)
