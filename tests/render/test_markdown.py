"""The Markdown report: facts a reader needs, rendered the way a forum renders it, and safe for any text."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from lossdoctor.render.markdown import code, escape, prose, to_markdown
from tests.render.conftest import HOSTILE, hostile_document

MD = MarkdownIt("commonmark").enable("table")


def html(text: str) -> str:
    return MD.render(text)


def test_003_report_names_the_finding_its_onset_evidence_and_fixes(doc_003: dict[str, Any]) -> None:
    report = to_markdown(doc_003)
    verdict = report.splitlines()[2]
    assert "`overfitting`" in verdict and "epoch 3" in verdict
    assert "| `best_val_loss` | 0.3736 |" in report
    assert "| `best_epoch` | 3 |" in report
    checklist = [line for line in report.splitlines() if line.startswith("- [ ] ")]
    assert checklist[0].startswith("- [ ] **restore_best_checkpoint**")
    assert "EarlyStopping(monitor='val_loss'" in report  # the Keras snippet, as code
    assert f"/v1/diagnoses/{doc_003['id']}" in report
    assert "<table>" in html(report)


def test_000_report_links_the_code_finding_to_the_val_spike(doc_000: dict[str, Any]) -> None:
    report = to_markdown(doc_000)
    assert "`val_spike`" in report.splitlines()[2] and "epoch 3" in report.splitlines()[2]
    code_part = report.split("## In your code", 1)[1]
    assert "**batchnorm_after_recurrent**" in code_part
    assert "Explains: `val_spike`" in code_part


def test_description_only_finding_says_what_would_confirm_it(doc_004: dict[str, Any]) -> None:
    described = [f for f in doc_004["findings"] if f.get("basis") == "description"]
    assert described, "founding example 004 holds no numbers: its findings come from the description"
    report = to_markdown(doc_004)
    assert "This comes from the description, not from numbers" in report
    assert "to confirm it, share" in report


def test_healthy_and_insufficient_data_verdicts() -> None:
    assert "**Healthy**" in to_markdown({"status": "healthy", "findings": []})
    assert "**Not enough data**" in to_markdown({"status": "insufficient_data", "findings": []})


def test_errors_come_before_warnings() -> None:
    warning = {"code": "overfitting", "severity": "warning", "onset": {"epoch": 4}}
    error = {"code": "divergence", "severity": "error", "onset": {"epoch": 9}}
    report = to_markdown({"status": "unhealthy", "findings": [warning, error]})
    assert report.index("### `divergence`") < report.index("### `overfitting`")
    assert "`divergence` from epoch 9 (+1 more)" in report


def test_hostile_text_cannot_inject_html_or_break_the_table() -> None:
    report = to_markdown(hostile_document())
    rendered = html(report)
    assert "<script>" not in rendered and "<h1>" not in rendered
    assert 'href="http://x"' not in rendered
    rows = [line for line in report.splitlines() if line.startswith("| `note`")]
    assert len(rows) == 1
    table = rendered.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    for row in table.split("<tr>")[1:]:
        assert row.count("<td>") == 2, row


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=0, max_size=80))
def test_code_spans_hold_any_text_verbatim(raw: str) -> None:
    single_line = " ".join(raw.splitlines())
    rendered = MD.renderInline(code(raw))
    if single_line.strip():
        assert rendered.startswith("<code>") and rendered.endswith("</code>")


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("<>&|`*_[]#!\\ab \n(")), max_size=60))
def test_escaped_and_prose_text_never_renders_a_tag(raw: str) -> None:
    for rendered in (MD.renderInline(escape(raw)), MD.renderInline(prose(raw))):
        assert "<a " not in rendered and "<em>" not in rendered and "<strong>" not in rendered
        assert "<" not in rendered.replace("<code>", "").replace("</code>", "").replace("<br />", "")


def test_hostile_summary_text_survives_as_text() -> None:
    report = to_markdown(hostile_document())
    text_only = MD.render(report)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text_only
    assert HOSTILE.splitlines()[0].startswith("<script>")
