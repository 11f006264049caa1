"""A diagnosis as a Slack Block Kit message, for teams that post training alerts to a channel.

Slack rejects a whole message when one limit is exceeded, and a diagnosis holds user-derived text of any
length, so every text is escaped and cut here to Slack's documented limits (`LIMITS`), never inside a
link or an escape, so what we send is always accepted and always renders.
"""

from __future__ import annotations

import re
from typing import Any

from lossdoctor.render.markdown import ordered

# https://api.slack.com/reference/block-kit/blocks (header, section, context, actions) and chat.postMessage.
LIMITS = {
    "blocks": 50,
    "header": 150,
    "section_text": 3000,
    "fields": 10,
    "field_text": 2000,
    "context_elements": 10,
    "button_text": 75,
    "fallback": 3000,
}
EMOJI = {"error": ":red_circle:", "warning": ":large_orange_circle:", "info": ":large_blue_circle:"}
TOP_FINDINGS = 3
TOP_FIXES = 3
_UNSPLITTABLE = re.compile(r"<[^<>]*>|&(?:amp|lt|gt);")


def escape(text: Any) -> str:
    """The three characters Slack's mrkdwn reserves for links, mentions and escapes."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def truncate(text: str, limit: int) -> str:
    """At most `limit` characters, ending in an ellipsis when cut; never cuts a `<link|label>` or `&amp;`."""
    if len(text) <= limit:
        return text
    cut = limit - 1
    for token in _UNSPLITTABLE.finditer(text):
        if token.start() < cut < token.end():
            cut = token.start()
            break
    return text[:cut].rstrip() + "…"


def _onset(onset: Any) -> str:
    if not isinstance(onset, dict) or not onset:
        return ""
    axis, value = next(iter(sorted(onset.items())))
    return f"{axis} {value}"


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _mrkdwn(text: str, limit: int) -> dict[str, str]:
    return {"type": "mrkdwn", "text": truncate(text, limit) or " "}


def headline(document: dict[str, Any]) -> str:
    """The verdict in plain words; it carries no user text (codes and onsets come from the engine)."""
    findings = ordered(list(document.get("findings") or []))
    if not findings:
        if document.get("status") == "insufficient_data":
            return "LossDoctor: not enough data to judge this run"
        return "LossDoctor: healthy run, no pathology found"
    top = findings[0]
    when = _onset(top.get("onset"))
    more = f" (+{len(findings) - 1} more)" if len(findings) > 1 else ""
    return f"LossDoctor: {top.get('code', '')}{' from ' + when if when else ''}{more}"


def _finding_blocks(f: dict[str, Any]) -> list[dict[str, Any]]:
    when = _onset(f.get("onset"))
    emoji = EMOJI.get(str(f.get("severity")), ":white_circle:")
    basis = " · from the description" if f.get("basis") == "description" else ""
    title = f"{emoji} *{escape(f.get('code', ''))}* ({escape(f.get('severity', ''))}"
    title += f", from {escape(when)})" if when else ")"
    text = f"{title}{basis}\n{escape(f.get('summary', ''))}"
    blocks: list[dict[str, Any]] = [{"type": "section", "text": _mrkdwn(text, LIMITS["section_text"])}]
    evidence = [(k, v) for k, v in (f.get("evidence") or {}).items() if v is not None]
    if evidence:
        fields = [_mrkdwn(f"*{escape(k)}*\n{escape(_value(v))}", LIMITS["field_text"])
                  for k, v in evidence[: LIMITS["fields"]]]
        blocks.append({"type": "section", "fields": fields})
    fixes = list(f.get("fixes") or [])[:TOP_FIXES]
    if fixes:
        lines = [f"• *{escape(x.get('action', ''))}*: {escape(x.get('detail', ''))}" for x in fixes]
        blocks.append({"type": "section", "text": _mrkdwn("*What to try*\n" + "\n".join(lines),
                                                          LIMITS["section_text"])})
    return blocks


def _code_block(code_findings: list[dict[str, Any]]) -> dict[str, Any]:
    lines = []
    for c in code_findings[:TOP_FINDINGS]:
        where = f"line {c['line']}" if isinstance(c.get("line"), int) else escape(str(c.get("snippet", ""))[:200])
        where = where.replace("`", "'")  # a backtick would close the code span early
        lines.append(f"• *{escape(c.get('rule', ''))}* at `{where}`: {escape(c.get('fix', ''))}")
    if len(code_findings) > TOP_FINDINGS:
        lines.append(f"…and {len(code_findings) - TOP_FINDINGS} more in the code")
    return {"type": "section", "text": _mrkdwn("*In the posted code*\n" + "\n".join(lines), LIMITS["section_text"])}


def _links(document: dict[str, Any], base_url: str) -> list[dict[str, Any]]:
    root = f"{base_url.rstrip('/')}/v1/diagnoses/{document.get('id', '')}"
    buttons = [("View plot", f"{root}/plot.png", "plot"), ("Full report", f"{root}/report.md", "report")]
    return [
        {"type": "actions", "elements": [
            {"type": "button", "text": {"type": "plain_text", "text": label}, "url": url, "action_id": action}
            for label, url, action in buttons]},
        {"type": "context", "elements": [_mrkdwn(f"<{escape(root)}/plot.png|plot> · <{escape(root)}/report.md|report>"
                                                 f" · diagnosis {escape(document.get('id', ''))}", 3000)]},
    ]


def fallback(document: dict[str, Any]) -> str:
    """The notification text and what clients without Block Kit show: verdict, then the top summaries."""
    parts = [headline(document)]
    parts += [escape(f.get("summary", "")) for f in ordered(list(document.get("findings") or []))[:TOP_FINDINGS]]
    return truncate("\n".join(parts), LIMITS["fallback"])


def to_slack(document: dict[str, Any], base_url: str | None = None) -> dict[str, Any]:
    """The message for chat.postMessage or an incoming webhook: `{"text": ..., "blocks": [...]}`."""
    title = truncate(headline(document), LIMITS["header"])
    blocks: list[dict[str, Any]] = [{"type": "header", "text": {"type": "plain_text", "text": title, "emoji": True}}]
    findings = ordered(list(document.get("findings") or []))
    for f in findings[:TOP_FINDINGS]:
        blocks += [{"type": "divider"}, *_finding_blocks(f)]
    if len(findings) > TOP_FINDINGS:
        more = ", ".join(escape(f.get("code", "")) for f in findings[TOP_FINDINGS:])
        blocks.append({"type": "context", "elements": [
            _mrkdwn(f"…and {len(findings) - TOP_FINDINGS} more: {more}", LIMITS["section_text"])]})
    code_findings = list(document.get("code_findings") or [])
    if code_findings:
        blocks += [{"type": "divider"}, _code_block(code_findings)]
    if base_url:
        blocks += _links(document, base_url)
    return {"text": fallback(document), "blocks": blocks[: LIMITS["blocks"]]}
