"""Run reproducer jobs for the catalogued scenarios, in-process, and print what each one proved.

For every scenario and seed: train the baseline (the fault) and every fix, diagnose each run with the engine,
and report whether the baseline shows the scenario's pathology (reproduced) and which fixes remove it. This
is exactly what a `lossdoctor worker` computes for `POST /v1/reproductions`, without Redis in the way.

    nice .venv/bin/python bench/reproduce.py [--seeds 3] [--jobs 1] [--scenario NAME ...]
                                             [--set epoch|api|all] [--device auto|cpu|cuda] [--json FILE]

--set epoch (default): every reproducer scenario logged once per epoch (the ones the API can choose); api: the
one scenario per pathology that `POST /v1/reproductions {"pathology": ...}` trains; all: the step-logged twins
too. Scenarios marked `reproducer=False` (corpus only) are left out unless named with --scenario.
Exit status 1 when a scenario failed to reproduce, or (pathologies with fixes) was fixed by none, on some seed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from multiprocessing import Pool
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "service"))

from lossdoctor.jobs import queue as jobs  # noqa: E402
from lossdoctor.jobs.reproduce import reproduce  # noqa: E402
from lossdoctor.jobs.scenarios.catalog import CATALOG  # noqa: E402
from lossdoctor.jobs.worker import choose_device  # noqa: E402


def scenario_set(which: str) -> list[str]:
    if which == "api":
        return [jobs.scenario_for(p).name for p in jobs.pathologies()]
    if which == "all":
        return [s.name for s in CATALOG.values() if s.reproducer]
    return [s.name for s in jobs.epoch_scenarios()]


def one(task: tuple[str, int, str]) -> dict[str, Any]:
    """One reproduction, in a pool process with one torch thread (several run side by side)."""
    import torch

    torch.set_num_threads(1)
    name, seed, device = task
    started = time.perf_counter()
    result = reproduce(name, {"seed": seed}, device)
    verdict = result["verdict"]
    return {
        "scenario": name, "pathology": result["pathology"], "seed": seed, "device": device,
        "reproduced": verdict["reproduced"], "fixed_by": verdict["fixed_by"],
        "fixes": [r["name"] for r in result["runs"][1:]],
        "baseline_findings": [f["code"] for f in result["runs"][0]["findings"]],
        "seconds": round(time.perf_counter() - started, 2),
    }


def ok(row: dict[str, Any]) -> bool:
    return bool(row["reproduced"]) and (not row["fixes"] or bool(row["fixed_by"]))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 per scenario (default 3)")
    p.add_argument("--jobs", type=int, default=1, help="reproductions side by side (default 1)")
    p.add_argument("--scenario", action="append", help="only this scenario (repeatable)")
    p.add_argument("--set", choices=("epoch", "api", "all"), default="epoch")
    p.add_argument("--device", default="auto", help="auto (CUDA when available), cpu, cuda or cuda:N")
    p.add_argument("--json", type=Path, help="also write every row to this file")
    args = p.parse_args(argv)
    names = args.scenario or scenario_set(args.set)
    unknown = sorted(set(names) - set(CATALOG))
    if unknown:
        p.error(f"unknown scenarios {unknown}; known: {sorted(CATALOG)}")
    device = choose_device(args.device)  # as the worker does: CUDA probed in a child, so forked processes can use it
    tasks = [(name, seed, device) for name in names for seed in range(args.seeds)]
    started = time.perf_counter()
    print(f"{'scenario':34} {'pathology':16} {'seed':>4} {'repro':>5}  {'fixed by':44} {'seconds':>7}  device")
    rows: list[dict[str, Any]] = []
    with Pool(args.jobs) if args.jobs > 1 else _Serial() as pool:
        for row in pool.imap(one, tasks):
            rows.append(row)
            fixed = ", ".join(row["fixed_by"]) or ("-" if row["fixes"] else "(no fixes)")
            if not row["reproduced"]:
                fixed = f"(baseline: {', '.join(row['baseline_findings']) or 'no finding'})"
            print(f"{row['scenario']:34} {row['pathology']:16} {row['seed']:>4} "
                  f"{'yes' if row['reproduced'] else 'NO':>5}  {fixed:44} {row['seconds']:>7.1f}  {row['device']}",
                  flush=True)
    with_fixes = [r for r in rows if r["fixes"]]
    reproduced = sum(r["reproduced"] for r in rows)
    fixed = sum(bool(r["fixed_by"]) for r in with_fixes)
    bad = sorted({r["scenario"] for r in rows if not ok(r)})
    print(f"\n{len(names)} scenarios x {args.seeds} seeds on {device}: reproduced {reproduced}/{len(rows)} "
          f"({reproduced / max(1, len(rows)):.0%}); fixed by >= 1 fix {fixed}/{len(with_fixes)} "
          f"({fixed / max(1, len(with_fixes)):.0%}); wall {time.perf_counter() - started:.0f}s")
    print("every scenario reproduced and fixed on every seed" if not bad else f"not on every seed: {bad}")
    for name in bad:
        mine = [r for r in rows if r["scenario"] == name]
        misses = "; ".join(f"seed {r['seed']}: " + (f"baseline shows {', '.join(r['baseline_findings']) or 'nothing'}"
                                                  if not r["reproduced"] else "no fix removed it")
                           for r in mine if not ok(r))
        print(f"  {name} ({mine[0]['pathology']}): ok on {sum(ok(r) for r in mine)}/{len(mine)} seeds; {misses}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 1 if bad else 0


class _Serial:
    """`Pool`'s imap in this process (no fork: a CUDA context does not survive one)."""

    def __enter__(self) -> _Serial:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def imap(self, fn: Any, tasks: list[tuple[str, int, str]]) -> Any:
        return map(fn, tasks)


if __name__ == "__main__":
    sys.exit(main())
