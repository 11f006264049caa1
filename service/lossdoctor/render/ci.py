"""CI renderings of a diagnosis document (the JSON of `render/json.py`): GitHub Actions workflow commands
and JUnit XML, so a pipeline shows findings as annotations or test failures without parsing JSON itself."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from typing import Any

from lossdoctor.diagnose.catalog import FINDING_CODES

SEVERITY_RANK: dict[str, int] = {"info": 0, "warning": 1, "error": 2}
GITHUB_COMMAND: dict[str, str] = {"error": "error", "warning": "warning", "info": "notice"}
# Characters XML 1.0 cannot carry at all (control characters, lone surrogates): replaced, so the report parses.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(value: object) -> str:
    return _NOT_XML.sub("\ufffd", str(value))


def escape_data(value: str) -> str:
    """A workflow command's message, escaped as the Actions runner unescapes it."""
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: str) -> str:
    """A workflow command's property value (`title=`, `file=`): also `:` and `,`, which end a property."""
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


def _num(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def show(value: Any) -> str:
    """An evidence value as the JSON document spells it (`true`, `null`), numbers and strings as they are."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "null" if value is None else str(value)


def onset_text(onset: Mapping[str, Any] | None) -> str | None:
    """`{"epoch": 3}` -> `epoch 3`; None when the finding has no onset."""
    if not onset:
        return None
    return ", ".join(f"{axis} {_num(x)}" for axis, x in onset.items())


def _findings(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return list(document.get("findings") or [])


def _code_findings(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return list(document.get("code_findings") or [])


def counts_line(document: Mapping[str, Any]) -> str:
    """`LossDoctor: unhealthy (1 error, 0 warnings, 0 info)`, plus code findings when the input was a post."""
    severities = [str(f.get("severity")) for f in _findings(document)]
    errors, warnings, infos = (severities.count(s) for s in ("error", "warning", "info"))
    line = (f"LossDoctor: {document.get('status', 'unknown')} ({errors} error{'s' * (errors != 1)}, "
            f"{warnings} warning{'s' * (warnings != 1)}, {infos} info)")
    code = _code_findings(document)
    if code:
        line += f"; {len(code)} code finding{'s' * (len(code) != 1)}"
    return line


def _github_command(kind: str, properties: Sequence[tuple[str, str]], message: str) -> str:
    props = ",".join(f"{key}={escape_property(value)}" for key, value in properties)
    return f"::{kind} {props}::{escape_data(message)}" if props else f"::{kind}::{escape_data(message)}"


def to_github(document: Mapping[str, Any], path: str | None = None) -> str:
    """One workflow command per finding (error/warning/notice by severity) and per code finding, then a
    one-line summary that is not a command. `path` (the diagnosed file) becomes each command's `file=`."""
    file_prop = [("file", path)] if path else []
    lines: list[str] = []
    for finding in _findings(document):
        kind = GITHUB_COMMAND.get(str(finding.get("severity")), "notice")
        details: list[str] = []
        onset = onset_text(finding.get("onset"))
        if onset:
            details.append(f"onset {onset}")
        fixes = finding.get("fixes") or []
        if fixes:
            details.append(f"fix: {fixes[0].get('detail', '')}")
        message = str(finding.get("summary", ""))
        if details:
            message += f" ({'; '.join(details)})"
        props = [*file_prop, ("title", f"LossDoctor {finding.get('code', '')}")]
        lines.append(_github_command(kind, props, message))
    for cf in _code_findings(document):
        kind = GITHUB_COMMAND.get(str(cf.get("severity")), "notice")
        props = [*file_prop, ("title", f"LossDoctor code {cf.get('rule', '')}")]
        message = f"{cf.get('why', '')} (fix: {cf.get('fix', '')})"
        lines.append(_github_command(kind, props, message))
    lines.append(counts_line(document))  # plain log output: it starts with "LossDoctor", never "::"
    return "\n".join(lines) + "\n"


def _failure_body(findings: Sequence[Mapping[str, Any]]) -> str:
    parts: list[str] = []
    for f in findings:
        block = [f"[{f.get('severity')}] {f.get('summary', '')}",
                 f"confidence: {f.get('confidence')}",
                 f"onset: {onset_text(f.get('onset')) or 'none'}"]
        evidence = f.get("evidence") or {}
        if evidence:
            block.append("evidence:")
            block.extend(f"  {key}: {show(value)}" for key, value in evidence.items())
        fixes = f.get("fixes") or []
        if fixes:
            block.append("fixes:")
            block.extend(f"  - {fix.get('action', '')}: {fix.get('detail', '')}" for fix in fixes)
        parts.append("\n".join(block))
    return "\n\n".join(parts)


def _status_text(document: Mapping[str, Any]) -> str:
    lines = [counts_line(document)]
    for cf in _code_findings(document):
        where = f" (line {cf['line']})" if cf.get("line") is not None else ""
        lines.append(f"code [{cf.get('severity')}] {cf.get('rule')}{where}: {cf.get('why', '')} "
                     f"Fix: {cf.get('fix', '')}")
    return "\n".join(lines)


def to_junit(document: Mapping[str, Any], fail_on: str = "error") -> str:
    """JUnit XML: one test case per catalog finding code (plus any code outside the catalog), failing when a
    finding with that code is at or above `fail_on`; findings below it pass with their text in system-out."""
    threshold = SEVERITY_RANK[fail_on]
    by_code: dict[str, list[Mapping[str, Any]]] = {code: [] for code in FINDING_CODES}
    for finding in _findings(document):
        by_code.setdefault(str(finding.get("code")), []).append(finding)
    suites = ET.Element("testsuites", name="lossdoctor")
    suite = ET.SubElement(suites, "testsuite", name="lossdoctor")
    failures = 0
    for code, found in by_code.items():
        case = ET.SubElement(suite, "testcase", classname="lossdoctor", name=xml_text(code))
        failing = [f for f in found if SEVERITY_RANK.get(str(f.get("severity")), 0) >= threshold]
        if failing:
            failures += 1
            worst = max(failing, key=lambda f: SEVERITY_RANK.get(str(f.get("severity")), 0))
            failure = ET.SubElement(case, "failure", message=xml_text(worst.get("summary", "")),
                                    type=xml_text(worst.get("severity")))
            failure.text = xml_text(_failure_body(found))
        elif found:
            ET.SubElement(case, "system-out").text = xml_text(f"below --fail-on {fail_on}:\n" + _failure_body(found))
    for element in (suites, suite):
        element.set("tests", str(len(by_code)))
        element.set("failures", str(failures))
        element.set("errors", "0")
    suite.set("skipped", "0")
    ET.SubElement(suite, "system-out").text = xml_text(_status_text(document))
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"

