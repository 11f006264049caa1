"""`lossdoctor diagnose --format github|junit|markdown`: the real CLI, with the exit codes of the JSON output."""

from __future__ import annotations

import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from lossdoctor.diagnose.catalog import FINDING_CODES
from tests.conftest import DATA
from tests.render.test_ci import parse_commands

PAYLOADS = DATA / "payloads"
SPIKE, OVERFIT = str(PAYLOADS / "000_val_spike.json"), str(PAYLOADS / "003_overfitting.json")
POST = str(DATA / "examples" / "000_9fcdc0dc9b18d86b.txt")


def _cli(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    p = subprocess.run([sys.executable, "-m", "lossdoctor.cli", "diagnose", *args], input=stdin,
                       capture_output=True, timeout=60, check=False)
    return subprocess.CompletedProcess(p.args, p.returncode, p.stdout.decode(), p.stderr.decode())


def _junit(p: subprocess.CompletedProcess[str]) -> tuple[ET.Element, ET.Element]:
    root = ET.fromstring(p.stdout)
    suite = root.find("testsuite")
    assert suite is not None and suite.attrib["name"] == "lossdoctor"
    return root, suite


def _failing(suite: ET.Element) -> dict[str, str]:
    return {c.attrib["name"]: f.attrib["type"] for c in suite.findall("testcase")
            if (f := c.find("failure")) is not None}


def test_github_error_annotation_on_the_file_and_exit_2() -> None:
    p = _cli(SPIKE, "--format", "github")
    assert p.returncode == 2
    [(kind, props, message)] = parse_commands(p.stdout)
    assert (kind, props) == ("error", {"file": SPIKE, "title": "LossDoctor val_spike"})
    assert message.startswith("Validation loss jumped 35x at epoch 3")
    assert "(onset epoch 3; fix: Replace BatchNorm after recurrent layers" in message
    assert p.stdout.splitlines()[-1] == "LossDoctor: unhealthy (1 error, 0 warnings, 0 info)"


@pytest.mark.parametrize(("fail_on", "code"), [("error", 0), ("warning", 1)])
def test_github_warning_from_stdin_has_no_file_and_keeps_the_exit_codes(fail_on: str, code: int) -> None:
    p = _cli("-", "--format", "github", "--fail-on", fail_on, stdin=Path(OVERFIT).read_bytes())
    assert p.returncode == code
    [(kind, props, message)] = parse_commands(p.stdout)
    assert (kind, props) == ("warning", {"title": "LossDoctor overfitting"})
    assert "onset epoch 3" in message


def test_github_file_property_escapes_a_hostile_path(tmp_path: Path) -> None:
    path = tmp_path / "run,1:a%b\nc.json"
    shutil.copy(SPIKE, path)
    p = _cli(str(path), "--format", "github")
    assert p.returncode == 2
    assert len(p.stdout.splitlines()) == 2
    assert parse_commands(p.stdout)[0][1]["file"] == str(path)


def test_github_post_annotates_code_findings() -> None:
    p = _cli(POST, "--input-format", "text", "--format", "github")
    assert p.returncode == 2
    titles = [props["title"] for _, props, _ in parse_commands(p.stdout)]
    assert titles[0] == "LossDoctor val_spike"
    assert "LossDoctor code batchnorm_after_recurrent" in titles


def test_junit_error_run_fails_one_case_and_exits_2() -> None:
    p = _cli(SPIKE, "--format", "junit")
    assert p.returncode == 2
    root, suite = _junit(p)
    assert [c.attrib["name"] for c in suite.findall("testcase")] == list(FINDING_CODES)
    assert {c.attrib["classname"] for c in suite.findall("testcase")} == {"lossdoctor"}
    for element in (root, suite):
        assert (element.attrib["tests"], element.attrib["failures"]) == (str(len(FINDING_CODES)), "1")
    assert _failing(suite) == {"val_spike": "error"}
    out = suite.find("system-out")
    assert out is not None and out.text == "LossDoctor: unhealthy (1 error, 0 warnings, 0 info)"


@pytest.mark.parametrize(("fail_on", "code", "failing"), [("error", 0, {}), ("warning", 1, {"overfitting": "warning"})])
def test_junit_warning_passes_or_fails_with_fail_on(fail_on: str, code: int, failing: dict[str, str]) -> None:
    p = _cli(OVERFIT, "--format", "junit", "--fail-on", fail_on)
    assert p.returncode == code
    root, suite = _junit(p)
    assert root.attrib["failures"] == suite.attrib["failures"] == str(len(failing))
    assert _failing(suite) == failing
    case = next(c for c in suite.findall("testcase") if c.attrib["name"] == "overfitting")
    body = "".join(case.itertext())
    assert "onset: epoch 3" in body and "fixes:" in body


def test_junit_post_lists_code_findings_in_system_out() -> None:
    p = _cli(POST, "--input-format", "text", "--format", "junit")
    assert p.returncode == 2
    out = _junit(p)[1].find("system-out")
    assert out is not None and out.text is not None and "batchnorm_after_recurrent" in out.text


def test_markdown_report_and_exit_code() -> None:
    p = _cli(SPIKE, "--format", "markdown")
    assert p.returncode == 2
    assert "val_spike" in p.stdout and "epoch 3" in p.stdout and "- [ ] " in p.stdout
    post = _cli(POST, "--input-format", "text", "--format", "markdown")
    assert post.returncode == 2 and "batchnorm_after_recurrent" in post.stdout


def test_healthy_run_in_every_format_exits_0() -> None:
    stdin = b'{"metrics": {"loss": [1.0, 0.7, 0.5, 0.4, 0.35]}}'
    assert _cli("-", "--format", "github", stdin=stdin).stdout == "LossDoctor: healthy (0 errors, 0 warnings, 0 info)\n"
    root, _ = _junit(_cli("-", "--format", "junit", "--fail-on", "warning", stdin=stdin))
    assert root.attrib["failures"] == "0"
    assert _cli("-", "--format", "markdown", stdin=stdin).returncode == 0


@pytest.mark.parametrize("fmt", ["github", "junit", "markdown"])
def test_bad_input_exits_3_with_nothing_on_stdout(fmt: str) -> None:
    p = _cli("-", "--format", fmt, stdin=b"{")
    assert (p.returncode, p.stdout) == (3, "")
    assert p.stderr.startswith("lossdoctor: ")


def test_unknown_format_is_a_usage_error() -> None:
    p = _cli(SPIKE, "--format", "yaml")
    assert (p.returncode, p.stdout) == (2, "")  # argparse's usage error, before any diagnosis
    assert "invalid choice: 'yaml'" in p.stderr
