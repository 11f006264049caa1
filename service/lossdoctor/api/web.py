"""The web page at `/`: paste a log or upload a file, read the verdict, the findings and the plot.

Plain HTML, CSS and JavaScript from `api/static/`, served as they are (no build step, no external assets):
the page only calls this service's own API. Every answer of this blueprint carries a strict
Content-Security-Policy, so no inline script or style could run even if one slipped in."""

from __future__ import annotations

import re
from importlib import resources
from importlib.resources.abc import Traversable

from flask import Blueprint, Response

from lossdoctor.exceptions import NotFound

bp = Blueprint("web", __name__)

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
# The assets the page may load, by suffix; anything else under static/ (the page itself) is not an asset.
ASSET_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
}
_ASSET_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*\.[a-z]+$")


def _static(name: str) -> Traversable:
    return resources.files("lossdoctor.api") / "static" / name


def _asset_type(name: str) -> str | None:
    """The content type of a servable asset, or None: a plain file name with a known suffix, that exists."""
    if not _ASSET_NAME.fullmatch(name):
        return None
    suffix = name[name.rindex("."):]
    kind = ASSET_TYPES.get(suffix)
    return kind if kind is not None and _static(name).is_file() else None


@bp.after_request
def _secure(response: Response) -> Response:
    for header, value in SECURITY_HEADERS.items():
        response.headers[header] = value
    return response


@bp.get("/")
def page() -> Response:
    """The page: paste a log or a whole post, or upload a log file; see the verdict, findings and plot."""
    response = Response(_static("index.html").read_bytes(), content_type="text/html; charset=utf-8")
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/static/<name>")
def asset(name: str) -> Response:
    """A script or style sheet of the page."""
    kind = _asset_type(name)
    if kind is None:
        raise NotFound(f"no asset {name[:64]!r}: the page's assets are app.js and style.css")
    response = Response(_static(name).read_bytes(), content_type=kind)
    response.headers["Cache-Control"] = "no-cache"
    return response
