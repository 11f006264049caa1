"""What every diagnosis endpoint shares: settings, the cache, and compute-once-per-content-address."""

from __future__ import annotations

from typing import Any

from flask import current_app

from lossdoctor.cache import ResultCache, lookup
from lossdoctor.config import Config
from lossdoctor.engine import Diagnosis, diagnose, diagnosis_id
from lossdoctor.exceptions import InputTooLarge
from lossdoctor.render.json import curves_json, diagnosis_json, response_json
from lossdoctor.run import Run


def config() -> Config:
    settings: Config = current_app.extensions["lossdoctor.config"]
    return settings


def cache() -> ResultCache:
    store: ResultCache = current_app.extensions["lossdoctor.cache"]
    return store


def curves_key(diagnosis_id: str) -> str:
    return f"{diagnosis_id}:curves"


def check_series_count(run: Run) -> None:
    limit = config().max_series
    if len(run.series) > limit:
        raise InputTooLarge(f"{len(run.series)} metrics sent; the limit is {limit}", limit=limit)


def diagnose_cached(run: Run, key: str | None = None, compute: Any = None) -> dict[str, Any]:
    """Compute once per content address; the second identical request is served from the cache.

    `key` defaults to the run's content address; `compute` (a callable returning a Diagnosis) to the
    metrics-only engine. The text endpoint passes both, because a post's code and prose matter too."""
    check_series_count(run)
    store = cache()
    key = key or diagnosis_id(run)
    stored = lookup(store, key)
    if stored is not None:
        return response_json(stored, run, cached=True)
    diagnosis: Diagnosis = compute() if compute is not None else diagnose(run)
    document = diagnosis_json(diagnosis, key)
    store.put(key, document)
    store.put(curves_key(key), curves_json(run))  # for plots of a stored diagnosis
    return response_json(document, run, cached=False)
