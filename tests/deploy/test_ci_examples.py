"""The CI examples in deploy/ci/ work as written: their commands run here against the real CLI and service."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from werkzeug.serving import make_server

from lossdoctor.app import create_app
from lossdoctor.config import Config
from tests.conftest import DATA

CI = Path(__file__).resolve().parents[2] / "deploy" / "ci"
DIVERGING = {"metrics": {"loss": [2.3, 1.9, 1.6, 1.4, 1.3, 1.9, 3.5, 7.0, 15.0, 40.0, "NaN", "NaN"]}}


def workflow() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((CI / "github-actions.yml").read_text())
    return loaded


def step(job: str, name_starts: str) -> str:
    steps = workflow()["jobs"][job]["steps"]
    run: str = next(s["run"] for s in steps if s.get("name", "").startswith(name_starts))
    return run


@pytest.fixture(scope="module")
def service_url() -> Iterator[str]:
    server = make_server("127.0.0.1", 0, create_app(Config()), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()
    thread.join(timeout=10)


def bash(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """As GitHub runs a `run:` step: `bash -e`, with the CLI of this checkout first on PATH."""
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    return subprocess.run(["bash", "-e", "-c", script], cwd=cwd, env={**os.environ, **env, "PATH": path},
                          capture_output=True, text=True, timeout=120, check=False)


def test_both_examples_are_valid_yaml_with_the_documented_jobs() -> None:
    assert set(workflow()["jobs"]) == {"diagnose-offline", "diagnose-service"}
    gitlab = yaml.safe_load((CI / "gitlab-ci.yml").read_text())
    assert gitlab["lossdoctor"]["artifacts"]["reports"]["junit"] == "lossdoctor-junit.xml"


@pytest.mark.skipif(shutil.which("jq") is None or shutil.which("curl") is None, reason="needs curl and jq")
@pytest.mark.parametrize(("metrics", "fails", "annotation"), [
    (DIVERGING, True, "::error title=LossDoctor exploding_nan::"),
    ((DATA / "payloads" / "003_overfitting.json").read_text(), False, "::warning title=LossDoctor overfitting::"),
])
def test_the_service_job_annotates_and_fails_only_on_errors(
        tmp_path: Path, service_url: str, metrics: Any, fails: bool, annotation: str) -> None:
    (tmp_path / "metrics.json").write_text(metrics if isinstance(metrics, str) else json.dumps(metrics))
    done = bash(step("diagnose-service", "Diagnose with the service"), tmp_path, {"LOSSDOCTOR_URL": service_url})
    assert (done.returncode != 0) == fails, done.stdout + done.stderr
    assert any(line.startswith(annotation) for line in done.stdout.splitlines()), done.stdout


def test_the_offline_job_commands_give_annotations_and_exit_codes(tmp_path: Path) -> None:
    (tmp_path / "metrics.json").write_text(json.dumps(DIVERGING))
    command = step("diagnose-offline", "Diagnose the curves")
    done = bash(command, tmp_path, {})
    assert done.returncode == 2
    assert "::error" in done.stdout and "exploding_nan" in done.stdout
    summary = bash(step("diagnose-offline", "Diagnosis report"), tmp_path, {"GITHUB_STEP_SUMMARY": "summary.md"})
    assert summary.returncode == 0 and "## LossDoctor diagnosis" in (tmp_path / "summary.md").read_text()


def test_the_gitlab_job_writes_a_junit_report_and_fails_on_errors(tmp_path: Path) -> None:
    (tmp_path / "metrics.json").write_text(json.dumps(DIVERGING))
    script = yaml.safe_load((CI / "gitlab-ci.yml").read_text())["lossdoctor"]["script"]
    command = next(line for line in script if line.startswith("lossdoctor diagnose"))
    done = bash(command, tmp_path, {})
    assert done.returncode == 2
    report = (tmp_path / "lossdoctor-junit.xml").read_text()
    assert "<testsuites" in report and 'name="exploding_nan"' in report
    assert shlex.split(command)[:2] == ["lossdoctor", "diagnose"]
