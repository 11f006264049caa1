"""Pretrained embeddings that never reach the model."""

from __future__ import annotations

import re

from lossdoctor.diagnose.code.base import CodeFinding, Source

_FROM_PRETRAINED = re.compile(r"\b(?:(?:torch\.)?nn\.)?Embedding(?:Bag)?\.from_pretrained\s*\("
                              r"|\bself\.\w+\.from_pretrained\s*\(")
_HEADER = re.compile(r"\b(?:if|elif|else|for|while|with|try|except|finally)\b[^:{}=\[\]]*$")
_USED_AFTER = ("return", "yield", "lambda", "else", "and", "or", "in", "not", "await")


def _discarded(code: str, at: int) -> bool:
    """True when the call is a statement of its own: nothing before it takes its value.

    After a `:` it is a statement only when the `:` ends a block header (`if ...: nn.Embedding...`);
    after a dict key or a lambda the value is used."""
    before = code[max(0, at - 120) : at].rstrip()
    if not before:
        return True
    last = before[-1]
    if last in "=([{,+-*/%<>|&~@!.":
        return False
    if last == ":":
        return bool(_HEADER.search(before[:-1]))
    word = re.search(r"\w+$", before)
    return not (word and word.group(0) in _USED_AFTER)


def embedding_from_pretrained_discarded(src: Source) -> list[CodeFinding]:
    """`nn.Embedding.from_pretrained(w)` is a class method that *returns* a new layer; as a bare statement its
    result is dropped and the model trains its randomly initialised embedding instead (example 000)."""
    out = []
    for m in src.hits(_FROM_PRETRAINED):
        if not _discarded(src.code, m.start()):
            continue
        out.append(src.finding(
            "embedding_from_pretrained_discarded", "error", m.start(), src.call_end(m),
            why="`Embedding.from_pretrained(...)` builds and returns a new embedding layer; its result is not "
            "assigned, so the pretrained vectors are thrown away and the model keeps its randomly initialised "
            "embedding.",
            fix="Assign it to the layer the forward pass uses: `self.embd = nn.Embedding.from_pretrained("
            "torch.from_numpy(pretrained_embedding).float(), freeze=False)` (or copy the weights in: "
            "`self.embd.weight.data.copy_(torch.from_numpy(pretrained_embedding))`).",
            explains=("underfitting",),
        ))
    return out
