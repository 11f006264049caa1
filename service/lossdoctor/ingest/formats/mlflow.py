"""MLflow metric histories: the `metrics/get-history` JSON, and a reader for a live tracking server.

`GET /api/2.0/mlflow/metrics/get-history` answers `{"metrics": [{"key", "value", "timestamp", "step"}],
"next_page_token"}`; several answers may be pasted one after another. `fetch_mlflow_run` lists a run's
metric keys with `runs/get` and pages through each key's history (stdlib urllib: no client needed).
"""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from lossdoctor.exceptions import InvalidInput, NotFound, UnreadableInput
from lossdoctor.ingest.build import DEFAULT_MAX_POINTS, build_run
from lossdoctor.ingest.formats import _json
from lossdoctor.ingest.formats._common import MAX_INPUT_BYTES, check_size, clean_name
from lossdoctor.run import Run

PAGE_SIZE = 25_000
MAX_KEYS = 500


def is_history(doc: Any) -> bool:
    metrics = doc.get("metrics") if isinstance(doc, dict) else None
    return isinstance(metrics, list) and all(isinstance(m, dict) and "key" in m and "value" in m
                                             for m in metrics)


def parse(text: str, max_points: int = DEFAULT_MAX_POINTS) -> Run:
    """Args: one or more get-history answers. Returns the Run on the step axis."""
    check_size(text)
    points: list[dict[str, Any]] = []
    for doc, _ in _json.objects(text):
        for item in doc if isinstance(doc, list) else [doc]:
            if is_history(item):
                points.extend(item["metrics"])
    if not points:
        raise InvalidInput('not an MLflow metric history: expected {"metrics": [{"key": ..., "value": ..., '
                           '"timestamp": ..., "step": ...}]}')
    return _run(points, max_points)


def fetch_mlflow_run(
    tracking_uri: str, run_id: str, timeout: float, max_points: int = DEFAULT_MAX_POINTS,
    page_size: int = PAGE_SIZE,
) -> Run:
    """Read every metric history of one run from an MLflow tracking server's REST API.

    Args:
        tracking_uri: the server's base URL, e.g. `http://127.0.0.1:5000`.
        run_id: the run's id.
        timeout: seconds allowed for each HTTP request.
        page_size: points asked for per get-history page (the server pages long histories).

    Returns:
        The Run, one series per metric key, on the step axis.
    """
    base = tracking_uri.rstrip("/")
    if urllib.parse.urlsplit(base).scheme not in ("http", "https"):
        raise InvalidInput(f"the MLflow tracking URI must be an http(s) URL, got {tracking_uri!r:.80}")
    run = _get(base, "runs/get", {"run_id": run_id}, timeout)
    data = run.get("run", {}).get("data", {}) if isinstance(run, dict) else {}
    keys = sorted({m["key"] for m in data.get("metrics", [])
                   if isinstance(m, dict) and isinstance(m.get("key"), str)})
    if not keys:
        raise InvalidInput(f"MLflow run {run_id!r} has no logged metrics")
    if len(keys) > MAX_KEYS:
        raise InvalidInput(f"MLflow run {run_id!r} has {len(keys)} metric keys; the limit is {MAX_KEYS}")
    points: list[dict[str, Any]] = []
    for key in keys:
        token: str | None = None
        while True:
            query = {"run_id": run_id, "metric_key": key, "max_results": str(page_size)}
            if token:
                query["page_token"] = token
            page = _get(base, "metrics/get-history", query, timeout)
            points.extend(page.get("metrics", []))
            if len(points) > max_points * len(keys):
                raise InvalidInput(f"MLflow run {run_id!r} has more than {max_points} points per metric")
            token = page.get("next_page_token") or None
            if token is None:
                break
    return _run(points, max_points)


def _get(base: str, path: str, query: dict[str, str], timeout: float) -> dict[str, Any]:
    url = f"{base}/api/2.0/mlflow/{path}?{urllib.parse.urlencode(query)}"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (scheme checked above)
            body = response.read(MAX_INPUT_BYTES + 1)
    except urllib.error.HTTPError as exc:
        detail = exc.read(2000).decode("utf-8", "replace")
        exc.close()
        if exc.code == 404:
            raise NotFound(f"MLflow answered 404 for {path}: {detail[:300]}") from None
        raise InvalidInput(f"MLflow answered {exc.code} for {path}: {detail[:300]}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise UnreadableInput(f"cannot reach the MLflow tracking server at {base}: {exc}") from None
    check_size(body)
    doc = _json.load(body.decode("utf-8", "replace"), f"MLflow's answer to {path}")
    if not isinstance(doc, dict):
        raise UnreadableInput(f"MLflow's answer to {path} is not a JSON object")
    return doc


def _run(points: list[dict[str, Any]], max_points: int) -> Run:
    """One series per key; points are applied in timestamp order so a step's last logged value wins."""
    columns: dict[str, dict[float, float]] = {}
    for point in sorted(points, key=lambda p: _json.finite(p.get("timestamp")) or 0.0):
        key, value = point.get("key"), _json.number(point.get("value"))
        step = _json.finite(point.get("step", 0))
        if isinstance(key, str) and step is not None and value is not None:
            columns.setdefault(clean_name(key), {})[step] = value  # the last value logged at a step wins
    if not columns:
        raise InvalidInput("the MLflow history holds no numeric points")
    return build_run(((k, list(c), list(c.values())) for k, c in columns.items()), x_axis="step",
                     max_points=max_points)
