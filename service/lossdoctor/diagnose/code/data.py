"""Data preparation visible from the post as a whole: a vocabulary cut far below the corpus's."""

from __future__ import annotations

import re

from lossdoctor.diagnose.code.base import CodeFinding, Source

_VOCAB_NUMBER = re.compile(r"\b(?:vocab(?:ulary)?(?:[ _-]?size)?|num_words|max_features|max_words|nb_words|"
                           r"max_nb_words)\b[^.\d\n]{0,40}?(\d{1,3}(?:,\d{3})+|\d+)", re.I)
MIN_CUT = 5.0  # the full vocabulary at least 5x the one kept


def vocabulary_truncated(src: Source) -> list[CodeFinding]:
    """Two vocabulary sizes in one post, one a small fraction of the other (example 004: 2,000 of 114,490):
    most word types are out of vocabulary, so their tokens become one "unknown" (or empty) one-hot row."""
    sizes = []
    for m in src.hits(_VOCAB_NUMBER):
        value = int(m.group(1).replace(",", ""))
        if value >= 100:
            sizes.append((value, m))
    if len(sizes) < 2:
        return []
    kept, where = min(sizes, key=lambda s: s[0])
    full = max(value for value, _ in sizes)
    if full < MIN_CUT * kept:
        return []
    return [src.finding(
        "vocabulary_truncated", "info", where.start(), where.end(),
        why=f"The vocabulary is cut to {kept:,} of {full:,} words: the other {full - kept:,} word types are all "
        "out of vocabulary, so a large share of the tokens (inputs and targets) become one shared unknown or an "
        "all-zero one-hot row, which caps what the model can learn.",
        fix="Keep the words that cover ~95% of the tokens and map the rest to an explicit <UNK> index that is "
        "part of the output layer; or replace one-hot inputs with an Embedding layer and use a sampled / "
        "sparse softmax so a larger vocabulary fits in memory.",
        explains=("plateau", "underfitting"))]
