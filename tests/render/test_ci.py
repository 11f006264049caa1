"""The CI renderings: GitHub workflow commands that survive hostile text, JUnit XML that parses and counts."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from lossdoctor.diagnose.catalog import FINDING_CODES
from lossdoctor.render.ci import escape_data, escape_property, to_github, to_junit

COMMAND = re.compile(r"^::(?P<kind>error|warning|notice)(?: (?P<props>[^:]*))?::(?P<message>.*)$")


def unescape_data(value: str) -> str:
    """What the Actions runner does to a message (its `UnescapeValue`)."""
    return value.replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%")


def unescape_property(value: str) -> str:
    return unescape_data(value.replace("%3A", ":").replace("%2C", ","))


def parse_commands(text: str) -> list[tuple[str, dict[str, str], str]]:
    """The commands a runner would see: each line that starts with `::`, read the way the runner reads it."""
    commands = []
    for line in text.splitlines():
        if not line.startswith("::"):
            continue
        match = COMMAND.match(line)
        assert match, line
        props = dict(p.split("=", 1) for p in (match["props"] or "").split(",") if p)
        commands.append((match["kind"], {k: unescape_property(v) for k, v in props.items()},
                         unescape_data(match["message"])))
    return commands


def finding(code: str, severity: str, summary: str, **extra: Any) -> dict[str, Any]:
    return {"code": code, "severity": severity, "confidence": 0.9, "onset": {"epoch": 3}, "summary": summary,
            "evidence": {"ratio": 35.5, "recovers": False}, "explanation": "",
            "fixes": [{"action": "lower_lr", "detail": "Halve the learning rate."}], **extra}


HOSTILE = "100% broken\r\n::error file=x.py::injected, see: %0A here\n"


@pytest.mark.parametrize("raw", ["plain", "50% of 3:1, a,b", "line\nbreak\r\nand %0A literal", HOSTILE, "%%25"])
def test_escaping_round_trips_and_leaves_no_separators(raw: str) -> None:
    assert unescape_data(escape_data(raw)) == raw
    assert unescape_property(escape_property(raw)) == raw
    assert not {"\r", "\n"} & set(escape_data(raw))
    assert not {"\r", "\n", ":", ","} & set(escape_property(raw))


def test_a_hostile_summary_stays_one_command_and_reads_back_intact() -> None:
    document = {"status": "unhealthy", "findings": [finding("val_spike", "error", HOSTILE)]}
    text = to_github(document, path="runs/a,b:c\n%.json")
    lines = text.splitlines()
    assert len(lines) == 2 and not lines[1].startswith("::")
    [(kind, props, message)] = parse_commands(text)
    assert kind == "error"
    assert props == {"file": "runs/a,b:c\n%.json", "title": "LossDoctor val_spike"}
    assert message == f"{HOSTILE} (onset epoch 3; fix: Halve the learning rate.)"


def test_one_command_per_finding_by_severity_and_a_summary_line() -> None:
    document = {"status": "unhealthy", "findings": [
        finding("divergence", "error", "Diverged."), finding("overfitting", "warning", "Overfits."),
        finding("val_below_train", "info", "Val below train.", onset=None, fixes=[])]}
    text = to_github(document)
    assert [(k, p, m) for k, p, m in parse_commands(text)] == [
        ("error", {"title": "LossDoctor divergence"}, "Diverged. (onset epoch 3; fix: Halve the learning rate.)"),
        ("warning", {"title": "LossDoctor overfitting"}, "Overfits. (onset epoch 3; fix: Halve the learning rate.)"),
        ("notice", {"title": "LossDoctor val_below_train"}, "Val below train."),
    ]
    assert text.splitlines()[-1] == "LossDoctor: unhealthy (1 error, 1 warning, 1 info)"


def test_code_findings_become_annotations_too() -> None:
    document = {"status": "unhealthy", "findings": [], "code_findings": [
        {"rule": "softmax_before_ce", "severity": "warning", "line": 4, "why": "Double softmax.", "fix": "Drop it."}]}
    assert parse_commands(to_github(document)) == [
        ("warning", {"title": "LossDoctor code softmax_before_ce"}, "Double softmax. (fix: Drop it.)")]


def _cases(xml: str) -> dict[str, ET.Element]:
    root = ET.fromstring(xml)
    assert root.tag == "testsuites"
    [suite] = root.findall("testsuite")
    return {case.attrib["name"]: case for case in suite.findall("testcase")}


def test_junit_has_one_case_per_catalog_code_and_fails_at_the_threshold() -> None:
    document = {"status": "unhealthy", "findings": [
        finding("divergence", "error", "Diverged <fast> & hard."), finding("overfitting", "warning", "Overfits.")]}
    for fail_on, failing in (("error", {"divergence"}), ("warning", {"divergence", "overfitting"})):
        xml = to_junit(document, fail_on)
        cases = _cases(xml)
        assert list(cases) == list(FINDING_CODES)
        assert {name for name, c in cases.items() if c.find("failure") is not None} == failing
        root = ET.fromstring(xml)
        suite = root.find("testsuite")
        assert suite is not None
        for element in (root, suite):
            assert element.attrib["tests"] == str(len(FINDING_CODES))
            assert element.attrib["failures"] == str(len(failing))
    failure = _cases(to_junit(document))["divergence"].find("failure")
    assert failure is not None
    assert failure.attrib == {"message": "Diverged <fast> & hard.", "type": "error"}
    assert failure.text is not None
    for fact in ("onset: epoch 3", "ratio: 35.5", "recovers: false", "lower_lr: Halve the learning rate."):
        assert fact in failure.text
    passing = _cases(to_junit(document))["overfitting"].find("system-out")
    assert passing is not None and passing.text is not None and "Overfits." in passing.text


def test_junit_survives_control_characters_and_unknown_codes() -> None:
    document = {"status": "unhealthy", "findings": [finding("future_code", "error", "bell\x07 nul\x00 \ud800 ok")]}
    cases = _cases(to_junit(document))
    assert list(cases) == [*FINDING_CODES, "future_code"]
    failure = cases["future_code"].find("failure")
    assert failure is not None and failure.attrib["message"] == "bell\ufffd nul\ufffd \ufffd ok"

