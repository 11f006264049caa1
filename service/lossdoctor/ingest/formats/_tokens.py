"""Console text -> a flat list of events (metric pairs, epoch/step markers, progress counters).

One left-to-right pass over tokens found by a single regex without nested quantifiers, so the work
is linear in the text length. Offsets always index the caller's original text: escape sequences are
blanked to spaces of the same length rather than removed.
"""

from __future__ import annotations

import math
import re
from typing import NamedTuple

from lossdoctor.ingest.formats._common import NON_FINITE, NUMBER

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][0-9A-Za-z]|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_TOKEN = re.compile(
    r"(?P<nl>\n)"
    r"|(?P<date>\d{4}-\d\d-\d\d)"
    r"|(?P<time>\d{1,2}(?::\d\d){1,2}(?:[.,]\d+)?)"
    rf"|(?P<num>{NUMBER})(?P<pct>%)?(?:/(?P<tot>\d+))?"
    r"|(?P<word>[^\W\d][\w./-]*)"
    r"|(?P<punct>[^\w\s+-]+|[+-])"
)

_PAIR_LEGEND = re.compile(r"\s*\(\s*(?:epoch|iter|iteration|step|batch|minibatch|mini-batch|i)\s*,\s*"
                          r"(?:epoch|iter|iteration|step|batch|minibatch|mini-batch|i)\s*\)", re.IGNORECASE)
_EPOCH_BATCH = re.compile(r"\[ {0,8}(\d{1,9}), {0,8}(\d{1,9})\]")
# What `Epoch 3`, `Step [100/600]`, `iter 100:` and `GLOBAL_STEP: 5` position a record by.
POSITION_WORDS = {"epoch": "epoch", "ep": "epoch", "step": "step", "global_step": "step", "iter": "step",
                  "iteration": "step", "batch": "step", "globalstep": "step"}
# Words that end a metric name: `a loss of 184` in prose is not a metric called "a loss of".
STOPWORDS = frozenset(
    "a an the of to in on at for is was are be been by with and or from than as that this it its i my we our "
    "you your after before about around over under between per like when then so but not only just very got "
    "get has have had do does did if while up down".split()
)
# Names that count things rather than measure the model (`iters: 2596`, `epochs 75`).
NOT_METRICS = frozenset({"epochs", "steps", "iters", "iterations", "batches", "total", "samples", "eta",
                         "rank", "v_num"})
# `solver.cpp:239]` in a glog prefix is a file and line, not a metric.
_SOURCE_FILE = re.compile(r"\.(?:py|cpp|cc|cxx|c|h|hpp|cu|java|js|ts|go|rs|lua)$")
_MARKER_SEP = frozenset(":=[(#'\"")
_METRIC_SEP = frozenset(":='\"")


class Event(NamedTuple):
    """One thing found in the text; `tok`/`tok_end` are token indices used to measure gaps.

    A NamedTuple rather than a dataclass: a long log makes millions of these, and tuples are cheap.
    """

    kind: str  # "metric" | "marker" | "counter" | "eta" | "nl" (end of record) | "break" (end of segment)
    start: int
    end: int
    tok: int
    tok_end: int
    key: str = ""  # metric name words, or "epoch"/"step" for markers
    value: float = 0.0
    total: int | None = None


def clean(text: str) -> str:
    """Blank ANSI escapes and control characters; a carriage return ends a progress-bar update."""
    blanked = _ANSI.sub(lambda m: " " * len(m.group()), text)
    return blanked.replace("\r", "\n")


def events(text: str) -> list[Event]:
    """Scan cleaned text once and return its events in order."""
    out: list[Event] = []
    words: list[tuple[str, int, int]] = []  # (word, start, token index) of the pending name
    seps: list[str] = []
    skip_to = 0
    for index, m in enumerate(_TOKEN.finditer(text)):
        if m.start() < skip_to:
            continue
        kind = "num" if m.group("num") is not None else m.lastgroup  # `tot` closes last in a number
        pair = _EPOCH_BATCH.match(text, m.start()) if m.group().startswith("[") else None
        if pair is not None:  # the PyTorch tutorial's `[1,  2000] loss: 2.187`: epoch, then batch
            out.append(Event("marker", pair.start(1), pair.end(1), index, index, key="epoch",
                             value=float(pair.group(1))))
            out.append(Event("marker", pair.start(2), pair.end(2), index, index, key="step",
                             value=float(pair.group(2))))
            # `Loss [65, 200](epoch, minibatch):  2.54`: the name before the pair names the value after it,
            # once the pair's legend is skipped.
            legend = _PAIR_LEGEND.match(text, pair.end())
            words = words if words and not text[words[-1][1]:m.start()].count("\n") else []
            seps, skip_to = [], legend.end() if legend else pair.end()
            continue
        if kind == "word":
            word = m.group().rstrip("./-")
            low = word.lower()
            if low in NON_FINITE and words and not _glued(text, m.end()):
                sign = -1.0 if text[m.start() - 1] == "-" else 1.0
                _pair(out, words, seps, sign * NON_FINITE[low], m.end(), index)
                words, seps = [], []
            elif low == "eta":
                out.append(Event("eta", m.start(), m.end(), index, index))
                words, seps = [], []
            else:
                if seps:
                    words, seps = [], []
                words = [*words[-3:], (word, m.start(), index)]
        elif kind == "num":
            if words and not _glued(text, m.end()):
                _after_words(out, words, seps, m, index)
            elif m.group("tot") and m.group("num").isdigit() and not _glued(text, m.end()):
                out.append(Event("counter", m.start(), m.end(), index, index,
                                 value=float(m.group("num")), total=int(m.group("tot"))))
            words, seps = [], []
        elif kind == "punct":
            token = m.group()
            if token in "+-" and _signs_value(text, m.end()):
                continue  # the sign of the value that follows
            if words and len(seps) < 2 and set(token) <= _MARKER_SEP:
                seps.append(token)
                continue
            words, seps = [], []
            if "```" in token:  # a Markdown code fence: the log ends (or starts) here
                out.append(Event("break", m.start(), m.end(), index, index))
            elif "}" in token:  # `{'loss': ..., 'epoch': 1.0}`: a printed dict is one record
                out.append(Event("nl", m.start(), m.end(), index, index))
        else:
            if kind == "nl" and (not out or out[-1].kind != "nl"):
                out.append(Event("nl", m.start(), m.end(), index, index))
            words, seps = [], []
    return out


