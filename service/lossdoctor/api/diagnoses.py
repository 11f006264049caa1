"""POST a run as a JSON metrics payload, GET a stored diagnosis."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from lossdoctor.api.body import parse_json, read_body
from lossdoctor.api.common import cache, config, diagnose_cached
from lossdoctor.api.reports import negotiate
from lossdoctor.exceptions import NotFound
from lossdoctor.ingest.payload import run_from_payload

bp = Blueprint("diagnoses", __name__, url_prefix="/v1/diagnoses")


@bp.post("")
def create() -> tuple[Response, int, dict[str, str]]:
    """Diagnose a run sent as a JSON metrics payload."""
    settings = config()
    body = parse_json(read_body(request, settings.max_body_bytes))
    run = run_from_payload(body, max_points=settings.max_series_points)
    document = diagnose_cached(run)
    return negotiate(document) or jsonify(document), 200, {"Location": document["links"]["self"]}


@bp.get("/<diagnosis_id>")
def show(diagnosis_id: str) -> Response:
    """A stored diagnosis, while its TTL lasts."""
    if not diagnosis_id.isalnum() or len(diagnosis_id) > 64:
        raise NotFound(f"no diagnosis {diagnosis_id[:64]!r}: ids are the hex strings returned by POST /v1/diagnoses")
    stored = cache().get(diagnosis_id)
    if stored is None:
        raise NotFound(f"no diagnosis {diagnosis_id!r}: it never existed or has expired; POST the run again")
    document = {**stored, "cached": True}
    return negotiate(document) or jsonify(document)
