"""Liveness, readiness and the API contract."""

from __future__ import annotations

from importlib import resources

from flask import Blueprint, Response, current_app, jsonify

from lossdoctor import ENGINE_VERSION, __version__
from lossdoctor.cache import ResultCache

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    """The process is up."""
    return jsonify(status="ok", version=__version__, engine_version=ENGINE_VERSION)


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    """Ready when the cache answers (always true for the embedded cache, which is named so)."""
    cache: ResultCache = current_app.extensions["lossdoctor.cache"]
    ok = cache.ping()
    return jsonify(status="ready" if ok else "unavailable", cache=cache.kind), 200 if ok else 503


@bp.get("/openapi.yaml")
def openapi() -> Response:
    """The contract other tools are built against."""
    text = resources.files("lossdoctor").joinpath("openapi.yaml").read_text(encoding="utf-8")
    return Response(text, mimetype="application/yaml")
