"""Generate the labelled benchmark corpus (tests/corpus/*.json) from real small CPU trainings.

Each catalog scenario is trained for its seeds; the labels are then computed FROM THE CURVES with the
rules below, never copied from the injected fault. A run whose statistics sit in a rule's grey zone
is dropped as ambiguous, as is a fault-free-looking run that did not actually learn.

    nice .venv/bin/python bench/make_corpus.py [--only SCENARIO] [--out DIR] [--sheets DIR]

Labelling rules (x = epoch, or optimiser step for step-logged runs; S(.) = centred running median
of 3 points, of ~n/25 points for step runs; lnC = ln(num_classes), the loss of a uniform guess):
  exploding_nan  a non-finite train/val loss or grad norm, or a finite train loss above 10 * max(first
                 loss, lnC). Onset: first non-finite point, or first point above 3 * that reference.
  divergence     (not exploding) S(train) falls to its minimum m, then rises: end >= 1.3 * min and the
                 rise gives back >= 25% of the earlier progress; the last 20% of points all stay above
                 min + half the rise (persistent, not a spike); train accuracy ends >= 0.05 below its
                 best. Onset: first point after m from which S(train) stays above min + 10% of the rise.
  overfitting    best S(val) at b with >= 3 points after; max S(val) after b >= 1.10 * best and >= 4
                 noise sigmas above it; S(val) at the end still >= 1.05 * best; train loss at the end
                 below train at b; not divergence. Onset: b.
  overconfidence the same val-loss rise, and val accuracy at the end (mean of last 3) >= val
                 accuracy at b - 0.01. Onset: b.
  val_spike      a val point >= 1.5 * the median of its 3 predecessors, >= 6 noise sigmas above it,
                 back below predecessors + 30% of the jump within 3 points, while the train loss at
                 that x is not itself spiking (< 1.2 * its predecessors). Onset: first spike.
  loss_spike     the same spike test on the train loss (ratio 1.5, recovery within 5 points or 5% of
                 a step run), not oscillation, not explained by explosion. Onset: first spike.
  plateau        a flat stretch: from some point s on, S(train) moves <= 5% of its mean and improves
                 <= 3%, spans >= 40% of the run (>= 5 points), starts in the first 60%, at a level
                 >= 0.5 * lnC. Onset: s.
  oscillation    from some point on, train loss residuals around a 7-point running mean have std
                 >= 8% of the loss level and direction changes in >= 40% of steps, with < 10% net
                 progress between the halves of that stretch. Onset: start of the stretch.
  underfitting   train loss at the end (mean of last 3) >= 0.4 * lnC, |val - train| at the end <=
                 20% of train, no overfitting/divergence/explosion. Onset: first x.
  val_below_train  from some point s to the end, val < train at >= 90% of points, by >= 10% of the
                 train loss on average, over >= 30% of the run (>= 3 points). Onset: s.
  healthy        none of the above, and it learned: final train loss <= 0.5 * first, val accuracy
                 above chance. Otherwise the run is dropped.
Grey zones (dropped): val rise 1.05-1.10; train end 0.3-0.4 * lnC near the underfitting cut; margin
5-10% for val_below_train; spike ratio 1.3-1.5 as the largest; divergence end 1.15-1.3 * min.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
import time
from collections import Counter
from dataclasses import dataclass, fields
from multiprocessing import Pool
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "service"))

from lossdoctor.jobs.scenarios.catalog import CATALOG  # noqa: E402
from lossdoctor.jobs.scenarios.config import ScenarioConfig  # noqa: E402
from lossdoctor.jobs.scenarios.labelling import PRIORITY, label  # noqa: E402

FIX_SEEDS = (0,)  # every fix is trained too: near-miss runs, labelled by their curves like the rest
CODES = (*PRIORITY, "healthy")
Payload = dict[str, Any]


@dataclass(frozen=True)
class Job:
    index: int
    scenario: str
    fix: str | None
    seed: int

    @property
    def name(self) -> str:
        return self.scenario + (f"+{self.fix}" if self.fix else "")

    def config(self) -> ScenarioConfig:
        s = CATALOG[self.scenario]
        return s.fixed(self.fix, self.seed) if self.fix else s.config(self.seed)


def plan() -> list[Job]:
    """Every run, in a fixed order: a run's id (c0001...) is its position, whatever --only selects."""
    keys = [(n, None, seed) for n, s in CATALOG.items() for seed in s.seeds]
    keys += [(n, f.name, seed) for n, s in CATALOG.items() for f in s.fixes for seed in FIX_SEEDS]
    return [Job(i + 1, *k) for i, k in enumerate(keys)]


