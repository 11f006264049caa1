"""The CLI is what CI pipelines call without a server: same JSON as the API, exit codes by severity."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from tests.conftest import DATA

PAYLOADS = DATA / "payloads"


def _cli(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "lossdoctor.cli", *args], input=stdin, capture_output=True,
                          timeout=60, check=False)


def test_error_finding_exits_2_and_prints_the_api_json(embedded_client: FlaskClient) -> None:
    p = _cli("diagnose", str(PAYLOADS / "000_val_spike.json"))
    assert p.returncode == 2
    out = json.loads(p.stdout)
    api = embedded_client.post("/v1/diagnoses", json=json.loads((PAYLOADS / "000_val_spike.json").read_text()))
    assert out == api.get_json()


def test_warning_exits_0_unless_fail_on_warning() -> None:
    path = str(PAYLOADS / "003_overfitting.json")
    assert _cli("diagnose", path).returncode == 0
    p = _cli("diagnose", path, "--fail-on", "warning", "--format", "json")
    assert p.returncode == 1
    assert [f["code"] for f in json.loads(p.stdout)["findings"]] == ["overfitting"]


def test_reads_stdin() -> None:
    p = _cli("diagnose", "-", stdin=(PAYLOADS / "003_overfitting.json").read_bytes())
    assert p.returncode == 0
    assert json.loads(p.stdout)["findings"][0]["onset"] == {"epoch": 3}


def test_healthy_run_exits_0() -> None:
    p = _cli("diagnose", "-", stdin=b'{"metrics": {"loss": [1.0, 0.7, 0.5, 0.4, 0.35]}}')
    assert p.returncode == 0 and json.loads(p.stdout)["status"] == "healthy"


@pytest.mark.parametrize("stdin", [b"{", b'{"metrics": {}}', b'{"metrics": {"loss": "x"}}', b"\xff\xfe"])
def test_bad_input_exits_3_with_the_message_on_stderr(stdin: bytes) -> None:
    p = _cli("diagnose", "-", stdin=stdin)
    assert p.returncode == 3
    assert p.stdout == b""
    assert p.stderr.startswith(b"lossdoctor: ")


def test_missing_file_exits_3(tmp_path: Path) -> None:
    p = _cli("diagnose", str(tmp_path / "absent.json"))
    assert p.returncode == 3 and b"cannot read" in p.stderr


def test_pasted_post_goes_through_the_text_path_with_code_findings() -> None:
    p = _cli("diagnose", str(DATA / "examples" / "000_9fcdc0dc9b18d86b.txt"), "--input-format", "text")
    assert p.returncode == 2
    out = json.loads(p.stdout)
    assert [(f["code"], f["onset"]) for f in out["findings"]] == [("val_spike", {"epoch": 3})]
    assert "batchnorm_after_recurrent" in {c["rule"] for c in out["code_findings"]}


def test_prose_without_numbers_is_read_as_a_post_when_no_format_matches() -> None:
    p = _cli("diagnose", str(DATA / "examples" / "002_5d3066acade319e3.txt"))
    assert p.returncode == 2
    assert [(f["code"], f["basis"]) for f in json.loads(p.stdout)["findings"]] == [("divergence", "description")]


def test_any_log_format_is_read(tmp_path: Path) -> None:
    p = _cli("diagnose", str(DATA / "formats" / "peer" / "trainspotter" / "examples" / "divergence.csv"))
    assert p.returncode == 2
    assert {"divergence", "exploding_nan"} <= {f["code"] for f in json.loads(p.stdout)["findings"]}
