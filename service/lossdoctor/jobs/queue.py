"""The `reproductions` RQ queue, as the web process sees it: choose a scenario, enqueue, read a job back.

Torch-free: jobs are enqueued by dotted path with JSON arguments (`rq.serializers.JSONSerializer`), so the
API never imports the training code and no pickle ever reaches Redis.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from pydantic import Field
from redis import Redis
from rq import Queue, Retry
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from rq.registry import StartedJobRegistry
from rq.serializers import JSONSerializer

from lossdoctor.jobs.reproduce import Knobs
from lossdoctor.jobs.scenarios.catalog import CATALOG, Scenario

QUEUE_NAME = "reproductions"
JOB_FUNCTION = "lossdoctor.jobs.reproduce.run_reproduction"
MODELS = ("mlp", "cnn", "lstm", "transformer")
OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop", "adagrad")
# Code findings that name their own scenario: the bug the pasted code has is the fault the scenario injects.
RULE_SCENARIOS: dict[str, str] = {"batchnorm_after_recurrent": "bn_after_lstm_last_output"}
# The scenario a bare `{"pathology": ...}` trains, where it is not the catalog's first: the one the engine
# reproduces, and one of its fixes removes, on every seed bench/reproduce.py tried (see its figures).
PREFERRED: dict[str, str] = {"val_spike": "bn_after_lstm_last_output", "oscillation": "cyclic_lr_too_high_blobs"}
# Code findings that say which model family the run trained.
RULE_MODELS: dict[str, str] = {"batchnorm_after_recurrent": "lstm", "lstm_dropout_single_layer": "lstm",
                               "hidden_state_not_detached": "lstm"}
Status = Literal["queued", "started", "finished", "failed"]
_STATUS: dict[str, Status] = {
    JobStatus.QUEUED: "queued", JobStatus.DEFERRED: "queued", JobStatus.SCHEDULED: "queued",
    JobStatus.STARTED: "started", JobStatus.FINISHED: "finished",
    JobStatus.FAILED: "failed", JobStatus.STOPPED: "failed", JobStatus.CANCELED: "failed",
}


class ReproductionRequest(Knobs):
    """What to reproduce: a stored diagnosis, a pathology (optionally on a model family), or a catalogued
    scenario by name; exactly one of the three. Plus the bounded knobs of `Knobs` and a wall-time limit."""

    diagnosis_id: str | None = Field(default=None, min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_-]+$")
    pathology: str | None = Field(default=None, min_length=1, max_length=64)
    model: str | None = Field(default=None, min_length=1, max_length=32)
    scenario: str | None = Field(default=None, min_length=1, max_length=64)
    timeout_seconds: int | None = Field(default=None, ge=1)


class Unreproducible(ValueError):
    """The request names nothing the catalog can reproduce; the message lists what exists."""


def epoch_scenarios() -> list[Scenario]:
    """Reproducer scenarios logged once per epoch (the step-logged twins reproduce the same faults, more
    slowly)."""
    return [s for s in CATALOG.values() if s.base.log_every_steps is None and s.reproducer]


def pathologies() -> list[str]:
    return sorted({s.pathology for s in epoch_scenarios()})


def scenario_for(pathology: str, model: str | None = None, optimizer: str | None = None) -> Scenario:
    """The catalogued scenario of that pathology (on that model family, when given) that trains with the
    run's optimizer when one does, else the preferred one, else the first."""
    if pathology not in pathologies():
        raise Unreproducible(f"no catalogued scenario for pathology {pathology!r}; known: {pathologies()}")
    if model is not None and model not in MODELS:
        raise Unreproducible(f"unknown model {model!r}; known: {list(MODELS)}")
    matching = [s for s in epoch_scenarios() if s.pathology == pathology and model in (None, s.base.model)]
    # stable sort: same optimizer first, then the preferred scenario, otherwise catalog order
    matching.sort(key=lambda s: (optimizer is not None and s.base.optimizer != optimizer,
                                 s.name != PREFERRED.get(pathology)))
    if not matching:
        have = sorted({s.base.model for s in epoch_scenarios() if s.pathology == pathology})
        raise Unreproducible(f"no catalogued {pathology!r} scenario on a {model!r} model; models for it: {have}")
    return matching[0]


def scenario_named(name: str) -> Scenario:
    offered = sorted(n for n, s in CATALOG.items() if s.reproducer)
    if name not in CATALOG:
        raise Unreproducible(f"no catalogued scenario {name!r}; known: {offered}")
    if not CATALOG[name].reproducer:
        raise Unreproducible(f"scenario {name!r} is in the benchmark corpus but is not offered as a reproducer: "
                             f"its fault does not show on every seed; known: {offered}")
    return CATALOG[name]