def _glued(text: str, end: int) -> bool:
    """`236s`, `3ms/step`, `0.2445Epoch`, `0.4.1`: a number with more stuck to it is not a logged value."""
    if end >= len(text):
        return False
    nxt = text[end]
    return nxt.isalpha() or nxt == "_" or (nxt == "." and text[end + 1: end + 2].isdigit())


def _signs_value(text: str, end: int) -> bool:
    """`-0.5`, `-nan`: a sign glued to a number or non-finite token (not `--flag`)."""
    return text[end: end + 1] in tuple("0123456789.") or text[end: end + 3].lower() in ("nan", "inf")


def _after_words(out: list[Event], words: list[tuple[str, int, int]], seps: list[str], m: re.Match[str],
                 index: int) -> None:
    """A number after a name: an `Epoch 3`/`Step [100/600]` marker, or a metric value."""
    word, start, tok = words[-1]
    position = POSITION_WORDS.get(word.lower())
    if position is not None and not m.group("pct"):
        number = m.group("num")
        # HF prints `'epoch': 0.25`: a quoted key may carry a fractional epoch; prose `epoch: 42.8 s` may not.
        quoted = position == "epoch" and any(c in "'\"" for sep in seps for c in sep)
        glued_left = start > 0 and m.string[start - 1].isalnum()  # `0.2445Epoch 1/1000` is a stray fragment
        if not glued_left and (number.isdigit() or quoted) and math.isfinite(float(number)):
            total = int(m.group("tot")) if m.group("tot") else None
            out.append(Event("marker", start, m.end(), tok, index, key=position, value=float(number),
                             total=total))
        return
    value = float(m.group("num")) / (100.0 if m.group("pct") else 1.0)
    if not _accuracy_summary(out, words, m, index):
        _pair(out, words, seps, value, m.end(), index)


_SPLITS = {"train": "train", "training": "train", "test": "test", "testing": "test", "validation": "val",
           "val": "val", "valid": "val", "dev": "val"}
_SPLIT_NOUNS = frozenset({"images", "samples", "examples", "set", "data", "dataset"})
_ACCURACY_BEFORE = re.compile(r"\bacc(?:uracy)?\b", re.IGNORECASE)
# Between `Accuracy` and the split only the count and filler words: `of the network on the 10000`.
_FILLER = re.compile(r"(?:[\s,]+|\d+|of|on|for|over|in|the|a|an|whole|full|network|model|net)*", re.IGNORECASE)
_PERCENT_AFTER = re.compile(r" {0,3}%")


def _accuracy_summary(out: list[Event], words: list[tuple[str, int, int]], m: re.Match[str], index: int) -> bool:
    """The PyTorch tutorial's evaluation print, `Accuracy of the network on the 10000 test images: 54 %`
    (and `Accuracy on 50,000 train images: 40.8 %`): the metric is the split's accuracy, named on the line
    before the count, not the `test images` the value follows."""
    if len(words) < 2 or words[-1][0].lower() not in _SPLIT_NOUNS or words[-2][0].lower() not in _SPLITS:
        return False
    text, split_start = m.string, words[-2][1]
    named = list(_ACCURACY_BEFORE.finditer(text, text.rfind("\n", 0, split_start) + 1, split_start))
    if not named or _FILLER.fullmatch(text, named[-1].end(), split_start) is None:
        return False
    value = float(m.group("num"))
    if m.group("pct") or _PERCENT_AFTER.match(text, m.end()) or 1.0 < value <= 100.0:
        value /= 100.0  # a percentage, with or without its sign: an accuracy is at most 1
    if not 0.0 <= value <= 1.0:
        return False
    out.append(Event("metric", split_start, m.end(), words[-2][2], index,
                     key=f"{_SPLITS[words[-2][0].lower()]}_accuracy", value=value))
    return True


def _pair(out: list[Event], words: list[tuple[str, int, int]], seps: list[str], value: float,
          end: int, index: int) -> None:
    """Emit a metric whose name is the words before the value, cut after the last stopword."""
    if any(set(sep) - _METRIC_SEP for sep in seps):
        return
    name: list[tuple[str, int, int]] = []
    for item in words[-3:]:
        low = item[0].lower()
        name = [] if low in STOPWORDS or low in POSITION_WORDS else [*name, item]
    if not name or name[-1] is not words[-1]:
        return
    key = " ".join(w for w, _, _ in name)
    low = key.lower()
    if low not in NOT_METRICS and not _SOURCE_FILE.search(low):
        out.append(Event("metric", name[0][1], end, name[0][2], index, key=key, value=value))
