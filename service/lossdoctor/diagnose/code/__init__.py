"""Static checks on the code people paste with their curves: the bugs that produce the curves they ask about.

Each rule is a small function `rule(src: Source) -> list[CodeFinding]` in the module of its family; the
table below is the whole list. Rules read code with comments blanked and never assume line breaks
survived. Public API:
- `check_code(block)`: the rules on one code block.
- `check_post(post)`: the rules on all the post's code at once (a model in one block, its training loop
  in another), plus the rules that read the prose too (`vocabulary_truncated`).
"""

from __future__ import annotations

from collections.abc import Callable

from lossdoctor.diagnose.code import data, embedding, keras_losses, loop, recurrent, torch_losses
from lossdoctor.diagnose.code.base import CodeFinding, Source
from lossdoctor.ingest.post import CodeBlock, Post, blank

__all__ = ["CODE_RULES", "POST_RULES", "CodeFinding", "check_code", "check_post"]

Rule = Callable[[Source], list[CodeFinding]]

CODE_RULES: dict[str, Rule] = {
    "embedding_from_pretrained_discarded": embedding.embedding_from_pretrained_discarded,
    "batchnorm_after_recurrent": recurrent.batchnorm_after_recurrent,
    "lstm_dropout_single_layer": recurrent.lstm_dropout_single_layer,
    "hidden_state_not_detached": recurrent.hidden_state_not_detached,
    "no_softmax_before_categorical_crossentropy": keras_losses.no_softmax_before_categorical_crossentropy,
    "keras_from_logits_mismatch": keras_losses.keras_from_logits_mismatch,
    "softmax_before_cross_entropy": torch_losses.softmax_before_cross_entropy,
    "sigmoid_before_bce_with_logits": torch_losses.sigmoid_before_bce_with_logits,
    "missing_eval_mode": loop.missing_eval_mode,
    "missing_zero_grad": loop.missing_zero_grad,
}
# Rules that read the whole post, prose included, as written (no comment masking).
POST_RULES: dict[str, Rule] = {
    "vocabulary_truncated": data.vocabulary_truncated,
}
_SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}


def _run(rules: dict[str, Rule], src: Source) -> list[CodeFinding]:
    return [f for rule in rules.values() for f in rule(src)]


def _ordered(findings: list[CodeFinding]) -> list[CodeFinding]:
    unique = {(f.rule, f.start, f.end, f.severity): f for f in findings}
    return sorted(unique.values(), key=lambda f: (f.start, _SEVERITY_ORDER[f.severity], f.rule))


def check_code(block: CodeBlock) -> list[CodeFinding]:
    """The findings of every code rule on one block, in text order."""
    return _ordered(_run(CODE_RULES, Source(block.text, base=block.start, line0=block.line)))


def check_post(post: Post) -> list[CodeFinding]:
    """The code rules on all of the post's code together (so a model and its loop in separate blocks are read
    as one program), plus the post rules; in text order, each finding once."""
    found: list[CodeFinding] = []
    if post.code_blocks:
        gaps, pos = [], 0
        for b in post.code_blocks:
            gaps.append((pos, b.start))
            pos = b.end
        gaps.append((pos, len(post.text)))
        flat = tuple((b.start, b.end) for b in post.code_blocks if b.line is None)
        found += _run(CODE_RULES, Source(blank(post.text, gaps), flat_spans=flat))
    if post.code_blocks or post.series_spans or post.symptoms:
        found += _run(POST_RULES, Source(post.text, masked=False, flat_spans=_long_lines(post.text)))
    return _ordered(found)


def _long_lines(text: str) -> tuple[tuple[int, int], ...]:
    """Lines of prose so long that a line number would point nowhere useful (a post that lost its breaks)."""
    out, start = [], 0
    for line in text.split("\n"):
        if len(line) > 300:
            out.append((start, start + len(line)))
        start += len(line) + 1
    return tuple(out)
