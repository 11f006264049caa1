"""The committed corpus is what its labelling rules say of its recorded curves: a rule changed without
`make_corpus.py --relabel` (or a hand-edited label) fails here."""

from __future__ import annotations

import json
from pathlib import Path

from bench.make_corpus import make_case, plan, recorded

CORPUS = Path(__file__).resolve().parents[2] / "tests" / "corpus"


def test_every_recorded_run_carries_the_labels_and_onsets_its_rules_give() -> None:
    runs, dropped, timing = recorded(CORPUS)
    assert len(runs) >= 200 and timing.startswith("Generation took")
    stale = []
    for job, payload in runs:
        case, why = make_case(job, payload)
        stored = json.loads((CORPUS / f"c{job.index:04d}.json").read_text())
        if case is None or (case["labels"], case["onsets"]) != (stored["labels"], stored["onsets"]):
            stale.append((stored["id"], stored["labels"], case["labels"] if case else why))
    assert not stale, stale


def test_dropped_and_kept_runs_are_disjoint_positions_of_the_run_plan() -> None:
    runs, dropped, _ = recorded(CORPUS)
    kept = {job.index for job, _ in runs}
    gone = {int(line.split()[0][1:]) for line in dropped}
    assert not kept & gone
    assert kept | gone <= {job.index for job in plan()}
