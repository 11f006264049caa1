"""GET a picture of a stored diagnosis: its curves, change points, findings and non-finite values."""

from __future__ import annotations

from typing import Literal

from flask import Blueprint, Response

from lossdoctor.api.common import cache, curves_key
from lossdoctor.exceptions import NotFound

bp = Blueprint("plots", __name__, url_prefix="/v1/diagnoses")

MIMETYPES: dict[str, str] = {"svg": "image/svg+xml", "png": "image/png"}


def _render(diagnosis_id: str, fmt: Literal["svg", "png"]) -> Response:
    if not diagnosis_id.isalnum() or len(diagnosis_id) > 64:
        raise NotFound(f"no diagnosis {diagnosis_id[:64]!r}: ids are the hex strings returned by POST /v1/diagnoses")
    store = cache()
    document = store.get(diagnosis_id)
    curves = store.get(curves_key(diagnosis_id))
    if document is None or curves is None:
        raise NotFound(f"no diagnosis {diagnosis_id!r} to plot: it never existed or has expired; POST the run again")
    from lossdoctor.render.plot import plot  # matplotlib is loaded on the first plot, not at start-up

    response = Response(plot(document, curves, fmt), mimetype=MIMETYPES[fmt])
    response.headers["Cache-Control"] = "public, max-age=86400, immutable"  # the id is a content address
    return response


@bp.get("/<diagnosis_id>/plot.svg")
def plot_svg(diagnosis_id: str) -> Response:
    """The diagnosis drawn as SVG (text stays text: the finding codes are searchable)."""
    return _render(diagnosis_id, "svg")


@bp.get("/<diagnosis_id>/plot.png")
def plot_png(diagnosis_id: str) -> Response:
    """The diagnosis drawn as a 100-dpi PNG."""
    return _render(diagnosis_id, "png")
