"""A diagnosis as Markdown: the answer a person who pasted a forum question can read, or paste back.

Every string that may come from the user (metric names, quoted phrases, code snippets) goes through
`prose` or `code`, so a backtick, a pipe or `<script>` in a post can never break the layout or inject
HTML into a forum that renders the answer. Output depends only on the document, so it is cacheable.
"""

from __future__ import annotations

import re
from typing import Any

SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}
_SPECIAL = re.compile(r"([\\`*_\[\]<|~#!])")
# Spans already marked as code, identifiers that are plainly code (snake_case, dotted) and call heads.
_TOKEN = re.compile(r"(`+)(.+?)\1|(?<![\w.])([A-Za-z_]\w*(?:(?:_\w+)|(?:\.[A-Za-z_]\w+))+(?:\()?)|"
                    r"(?<![\w.])([A-Z]\w*[a-z]\w*[A-Z]\w*\()")


def code(text: str) -> str:
    """A code span that survives any backticks inside `text` (CommonMark: a longer fence, padded)."""
    text = " ".join(str(text).splitlines())
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip() else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def escape(text: str) -> str:
    """Backslash-escape what Markdown or a table would interpret (`>` only where it opens a quote, `&` only
    where it would spell an entity): enough to be safe, little enough that the raw text stays readable."""
    out = _SPECIAL.sub(r"\\\1", " ".join(str(text).splitlines()))
    return re.sub(r"&(?=#?\w+;)", r"\\&", re.sub(r"^(\s*)>", r"\1\\>", out))


def name(text: str) -> str:
    """An identifier-like word (a fix's action) needs no escaping: CommonMark ignores intraword `_`."""
    return str(text) if re.fullmatch(r"\w+", str(text)) else escape(text)


def _call_end(text: str, start: int) -> int:
    """Index just past the parenthesis that closes the call opened at `text[start - 1]`, or -1."""
    depth = 1
    for i in range(start, len(text)):
        depth += {"(": 1, ")": -1}.get(text[i], 0)
        if depth == 0:
            return i + 1
    return -1


def prose(text: str) -> str:
    """Escaped text in which code (existing code spans, calls, snake_case names) is set as code spans."""
    text = " ".join(str(text).splitlines())
    out: list[str] = []
    pos = 0
    while True:
        m = _TOKEN.search(text, pos)
        if m is None:
            break
        out.append(escape(text[pos:m.start()]))
        if m.group(1):
            out.append(code(m.group(2)))
            pos = m.end()
            continue
        token = m.group(3) or m.group(4)
        end = _call_end(text, m.end()) if token.endswith("(") else m.end()
        if end < 0:  # an unclosed call: set the name alone as code
            out.append(code(token[:-1]) + "(")
            pos = m.end()
            continue
        out.append(code(text[m.start():end]))
        pos = end
    out.append(escape(text[pos:]))
    return "".join(out)


def onset_text(onset: Any) -> str:
    """`{"epoch": 3}` reads as "epoch 3"; a description-based finding has no onset."""
    if not isinstance(onset, dict) or not onset:
        return ""
    axis, value = next(iter(sorted(onset.items())))
    return f"{escape(axis)} {escape(value)}"


def value_text(value: Any) -> str:
    """Evidence values as a reader expects them: numbers plain, booleans as yes/no, nothing as a dash."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return f"{value:g}" if isinstance(value, float) and abs(value) >= 1e6 else str(value)
    if isinstance(value, list | tuple):
        return ", ".join(value_text(v) for v in value)
    return prose(str(value))


def cell(text: str) -> str:
    """GFM splits table cells on every unescaped pipe, even inside a code span."""
    return re.sub(r"(?<!\\)\|", r"\\|", text)


def ordered(findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Most severe first; the engine's own order breaks ties (it is already by confidence)."""
    return sorted(findings, key=lambda f: SEVERITY_ORDER.get(str(f.get("severity")), 3))


def verdict(document: dict[str, Any]) -> str:
    findings = ordered(list(document.get("findings") or []))
    status = str(document.get("status", "unknown"))
    if not findings:
        if status == "insufficient_data":
            return "**Not enough data**: no loss curve has 3 points yet, so nothing can be judged."
        return "**Healthy**: no pathology found in this run."
    top = findings[0]
    when = onset_text(top.get("onset"))
    more = f" (+{len(findings) - 1} more)" if len(findings) > 1 else ""
    return (f"**{escape(status.replace('_', ' ').capitalize())}**: {code(top.get('code', ''))}"
            f"{' from ' + when if when else ''}{more}.")


def _finding(f: dict[str, Any]) -> list[str]:
    when = onset_text(f.get("onset"))
    head = f"### {code(f.get('code', ''))} · {escape(f.get('severity', ''))}" + (f" · from {when}" if when else "")
    lines = [head, "", prose(f.get("summary", ""))]
    evidence = dict(f.get("evidence") or {})
    if f.get("basis") == "description":
        confirm = evidence.pop("confirm_with", None)
        lines += ["", "_This comes from the description, not from numbers_"
                  + (f"; to confirm it, share {prose(confirm)}." if confirm else ".")]
    rows = [(k, v) for k, v in evidence.items() if v is not None]
    if rows:
        lines += ["", "| evidence | value |", "|---|---|"]
        lines += [f"| {cell(code(k))} | {cell(value_text(v))} |" for k, v in rows]
    fixes = list(f.get("fixes") or [])
    if fixes:
        lines += ["", "**What to try:**", ""]
        lines += [f"- [ ] **{name(x.get('action', ''))}** — {prose(x.get('detail', ''))}" for x in fixes]
    return lines


def _code_finding(c: dict[str, Any]) -> list[str]:
    where = f"line {c['line']}" if isinstance(c.get("line"), int) else code(c.get("snippet", ""))
    lines = [f"- **{name(c.get('rule', ''))}** ({escape(c.get('severity', ''))}) at {where}",
             f"  - Why: {prose(c.get('why', ''))}", f"  - Fix: {prose(c.get('fix', ''))}"]
    explains = list(c.get("explains_findings") or [])
    if explains:
        lines.append("  - Explains: " + ", ".join(code(e) for e in explains))
    return lines


def to_markdown(document: dict[str, Any]) -> str:
    """The whole answer: verdict, one section per finding, then what was found in the posted code."""
    lines = ["## LossDoctor diagnosis", "", verdict(document)]
    findings = ordered(list(document.get("findings") or []))
    if findings:
        lines += ["", "## Findings"]
        for f in findings:
            lines += [""] + _finding(f)
    code_findings = list(document.get("code_findings") or [])
    if code_findings:
        lines += ["", "## In your code", ""]
        for c in code_findings:
            lines += _code_finding(c)
    link = (document.get("links") or {}).get("self")
    if link:
        lines += ["", f"Diagnosis {code(document.get('id', ''))}: {code(link)}"]
    return "\n".join(lines) + "\n"