def scenario_from_diagnosis(document: Mapping[str, Any], meta: Mapping[str, Any] | None = None) -> Scenario:
    """The scenario that best matches a stored diagnosis.

    A code finding that names its own scenario wins (the pasted code has the very bug the scenario injects);
    otherwise the first finding (most severe first) whose pathology the catalog can reproduce, on the model
    family the pasted code points to when it points to one (a recurrent-layer rule: an LSTM), with the
    optimizer the run's `meta` names when a scenario of that pathology trains with it."""
    code_findings = [c for c in document.get("code_findings") or [] if isinstance(c, Mapping)]
    for code_finding in code_findings:
        name = RULE_SCENARIOS.get(str(code_finding.get("rule")))
        if name is not None:
            return CATALOG[name]
    hint = next((RULE_MODELS[c["rule"]] for c in code_findings if c.get("rule") in RULE_MODELS), None)
    codes = [str(f.get("code")) for f in document.get("findings") or [] if isinstance(f, Mapping)]
    known = [code for code in codes if code in pathologies() and code != "healthy"]
    if not known:
        what = f"its findings ({', '.join(codes)}) have" if codes else "it has no finding, so it has"
        raise Unreproducible(f"the diagnosis cannot be reproduced: {what} no catalogued scenario; "
                             f"send an explicit pathology instead (one of {pathologies()})")
    optimizer = _optimizer_family((meta or {}).get("optimizer"))
    try:
        return scenario_for(known[0], hint, optimizer)
    except Unreproducible:
        return scenario_for(known[0], optimizer=optimizer)


def _optimizer_family(name: Any) -> str | None:
    """The optimizer family a run's `meta.optimizer` names, as clients send it ("SGD", "torch.optim.AdamW",
    "adam"), when it is one the scenarios train with."""
    if not isinstance(name, str):
        return None
    family = name.strip().lower().rsplit(".", 1)[-1].replace("_", "")
    return family if family in OPTIMIZERS else None


def connect(redis_url: str, timeout_seconds: float) -> Redis:
    return Redis.from_url(redis_url, socket_timeout=max(timeout_seconds, 5.0), socket_connect_timeout=timeout_seconds)


def reproductions_queue(connection: Redis) -> Queue:
    return Queue(QUEUE_NAME, connection=connection, serializer=JSONSerializer)


def enqueue(queue: Queue, scenario: Scenario, knobs: dict[str, Any], *, timeout: int, result_ttl: int,
            retries: int = 2) -> Job:
    """Enqueue by dotted path: the web process never imports the job's module's heavy dependencies.

    `retries`: how many times a job whose worker died, or that timed out, is run again (0: never)."""
    spec = {"scenario": scenario.name, "knobs": knobs}
    job: Job = queue.enqueue(
        JOB_FUNCTION, spec, job_timeout=timeout, result_ttl=result_ttl, failure_ttl=result_ttl,
        retry=Retry(max=retries) if retries > 0 else None, description=f"reproduce {scenario.name}",
    )
    return job


ABANDONED = "its worker was lost mid-job (killed, out of memory, or the machine went away) and no retry was left"


def _reason(job: Job) -> str:
    """Why a job failed, in one line: the exception's summary (the last traceback line), never the dump."""
    status = job.get_status(refresh=False)
    if status in (JobStatus.STOPPED, JobStatus.CANCELED):
        return f"the job was {status.value}"
    result = job.latest_result()
    text = (result.exc_string if result is not None else None) or ""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        return ABANDONED
    last = lines[-1]
    if "AbandonedJobError" in last:
        return ABANDONED
    if last.startswith("Work-horse terminated unexpectedly"):
        return f"the training process died ({last.rstrip('; ')}) and no retry was left"
    return last[:500]


def reap_abandoned(queue: Queue) -> None:
    """RQ's own maintenance pass over this queue's started jobs: a job whose worker stopped sending heartbeats
    is retried (while it has retries left) or failed with AbandonedJobError. Workers run it every minute; the
    API runs it too when it reads a started job, so a lost job is reported even when no worker is left."""
    StartedJobRegistry(queue=queue).cleanup()


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def job_document(connection: Redis, job_id: str) -> dict[str, Any] | None:
    """The public view of one reproduction job, or None when there is no such job on this queue."""
    try:
        job = Job.fetch(job_id, connection=connection, serializer=JSONSerializer)
    except NoSuchJobError:
        return None
    if job.origin != QUEUE_NAME:
        return None
    if job.get_status(refresh=False) == JobStatus.STARTED:
        reap_abandoned(reproductions_queue(connection))
        job.refresh()  # type: ignore[no-untyped-call]
    status = _STATUS.get(job.get_status(refresh=False) or "", "queued")
    spec = job.args[0] if job.args and isinstance(job.args[0], dict) else {}
    document: dict[str, Any] = {
        "id": job.id, "status": status, "scenario": spec.get("scenario"), "knobs": spec.get("knobs", {}),
        "device": job.meta.get("device"), "retries_left": job.retries_left or 0,
        "enqueued_at": _iso(job.enqueued_at), "started_at": _iso(job.started_at), "ended_at": _iso(job.ended_at),
        "links": {"self": f"/v1/reproductions/{job.id}"},
    }
    if status == "finished":
        result = job.return_value()
        if isinstance(result, dict):
            document.update({k: result[k] for k in ("pathology", "description", "device", "runs", "verdict", "seconds")
                             if k in result})
    elif status == "failed":
        document["error"] = _reason(job)
    return document
