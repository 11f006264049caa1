"""A pasted forum post split into prose, code and training log.

Line breaks are often lost on the way (example 000 is one line: prose, a log, then `class RNN(nn.Module):
def __init__(...`), so code is found by the *kind of words*, not by lines: identifiers with dots,
underscores, brackets or `=` are code, plain words are prose, numbers and keywords that are also English
("if", "in") are neutral. A code block is a stretch of code words without `PROSE_RUN` prose words in a row
that holds a real statement. Comments, docstrings and strings inside code are neutral; markdown fences and
indented lines make a block more lenient. Every step is one pass over the text: no backtracking regexes.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from lossdoctor.exceptions import InputTooLarge
from lossdoctor.ingest.formats import parse_log_text
from lossdoctor.ingest.symptoms import Symptom, find_symptoms
from lossdoctor.run import Run

MAX_POST_CHARS = 1_000_000
PROSE_RUN = 4  # this many plain words in a row end a code block (3 fit in `for file in documents:`)
FENCED_PROSE_RUN = 12  # inside a markdown fence the author has said it is code
REAL_LOG_CHARS = 60  # a log span this long is a log; shorter ones inside code are `lr=0.01` arguments
FLATTENED_CHARS = 300  # a post line this long holding code lost its line breaks: no line numbers

Language = Literal["python", "unknown"]
Framework = Literal["pytorch", "keras"]


@dataclass(frozen=True)
class CodeBlock:
    start: int  # character offsets into the post
    end: int
    language: Language
    framework: Framework | None
    text: str  # == post text[start:end]
    line: int | None = None  # post line of `start`; None when the block lost its line breaks


@dataclass(frozen=True)
class Post:
    text: str
    run: Run | None
    series_spans: list[tuple[int, int]]
    code_blocks: list[CodeBlock]
    symptoms: list[Symptom]

    def prose(self) -> str:
        """The post with code and log spans blanked (same length and line breaks, so offsets hold)."""
        return blank(self.text, [(b.start, b.end) for b in self.code_blocks] + list(self.series_spans))


_WORD = re.compile(r"\S+")
_CODE_WORD = re.compile(  # possessive `\w*+` after `\b`: a 200k-character word is scanned once, not per offset
    r"\b[A-Za-z_]\w*+[(\[]|[\w)\]'\"]=|=[\w(\[{'\"-]|^(?:=|==|\+=|-=|\*=|/=|->|!=|:=)$"
    r"|\b[A-Za-z_]\w*+\.[A-Za-z_]\w|[A-Za-z0-9]_\w|^_{1,2}\w|\):$|^@\w|\w\]"
    r"|^(?:def|self|None|True|False|lambda|elif|nn|np|torch|tf|keras|import|super|print)\b")
_NEUTRAL_WORD = re.compile(r"^[\W\d_]*$|^[-+~]?\d[\w.,:%/]*$")
_KEYWORDS = frozenset("if in is not and or for as with from return else else: while try: pass break continue class "
                      "yield raise except except: finally: global del assert".split())
_STATEMENT_START = frozenset("class def from import for if while with return @ async elif".split())
_BACK_OVER = frozenset("class def from import return @ async".split())  # English-looking ones (with, if) are not
_SHORT_STATEMENTS = frozenset("return pass break continue raise yield".split())
_HEADER = re.compile(r"\b(?:for|if|elif|while|with)\b[^:=\n]{0,60}$")  # `for x in` before `loader:`
_ANCHOR = re.compile(r"\b(?:def|class)\s+\w+\s*[(:]|\bimport\s+[\w.]+|[\w\])]\s*=\s*[\w.\[\]]++\("
                     r"|\b[A-Za-z_]\w*+\.\w++\([^()\n]{0,200}\)")
_PYTHON = re.compile(r"\bdef |\bclass \w+|\bimport |\bself\.|\bnn\.|\bnp\.|\btorch\b|\bkeras\b|\bNone\b|\bTrue\b")
_PYTORCH = re.compile(r"\btorch\b|\bnn\.[A-Z]|nn\.Module|\.backward\(|\boptim\.|\bF\.\w+\(")
_KERAS = re.compile(r"\bkeras\b|\.compile\(|\bSequential\(|\.fit(?:_generator)?\(|\bDense\(|BatchNormalization\("
                    r"|return_sequences|\bInput\(shape|\bTimeDistributed\(")
_FENCE = re.compile(r"```([A-Za-z0-9_+-]*)")
_TRIPLE = re.compile(r"\"\"\"|'''")
_NOT_NEWLINE = re.compile(r"[^\n]")
_QUOTE = re.compile(r"\"|(?<![A-Za-z])[fFrRbBuU]?'|'(?![A-Za-z])")


def blank(text: str, spans: list[tuple[int, int]]) -> str:
    """`text` with the spans replaced by spaces, line breaks kept: offsets and line numbers stay valid."""
    out, pos = [], 0
    for start, end in sorted(spans):
        start, end = max(start, pos), min(end, len(text))
        if start < end:
            out += [text[pos:start], _NOT_NEWLINE.sub(" ", text[start:end])]
            pos = end
    out.append(text[pos:])
    return "".join(out)


def _pairs(pattern: re.Pattern[str], text: str) -> list[tuple[int, int, str]]:
    """Openers and closers paired in order: (start of opener, end of closer, what the opener captured)."""
    marks, out, i = list(pattern.finditer(text)), [], 0
    while i + 1 < len(marks):
        opener = marks[i]
        j = next((k for k in range(i + 1, len(marks)) if marks[k].group(0)[:3] == opener.group(0)[:3]), None)
        if j is None:
            break
        out.append((opener.start(), marks[j].end(), opener.group(1) if opener.groups() else ""))
        i = j + 1
    return out


def _inside(spans: list[tuple[int, int]], pos: int) -> tuple[int, int] | None:  # spans sorted, disjoint
    i = bisect.bisect_right(spans, (pos, 1 << 62)) - 1
    return spans[i] if i >= 0 and spans[i][0] <= pos < spans[i][1] else None


def _quote_toggles(word: str) -> str:  # quotes that open or close a string in `word`; apostrophes do not
    return "".join(q[-1] for q in _QUOTE.findall(word))


class _Scanner:
    """One pass over the words of the post, collecting candidate code stretches (start, end)."""

    def __init__(self, text: str, barriers: list[tuple[int, int]], fences: list[tuple[int, int]]) -> None:
        self.text, self.barriers, self.fences = text, sorted(barriers), fences
        self.strings = [(a, b) for a, b, _ in _pairs(_TRIPLE, text)]
        self.found: list[tuple[int, int]] = []
        self.counts = (0, 0)  # code words, prose words of the current stretch

    def words(self) -> Iterator[re.Match[str]]:  # a word in a barrier is yielded (the block closes), the rest skipped
        pos = 0
        while (m := _WORD.search(self.text, pos)) is not None:
            barrier = _inside(self.barriers, m.start())
            pos = barrier[1] if barrier is not None else m.end()
            yield m

    def scan(self) -> list[tuple[int, int]]:
        start, last, prose, mode_left, prev_end, comment_flat = -1, -1, 0, 0, 0, False
        mode = ""  # "#": in a comment, a quote character: in a string, "": code or prose
        line_is_code = ""  # "statement": the whole line is code, "indented": its words do not count as prose
        word = ""
        for m in self.words():
            previous, word, pos = word, m.group(0), m.start()
            new_line = "\n" in self.text[prev_end:pos]
            prev_end = m.end()
            if _inside(self.barriers, pos) is not None or word.startswith("```"):
                start, mode = self._close(start, last), ""
                continue
            if new_line:
                line_is_code = self._code_line(word, m.end()) if start >= 0 else ""
            if mode == "#":  # a comment ends at its line break or, when that was lost, where code resumes
                mode_left -= 1
                if not (new_line or mode_left <= 0 or (comment_flat and _CODE_WORD.search(word[:120]))):
                    continue
                mode = ""
            elif mode:
                mode_left -= 1
                if mode in _quote_toggles(word) or mode_left <= 0:
                    mode = ""
                continue
            if start >= 0 and (word.startswith("#") or _inside(self.strings, pos) is not None):
                if word.startswith("#"):
                    mode, mode_left, comment_flat = "#", 40, "\n" not in self.text[pos : pos + 300]
                continue
            toggles = _quote_toggles(word)
            if start >= 0 and len(toggles) % 2 == 1:
                mode, mode_left = toggles[-1], 30
            header_end = word.endswith(":") and previous in ("in", "if", "elif", "while", "not", "is", "else")
            if _CODE_WORD.search(word[:120]) or header_end or (start >= 0 and line_is_code == "statement"):
                prose, start = (0, self._statement_start(pos, word)) if start < 0 else (prose, start)
                last, prose, self.counts = m.end(), 0, (self.counts[0] + 1, self.counts[1] + prose)
            elif start >= 0 and not line_is_code and not _NEUTRAL_WORD.match(word) and word not in _KEYWORDS:
                prose += 1
                if prose >= (FENCED_PROSE_RUN if _inside(self.fences, pos) else PROSE_RUN):
                    start = self._close(start, last)
        self._close(start, last)
        return self.found

    def _code_line(self, first: str, first_end: int) -> str:
        """A line that starts a statement (`for f in files:`, `return x`) is code as a whole; the words of an
        indented line inside a block do not count as prose."""
        line_end = self.text.find("\n", first_end)
        line = self.text[self.text.rfind("\n", 0, first_end) + 1 : line_end if line_end >= 0 else len(self.text)]
        if (first in _SHORT_STATEMENTS and len(line.split()) <= 4) or (
                first in _STATEMENT_START and line.rstrip().endswith(":")):
            return "statement"
        return "indented" if line[:1] in (" ", "\t") and len(line) - len(line.lstrip()) >= 2 else ""

    def _statement_start(self, pos: int, word: str) -> int:
        """Back over what opens the statement: keywords (`from torch import nn`, `for x in loader:`) and the
        targets of an assignment whose `=` was the first code word (`inputs = Input(...)`, `x, h = ...`)."""
        start, assignment = pos, word.startswith("=")
        for _ in range(3):
            before = self.text[max(0, start - 40) : start].rstrip()
            last = before.split()[-1] if before.split() else ""
            if last not in _BACK_OVER and not (assignment and re.fullmatch(r"[A-Za-z_][\w.]*,?", last)):
                break
            start = before.rfind(last) + max(0, start - 40)
        header = _HEADER.search(self.text, max(0, start - 70), start) if word.endswith(":") else None
        return header.start() if header else start

    def _close(self, start: int, last: int) -> int:
        """Keep the stretch when it has fewer prose words than code words (else it is code named in a sentence)."""
        self.found += [(start, last)] if 0 <= start < last and self.counts[1] < self.counts[0] else []
        self.counts = (0, 0)
        return -1


def _qualifies(text: str) -> bool:
    """A block holds a real statement and several code words (`torch.argmax(x, 1)` alone is a mention)."""
    return bool(_ANCHOR.search(text)) and (sum(1 for w in text.split()[:50] if _CODE_WORD.search(w[:120])) >= 3
                                           or len(text) >= 40)


def _block(text: str, start: int, end: int, fence_lang: str, newlines: list[int]) -> CodeBlock:
    code = text[start:end]
    python = fence_lang.lower() in ("py", "python", "python3") or bool(_PYTHON.search(code))
    torch_hits, keras_hits = len(_PYTORCH.findall(code)), len(_KERAS.findall(code))
    framework: Framework | None = "pytorch" if torch_hits >= keras_hits else "keras"
    i = bisect.bisect_right(newlines, start)
    line_length = (newlines[i] if i < len(newlines) else len(text)) - (newlines[i - 1] + 1 if i else 0)
    line = None if "\n" not in code and line_length > FLATTENED_CHARS else i + 1
    return CodeBlock(start, end, "python" if python else "unknown", framework if torch_hits + keras_hits else None,
                     code, line)


def find_code_blocks(text: str, log_spans: list[tuple[int, int]] | None = None) -> list[CodeBlock]:
    """The code blocks of `text`; `log_spans` (long console-log spans) are never part of a block."""
    languages = {(a, b): lang for a, b, lang in _pairs(_FENCE, text)}
    fences = sorted(languages)
    newlines = [m.start() for m in re.finditer("\n", text)]
    blocks = []
    for start, end in _Scanner(text, log_spans or [], fences).scan():
        if _qualifies(text[start:end]):
            fence = _inside(fences, start)
            blocks.append(_block(text, start, end, languages[fence] if fence else "", newlines))
    return blocks


def read_post(text: str) -> Post:
    """Split a pasted post into its log (a `Run`), code blocks and described symptoms; InputTooLarge past the cap."""
    if len(text) > MAX_POST_CHARS:
        raise InputTooLarge(f"the post is {len(text):,} characters; the limit is {MAX_POST_CHARS:,}",
                            limit=MAX_POST_CHARS)
    found = parse_log_text(text)
    spans = found[1] if found else []
    blocks = find_code_blocks(text, [(a, b) for a, b in spans if b - a >= REAL_LOG_CHARS])
    code = [(b.start, b.end) for b in blocks]
    if any((c := _inside(code, a)) is not None and b <= c[1] for a, b in spans):
        # numbers read from code arguments (`SGD(lr=0.04)`) are not a log: read again without the code
        found = parse_log_text(blank(text, code))
        spans = found[1] if found else []
    return Post(text, found[0] if found else None, list(spans), blocks, find_symptoms(blank(text, code + spans)))
