"""Run the code rules on a snippet as people paste it: with its line breaks, or flattened to one line."""

from __future__ import annotations

import pytest

from lossdoctor.diagnose.code import CodeFinding, check_code, check_post
from lossdoctor.ingest.post import CodeBlock, read_post

LAYOUTS = [pytest.param(False, id="lines"), pytest.param(True, id="flat")]
PROSE_BEFORE = "My model trains but the curves look wrong. Here is the code:\n\n"
PROSE_AFTER = "\n\nWhat am I doing wrong? Any help would be appreciated, I am really stuck with this."


def flatten(text: str) -> str:
    """What a copy from a web page often makes of code: every line break and indent becomes one space."""
    return " ".join(text.split())


def as_post(code: str, flat: bool) -> str:
    text = PROSE_BEFORE + code.strip("\n") + PROSE_AFTER
    return flatten(text) if flat else text


def post_findings(code: str, flat: bool) -> list[CodeFinding]:
    """Findings through the whole pipeline: code found in the post by `read_post`, rules by `check_post`."""
    return check_post(read_post(as_post(code, flat)))


def block_findings(code: str, flat: bool) -> list[CodeFinding]:
    """Findings of `check_code` on the snippet given directly as one block."""
    text = flatten(code) if flat else code
    return check_code(CodeBlock(0, len(text), "python", None, text, None if flat else 1))


def rules(findings: list[CodeFinding]) -> set[str]:
    return {f.rule for f in findings}
