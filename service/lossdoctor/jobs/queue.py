"""The `reproductions` RQ queue, as the web process sees it: choose a scenario, enqueue, read a job back.

Torch-free: jobs are enqueued by dotted path with JSON arguments (`rq.serializers.JSONSerializer`), so the
API never imports the training code and no pickle ever reaches Redis.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field
from redis import Redis
from rq import Queue, Retry
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer

from lossdoctor.jobs.reproduce import Knobs
from lossdoctor.jobs.scenarios.catalog import CATALOG, Scenario

QUEUE_NAME = "reproductions"
JOB_FUNCTION = "lossdoctor.jobs.reproduce.run_reproduction"
MODELS = ("mlp", "cnn", "lstm", "transformer")
# Code findings that name their own scenario: the bug the pasted code has is the fault the scenario injects.
RULE_SCENARIOS: dict[str, str] = {"batchnorm_after_recurrent": "bn_lstm_tiny_last_batch"}
Status = Literal["queued", "started", "finished", "failed"]
_STATUS: dict[str, Status] = {
    JobStatus.QUEUED: "queued", JobStatus.DEFERRED: "queued", JobStatus.SCHEDULED: "queued",
    JobStatus.STARTED: "started", JobStatus.FINISHED: "finished",
    JobStatus.FAILED: "failed", JobStatus.STOPPED: "failed", JobStatus.CANCELED: "failed",
}


class ReproductionRequest(Knobs):
    """Either a stored diagnosis to reproduce, or an explicit catalogued scenario (pathology and model)."""

    diagnosis_id: str | None = Field(default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9]+$")
    pathology: str | None = Field(default=None, max_length=64)
    model: str | None = Field(default=None, max_length=32)
    timeout_seconds: int | None = Field(default=None, ge=1)


class Unreproducible(ValueError):
    """The request names nothing the catalog can reproduce; the message lists what exists."""


def _epoch_scenarios() -> list[Scenario]:
    """Scenarios logged once per epoch (the step-logged twins reproduce the same faults, more slowly)."""
    return [s for s in CATALOG.values() if s.base.log_every_steps is None]


def pathologies() -> list[str]:
    return sorted({s.pathology for s in _epoch_scenarios()})


def scenario_for(pathology: str, model: str | None = None) -> Scenario:
    """The first catalogued scenario of that pathology (on that model family, when given)."""
    if pathology not in pathologies():
        raise Unreproducible(f"no catalogued scenario for pathology {pathology!r}; known: {pathologies()}")
    if model is not None and model not in MODELS:
        raise Unreproducible(f"unknown model {model!r}; known: {list(MODELS)}")
    matching = [s for s in _epoch_scenarios() if s.pathology == pathology and model in (None, s.base.model)]
    if not matching:
        have = sorted({s.base.model for s in _epoch_scenarios() if s.pathology == pathology})
        raise Unreproducible(f"no catalogued {pathology!r} scenario on a {model!r} model; models for it: {have}")
    return matching[0]


def scenario_from_diagnosis(document: Mapping[str, Any]) -> Scenario:
    """A code finding that names a scenario wins; otherwise the first (most severe) finding's pathology."""
    for code_finding in document.get("code_findings") or []:
        name = RULE_SCENARIOS.get(str(code_finding.get("rule")))
        if name is not None:
            return CATALOG[name]
    findings = document.get("findings") or []
    if not findings:
        raise Unreproducible("the diagnosis has no finding to reproduce; send an explicit pathology instead")
    return scenario_for(str(findings[0]["code"]))


def connect(redis_url: str, timeout_seconds: float) -> Redis:
    return Redis.from_url(redis_url, socket_timeout=max(timeout_seconds, 5.0), socket_connect_timeout=timeout_seconds)


def reproductions_queue(connection: Redis) -> Queue:
    return Queue(QUEUE_NAME, connection=connection, serializer=JSONSerializer)


def enqueue(queue: Queue, scenario: Scenario, knobs: dict[str, Any], *, timeout: int, result_ttl: int,
            retries: int = 2) -> Job:
    """Enqueue by dotted path: the web process never imports the job's module's heavy dependencies."""
    spec = {"scenario": scenario.name, "knobs": knobs}
    job: Job = queue.enqueue(
        JOB_FUNCTION, spec, job_timeout=timeout, result_ttl=result_ttl, failure_ttl=result_ttl,
        retry=Retry(max=retries), description=f"reproduce {scenario.name}",
    )
    return job


def _reason(job: Job) -> str:
    """Why a job failed, in one line: the exception's summary (the last traceback line), never the dump."""
    result = job.latest_result()
    text = (result.exc_string if result is not None else None) or ""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if job.get_status(refresh=False) in (JobStatus.STOPPED, JobStatus.CANCELED):
        return f"the job was {job.get_status(refresh=False)}"
    return lines[-1][:500] if lines else "the job failed without an exception (its worker was lost)"


def job_document(connection: Redis, job_id: str) -> dict[str, Any] | None:
    """The public view of one reproduction job, or None when there is no such job on this queue."""
    try:
        job = Job.fetch(job_id, connection=connection, serializer=JSONSerializer)
    except NoSuchJobError:
        return None
    if job.origin != QUEUE_NAME:
        return None
    status = _STATUS.get(job.get_status(refresh=False) or "", "queued")
    spec = job.args[0] if job.args else {}
    document: dict[str, Any] = {
        "id": job.id, "status": status, "scenario": spec.get("scenario"), "knobs": spec.get("knobs", {}),
        "device": job.meta.get("device"), "retries_left": job.retries_left or 0,
        "enqueued_at": job.enqueued_at.isoformat() if job.enqueued_at else None,
        "links": {"self": f"/v1/reproductions/{job.id}"},
    }
    if status == "finished":
        result = job.return_value()
        if isinstance(result, dict):
            document.update({k: result[k] for k in ("pathology", "device", "runs", "verdict", "seconds")})
    elif status == "failed":
        document["error"] = _reason(job)
    return document
