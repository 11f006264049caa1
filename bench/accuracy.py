"""Run the engine over labelled runs and print per-code precision / recall / F1, macro-F1, onset agreement
and false alarms on healthy runs.

usage: python bench/accuracy.py [DIR ...]   (default: tests/corpus and tests/data/real-logs)

Scoring follows the rules of the labelled corpora: `adjudicated` cases have required / optional / any_of
labels; an onset is right within +-1 epoch, or +-2 % of the step for per-step runs.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from lossdoctor.diagnose.catalog import FINDING_CODES
from lossdoctor.engine import diagnose
from lossdoctor.exceptions import LossDoctorError
from lossdoctor.ingest.payload import run_from_payload

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DIRS = [ROOT / "tests" / "corpus", ROOT / "tests" / "data" / "real-logs"]


def predict(payload: dict[str, Any]) -> dict[str, float | None]:
    try:
        findings = diagnose(run_from_payload(payload)).findings
    except LossDoctorError:
        return {}
    out: dict[str, float | None] = {}
    for f in findings:
        out.setdefault(f.code, f.onset)
    return out


def score(cases: list[dict[str, Any]]) -> dict[str, Any]:
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    onset_ok = onset_n = healthy = alarms = 0
    misses = []
    for case in cases:
        pred = predict(case["payload"])
        found = set(pred) & set(FINDING_CODES)
        adj = case.get("adjudicated") or {}
        required = set(adj.get("required", [])) if adj else set(case["labels"]) - {"healthy"}
        optional = set(adj.get("optional", []))
        for group in adj.get("any_of", []):
            hit = found & set(group)
            required |= hit if hit else {group[0]}
            optional |= set(group) - (hit if hit else {group[0]})
        wrong = found - required - optional
        for code in FINDING_CODES:
            if code in required and code in found:
                tp[code] += 1
            elif code in required:
                fn[code] += 1
            elif code in wrong:
                fp[code] += 1
        if not required:
            healthy += 1
            alarms += bool(wrong)
        if wrong or required - found:
            misses.append(f"{case['id']}: truth {sorted(required) or ['healthy']} got {sorted(found) or ['healthy']}")
        onsets = case.get("onsets") or {case["labels"][0]: case.get("onset_epoch")}
        per_step = case["payload"].get("meta", {}).get("x_axis") == "step"
        for code in required & found:
            want, got = onsets.get(code), pred.get(code)
            if want is None or got is None:
                continue
            onset_n += 1
            onset_ok += abs(got - want) <= (max(1.0, 0.02 * want) if per_step else 1.0)
    rows = {}
    for code in FINDING_CODES:
        support = tp[code] + fn[code]
        if not support and not fp[code]:
            continue
        precision = tp[code] / (tp[code] + fp[code]) if tp[code] + fp[code] else 0.0
        recall = tp[code] / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        rows[code] = {"n": support, "precision": precision, "recall": recall, "f1": f1}
    f1s = [r["f1"] for r in rows.values() if r["n"]]
    return {
        "cases": len(cases), "per_code": rows, "macro_f1": sum(f1s) / len(f1s) if f1s else 0.0,
        "false_alarm_rate": alarms / healthy if healthy else 0.0, "healthy": healthy, "false_alarms": alarms,
        "onset_rate": onset_ok / onset_n if onset_n else 0.0, "onsets": onset_n, "misses": misses,
    }


def load(directory: Path) -> list[dict[str, Any]]:
    cases = []
    for path in sorted(directory.glob("*.json")):
        case = json.loads(path.read_text())
        if isinstance(case, dict) and case.get("payload"):
            cases.append(case)
    return cases


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dirs", nargs="*", type=Path, default=DEFAULT_DIRS)
    parser.add_argument("--misses", action="store_true", help="list every case the engine got wrong")
    args = parser.parse_args(argv)
    for directory in args.dirs:
        cases = load(directory)
        if not cases:
            print(f"{directory}: no labelled cases with a payload")
            continue
        start = time.perf_counter()
        result = score(cases)
        elapsed = time.perf_counter() - start
        print(f"\n== {directory.relative_to(ROOT) if directory.is_relative_to(ROOT) else directory}: "
              f"{result['cases']} runs, {1000 * elapsed / result['cases']:.1f} ms/run")
        print(f"{'code':18} {'n':>4} {'prec':>6} {'rec':>6} {'F1':>6}")
        for code, r in result["per_code"].items():
            print(f"{code:18} {r['n']:4d} {r['precision']:6.2f} {r['recall']:6.2f} {r['f1']:6.2f}")
        print(f"macro-F1 {result['macro_f1']:.3f} | false alarms on healthy {result['false_alarms']}/"
              f"{result['healthy']} ({result['false_alarm_rate']:.1%}) | onsets within tolerance "
              f"{result['onset_rate']:.1%} of {result['onsets']}")
        if args.misses:
            print("\n".join(result["misses"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
