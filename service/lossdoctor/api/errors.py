"""Every error becomes an RFC 9457 `application/problem+json` response, here and nowhere else."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from flask import Flask, Response, json, request
from werkzeug.exceptions import HTTPException

from lossdoctor.exceptions import (
    CacheUnavailable,
    InputTooLarge,
    InvalidInput,
    LossDoctorError,
    NotFound,
    UnreadableInput,
    UnsupportedFormat,
)

log = logging.getLogger(__name__)

STATUS: dict[type[LossDoctorError], tuple[int, str]] = {
    UnreadableInput: (400, "Unreadable body"),
    InvalidInput: (422, "Invalid input"),
    InputTooLarge: (413, "Input too large"),
    UnsupportedFormat: (415, "Unsupported format"),
    NotFound: (404, "Not found"),
    CacheUnavailable: (503, "Result store unavailable"),
}


def problem(status: int, title: str, detail: str, **extra: Any) -> Response:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail,
            "instance": quote(request.path, safe="/"), **extra}
    return Response(json.dumps(body), status=status, mimetype="application/problem+json")


def _domain_error(exc: LossDoctorError) -> Response:
    for kind in type(exc).__mro__:
        if kind in STATUS:
            status, title = STATUS[kind]
            return problem(status, title, exc.message, **exc.details)
    return problem(400, "Bad request", exc.message, **exc.details)


def _http_error(exc: HTTPException) -> Response:
    status = exc.code or 500
    detail = exc.description or exc.name
    if status == 413:
        detail = "the body exceeds the configured size limit; down-sample long series or split the run"
    response = problem(status, exc.name, detail)
    if status == 405 and exc.valid_methods:  # type: ignore[attr-defined]
        response.headers["Allow"] = ", ".join(exc.valid_methods)  # type: ignore[attr-defined]
    return response


def _unexpected(exc: Exception) -> Response:
    # A bug, not bad input: log it with its traceback and say so honestly (never disguised as a 4xx).
    log.exception("unhandled error on %s %s", request.method, request.path)
    return problem(500, "Internal error", "an unexpected error occurred; it has been logged")


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(LossDoctorError, _domain_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)
