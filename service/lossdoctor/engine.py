"""The engine: a canonical `Run` in, a `Diagnosis` out. No web, no cache, no I/O."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from lossdoctor import ENGINE_VERSION
from lossdoctor.detect import SeriesProfile, profile_run
from lossdoctor.diagnose import CATALOG, Context, Finding
from lossdoctor.ingest.names import is_loss
from lossdoctor.run import Run

Status = Literal["healthy", "unhealthy", "insufficient_data"]
MIN_POINTS = 3
_SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}


@dataclass(frozen=True)
class Diagnosis:
    run: Run
    status: Status
    findings: tuple[Finding, ...]
    profiles: dict[str, SeriesProfile]
    engine_version: str = ENGINE_VERSION
    code_findings: tuple[Any, ...] = ()  # CodeFinding, from pasted code (the text path only)
    extracted: dict[str, Any] | None = None  # what the text path read out of a post

    @property
    def id(self) -> str:
        return diagnosis_id(self.run)


def diagnosis_id(run: Run) -> str:
    """Content address: the same run under the same engine always gets the same id, computed before
    (and without) running the engine so a cache hit costs no analysis."""
    digest = hashlib.sha256(f"{run.fingerprint()}:{ENGINE_VERSION}".encode()).hexdigest()
    return digest[:32]


def diagnose(run: Run) -> Diagnosis:
    # Curves near the float limits (1e308, or inf next to finite values) make intermediate arithmetic
    # overflow; the detectors treat the resulting inf/NaN as "no evidence", so numpy's warnings are noise.
    with np.errstate(all="ignore"):
        profiles = profile_run(run)
        ctx = Context(run=run, profiles=profiles)
        found = [f for f in (p.detect(ctx) for p in CATALOG) if f is not None]
        findings = without_consequences(val_rise_before_the_break(run, found))
    findings.sort(key=lambda f: (_SEVERITY_ORDER[f.severity], -f.confidence))
    return Diagnosis(run=run, status=status_of(run, findings), findings=tuple(findings), profiles=profiles)


# A run that diverged or blew up is then high, flat, swinging and spiky: those are consequences of the
# root cause, not separate pathologies, once they start at (or just before) its onset.
CONSEQUENCES = frozenset({"underfitting", "plateau", "oscillation", "val_spike", "loss_spike", "overfitting",
                          "overconfidence"})
# A training loss that diverges makes the model worse on every split, so the validation loss rises with it
# (and usually first: it is measured after the epoch's updates, the training loss averages over them). Beside
# a divergence a rising validation loss is never evidence of memorisation, whenever its best epoch was.
VAL_RISE = frozenset({"overfitting", "overconfidence"})


def without_consequences(findings: list[Finding]) -> list[Finding]:
    roots = [f.onset for f in findings if f.onset is not None and (
        f.code == "divergence" or (f.code == "exploding_nan" and is_loss(f.metrics[0])))]
    if not roots:
        return findings
    start = min(roots)
    diverged = any(f.code == "divergence" and not f.evidence.get("collapsed") for f in findings)
    return [f for f in findings if f.code not in CONSEQUENCES
            or (f.code != "underfitting" and f.onset is not None and f.onset < start
                and not (diverged and f.code in VAL_RISE) and not _stays_up(f))]


def val_rise_before_the_break(run: Run, findings: list[Finding]) -> list[Finding]:
    """Once a run blows up (or collapses in its last epoch) its validation loss climbs because the model is
    destroyed, so whether it was overfitting before is judged on the points before the break only (a best
    epoch just before it is not an onset of memorisation, and a finite blow-up hides none that came before)."""
    cut = min((f.onset for f in findings if f.onset is not None and (
        (f.code == "exploding_nan" and is_loss(f.metrics[0])) or (f.code == "divergence" and f.evidence.get(
            "collapsed")))), default=None)
    if cut is None:
        return findings
    earlier = run.before(cut)
    ctx = Context(run=earlier, profiles=profile_run(earlier))
    redone = [p.detect(ctx) for p in CATALOG if p.code in VAL_RISE]
    return [f for f in findings if f.code not in VAL_RISE] + [f for f in redone if f is not None]


def _stays_up(f: Finding) -> bool:
    """A validation jump that never comes back down, in a run that then blows up or diverges, is that failure
    seen first on the validation set, not an evaluation bug of its own."""
    return f.code == "val_spike" and f.evidence.get("recovers") is False


def status_of(run: Run, findings: list[Finding]) -> Status:
    if any(f.severity in ("error", "warning") for f in findings):
        return "unhealthy"
    longest_loss = max((len(s) for name, s in run.series.items() if is_loss(name)), default=0)
    if longest_loss < MIN_POINTS:
        return "insufficient_data"
    return "healthy"