def encode(v: float) -> float | str:
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    return float(f"{v:.6g}")


def train_payload(job: Job) -> Payload:
    import torch

    from lossdoctor.jobs.scenarios import train

    torch.set_num_threads(1)
    rec = train(job.config())
    metrics = {k: {"steps": c.steps, "values": [encode(v) for v in c.values]} for k, c in rec.metrics.items()}
    return {"metrics": metrics, "meta": rec.meta(), "seconds": round(rec.seconds, 2)}


def cached_payload(job: Job, cache: Path | None) -> Payload:
    """Training is deterministic, so a run keyed by its full config can be reused while tuning rules."""
    if cache is None:
        return train_payload(job)
    key = hashlib.sha1(repr(job.config()).encode()).hexdigest()[:16]
    path = cache / f"{job.name}-{job.seed}-{key}.json"
    if path.exists():
        return dict(json.loads(path.read_text()))
    payload = train_payload(job)
    path.write_text(json.dumps(payload))
    return payload


def fault(config: ScenarioConfig) -> str:
    default = ScenarioConfig()
    diff = [f"{f.name}={getattr(config, f.name)!r}" for f in fields(config)
            if f.name not in ("pathology", "seed", "bad_batch_steps") and getattr(config, f.name) != getattr(default, f.name)]
    if config.bad_batch_steps:
        diff.append(f"bad batches at steps {list(config.bad_batch_steps)}")
    return ", ".join(diff) or "defaults"


def make_case(job: Job, payload: Payload) -> tuple[Payload | None, str]:
    """The corpus case for one run, or None and why it was dropped."""
    metrics = {k: {"steps": m["steps"], "values": [float(v) for v in m["values"]]}
               for k, m in payload["metrics"].items()}
    meta = payload["meta"]
    verdict = label(metrics, meta)
    if verdict.grey:
        return None, "grey zone: " + "; ".join(verdict.grey)
    labels = [c for c in PRIORITY if c in verdict.onsets]
    if not labels:
        t, acc = metrics["train_loss"]["values"], metrics["val_accuracy"]["values"]
        chance = 1 / meta["num_classes"]
        if not (t[-1] <= 0.5 * t[0] and acc[-1] >= chance + 0.5 * (1 - chance)):
            return None, f"no pathology but did not learn (train {t[0]:.3g}->{t[-1]:.3g}, val acc {acc[-1]:.2f})"
        verdict.why.append("healthy: no rule fired and it learned "
                           f"(train loss {t[0]:.3g} -> {t[-1]:.3g}, val acc {acc[-1]:.3f})")
    scenario = CATALOG[job.scenario]
    config = job.config()
    notes = (f"scenario {job.name}: {scenario.description}"
             + (f"; fix '{job.fix}' applied" if job.fix else "")
             + f". Injected: {fault(config)}. Seed {job.seed}. Intended pathology of the scenario: "
             f"{scenario.pathology if not job.fix else 'none (fixed)'}. Labels from the curves: "
             + " | ".join(verdict.why))
    return {
        "id": f"c{job.index:04d}",
        "source": f"generated: bench/make_corpus.py scenario={job.name} seed={job.seed}",
        "format": "payload",
        "labels": labels or ["healthy"],
        "onset_epoch": verdict.onsets[labels[0]] if labels else None,
        "onsets": {c: verdict.onsets[c] for c in labels},
        "notes": notes,
        "payload": {"metrics": payload["metrics"], "meta": meta},
    }, ""


