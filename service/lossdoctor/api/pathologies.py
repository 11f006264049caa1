"""The catalog of finding codes, from the same source of truth the engine runs."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from lossdoctor.diagnose.catalog import CATALOG

bp = Blueprint("pathologies", __name__, url_prefix="/v1/pathologies")


@bp.get("")
def index() -> Response:
    """Every finding code: what it means, how its severity is decided, and the evidence it carries."""
    return jsonify(
        pathologies=[
            {"code": p.code, "meaning": p.meaning, "severity_rules": p.severity_rules,
             "evidence_keys": list(p.evidence_keys)}
            for p in CATALOG
        ]
    )
