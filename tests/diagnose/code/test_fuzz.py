"""`read_post` and the code rules on hostile text: they raise nothing but LossDoctorError and stay fast."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lossdoctor.diagnose.code import check_code, check_post
from lossdoctor.diagnose.description import findings_from_symptoms
from lossdoctor.exceptions import LossDoctorError
from lossdoctor.ingest.post import read_post

EXAMPLES = Path(__file__).parents[2] / "data" / "examples"
FRAGMENTS = ["def ", "class ", "nn.", "(", ")", "[", "]", "=", ":", "#", '"""', "'", '"', "```", "\n", "    ",
             "self.", "LSTM(", "BatchNorm1d(", "from_pretrained(", "loss=", "'categorical_crossentropy'",
             "Dense(", "softmax", "for x in val_loader:", ".backward()", "optimizer.step()", "Epoch 1/5 ",
             "loss: 0.5 ", "val_loss: nan ", "validation loss increases ", "vocab_size 2000 ", " the ", "0.693"]
ADVERSARIAL = {
    "open brackets": "((((" * 50_000,
    "def def": "def " * 50_000,
    "nn dots": "nn." * 66_000,
    "one long word": "a" * 200_000,
    "calls": "x = f(" * 33_000,
    "comments": "# " * 100_000,
    "triple quotes": '"""' * 66_000,
    "fences": "```" * 66_000,
    "quotes": "'a " * 66_000,
    "nested modules": "self.bn = nn.BatchNorm1d(self.lstm = nn.LSTM(" * 4_000,
    "forward": "def forward(self, x): return F.softmax(x) " * 5_000,
    "symptom words": "validation loss training loss then increases nan " * 4_000,
    "log soup": "Epoch 1/5 loss: 0.5 val_loss: 0.6 = ( " * 5_000,
}


def _check(text: str) -> None:
    try:
        post = read_post(text)
    except LossDoctorError:
        return
    for block in post.code_blocks:
        check_code(block)
    check_post(post)
    findings_from_symptoms(post.symptoms, has_numbers=post.run is not None)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=8)), max_size=120))
def test_fragments_never_raise_anything_else(parts: list[str]) -> None:
    _check("".join(parts))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(EXAMPLES.glob("0*.txt"))), st.integers(0, 5000), st.integers(0, 5000),
       st.sampled_from(FRAGMENTS))
def test_cut_and_spliced_founding_examples(path: Path, a: int, b: int, insert: str) -> None:
    text = path.read_text(encoding="utf-8")
    _check(text[: min(a, b)] + insert + text[max(a, b) :])


@pytest.mark.parametrize("name", sorted(ADVERSARIAL))
def test_adversarial_text_is_linear(name: str) -> None:
    started = time.perf_counter()
    _check(ADVERSARIAL[name])
    assert time.perf_counter() - started < 5.0
