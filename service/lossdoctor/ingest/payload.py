"""The JSON payload (`{"metrics": ..., "meta": ...}` or a Keras `history.history`) -> `Run`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError

from lossdoctor.exceptions import InvalidInput
from lossdoctor.ingest.build import DEFAULT_MAX_POINTS, build_run
from lossdoctor.run import Run
from lossdoctor.schemas import DiagnosisRequest, SeriesIn

_TYPE_TAGS = {"float", "int", "str", "bool", "SeriesIn", "MetaIn", "list", "dict"}


def _location(loc: tuple[int | str, ...]) -> str:
    """`metrics.loss[1]`, not pydantic's union-branch path (`metrics.loss.list[...][1].float`)."""
    out = ""
    for depth, part in enumerate(loc):
        if isinstance(part, int):
            out += f"[{part}]"
        elif depth >= 2 and (part in _TYPE_TAGS or "[" in part):
            continue
        else:
            out += f".{part}" if out else str(part)
    return out


def validation_message(err: ValidationError) -> tuple[str, list[dict[str, str]]]:
    problems = [{"field": _location(tuple(e["loc"])), "message": e["msg"]} for e in err.errors()[:20]]
    first = problems[0]
    return f"{first['field'] or 'body'}: {first['message']}", problems


def looks_like_history(body: dict[str, Any]) -> bool:
    """A bare Keras `history.history` dict: every value a list, and no `metrics` key."""
    return "metrics" not in body and bool(body) and all(isinstance(v, list) for v in body.values())


def run_from_payload(body: Any, *, max_points: int = DEFAULT_MAX_POINTS) -> Run:
    if not isinstance(body, dict):
        raise InvalidInput("the body must be a JSON object with a 'metrics' object (and optionally 'meta')")
    if looks_like_history(body):
        body = {"metrics": body}
    if "metrics" not in body:
        raise InvalidInput("'metrics' is required: an object mapping metric names to lists of values")
    if isinstance(body["metrics"], dict) and not body["metrics"]:
        raise InvalidInput("'metrics' is empty: send at least one series, e.g. {\"loss\": [0.9, 0.7, 0.6]}")
    try:
        request = DiagnosisRequest.model_validate(body)
    except ValidationError as err:
        message, problems = validation_message(err)
        raise InvalidInput(message, errors=problems) from None
    columns: list[tuple[str, Sequence[float] | None, Sequence[Any]]] = []
    for name, series in request.metrics.items():
        if isinstance(series, SeriesIn):
            columns.append((name, series.steps, series.values))
        else:
            columns.append((name, None, series))
    return build_run(columns, request.meta_dict(), max_points=max_points, validated=True)
