"""Diagnoses from what people actually have: a pasted post, an uploaded log file, a run on an MLflow server."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Response, jsonify, request
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from lossdoctor.api.body import parse_json, read_body
from lossdoctor.api.common import config, diagnose_cached
from lossdoctor.api.reports import negotiate, output_format
from lossdoctor.exceptions import InputTooLarge, InvalidInput, UnreadableInput
from lossdoctor.ingest import formats
from lossdoctor.ingest.formats.mlflow import fetch_mlflow_run
from lossdoctor.ingest.payload import validation_message
from lossdoctor.ingest.post import read_post
from lossdoctor.run import Run
from lossdoctor.text import diagnose_post, text_id

bp = Blueprint("sources", __name__, url_prefix="/v1/diagnoses")


class MlflowRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tracking_uri: str = Field(min_length=1, max_length=2048)
    run_id: str = Field(min_length=1, max_length=256, pattern=r"^[A-Za-z0-9_\-]+$")


def _reply(document: dict[str, Any], source: dict[str, Any]) -> tuple[Response, int, dict[str, str]]:
    links = document["links"]
    assert isinstance(links, dict)
    answer = {**document, "source": source}
    rendered = negotiate(answer, other_formats_allowed=source.get("kind") == "file")
    return rendered or jsonify(answer), 200, {"Location": str(links["self"])}


@bp.post("/file")
def from_file() -> tuple[Response, int, dict[str, str]]:
    """Diagnose an uploaded log file of any supported format (multipart field `file`)."""
    settings = config()
    if request.content_length is not None and request.content_length > settings.max_file_bytes:
        raise InputTooLarge(f"the upload exceeds {settings.max_file_bytes} bytes", limit=settings.max_file_bytes)
    if not request.mimetype.startswith("multipart/form-data"):
        raise InvalidInput("send the file as multipart/form-data in a field named 'file' (curl -F file=@run.log)")
    upload = request.files.get("file")
    if upload is None:
        raise InvalidInput("no field named 'file' in the upload (curl -F file=@run.log)")
    data = upload.stream.read(settings.max_file_bytes + 1)
    if len(data) > settings.max_file_bytes:
        raise InputTooLarge(f"the file exceeds {settings.max_file_bytes} bytes", limit=settings.max_file_bytes)
    # The input format: form field `format`, or query `input_format` (query `format` too, unless it names
    # an output form such as `slack`).
    query_format = None if output_format() else request.args.get("format")
    requested = request.form.get("format") or request.args.get("input_format") or query_format or None
    name = upload.filename or None
    fmt = requested or formats.detect_format(data, name)
    run = formats.parse(data, format=fmt, filename=name, max_points=settings.max_series_points)
    return _reply(diagnose_cached(run), {"kind": "file", "format": fmt, "filename": name, "bytes": len(data)})


def _check_host(uri: str, allowed: str) -> None:
    parts = urlsplit(uri)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput("tracking_uri must be an http(s) URL such as http://mlflow.internal:5000")
    hosts = {h.strip().lower() for h in allowed.split(",") if h.strip()}
    if hosts and parts.hostname.lower() not in hosts and (parts.netloc.lower() not in hosts):
        raise InvalidInput(f"tracking_uri host {parts.hostname!r} is not in LOSSDOCTOR_MLFLOW_ALLOWED_HOSTS")


@bp.post("/mlflow")
def from_mlflow() -> tuple[Response, int, dict[str, str]]:
    """Diagnose a run read from an MLflow tracking server: `{"tracking_uri", "run_id"}`."""
    settings = config()
    body = parse_json(read_body(request, 64 * 1024))
    try:
        spec = MlflowRequest.model_validate(body)
    except ValidationError as err:
        message, problems = validation_message(err)
        raise InvalidInput(message, errors=problems) from None
    _check_host(spec.tracking_uri, settings.mlflow_allowed_hosts)
    run = fetch_mlflow_run(spec.tracking_uri, spec.run_id, settings.mlflow_timeout_seconds,
                           max_points=settings.max_series_points)
    return _reply(diagnose_cached(run), {"kind": "mlflow", "tracking_uri": spec.tracking_uri, "run_id": spec.run_id})


@bp.post("/text")
def from_text() -> tuple[Response, int, dict[str, str]]:
    """Diagnose a raw log or a whole pasted post (`text/plain`, or JSON `{"text": ...}`)."""
    settings = config()
    raw = read_body(request, settings.max_text_bytes)
    if request.mimetype == "application/json":
        body = parse_json(raw)
        if not isinstance(body, dict) or not isinstance(body.get("text"), str):
            raise InvalidInput('send the post as text/plain, or as JSON {"text": "..."}')
        text = body["text"]
    else:
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise UnreadableInput("the text is not UTF-8; send it as UTF-8 text/plain") from None
    if not text.strip():
        raise InvalidInput("the text is empty: paste the training log or the whole post")
    post = read_post(text)
    run = post.run or Run(series={})
    document = diagnose_cached(run, key=text_id(text), compute=lambda: diagnose_post(post))
    return _reply(document, {"kind": "text", "characters": len(text)})
