"""The engine (ingest, detect, diagnose, render) must never import the web layer or the cache client."""

from __future__ import annotations

import subprocess
import sys

ENGINE_MODULES = ["lossdoctor.engine", "lossdoctor.ingest.payload", "lossdoctor.ingest.build", "lossdoctor.detect",
                  "lossdoctor.diagnose", "lossdoctor.render.json", "lossdoctor.cli"]


def test_engine_imports_neither_flask_nor_redis_nor_torch() -> None:
    code = ("import sys\n" + "".join(f"import {m}\n" for m in ENGINE_MODULES)
            + "bad = sorted(m for m in ('flask', 'redis', 'rq', 'torch', 'matplotlib') if m in sys.modules)\n"
            "print(','.join(bad))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == ""
