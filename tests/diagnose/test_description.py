"""Findings from described symptoms: the founding examples without numbers, and the shape of such findings."""

from __future__ import annotations

from pathlib import Path

import pytest

from lossdoctor.diagnose.base import Finding
from lossdoctor.diagnose.catalog import FINDING_CODES
from lossdoctor.diagnose.description import MAX_CONFIDENCE, findings_from_symptoms
from lossdoctor.ingest.post import read_post
from lossdoctor.ingest.symptoms import Symptom, find_symptoms

EXAMPLES = Path(__file__).parents[1] / "data" / "examples"


def described(prefix: str) -> dict[str, Finding]:
    (path,) = EXAMPLES.glob(f"{prefix}_*.txt")
    post = read_post(path.read_text(encoding="utf-8"))
    return {f.code: f for f in findings_from_symptoms(post.symptoms, has_numbers=post.run is not None)}


def test_001_overfitting_and_overconfidence() -> None:
    findings = described("001")
    assert set(findings) == {"overfitting", "overconfidence"}
    over = findings["overconfidence"]
    assert "confident" in over.summary and "accuracy" in str(over.evidence["confirm_with"])


def test_002_divergence_with_the_fixes_its_answers_gave() -> None:
    findings = described("002")
    assert set(findings) == {"divergence"}
    fixes = [f.action for f in findings["divergence"].fixes]
    assert fixes == ["lower_learning_rate", "add_warmup_and_decay", "clip_gradients", "raise_adam_epsilon",
                     "check_soft_labels"]
    assert findings["divergence"].severity == "error"


def test_004_exploding_nan() -> None:
    findings = described("004")
    assert set(findings) == {"exploding_nan"}
    assert findings["exploding_nan"].fixes[0].action == "clip_gradients"


@pytest.mark.parametrize("code", FINDING_CODES)
def test_every_code_has_a_description_finding_of_the_documented_shape(code: str) -> None:
    symptom = Symptom(code, "some phrase", 0, 11)
    (f,) = findings_from_symptoms([symptom], has_numbers=False)
    assert f.code == code and f.basis == "description" and f.onset is None
    assert 0 < f.confidence <= MAX_CONFIDENCE
    assert f.evidence["phrase"] == "some phrase"
    assert isinstance(f.evidence["confirm_with"], str) and f.evidence["confirm_with"]
    assert f.summary.startswith('From the description ("some phrase")') and f.explanation and f.fixes
    assert len({fix.action for fix in f.fixes}) == len(f.fixes)


def test_numbers_lower_the_confidence_but_keep_the_finding() -> None:
    symptoms = find_symptoms("The validation loss keeps increasing. It is clearly overfitting.")
    (without,) = findings_from_symptoms(symptoms, has_numbers=False)
    (with_numbers,) = findings_from_symptoms(symptoms, has_numbers=True)
    assert with_numbers.code == without.code == "overfitting"
    assert with_numbers.confidence < without.confidence <= MAX_CONFIDENCE
    assert without.evidence["phrases"] == 2


def test_findings_follow_the_catalog_order_one_per_code() -> None:
    symptoms = find_symptoms("The loss becomes nan. Before that the validation loss was increasing and the "
                             "validation loss kept increasing. The training loss fluctuates a lot.")
    codes = [f.code for f in findings_from_symptoms(symptoms, has_numbers=False)]
    assert codes == [c for c in FINDING_CODES if c in {"exploding_nan", "overfitting", "oscillation"}]


def test_unknown_codes_and_no_symptoms_give_nothing() -> None:
    assert findings_from_symptoms([], has_numbers=False) == []
    assert findings_from_symptoms([Symptom("made_up", "x", 0, 1)], has_numbers=False) == []
