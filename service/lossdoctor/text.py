"""A pasted post (prose, a log that may have lost its line breaks, code) -> one diagnosis.

Numbers win: when the post holds a loss curve, the metric classifiers decide and the prose only shows in
`extracted.symptoms`; without numbers, the described symptoms become findings with `basis: description`.
Code findings are static checks on the pasted code, linked to the metric findings they would explain."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from typing import Any

from lossdoctor import ENGINE_VERSION
from lossdoctor.diagnose.code import check_post
from lossdoctor.diagnose.description import findings_from_symptoms
from lossdoctor.engine import MIN_POINTS, Diagnosis, diagnose, status_of
from lossdoctor.ingest.names import is_loss
from lossdoctor.ingest.post import Post, read_post
from lossdoctor.run import Run


def text_id(text: str) -> str:
    """Content address of a post: the same text under the same engine gets the same id."""
    return hashlib.sha256(f"text:{ENGINE_VERSION}:{text}".encode()).hexdigest()[:32]


def has_curve(run: Run | None) -> bool:
    return run is not None and any(is_loss(n) and len(s) >= MIN_POINTS for n, s in run.series.items())


def diagnose_post(post: Post) -> Diagnosis:
    run = post.run or Run(series={})
    numbers = has_curve(post.run)
    base = diagnose(run)
    findings = list(base.findings)
    if not numbers:
        findings += findings_from_symptoms(post.symptoms, has_numbers=False)
    code_findings = tuple(check_post(post))  # all of a post's code at once: model and loop may be apart
    return replace(base, findings=tuple(findings), status=status_of(run, findings),
                   code_findings=code_findings, extracted=extracted_json(post))


def diagnose_text(text: str) -> Diagnosis:
    return diagnose_post(read_post(text))


def extracted_json(post: Post) -> dict[str, Any]:
    """What was read out of the post, and where (character offsets), so a person can check it."""
    run = post.run
    return {
        "series": [] if run is None else [
            {"name": name, "source_name": s.source_name, "points": len(s)} for name, s in run.series.items()
        ],
        "series_spans": [list(span) for span in post.series_spans],
        "code_blocks": [
            {"start": b.start, "end": b.end, "line": b.line, "language": b.language, "framework": b.framework}
            for b in post.code_blocks
        ],
        "symptoms": [{"code": s.code, "phrase": s.phrase, "start": s.start, "end": s.end} for s in post.symptoms],
    }
