"""`lossdoctor serve` starts real gunicorn: the README's curl example must get a diagnosis."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from tests.conftest import DATA, free_port


def _get_json(url: str, data: bytes | None = None) -> Any:
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as response:
        return json.load(response)


def test_serve_answers_the_readme_curl_example(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    with (tmp_path / "log").open("wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "lossdoctor.cli", "serve", "--port", str(port)], env=env,
                                stdout=subprocess.DEVNULL, stderr=log)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60  # gunicorn imports numpy, scipy and ruptures: slow on a busy machine
        while True:
            try:
                _get_json(base + "/healthz")
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError((tmp_path / "log").read_text()[-3000:]) from None
                time.sleep(0.2)
        ready = _get_json(base + "/readyz")
        assert ready == {"status": "ready", "cache": "embedded"}
        body = _get_json(base + "/v1/diagnoses", (DATA / "payloads" / "003_overfitting.json").read_bytes())
        assert body["findings"][0]["code"] == "overfitting"
        again = _get_json(base + body["links"]["self"])
        assert again["id"] == body["id"]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