def contact_sheets(cases: list[Payload], out: Path) -> None:
    """5x5 grids of curves per label, to LOOK at the labels (train blue, val orange, val acc green)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    for code in CODES:
        chosen = [c for c in cases if code in c["labels"]]
        if len(chosen) > 25:
            chosen = [chosen[i * len(chosen) // 25] for i in range(25)]
        if not chosen:
            continue
        fig, axes = plt.subplots(5, 5, figsize=(20, 14), squeeze=False)
        for ax, case in zip(axes.flat, chosen, strict=False):
            m = case["payload"]["metrics"]
            vals = [float(v) for k in ("train_loss", "val_loss") for v in m[k]["values"]]
            finite = [v for v in vals if math.isfinite(v) and v > 0]
            for k, color in (("train_loss", "tab:blue"), ("val_loss", "tab:orange")):
                ax.plot(m[k]["steps"], [float(v) for v in m[k]["values"]], color=color, lw=1)
            if finite and max(finite) / min(finite) > 30:
                ax.set_yscale("log")
            if code in case["onsets"]:
                ax.axvline(case["onsets"][code], color="red", ls="--", lw=0.8)
            acc = ax.twinx()
            acc.plot(m["val_accuracy"]["steps"], m["val_accuracy"]["values"], "g:", lw=1)
            acc.set_ylim(0, 1)
            ax.set_title(f"{case['id']} {','.join(case['labels'])}\n{case['source'].split('=')[1][:-5]}", fontsize=7)
        fig.tight_layout()
        fig.savefig(out / f"{code}.png", dpi=60)
        plt.close(fig)


def readme(cases: list[Payload], dropped: list[str], seconds: float) -> str:
    per_label = Counter(c for case in cases for c in case["labels"])
    models: Counter[tuple[str, str]] = Counter()
    for case in cases:
        model = case["source"].split("scenario=")[1].split(" ")[0]
        cfg = CATALOG[model.split("+")[0]].base
        models[(cfg.model, case["payload"]["meta"]["x_axis"])] += 1
    rules = (__doc__ or "").split("Labelling rules", 1)[1]
    lines = [
        "# Generated corpus: real small CPU trainings with injected faults", "",
        f"{len(cases)} runs (`c*.json`), labelled from their curves, not from the injected fault; "
        f"{len(dropped)} runs were dropped as ambiguous. Every run is a real PyTorch training "
        "(`service/lossdoctor/jobs/scenarios/`, catalog in `catalog.py`) on bundled or synthetic data.",
        f"Generation took {seconds / 60:.1f} min on 1-2 CPU threads.", "",
        "Regenerate (deterministic): `nice .venv/bin/python bench/make_corpus.py --jobs 2`", "",
        "Each case's `notes` give the scenario, the injected fault, the seed and why each label was given.",
        "Ids are positions in the fixed run plan, so they are stable; gaps are dropped runs.", "",
        "## Counts per label", "", "| label | runs |", "|---|---|",
        *[f"| {c} | {per_label[c]} |" for c in CODES], "",
        "## Runs per model and x axis", "", "| model | epoch | step |", "|---|---|---|",
        *[f"| {m} | {models[(m, 'epoch')]} | {models[(m, 'step')]} |" for m in ("mlp", "cnn", "lstm", "transformer")],
        "", "## Labelling rules" + rules.replace('"""', "").rstrip(), "",
        "## Dropped runs", "", *[f"- {d}" for d in dropped], "",
    ]
    return "\n".join(lines)


def _work(args: tuple[Job, Path | None]) -> tuple[Job, Payload]:
    return args[0], cached_payload(*args)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--only", action="append", help="scenario name (repeatable); default: all")
    p.add_argument("--out", type=Path, default=ROOT / "tests" / "corpus")
    p.add_argument("--sheets", type=Path, default=Path("/tmp/corpus_sheets"))
    p.add_argument("--cache", type=Path, default=None, help="reuse raw runs from/to this folder")
    p.add_argument("--jobs", type=int, default=1)
    args = p.parse_args()
    unknown = set(args.only or ()) - set(CATALOG)
    if unknown:
        p.error(f"unknown scenarios {sorted(unknown)}; known: {sorted(CATALOG)}")
    jobs = [j for j in plan() if not args.only or j.scenario in args.only]
    if args.cache:
        args.cache.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with Pool(args.jobs) as pool:
        results = sorted(pool.imap_unordered(_work, [(j, args.cache) for j in jobs]), key=lambda r: r[0].index)
    seconds = time.perf_counter() - started
    args.out.mkdir(parents=True, exist_ok=True)
    if not args.only:
        for old in args.out.glob("c*.json"):
            old.unlink()
    cases, dropped = [], []
    for job, payload in results:
        case, why = make_case(job, payload)
        if case is None:
            dropped.append(f"c{job.index:04d} {job.name} seed={job.seed}: {why}")
            continue
        cases.append(case)
        (args.out / f"{case['id']}.json").write_text(json.dumps(case, separators=(",", ":")) + "\n")
    if not args.only:
        (args.out / "README.md").write_text(readme(cases, dropped, seconds))
    contact_sheets(cases, args.sheets)
    counts = Counter(c for case in cases for c in case["labels"])
    print(f"{len(cases)} cases, {len(dropped)} dropped, {seconds:.0f}s;", dict(sorted(counts.items())))


if __name__ == "__main__":
    main()
