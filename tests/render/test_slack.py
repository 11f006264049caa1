"""The Slack card: what the message says, and every block within Slack's documented Block Kit limits.

Slack rejects the whole message (`invalid_blocks`) when one limit is broken, so the limits are checked here
independently of the renderer's own table: https://api.slack.com/reference/block-kit/blocks.
"""

from __future__ import annotations

from typing import Any

import pytest

from lossdoctor.render.slack import to_slack, truncate
from tests.render.conftest import hostile_document

MAX_BLOCKS = 50
TEXT_LIMIT = {"header": 150, "section": 3000, "context": 3000}
MAX_FIELDS, FIELD_TEXT = 10, 2000
MAX_CONTEXT_ELEMENTS = 10
BUTTON_TEXT, BUTTON_URL, ACTION_ID, MAX_ACTIONS = 75, 3000, 255, 25
FALLBACK = 40000  # chat.postMessage `text`; we keep far below


def slack_limit_violations(message: dict[str, Any]) -> list[str]:
    problems = []
    blocks = message["blocks"]
    if len(blocks) > MAX_BLOCKS:
        problems.append(f"{len(blocks)} blocks")
    if not message.get("text") or len(message["text"]) > FALLBACK:
        problems.append("fallback text missing or too long")
    for i, block in enumerate(blocks):
        kind = block["type"]
        if kind == "header":
            text = block["text"]
            if text["type"] != "plain_text" or not 0 < len(text["text"]) <= TEXT_LIMIT["header"]:
                problems.append(f"block {i}: header text")
        elif kind == "section":
            if "text" not in block and "fields" not in block:
                problems.append(f"block {i}: section without text or fields")
            if "text" in block and not 0 < len(block["text"]["text"]) <= TEXT_LIMIT["section"]:
                problems.append(f"block {i}: section text of {len(block['text']['text'])}")
            fields = block.get("fields", [])
            if len(fields) > MAX_FIELDS or any(not 0 < len(f["text"]) <= FIELD_TEXT for f in fields):
                problems.append(f"block {i}: fields")
        elif kind == "context":
            elements = block["elements"]
            if not 0 < len(elements) <= MAX_CONTEXT_ELEMENTS:
                problems.append(f"block {i}: {len(elements)} context elements")
            if any(len(e["text"]) > TEXT_LIMIT["context"] for e in elements):
                problems.append(f"block {i}: context text")
        elif kind == "actions":
            elements = block["elements"]
            if not 0 < len(elements) <= MAX_ACTIONS:
                problems.append(f"block {i}: actions")
            for e in elements:
                too_long = len(e["text"]["text"]) > BUTTON_TEXT or len(e["url"]) > BUTTON_URL
                if too_long or len(e["action_id"]) > ACTION_ID:
                    problems.append(f"block {i}: button")
        elif kind != "divider":
            problems.append(f"block {i}: unknown type {kind}")
    return problems


def test_000_card_says_val_spike_from_epoch_3_and_links_the_plot(doc_000: dict[str, Any]) -> None:
    message = to_slack(doc_000, base_url="https://doctor.example/")
    assert message["blocks"][0]["text"]["text"] == "LossDoctor: val_spike from epoch 3"
    buttons = [e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [b["url"] for b in buttons] == [f"https://doctor.example/v1/diagnoses/{doc_000['id']}/plot.png",
                                           f"https://doctor.example/v1/diagnoses/{doc_000['id']}/report.md"]
    sections = " ".join(b.get("text", {}).get("text", "") for b in message["blocks"] if b["type"] == "section")
    assert "batchnorm_after_recurrent" in sections  # the code finding that explains the spike
    assert slack_limit_violations(message) == []


def test_003_card_carries_the_evidence_as_fields(doc_003: dict[str, Any]) -> None:
    message = to_slack(doc_003)
    fields = [f["text"] for b in message["blocks"] if b["type"] == "section" for f in b.get("fields", [])]
    assert "*best_val_loss*\n0.3736" in fields
    assert not any(b["type"] == "actions" for b in message["blocks"])  # no base URL: no links to offer
    assert slack_limit_violations(message) == []


@pytest.mark.parametrize("findings", [0, 1, 3, 12, 60])
def test_any_number_of_long_hostile_findings_stays_within_the_limits(findings: int) -> None:
    document = hostile_document(findings)
    if findings == 0:
        document["status"] = "healthy"
    message = to_slack(document, base_url="http://127.0.0.1:8000/")
    assert slack_limit_violations(message) == []
    mrkdwn = [b["text"]["text"] for b in message["blocks"] if b["type"] == "section" and "text" in b]
    assert all("<script>" not in t for t in mrkdwn), "user text must be escaped for mrkdwn"


def test_truncation_never_cuts_an_escape_or_a_link() -> None:
    text = "x" * 95 + "&amp;" + "y" * 10
    cut = truncate(text, 98)
    assert cut.endswith("…") and "&am" not in cut and len(cut) <= 98
    link = "a" * 90 + "<https://x.example/plot.png|plot>"
    assert truncate(link, 100) == "a" * 90 + "…"
