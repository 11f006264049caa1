"""Generate the labelled benchmark corpus (tests/corpus/*.json) from real small CPU trainings.

Every catalog scenario (service/lossdoctor/jobs/scenarios/catalog.py) is trained for its seeds, and every
fix once (seed 0). Labels are then computed FROM THE CURVES with the rules below (implemented in
lossdoctor.jobs.scenarios.labelling, so reproducer jobs apply the very same rules), never copied from the
injected fault. A run in a rule's grey zone is dropped as ambiguous, as is a run that shows nothing but
did not learn. Deterministic: same seeds, one thread per training.

    nice .venv/bin/python bench/make_corpus.py [--jobs 2] [--only SCENARIO] [--out DIR] [--sheets DIR]
    .venv/bin/python bench/make_corpus.py --relabel    # after a rule changes: the recorded curves, relabelled

Trainings are bit-identical on the same CPU and torch build only: elsewhere the last digit of a float can
differ, and chaotic runs (explosions, eval-mode bugs) then take other paths. So a changed rule is applied to
the recorded curves with --relabel, which trains nothing and keeps every recorded run (or drops it as grey).

Labelling rules. x = epoch, or optimiser step in step-logged runs; S(.) = centred running median over 3
points (over ~n/25 points for step-logged train loss); lnC = ln(num_classes), the loss of a uniform guess.
  exploding_nan  any non-finite logged value, or a finite train loss > 100 * ref (ref = max(first train
                 loss, lnC)). Onset: start of the run of points with S(train) > 2 * ref (or non-finite)
                 that leads into the first non-finite / >100x point, i.e. where explosive growth starts.
                 All other rules only see the points before that onset. Grey: peak 20-100x ref, finite.
  divergence     (no explosion) S(train) falls to its minimum m (>= 3 points before the end) and rises:
                 end = median of S over the last 20% >= 1.3 * min, the rise gives back >= 25% of the
                 earlier fall, every point of the last 20% stays above sqrt(min * end) (persistent, not a
                 spike), and train accuracy ends >= 0.05 below its best (waived when end >= 3 * min).
                 Onset: first point after m from which S(train) stays above min + 10% of the rise.
                 Grey: end >= 1.15 * min and give-back >= 15%, unless the run oscillates.
  oscillation    (per-epoch runs, before any divergence) on log(train loss), a stretch from s (starting
                 in the first 60%, >= 8 points and >= 40% of the run) with median |residual| around a
                 5-point running mean >= 0.08, median absolute swing >= 0.02 * lnC, direction changes at
                 >= 45% of points, and net change between its halves < max(0.1, typical swing). Onset: s.
  overfitting    b = argmin S(val) with >= 3 points after; peak of S(val) after b >= 1.10 * best and
                 >= 4 noise sigmas above it (robust sigma of the second differences of val from b, or
                 from the later half, on: the noise where the rise is); S(val) at the end still >= 1.05
                 * best and >= 2 sigmas above it; S(train) at the end below S(train) at b; no divergence.
                 Onset: the lowest logged val up to b + 1 (the best epoch as logged, the checkpoint early
                 stopping keeps). Grey: peak 1.05-1.10 * best, or a >= 1.10x peak only 2.5-4 sigmas above.
  overconfidence the same val-loss rise, and val accuracy (mean of last 3) >= S(val acc) at b - 0.01.
                 Onset: as for overfitting. Grey: val accuracy down by 0.01-0.03.
  loss_spike     (not oscillating, before any divergence) a train point >= 2 * the median of its 3
                 predecessors (5 in step runs), jump >= max(6 noise sigmas, 0.05 * lnC), back below the
                 predecessors + 30% of the jump within 5 points (5% of the points in step runs); in step
                 runs the jump in log-loss must also beat 6 robust sigmas of the log-loss within +-25
                 points (minibatch noise). Onset: first spike. Grey: a recovering rise >= 1.6x.
  val_spike      (before any divergence) a val point >= 1.5 * the median of its 3 predecessors, jump
                 >= 0.05 * lnC, recovered within 3 points, while train loss at that x is < 1.2 * its 3
                 predecessors and no train spike lies since the previous-but-one val point.
                 Onset: first spike. Grey: such a recovering val rise >= 1.3x.
  plateau        from s (in the first 60%; >= 40% of the run, >= 5 points) S(train) spans <= 5% of its
                 mean and improves <= 3%, at a mean >= 0.5 * lnC, and no earlier point was below 0.9 *
                 that mean (a loss that came back up is divergence). Onset: s.
  underfitting   no overfitting/divergence/explosion; train loss at the end (mean of the last 3 points,
                 5% in step runs) >= 0.4 * lnC, S(train) never below 0.3 * lnC, |val - train| at the end
                 <= 20% of train. Onset: first x. Grey: end between 0.3 and 0.4 * lnC.
  val_below_train  from s to the end (>= 30% of the run, >= 3 points) val < S(train) at >= 90% of the
                 points including the last, median gap >= 0.03 * lnC, median and final relative margins
                 >= 10%. Onset: s. Grey: margins 5-10%.
  healthy        nothing above fired, no grey zone, and it learned: final train loss <= 0.5 * first,
                 final val accuracy >= chance + half the way to 1. Otherwise the run is dropped.
  Step runs whose train loss is too noisy to judge (robust sigma of log-loss around S > 1) are dropped.
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
MODELS = ("mlp", "cnn", "lstm", "transformer")
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


# The first scenario added to the catalog after the corpus was first generated. Its runs, and those of every
# later scenario, are numbered after all earlier runs (seeds, then fixes, scenario by scenario), so adding a
# scenario never moves the id of a run already in tests/corpus.
FIRST_APPENDED = "bn_after_lstm_last_output"


def plan() -> list[Job]:
    """Every run in a fixed order: a run's id (c0001...) is its position, whatever --only selects."""
    names = list(CATALOG)
    first = names.index(FIRST_APPENDED) if FIRST_APPENDED in names else len(names)

    def keys_of(group: list[str]) -> list[tuple[str, str | None, int]]:
        seeds = [(n, None, seed) for n in group for seed in CATALOG[n].seeds]
        return seeds + [(n, f.name, seed) for n in group for f in CATALOG[n].fixes for seed in FIX_SEEDS]

    keys = keys_of(names[:first]) + [k for n in names[first:] for k in keys_of([n])]
    return [Job(i + 1, *k) for i, k in enumerate(keys)]


