"""What a code rule returns, and the masked source every rule reads.

Rules match regexes on the code with comments and docstrings blanked out, so `# x = self.logsoftmax(x)`
does not count as a softmax, and with every offset kept (the blanked text has the same length), so a
match is also a position in the post. Pasted code often lost its line breaks; where a comment then ends
is guessed: a commented-out statement ends with its closing bracket, a prose comment where code resumes.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from itertools import islice
from typing import Literal

Severity = Literal["error", "warning", "info"]
MAX_HITS = 200  # matches of one pattern a rule looks at: a real post has a handful, a flood gets no more time
COMMENT_CAP = 400  # a flattened comment runs at most this far when no code follows it
FLAT_LINE = 300  # a line longer than this lost its line breaks: a comment on it cannot run to its end


@dataclass(frozen=True)
class CodeFinding:
    rule: str
    severity: Severity
    snippet: str  # the code text exactly as pasted
    start: int  # offsets into the post
    end: int
    line: int | None  # line in the post; None where the code lost its line breaks
    why: str
    fix: str
    explains: tuple[str, ...]  # finding codes this would explain


_LEX = re.compile(r"\"\"\"|'''|[\"'#\n]")
_STATEMENT = re.compile(r"[ \t]*[A-Za-z_][\w.]*+(?:\[[^\]\n]{0,40}\])?[ \t]*(?:=(?!=)|\()")
_CODE_RESUMES = re.compile(r"\b[A-Za-z_]\w*+(?:\.[A-Za-z_]\w*+)+|\b[A-Za-z_]\w*+[ \t]*(?:=(?!=)|\()|\bdef\b"
                           r"|\bclass\s+\w+|#")
_BRACKETS = re.compile(r"[()\[\]{}]")
_PAIRS = {")": "(", "]": "[", "}": "{"}


def _statement_end(code: str, start: int) -> int:
    """End of the one statement at `start` (a commented-out `sgd = SGD(lr=0.01)` on a flattened line)."""
    depth, seen, assigned, limit = 0, False, False, min(len(code), start + 600)
    for i in range(start, limit):
        ch = code[i]
        if ch in "([{":
            depth, seen = depth + 1, True
        elif ch in ")]}":
            depth -= 1
            if depth <= 0:
                j = i + 1
                while j < limit and code[j] == " ":
                    j += 1
                if depth < 0 or j >= limit or code[j] not in "([.":
                    return i + 1
        elif ch == "=":
            assigned = True
        elif ch == "#" and depth == 0 and i > start:
            return i
        elif ch == " " and depth == 0 and not seen and assigned and code[i - 1] not in "= ":
            return i
    return limit


def _flat_at(code: str, at: int) -> bool:
    """Whether the line at `at` lost its line breaks: code with no line break at all, or a line far longer
    than code lines are."""
    return "\n" not in code[max(0, at - FLAT_LINE) : at + FLAT_LINE]


def _comment_end(code: str, at: int, flat: bool) -> int:
    if not (flat or _flat_at(code, at)):
        end = code.find("\n", at)
        return len(code) if end < 0 else end
    if _STATEMENT.match(code, at + 1):
        return _statement_end(code, at + 1)
    resumed = _CODE_RESUMES.search(code, at + 1, min(len(code), at + 1 + COMMENT_CAP))
    return resumed.start() if resumed else min(len(code), at + 1 + COMMENT_CAP)


def _string_end(code: str, at: int, quote: str) -> int | None:
    """Index after the closing quote of a one-line string opened at `at`, or None (a stray apostrophe)."""
    limit = min(len(code), at + 500)
    newline = code.find("\n", at, limit)
    limit = newline if newline >= 0 else limit
    i = at + 1
    while i < limit:
        j = code.find(quote, i, limit)
        if j < 0:
            return None
        if code[j - 1] != "\\":
            return j + 1
        i = j + 1
    return None


def mask_comments(code: str) -> str:
    """`code` with comments and triple-quoted strings blanked; same length, line breaks kept."""
    out: list[str] = []
    pos = done = 0
    flat = "\n" not in code
    while True:
        m = _LEX.search(code, pos)
        if m is None:
            break
        token, at = m.group(0), m.start()
        if token == "\n":
            pos = m.end()
            continue
        if token in ('"""', "'''"):
            close = code.find(token, m.end())
            end = len(code) if close < 0 else close + 3
        elif token == "#":
            end = _comment_end(code, at, flat)
        else:
            closing = _string_end(code, at, token)
            pos = closing if closing is not None else m.end()
            continue
        out += [code[done:at], re.sub(r"[^\n]", " ", code[at:end])]
        pos = done = max(end, at + 1)
    out.append(code[done:])
    return "".join(out)


