"""Reading request bodies safely: size limits that also hold after gzip decompression."""

from __future__ import annotations

import json
import zlib
from typing import Any

import orjson
from flask import Request

from lossdoctor.exceptions import InputTooLarge, UnreadableInput

_CHUNK = 64 * 1024


def read_body(request: Request, max_bytes: int) -> bytes:
    """The raw body, gunzipped when `Content-Encoding: gzip`; at most `max_bytes` either way (a gzip bomb
    is stopped after `max_bytes` of output, not after it has filled memory)."""
    declared = request.content_length
    if declared is not None and declared > max_bytes:
        raise _too_large(max_bytes)
    raw = request.stream.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise _too_large(max_bytes)
    encoding = (request.headers.get("Content-Encoding") or "identity").strip().lower()
    if encoding in ("identity", ""):
        return raw
    if encoding not in ("gzip", "x-gzip", "deflate"):
        raise UnreadableInput(f"Content-Encoding {encoding!r} is not supported; send gzip or no encoding")
    wbits = 16 + zlib.MAX_WBITS if encoding != "deflate" else zlib.MAX_WBITS
    decoder = zlib.decompressobj(wbits)
    out = bytearray()
    try:
        data = raw
        while data:
            out += decoder.decompress(data, max_bytes + 1 - len(out))
            if len(out) > max_bytes:
                raise _too_large(max_bytes, decompressed=True)
            data = decoder.unconsumed_tail
        out += decoder.flush()
    except zlib.error as exc:
        raise UnreadableInput(f"the body is not valid {encoding} data ({exc}); compress it with gzip") from None
    if len(out) > max_bytes:
        raise _too_large(max_bytes, decompressed=True)
    return bytes(out)


def _too_large(limit: int, decompressed: bool = False) -> InputTooLarge:
    what = "decompressed body" if decompressed else "body"
    return InputTooLarge(
        f"the {what} exceeds the limit of {limit} bytes; down-sample long series or split the run",
        limit=limit,
    )


def parse_json(raw: bytes) -> Any:
    """Strict JSON first (fast); then Python's parser, which also accepts bare NaN/Infinity tokens."""
    if not raw.strip():
        raise UnreadableInput("the body is empty; send a JSON object such as {\"metrics\": {\"loss\": [1, 0.5]}}")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        pass
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UnreadableInput("the body is not UTF-8 text; send JSON encoded as UTF-8") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UnreadableInput(
            f"malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}", line=exc.lineno, column=exc.colno
        ) from None
    except RecursionError:
        raise UnreadableInput("the JSON is nested too deeply") from None