def encode(v: float) -> float | str:
    """JSON has no NaN/inf: the corpus format spells them as strings; 6 significant digits."""
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    return float(f"{v:.6g}")


def train_payload(job: Job, cache: Path | None) -> Payload:
    """Train one run (or reuse it: training is deterministic, so a run keyed by its config is reusable)."""
    key = hashlib.sha1(repr(job.config()).encode()).hexdigest()[:16]
    path = cache / f"{job.name}-{job.seed}-{key}.json" if cache else None
    if path and path.exists():
        return dict(json.loads(path.read_text()))
    import torch

    from lossdoctor.jobs.scenarios import train

    torch.set_num_threads(1)
    rec = train(job.config())
    metrics = {k: {"steps": c.steps, "values": [encode(v) for v in c.values]} for k, c in rec.metrics.items()}
    payload = {"metrics": metrics, "meta": rec.meta(), "seconds": round(rec.seconds, 2)}
    if path:
        path.write_text(json.dumps(payload))
    return payload


def fault(config: ScenarioConfig) -> str:
    """The knobs that differ from the defaults: the injected fault, as the notes report it."""
    default, skip = ScenarioConfig(), ("pathology", "seed", "bad_batch_steps")
    diff = [f"{f.name}={getattr(config, f.name)!r}" for f in fields(config)
            if f.name not in skip and getattr(config, f.name) != getattr(default, f.name)]
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
        learned = f"train loss {t[0]:.3g} -> {t[-1]:.3g}, val acc {acc[-1]:.3f}"
        if not (t[-1] <= 0.5 * t[0] and acc[-1] >= chance + 0.5 * (1 - chance)):
            return None, f"no pathology, but it did not learn either ({learned})"
        verdict.why.append(f"healthy: no rule fired, and it learned ({learned})")
    scenario = CATALOG[job.scenario]
    intended = f"none, fix '{job.fix}' applied" if job.fix else scenario.pathology
    notes = (f"scenario {job.name}: {scenario.description}. Injected: {fault(job.config())}. "
             f"Seed {job.seed}. Intended pathology: {intended}. Labels from the curves: "
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


def scenario_of(case: Payload) -> str:
    return str(case["source"].split("scenario=")[1].split(" ")[0])


def contact_sheets(cases: list[Payload], out: Path) -> None:
    """5x5 grids of curves per label, to LOOK at the labels (train blue, val orange, val acc green)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    for code in CODES:
        chosen = [c for c in cases if code in c["labels"]]
        chosen = [chosen[i * len(chosen) // 25] for i in range(25)] if len(chosen) > 25 else chosen
        if not chosen:
            continue
        fig, axes = plt.subplots(5, 5, figsize=(20, 14), squeeze=False)
        for ax, case in zip(axes.flat, chosen, strict=False):
            m = case["payload"]["metrics"]
            finite = [v for k in ("train_loss", "val_loss") for v in map(float, m[k]["values"])
                      if math.isfinite(v) and v > 0]
            for k, color in (("train_loss", "tab:blue"), ("val_loss", "tab:orange")):
                ax.plot(m[k]["steps"], [float(v) for v in m[k]["values"]], color=color, lw=1)
            if finite and max(finite) / min(finite) > 30:
                ax.set_yscale("log")
            elif finite:
                ax.set_ylim(0, 1.05 * max(finite))  # from zero, so that a flat curve looks flat
            if code in case["onsets"]:
                ax.axvline(case["onsets"][code], color="red", ls="--", lw=0.8)
            acc = ax.twinx()
            acc.plot(m["val_accuracy"]["steps"], m["val_accuracy"]["values"], "g:", lw=1)
            acc.set_ylim(0, 1)
            ax.set_title(f"{case['id']} {','.join(case['labels'])}\n{scenario_of(case)}", fontsize=7)
        fig.tight_layout()
        fig.savefig(out / f"{code}.png", dpi=60)
        plt.close(fig)


def readme(cases: list[Payload], dropped: list[str], timing: str) -> str:
    per_label = Counter(c for case in cases for c in case["labels"])
    per_model: Counter[tuple[str, str]] = Counter(
        (CATALOG[scenario_of(c).split("+")[0]].base.model, c["payload"]["meta"]["x_axis"]) for c in cases)
    per_scenario: dict[str, Counter[str]] = {}
    for case in cases:
        per_scenario.setdefault(scenario_of(case), Counter())[",".join(case["labels"])] += 1
    rules = (__doc__ or "").split("Labelling rules", 1)[1].rstrip().rstrip('"')
    return "\n".join([
        "# Generated corpus: real small CPU trainings with injected faults", "",
        f"{len(cases)} runs (`c*.json`), each labelled from its own curves, never from the injected fault; "
        f"{len(dropped)} more runs were dropped as ambiguous (listed below). Every run is a real PyTorch "
        "training from `service/lossdoctor/jobs/scenarios/` (scenarios in `catalog.py`) on bundled sklearn "
        "data (digits, breast cancer) or synthetic data (make_classification, a sequence task).",
        timing, "",
        "Regenerate (deterministic on one CPU and torch build, one command): "
        "`nice .venv/bin/python bench/make_corpus.py --jobs 2`; after a labelling rule changes, relabel the "
        "recorded curves without training: `.venv/bin/python bench/make_corpus.py --relabel`.", "",
        "`notes` give the scenario, the injected fault, the seed and why each label was given. Ids are "
        "positions in the fixed run plan, so they are stable; gaps are dropped runs. Onsets are in the "
        "run's x unit: epochs (1-based), or optimiser steps when `meta.x_axis` is `step`.", "",
        "## Runs per label", "", "| label | runs |", "|---|---|",
        *[f"| {c} | {per_label[c]} |" for c in CODES], "",
        "## Runs per model and x axis", "", "| model | epoch | step |", "|---|---|---|",
        *[f"| {m} | {per_model[(m, 'epoch')]} | {per_model[(m, 'step')]} |" for m in MODELS], "",
        "## Labels per scenario (`+fix` = the scenario with that fix applied)", "",
        "| scenario | labels (runs) |", "|---|---|",
        *[f"| {n} | {', '.join(f'{k} ({v})' for k, v in c.items())} |" for n, c in per_scenario.items()], "",
        "## Labelling rules" + rules, "", "## Dropped runs", "", *[f"- {d}" for d in dropped], "",
    ])


def _work(args: tuple[Job, Path | None]) -> tuple[Job, Payload]:
    return args[0], train_payload(*args)


def recorded(out: Path) -> tuple[list[tuple[Job, Payload]], list[str], str]:
    """The runs already in the corpus with their jobs, the runs dropped when it was generated, and its timing
    line: what --relabel starts from."""
    jobs = {j.index: j for j in plan()}
    runs = []
    for path in sorted(out.glob("c*.json")):
        case = json.loads(path.read_text())
        runs.append((jobs[int(case["id"][1:])], case["payload"]))
    text = (out / "README.md").read_text()
    if "## Dropped runs" not in text or "\nGeneration took" not in text:
        sys.exit(f"{out / 'README.md'} is not a corpus README (no timing line or dropped-runs section): "
                 "regenerate the corpus instead of relabelling it")
    dropped = [line[2:] for line in text.split("## Dropped runs", 1)[1].splitlines() if line.startswith("- ")]
    timing = next(line for line in text.splitlines() if line.startswith("Generation took"))
    return runs, dropped, timing


def main() -> None:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    p.add_argument("--only", action="append", help="scenario name (repeatable); default: all")
    p.add_argument("--out", type=Path, default=ROOT / "tests" / "corpus")
    p.add_argument("--sheets", type=Path, default=Path("/tmp/corpus_sheets"))
    p.add_argument("--cache", type=Path, default=None, help="reuse raw runs from / save them to this folder")
    p.add_argument("--jobs", type=int, default=1, help="parallel trainings (each on one thread)")
    p.add_argument("--relabel", action="store_true",
                   help="re-apply the labelling rules to the curves already recorded in --out; trains nothing")
    args = p.parse_args()
    unknown = set(args.only or ()) - set(CATALOG)
    if unknown:
        p.error(f"unknown scenarios {sorted(unknown)}; known: {sorted(CATALOG)}")
    if args.relabel and args.only:
        p.error("--relabel applies to the whole corpus; leave out --only")
    dropped: list[str] = []
    if args.relabel:
        results, dropped, timing = recorded(args.out)
    else:
        jobs = [j for j in plan() if not args.only or j.scenario in args.only]
        if args.cache:
            args.cache.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        with Pool(args.jobs) as pool:
            results = sorted(pool.imap_unordered(_work, [(j, args.cache) for j in jobs]),
                             key=lambda r: r[0].index)
        timing = f"Generation took {(time.perf_counter() - started) / 60:.1f} min of wall time."
    cases = []
    for job, payload in results:  # every label first: a rule that fails part-way leaves the corpus as it was
        case, why = make_case(job, payload)
        if case is None:
            dropped.append(f"c{job.index:04d} {job.name} seed={job.seed}: {why}")
        else:
            cases.append(case)
    args.out.mkdir(parents=True, exist_ok=True)
    if not args.only:
        for old in args.out.glob("c*.json"):
            old.unlink()
    for case in cases:
        (args.out / f"{case['id']}.json").write_text(json.dumps(case, separators=(",", ":")) + "\n")
    if not args.only:
        dropped.sort()
        (args.out / "README.md").write_text(readme(cases, dropped, timing))
    contact_sheets(cases, args.sheets)
    counts = Counter(c for case in cases for c in case["labels"])
    print(f"{len(cases)} cases, {len(dropped)} dropped; {timing}", dict(sorted(counts.items())))


if __name__ == "__main__":
    main()
