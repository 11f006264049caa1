"""POST a run, GET a stored diagnosis."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from lossdoctor.api.body import parse_json, read_body
from lossdoctor.cache import ResultCache, lookup
from lossdoctor.config import Config
from lossdoctor.engine import diagnose, diagnosis_id
from lossdoctor.exceptions import InputTooLarge, NotFound
from lossdoctor.ingest.payload import run_from_payload
from lossdoctor.render.json import diagnosis_json, response_json
from lossdoctor.run import Run

bp = Blueprint("diagnoses", __name__, url_prefix="/v1/diagnoses")


def _config() -> Config:
    config: Config = current_app.extensions["lossdoctor.config"]
    return config


def _cache() -> ResultCache:
    cache: ResultCache = current_app.extensions["lossdoctor.cache"]
    return cache


def diagnose_cached(run: Run) -> dict[str, Any]:
    """Compute once per content address; the second identical request is served from the cache."""
    config = _config()
    if len(run.series) > config.max_series:
        raise InputTooLarge(f"{len(run.series)} metrics sent; the limit is {config.max_series}",
                            limit=config.max_series)
    cache = _cache()
    key = diagnosis_id(run)
    stored = lookup(cache, key)
    if stored is not None:
        return response_json(stored, run, cached=True)
    document = diagnosis_json(diagnose(run))
    cache.put(key, document)
    return response_json(document, run, cached=False)


@bp.post("")
def create() -> tuple[Response, int, dict[str, str]]:
    """Diagnose a run sent as a JSON metrics payload."""
    config = _config()
    body = parse_json(read_body(request, config.max_body_bytes))
    run = run_from_payload(body, max_points=config.max_series_points)
    document = diagnose_cached(run)
    return jsonify(document), 200, {"Location": document["links"]["self"]}


@bp.get("/<diagnosis_id>")
def show(diagnosis_id: str) -> Response:
    """A stored diagnosis, while its TTL lasts."""
    if not diagnosis_id.isalnum() or len(diagnosis_id) > 64:
        raise NotFound(f"no diagnosis {diagnosis_id[:64]!r}: ids are the hex strings returned by POST /v1/diagnoses")
    stored = _cache().get(diagnosis_id)
    if stored is None:
        raise NotFound(f"no diagnosis {diagnosis_id!r}: it never existed or has expired; POST the run again")
    return jsonify({**stored, "cached": True})
