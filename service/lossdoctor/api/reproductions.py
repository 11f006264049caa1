"""Reproductions: train a catalogued scenario like a diagnosed run, and check which fixes remove the fault.

POST enqueues a job on the `reproductions` RQ queue (trained by `lossdoctor worker`); GET reads it back.
This module never imports torch: the job is enqueued by dotted path with JSON arguments.
"""

from __future__ import annotations

import re
from typing import Any

import redis
from flask import Blueprint, Response, current_app, jsonify, request
from pydantic import ValidationError

from lossdoctor.api.body import parse_json, read_body
from lossdoctor.api.common import cache, config, curves_key
from lossdoctor.exceptions import CacheUnavailable, InvalidInput, NotFound
from lossdoctor.ingest.payload import validation_message
from lossdoctor.jobs import queue as jobs
from lossdoctor.jobs.reproduce import Knobs
from lossdoctor.jobs.scenarios.catalog import Scenario

bp = Blueprint("reproductions", __name__, url_prefix="/v1/reproductions")
NEEDS_REDIS = "reproductions need the job queue on Redis: set REDIS_URL (and run `lossdoctor worker`)"
MAX_BODY_BYTES = 64 * 1024
_CONNECTION = "lossdoctor.jobs.redis"
_CHOICES = ("diagnosis_id", "pathology", "scenario")
JOB_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")  # what RQ accepts (ASCII only), bounded


def _connection() -> redis.Redis:
    settings = config()
    if not settings.redis_url:
        raise CacheUnavailable(NEEDS_REDIS)
    connection: redis.Redis | None = current_app.extensions.get(_CONNECTION)
    if connection is None:
        connection = jobs.connect(settings.redis_url, settings.redis_timeout_seconds)
        current_app.extensions[_CONNECTION] = connection
    return connection


def _request(body: Any) -> jobs.ReproductionRequest:
    try:
        spec = jobs.ReproductionRequest.model_validate(body)
    except ValidationError as err:
        message, problems = validation_message(err)
        if any(e["type"] == "extra_forbidden" for e in err.errors()):
            message += f"; the fields a reproduction accepts are {sorted(jobs.ReproductionRequest.model_fields)}"
        raise InvalidInput(message, errors=problems) from None
    chosen = [name for name in _CHOICES if getattr(spec, name) is not None]
    if len(chosen) != 1:
        said = f"got {', '.join(chosen)}" if chosen else "got none"
        raise InvalidInput(f'send exactly one of "diagnosis_id", "pathology" (with an optional "model") or '
                           f'"scenario" ({said})')
    if spec.model is not None and spec.pathology is None:
        raise InvalidInput('"model" goes with "pathology"; a diagnosis or a named scenario fixes its own model')
    limit = config().job_timeout_seconds
    if spec.timeout_seconds is not None and spec.timeout_seconds > limit:
        raise InvalidInput(f"timeout_seconds must be at most {limit} (LOSSDOCTOR_JOB_TIMEOUT_SECONDS)",
                           limit=limit)
    return spec


def _scenario(spec: jobs.ReproductionRequest) -> Scenario:
    try:
        if spec.scenario is not None:
            return jobs.scenario_named(spec.scenario)
        if spec.pathology is not None:
            return jobs.scenario_for(spec.pathology, spec.model)
        assert spec.diagnosis_id is not None
        document = cache().get(spec.diagnosis_id)
        if document is None:
            raise InvalidInput(f"no diagnosis {spec.diagnosis_id!r}: it never existed or has expired; POST the run "
                               "to /v1/diagnoses again, or send an explicit pathology")
        curves = cache().get(curves_key(spec.diagnosis_id)) or {}
        return jobs.scenario_from_diagnosis(document, curves.get("meta"))
    except jobs.Unreproducible as exc:
        raise InvalidInput(str(exc), pathologies=jobs.pathologies(), models=list(jobs.MODELS)) from None


@bp.post("")
def create() -> tuple[Response, int, dict[str, str]]:
    """Queue a reproduction; 202 with the job's id and its Location."""
    settings = config()
    connection = _connection()
    spec = _request(parse_json(read_body(request, MAX_BODY_BYTES)))
    scenario = _scenario(spec)
    knobs: dict[str, Any] = Knobs.model_validate(spec.model_dump(include=set(Knobs.model_fields))).set()
    try:
        job = jobs.enqueue(
            jobs.reproductions_queue(connection), scenario, knobs,
            timeout=spec.timeout_seconds or settings.job_timeout_seconds,
            result_ttl=settings.job_result_ttl_seconds, retries=settings.job_retries,
        )
    except redis.RedisError as exc:
        raise CacheUnavailable(f"the job queue cannot be reached ({type(exc).__name__})") from None
    location = f"/v1/reproductions/{job.id}"
    body = {"id": job.id, "status": "queued", "scenario": scenario.name, "pathology": scenario.pathology,
            "knobs": knobs, "links": {"self": location}}
    return jsonify(body), 202, {"Location": location}


@bp.get("/<job_id>")
def show(job_id: str) -> Response:
    """A reproduction job: its status, the device it ran on and, once finished, its runs and verdict."""
    if not JOB_ID.fullmatch(job_id):
        raise NotFound(f"no reproduction {job_id[:64]!r}: ids are the ones returned by POST /v1/reproductions")
    try:
        document = jobs.job_document(_connection(), job_id)
    except redis.RedisError as exc:
        raise CacheUnavailable(f"the job queue cannot be reached ({type(exc).__name__})") from None
    if document is None:
        raise NotFound(f"no reproduction {job_id!r}: it never existed or its result has expired")
    return jsonify(document)
