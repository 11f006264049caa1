"""Documents to render: real engine output for the founding examples, and hostile hand-made ones."""

from __future__ import annotations

from typing import Any

import pytest

from lossdoctor.ingest.post import read_post
from lossdoctor.render.json import diagnosis_json, response_json
from lossdoctor.run import Run
from lossdoctor.text import diagnose_post, text_id
from tests.conftest import DATA

EXAMPLES = DATA / "examples"


def document_for(example: str) -> dict[str, Any]:
    """What POST /v1/diagnoses/text answers for a founding example, built without the web layer."""
    text = next(EXAMPLES.glob(f"{example}_*.txt")).read_text(encoding="utf-8")
    post = read_post(text)
    ident = text_id(text)
    return response_json(diagnosis_json(diagnose_post(post), ident), post.run or Run(series={}), cached=False)


@pytest.fixture(scope="session")
def doc_000() -> dict[str, Any]:
    return document_for("000")


@pytest.fixture(scope="session")
def doc_003() -> dict[str, Any]:
    return document_for("003")


@pytest.fixture(scope="session")
def doc_004() -> dict[str, Any]:
    return document_for("004")


HOSTILE = "<script>alert(1)</script> | `tick` **bold** [link](http://x) &amp; \n# heading"


def hostile_document(findings: int = 1) -> dict[str, Any]:
    """A document whose every user-reachable string tries to break the layout."""
    finding = {
        "code": "overfitting", "severity": "warning", "confidence": 0.8, "onset": {"epoch": 3},
        "metrics": ["val_loss"], "summary": HOSTILE, "explanation": HOSTILE,
        "evidence": {"best_epoch": 3, "note": HOSTILE, "flag": True, "missing": None},
        "fixes": [{"action": "restore_best_checkpoint", "detail": HOSTILE * 20}] * 5,
    }
    return {
        "id": "abc123", "status": "unhealthy", "findings": [finding] * findings,
        "code_findings": [{"rule": "batchnorm_after_recurrent", "severity": "warning", "snippet": HOSTILE,
                           "why": HOSTILE, "fix": HOSTILE, "explains_findings": ["val_spike"]}],
        "links": {"self": "/v1/diagnoses/abc123"},
    }

