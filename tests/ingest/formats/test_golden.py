"""Every fixture file parses to exactly its reviewed golden Run (regenerate: LOSSDOCTOR_REGEN_GOLDEN=1)."""

from __future__ import annotations

import json

import pytest

from lossdoctor.exceptions import UnsupportedFormat
from lossdoctor.ingest.formats import parse
from tests.ingest.formats.helpers import DATA, check_golden

# Not metric logs: a Lightning hparams file and a crash log with no metric line (both must be refused).
NOT_LOGS = {
    "peer/trainproof/evidence/fish_lightning_feb2026/hparams.yaml",
    "peer/trainproof/evidence/fish_lightning_feb2026/train.log",
}
FILES = sorted(
    str(p.relative_to(DATA))
    for folder in ("keras", "transformers", "examples", "peer")
    for p in (DATA / folder).rglob("*")
    if p.is_file() and p.name not in ("LICENSE", "INDEX.md") and str(p.relative_to(DATA)) not in NOT_LOGS
)
REAL_LOGS = sorted(p.name for p in (DATA / "real-logs").glob("*.json"))


def golden_name(relative: str) -> str:
    return relative.replace("/", "__")


@pytest.mark.parametrize("relative", FILES)
def test_fixture_matches_golden(relative: str) -> None:
    path = DATA / relative
    run = parse(path.read_bytes(), filename=path.name)
    check_golden(run, golden_name(relative))


@pytest.mark.parametrize("case", REAL_LOGS)
def test_real_log_matches_golden(case: str) -> None:
    """Each real-log case's raw text as published, sniffed and parsed; prose-only posts read as nothing."""
    raw = json.loads((DATA / "real-logs" / case).read_text(encoding="utf-8"))["raw"]
    try:
        run = parse(raw.encode())
    except UnsupportedFormat:
        run = None
    check_golden(run, "real-logs__" + case.removesuffix(".json"))