@dataclass(frozen=True)
class Source:
    """The code a rule reads: `code` (masked) and `raw` have the same length; `base` maps to the post."""

    raw: str
    base: int = 0
    line0: int | None = 1  # post line of raw[0]; None when the code lost its line breaks
    flat_spans: tuple[tuple[int, int], ...] = ()  # parts (relative) that lost their line breaks
    masked: bool = True  # False: rules read the text as is (prose, where `#` and quotes mean nothing)
    code: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "code", mask_comments(self.raw) if self.masked else self.raw)

    @cached_property
    def _closers(self) -> dict[int, int]:
        """Index of each opening bracket -> index after its closing bracket (one pass, a stack)."""
        out: dict[int, int] = {}
        stack: list[tuple[str, int]] = []
        for m in _BRACKETS.finditer(self.code):
            ch = m.group(0)
            if ch in "([{":
                stack.append((ch, m.start()))
            elif stack and stack[-1][0] == _PAIRS[ch]:
                out[stack.pop()[1]] = m.end()
        return out

    @cached_property
    def _bracket_edges(self) -> tuple[list[int], list[int]]:
        return sorted(self._closers), sorted(end - 1 for end in self._closers.values())

    def nested(self, pos: int) -> bool:
        """Whether `pos` is inside a closed bracket pair (the `for` of a generator, not a loop statement)."""
        openers, closers = self._bracket_edges
        return bisect.bisect_left(openers, pos) > bisect.bisect_left(closers, pos)

    def close(self, opener: int) -> int | None:
        """Index after the bracket that closes the one at `opener` (None when it is never closed)."""
        return self._closers.get(opener)

    def hits(self, pattern: re.Pattern[str], start: int = 0, end: int | None = None) -> Iterator[re.Match[str]]:
        return islice(pattern.finditer(self.code, start, len(self.code) if end is None else end), MAX_HITS)

    def call_end(self, m: re.Match[str]) -> int:
        """End of the call whose opening bracket ends match `m` (or the match end when unclosed)."""
        return self.close(m.end() - 1) or m.end()

    def finding(self, rule: str, severity: Severity, start: int, end: int, why: str, fix: str,
                explains: tuple[str, ...] = ()) -> CodeFinding:
        line = None
        if self.line0 is not None and not any(a <= start < b for a, b in self.flat_spans):
            line = self.line0 + self.raw.count("\n", 0, start)
        return CodeFinding(rule, severity, self.raw[start:end], self.base + start, self.base + end, line, why,
                           fix, explains)


def top_level_args(text: str) -> list[str]:
    """The comma-separated arguments of a call's bracket contents, ignoring commas in nested brackets."""
    out, depth, begin = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            out.append(text[begin:i].strip())
            begin = i + 1
    out.append(text[begin:].strip())
    return [a for a in out if a]


def keyword(args: list[str], name: str) -> str | None:
    """The value of keyword argument `name`, or None."""
    for a in args:
        key, eq, value = a.partition("=")
        if eq and key.strip() == name:
            return value.strip()
    return None


def statement_start(code: str, at: int) -> int:
    """Back over an assignment target before `at` (`x = self.bn(x)` -> the `x`)."""
    m = re.search(r"[A-Za-z_][\w.]*(?:\s*,\s*[A-Za-z_][\w.]*)*\s*=\s*$", code[max(0, at - 60) : at])
    return at - (len(code[max(0, at - 60) : at]) - m.start()) if m else at
