"""The framework-free part of the training callbacks: collect epoch metrics, diagnose, decide whether to stop.

Nothing here imports a deep-learning framework, and the engine is imported only when a diagnosis runs
in-process, so the HTTP mode costs the training process nothing but the standard library.
"""

from __future__ import annotations

import http.client
import json
import logging
import math
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from typing import Any, Literal

Severity = Literal["error", "warning", "info"]
SEVERITY_RANK: dict[str, int] = {"error": 0, "warning": 1, "info": 2}
_LOG_LEVEL = {"error": logging.ERROR, "warning": logging.WARNING, "info": logging.INFO}

LOGGER = logging.getLogger("lossdoctor.integrations")


def json_value(value: float) -> float | str:
    """Strict JSON has no NaN or infinity: send them as the tokens the API reads."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def as_float(value: object) -> float | None:
    """A logged scalar (Python number, numpy scalar, 0-d or one-element tensor) as a float; None otherwise."""
    if value is None or isinstance(value, bool | str | bytes):
        return None
    try:
        return float(value)  # type: ignore[arg-type]  # numbers, numpy scalars, one-element tensors
    except (TypeError, ValueError, RuntimeError):
        return None


def onset_text(finding: Mapping[str, Any]) -> str:
    onset = finding.get("onset")
    if isinstance(onset, dict) and onset:
        axis, x = next(iter(onset.items()))
        return f"{axis} {x}"
    return "the start"


class LossDoctorMonitor:
    """Collects one value per metric per (1-based) epoch and diagnoses the run every `every_n_epochs`.

    `url`: a LossDoctor service (`POST {url}/v1/diagnoses`); None runs the engine in this process.
    `stop_on`: stop on a finding of this severity or worse ("error" by default; None never stops).
    `ignore`: finding codes that never stop training (they are still logged).
    A diagnosis that cannot be made (service down, timeout, bad answer) is logged as a warning and the
    training goes on. The last diagnosis document is `.diagnosis`, the finding that asked to stop `.stopped_by`.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        every_n_epochs: int = 1,
        stop_on: Severity | None = "error",
        ignore: Iterable[str] = (),
        meta: Mapping[str, Any] | None = None,
        timeout: float = 10.0,
        logger: logging.Logger | None = None,
    ) -> None:
        if every_n_epochs < 1:
            raise ValueError(f"every_n_epochs must be at least 1, not {every_n_epochs}")
        if stop_on is not None and stop_on not in SEVERITY_RANK:
            raise ValueError(f"stop_on must be one of {sorted(SEVERITY_RANK)} or None, not {stop_on!r}")
        self.url = url.rstrip("/") if url else None
        self.every_n_epochs = every_n_epochs
        self.stop_on: Severity | None = stop_on
        self.ignore = frozenset(ignore)
        self.meta: dict[str, Any] = dict(meta or {})
        self.timeout = timeout
        self.logger = logger or LOGGER
        self.series: dict[str, tuple[list[int], list[float]]] = {}
        self.diagnosis: dict[str, Any] | None = None
        self.stopped_by: dict[str, Any] | None = None
        self.last_error: str | None = None
        self.checked_epoch = 0
        self.last_epoch = 0
        self._logged: set[tuple[str, str]] = set()
        self._new_fit = False

    def begin(self) -> None:
        """A fit starts: if its first epoch is not after the epochs seen so far, it is a new run."""
        self._new_fit = True
        self.stopped_by = None

    def reset(self) -> None:
        self.series.clear()
        self.diagnosis = self.stopped_by = None
        self.last_error = None
        self.checked_epoch = self.last_epoch = 0
        self._logged.clear()

    # -- collecting -------------------------------------------------------------------------------------

    def record(self, epoch: int, metrics: Mapping[str, object]) -> None:
        """Add one epoch's values (`epoch` is 1-based); a value logged again for the same epoch replaces it."""
        if self._new_fit:
            self._new_fit = False
            if epoch <= self.last_epoch:  # fit() from scratch again, not a resumed run: start a new series
                self.reset()
        for name, raw in metrics.items():
            value = as_float(raw)
            if value is None:
                continue
            steps, values = self.series.setdefault(name, ([], []))
            if steps and steps[-1] == epoch:
                values[-1] = value
            else:
                steps.append(epoch)
                values.append(value)
        self.last_epoch = max(self.last_epoch, epoch)

    def payload(self) -> dict[str, Any]:
        """The body of POST /v1/diagnoses: `{"metrics": {name: {"steps", "values"}}, "meta": {...}}`."""
        metrics = {name: {"steps": list(steps), "values": [json_value(v) for v in values]}
                   for name, (steps, values) in self.series.items() if steps}
        return {"metrics": metrics, "meta": {"x_axis": "epoch", **self.meta}}

    # -- diagnosing -------------------------------------------------------------------------------------

    def epoch_end(self, epoch: int, metrics: Mapping[str, object]) -> bool:
        """Record an epoch and, every `every_n_epochs`, diagnose. True when training should stop."""
        self.record(epoch, metrics)
        if self.stopped_by is not None or epoch % self.every_n_epochs:
            return self.stopped_by is not None
        return self.check(epoch) is not None

    def finish(self) -> None:
        """At the end of training: diagnose the epochs that came after the last check (never stops)."""
        if self.stopped_by is None and self.last_epoch > self.checked_epoch:
            self.check(self.last_epoch, may_stop=False)

    def check(self, epoch: int, *, may_stop: bool = True) -> dict[str, Any] | None:
        """Diagnose the epochs so far, log the findings; return the finding that stops training, if any."""
        if not self.series:
            return None
        self.checked_epoch = epoch
        document = self._diagnose(epoch)
        if document is None:
            return None
        self.diagnosis = document
        findings: list[dict[str, Any]] = [f for f in document.get("findings", []) if isinstance(f, dict)]
        self._log(epoch, document, findings)
        stop = self._stopping_finding(findings) if may_stop else None
        if stop is not None:
            self.stopped_by = stop
            self.logger.error("lossdoctor: stopping training at epoch %d on %s %s (from %s)", epoch,
                              stop.get("severity"), stop.get("code"), onset_text(stop))
        return stop

    def _stopping_finding(self, findings: list[dict[str, Any]]) -> dict[str, Any] | None:
        if self.stop_on is None:
            return None
        limit = SEVERITY_RANK[self.stop_on]
        for finding in findings:
            rank = SEVERITY_RANK.get(str(finding.get("severity")))
            if rank is not None and rank <= limit and finding.get("code") not in self.ignore:
                return finding
        return None

    def _log(self, epoch: int, document: Mapping[str, Any], findings: list[dict[str, Any]]) -> None:
        where = f" ({self.url})" if self.url else ""
        self.logger.info("lossdoctor: epoch %d: %s, %d finding(s), diagnosis %s%s", epoch, document.get("status"),
                         len(findings), document.get("id"), where)
        for finding in findings:
            key = (str(finding.get("code")), onset_text(finding))
            if key in self._logged:  # said at an earlier check; the same finding is not repeated every epoch
                continue
            self._logged.add(key)
            level = _LOG_LEVEL.get(str(finding.get("severity")), logging.INFO)
            self.logger.log(level, "lossdoctor: %s %s from %s: %s", finding.get("severity"), key[0], key[1],
                            finding.get("summary"))

    def _diagnose(self, epoch: int) -> dict[str, Any] | None:
        try:
            document = self._post() if self.url else self._in_process()
        except Exception as exc:  # the doctor being down must never end the training
            self.last_error = f"{type(exc).__name__}: {exc}"
            self.logger.warning("lossdoctor: no diagnosis at epoch %d (%s); training continues", epoch,
                                self.last_error)
            return None
        self.last_error = None
        return document

    def _in_process(self) -> dict[str, Any]:
        from lossdoctor.engine import diagnose
        from lossdoctor.ingest.payload import run_from_payload
        from lossdoctor.render.json import diagnosis_json, response_json

        run = run_from_payload(self.payload())
        return response_json(diagnosis_json(diagnose(run)), run, cached=False)

    def _post(self) -> dict[str, Any]:
        body = json.dumps(self.payload(), allow_nan=False).encode()
        request = urllib.request.Request(
            f"{self.url}/v1/diagnoses", data=body, method="POST",
            headers={"Content-Type": "application/json", "Accept": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                document = json.loads(answer.read())
        except urllib.error.HTTPError as exc:
            raise ServiceError(f"HTTP {exc.code} from {self.url}: {_problem_detail(exc)}") from None
        except http.client.HTTPException as exc:
            raise ServiceError(f"bad answer from {self.url}: {exc!r}") from None
        if not isinstance(document, dict):
            raise ServiceError(f"{self.url} answered {type(document).__name__}, not a diagnosis object")
        return document


class ServiceError(Exception):
    """The service answered, but not with a diagnosis."""


def _problem_detail(exc: urllib.error.HTTPError) -> str:
    try:
        problem = json.loads(exc.read())
    except (OSError, ValueError):
        return str(exc.reason)
    if isinstance(problem, dict) and problem.get("detail"):
        return str(problem["detail"])
    return str(exc.reason)
