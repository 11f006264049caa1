"""A stored diagnosis as a human report (Markdown) or a chat message (Slack), and the content negotiation
the POST endpoints share, so one request can ask for the answer in the form it will be pasted into."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from lossdoctor.api.common import cache
from lossdoctor.exceptions import InvalidInput, NotFound
from lossdoctor.render.markdown import to_markdown
from lossdoctor.render.slack import to_slack

bp = Blueprint("reports", __name__, url_prefix="/v1/diagnoses")

MARKDOWN = "text/markdown; charset=utf-8"


def markdown_response(document: dict[str, Any], status: int = 200) -> Response:
    return Response(to_markdown(document), status=status, content_type=MARKDOWN)


def stored(diagnosis_id: str) -> dict[str, Any]:
    """The stored document, with the same id check as GET /v1/diagnoses/<id>: a malformed id is never
    looked up, and is answered like an unknown one."""
    if not diagnosis_id.isalnum() or len(diagnosis_id) > 64:
        raise NotFound(f"no diagnosis {diagnosis_id[:64]!r}: ids are the hex strings returned by POST /v1/diagnoses")
    document = cache().get(diagnosis_id)
    if not isinstance(document, dict):
        raise NotFound(f"no diagnosis {diagnosis_id!r}: it never existed or has expired; POST the run again")
    return document


@bp.get("/<diagnosis_id>/report.md")
def report(diagnosis_id: str) -> Response:
    """The diagnosis as Markdown, to paste as a forum answer or into an issue."""
    return markdown_response(stored(diagnosis_id))


OUTPUT_FORMATS = ("json", "markdown", "slack")


def output_format() -> str | None:
    """The `format` query parameter when it names an output form (`json`, `markdown`, `slack`), else None."""
    wanted = request.args.get("format")
    return wanted if wanted in OUTPUT_FORMATS else None


def negotiate(document: dict[str, Any], *, other_formats_allowed: bool = False) -> Response | None:
    """The answer in the form the client asked for, or None for the usual JSON.

    `?format=slack|markdown|json` wins (a webhook relay or a chat link cannot set headers); otherwise an
    `Accept` that prefers `text/markdown` over `application/json` gets the Markdown report, and a bare `*/*`
    stays JSON. Any other `format` is refused, except where it names the input (`/file`)."""
    wanted = output_format()
    if wanted is None and request.args.get("format") and not other_formats_allowed:
        raise InvalidInput(f"format must be one of {list(OUTPUT_FORMATS)}, not {request.args['format'][:40]!r}")
    if wanted == "slack":
        return jsonify(to_slack(document, base_url=request.host_url))
    if wanted == "markdown":
        return markdown_response(document)
    if wanted is None and request.accept_mimetypes.best_match(["application/json", "text/markdown"]) == "text/markdown":
        return markdown_response(document)
    return None
